"""Building test worlds through the HTTP APIs: partners, applications, SIMs, tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from m2mportal import API_BASE
from m2mportal.clock import Clock
from m2mportal.platform import Platform
from m2mportal.services import applications
from m2mportal.synthetic import records

TOKEN_PATH = "/auth/realms/m2m/protocol/openid-connect/token"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def error_list(answer: httpx.Response, code: int, status: str) -> list[str]:
    """The contract's error body (section 4) with this status; its ``errors``."""
    assert answer.status_code == code, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"status", "message", "errors", "timestamp"}, body
    assert body["status"] == status
    assert isinstance(body["message"], str) and body["message"]
    assert TIMESTAMP.fullmatch(body["timestamp"]), body["timestamp"]
    errors: list[str] = body["errors"]
    assert errors and all(isinstance(e, str) and e for e in errors)
    assert "Traceback" not in answer.text
    return errors


def assert_error_mentions(
    answer: httpx.Response, code: int, status: str, *fragments: str
) -> list[str]:
    """The error body, each fragment found somewhere in its errors (any case)."""
    errors = error_list(answer, code, status)
    joined = " ".join(errors).lower()
    for fragment in fragments:
        assert fragment.lower() in joined, errors
    return errors


def assert_error_names(answer: httpx.Response, code: int, status: str, *fields: str) -> list[str]:
    """The error body, each field name starting one of its errors."""
    errors = error_list(answer, code, status)
    for name in fields:
        assert any(e.startswith(name) for e in errors), f"{name!r} not named in {errors}"
    return errors


OP = "/operator/v1"


def mid_month(now: datetime) -> float:
    """The next 15th of a month at noon: usage counts per calendar month, so a test whose
    traffic reaches hours back or ahead must not straddle a month's start."""
    target = now.replace(day=15, hour=12, minute=0, second=0, microsecond=0)
    if target <= now:
        target = (target.replace(day=1) + timedelta(days=32)).replace(day=15)
    return target.timestamp()


@dataclass
class World:
    platform: Platform
    http: httpx.AsyncClient
    operator: dict[str, str] = field(default_factory=dict)
    operator_client: tuple[str, str] = ("", "")

    @classmethod
    async def start(cls, platform: Platform, http: httpx.AsyncClient) -> World:
        creds = await applications.create_operator_client(platform, "test-operator")
        world = cls(platform, http, operator_client=(creds.client_id, creds.client_secret))
        await world.renew()
        return world

    async def move_clock(self, at: float) -> None:
        """Put the platform clock at ``at`` (a POSIX time) and fetch a fresh operator token."""
        self.platform.clock.offset = at - Clock().time()
        await self.renew()

    async def renew(self) -> None:
        """A fresh operator token (after a test moved the clock past the old one's expiry)."""
        token = await self.token(*self.operator_client)
        self.operator = {"Authorization": f"Bearer {token}"}

    async def token(self, client_id: str, secret: str, **extra: Any) -> str:
        answer = await self.http.post(
            TOKEN_PATH,
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "scope": "openid profile",
            },
            **extra,
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    async def op(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, OP + path, headers=self.operator, **kwargs)

    async def partner(
        self, name: str = "Telekom Main Test Company", parent: int | None = None
    ) -> int:
        body: dict[str, Any] = {"name": name}
        if parent is not None:
            body["parentPartnerId"] = parent
        answer = await self.op("POST", "/partners", json=body)
        assert answer.status_code == 201, answer.text
        return int(answer.json()["partnerId"])

    async def tariff(self, name: str = "IoT Basic", binding_months: int = 0) -> int:
        answer = await self.op(
            "POST", "/tariffs", json={"name": name, "bindingMonths": binding_months}
        )
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])

    async def app(self, partner_id: int, **spec: Any) -> dict[str, Any]:
        spec.setdefault("name", "test-app")
        answer = await self.op("POST", f"/partners/{partner_id}/applications", json=spec)
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    async def headers_for(self, app: dict[str, Any]) -> dict[str, str]:
        token = await self.token(app["clientId"], app["clientSecret"])
        return {"Authorization": f"Bearer {token}"}

    async def sims(self, partner_id: int, sims: list[dict[str, Any]]) -> httpx.Response:
        return await self.op("POST", f"/partners/{partner_id}/sims", json={"sims": sims})

    async def synthetic_sims(
        self, partner_id: int, count: int, start: int = 1, **kw: Any
    ) -> list[dict[str, Any]]:
        """Adds ``count`` generated SIMs (camelCase records) and returns them."""
        made = []
        for r in records(count, start=start, **kw):
            sim = {
                "iccid": r["iccid"],
                "imsi": r["imsi"],
                "msisdn": r["msisdn"],
                "imei": r["imei"],
                "euiccid": r["euiccid"],
                "simType": r["sim_type"],
                "status": r["status"],
                "productive": r["productive"],
                "tariffId": r["tariff_id"],
                "subunitId": r["subunit_id"],
                "remarks": {"remark1": r["remark1"]},
            }
            made.append({k: v for k, v in sim.items() if v is not None})
        answer = await self.sims(partner_id, made)
        assert answer.status_code == 201, answer.text
        return made

    async def api(
        self, method: str, path: str, headers: dict[str, str], **kwargs: Any
    ) -> httpx.Response:
        return await self.http.request(method, API_BASE + path, headers=headers, **kwargs)

    async def inject(self, kind: str, **body: Any) -> dict[str, Any]:
        """Operator traffic injection (``sessions``, ``sms``, ``voice``); the answer."""
        answer = await self.op("POST", f"/simulator/{kind}", json=body)
        assert answer.status_code == 201, answer.text
        injected: dict[str, Any] = answer.json()
        return injected
