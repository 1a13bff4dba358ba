"""Request logging (issue 10, "Logs an operator can use"): one line per request with the
route's path template, status, duration, caller and request id; never a token, secret or
query string; the request id from ``X-Request-ID`` or made, answered and logged; the
worker's action start and end lines."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from m2mportal import API_BASE, logs
from m2mportal.actions import worker
from m2mportal.app import create_app
from m2mportal.config import Settings
from m2mportal.platform import Platform
from tests.conftest import test_settings
from tests.helpers import TOKEN_PATH, World, error_list

SIMS = API_BASE + "/partners/{partnerId}/sims"
HEX_ID = re.compile(r"^[0-9a-f]{32}$")
FIELDS = {"method", "path", "status", "duration_ms", "client_id", "partner_id", "request_id"}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Short-lived streams (an idle stream would otherwise stay open 60 s)."""
    return test_settings(
        database_url, tmp_path, sse_lifetime_seconds=0.5, sse_confirm_seconds=0.02,
        sse_poll_seconds=0.05,
    )  # fmt: skip


class Captured:
    """The JSON log lines of the test, as a deployment with M2MP_LOG_FORMAT=json writes them."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def text(self) -> str:
        return self.stream.getvalue()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text().splitlines() if line.strip()]

    def requests(self) -> list[dict[str, Any]]:
        return [r for r in self.records() if r.get("logger") == "m2mportal.request"]


@pytest.fixture
def captured() -> Iterator[Captured]:
    stream = io.StringIO()
    remove = logs.add_handler(logging.StreamHandler(stream), fmt="json")
    try:
        yield Captured(stream)
    finally:
        remove()


@pytest.fixture
def answers(client: httpx.AsyncClient) -> list[httpx.Response]:
    """Every answer the test client received, in order."""
    seen: list[httpx.Response] = []

    async def keep(response: httpx.Response) -> None:
        seen.append(response)

    client.event_hooks["response"].append(keep)
    return seen


async def _json(answer: httpx.Response, status: int = 200) -> Any:
    await answer.aread()
    assert answer.status_code == status, answer.text
    return answer.json()


async def test_a_session_logs_one_line_per_request_and_no_secret(
    world: World, captured: Captured, answers: list[httpx.Response], platform: Platform
) -> None:
    partner = await world.partner()
    sims = await world.synthetic_sims(partner, 3)
    app = await world.app(partner)
    http = world.http
    form = {"grant_type": "client_credentials", "scope": "openid profile"}
    token = (
        await _json(
            await http.post(
                TOKEN_PATH,
                data={**form, "client_id": app["clientId"], "client_secret": app["clientSecret"]},
            )
        )
    )["access_token"]
    rest = {"Authorization": f"Bearer {token}"}
    event_token = (
        await _json(
            await http.post(
                TOKEN_PATH,
                auth=(app["eventClientId"], app["eventClientSecret"]),
                data=form,
            )
        )
    )["access_token"]
    base = f"{API_BASE}/partners/{partner}/sims"
    await _json(await http.get(base, params={"size": 2, "status": "Active"}, headers=rest))
    mine = {**rest, "X-Request-ID": "support-case-4711"}
    details = await http.get(f"{base}/{sims[0]['iccid']}", headers=mine)
    assert details.status_code == 200 and details.headers["x-request-id"] == "support-case-4711"
    action = await _json(
        await http.post(
            f"{base}/actions/suspend", json={"sims": [{"iccid": s["iccid"]} for s in sims]},
            headers=rest,
        ),
        202,
    )  # fmt: skip
    assert await worker.run_until_idle(platform) == 3
    status = await _json(await http.get(f"{base}/actions/{action['signupId']}", headers=rest))
    assert status["status"] in ("Done", "Partially Done", "Failed")
    subscription = next(
        s["subscriptionId"] for s in app["subscriptions"] if s["eventType"] == "simaction.v1"
    )
    async with http.stream(
        "GET", f"/events/v1/sse/{subscription}", params={"maxNumber": 1},
        headers={"Authorization": f"Bearer {event_token}"},
    ) as stream:  # fmt: skip
        assert stream.status_code == 200
        body = (await stream.aread()).decode()
    assert action["signupId"] == int(json.loads(body.splitlines()[0])["data"]["signupID"])
    # A refused call is logged too, with the id the answer carries.
    refused = await http.get(base, headers={"Authorization": "Bearer not-a-token"})
    error_list(refused, 401, "UNAUTHORIZED")

    lines = captured.requests()
    # One line per request, in the order the answers completed, each with the answer's id.
    assert len(lines) == len(answers) > 10
    assert [line["request_id"] for line in lines] == [a.headers["x-request-id"] for a in answers]
    assert [line["status"] for line in lines] == [a.status_code for a in answers]
    for line in lines:
        assert set(line) >= FIELDS, line
        assert line["level"] == "info" and line["event"] == "request"
        assert isinstance(line["duration_ms"], int | float) and line["duration_ms"] >= 0
        assert "?" not in line["path"] and f"/{partner}" not in line["path"]
    by_path = {}
    for line in lines:
        by_path.setdefault((line["method"], line["path"]), []).append(line)
    listed = by_path[("GET", SIMS)]
    assert listed[0]["client_id"] == app["clientId"] and listed[0]["partner_id"] == partner
    assert listed[0]["status"] == 200
    assert listed[-1]["status"] == 401 and listed[-1]["client_id"] is None
    (read,) = by_path[("GET", SIMS + "/{iccid}")]
    assert read["request_id"] == "support-case-4711"
    (accepted,) = by_path[("POST", SIMS + "/actions/suspend")]
    assert accepted["status"] == 202 and accepted["partner_id"] == partner
    tokens = by_path[("POST", TOKEN_PATH)]
    assert {t["client_id"] for t in tokens[-2:]} == {app["clientId"]}
    (streamed,) = by_path[("GET", "/events/v1/sse/{subscriptionId}")]
    assert streamed["status"] == 200 and streamed["client_id"] == app["clientId"]
    assert streamed["partner_id"] == partner

    # The worker's lines: the action's start and end, with counts.
    records = captured.records()
    (started,) = [r for r in records if r["event"] == "action started"]
    (finished,) = [r for r in records if r["event"] == "action finished"]
    assert started["signup_id"] == finished["signup_id"] == action["signupId"]
    assert started["sims"] == 3 and started["action"] == "suspend"
    assert finished["done"] + finished["failed"] == finished["sims"] == 3
    assert finished["status"] == status["status"]

    # Nothing secret, and no query string, anywhere in the captured log.
    text = captured.text()
    operator_token = world.operator["Authorization"].split()[1]
    made = (token, event_token, operator_token, world.operator_client[1])
    for secret in (*made, app["clientSecret"], app["eventClientSecret"]):
        assert secret not in text
    assert "eyJ" not in text and "not-a-token" not in text
    assert "size=2" not in text and "maxNumber" not in text and sims[0]["iccid"] not in text


@pytest.mark.parametrize(
    "given",
    ["", "x" * 129, "caf\u00e9", "tab\there", "new\nline"],
    ids=["empty", "too-long", "non-ascii", "tab", "newline"],
)
async def test_an_unusable_request_id_is_replaced(
    client: httpx.AsyncClient, captured: Captured, given: str
) -> None:
    raw = given.encode()
    answer = await client.get("/healthz", headers=[(b"X-Request-ID", raw)])
    assert answer.status_code == 200
    made = answer.headers["x-request-id"]
    assert HEX_ID.match(made)
    (line,) = captured.requests()
    assert line["request_id"] == made and line["path"] == "/healthz"


async def test_a_usable_request_id_is_kept_and_a_new_one_made_each_time(
    client: httpx.AsyncClient, captured: Captured
) -> None:
    longest = "A-z 0~9!" * 16
    kept = await client.get("/healthz", headers={"X-Request-ID": longest})
    assert kept.headers["x-request-id"] == longest
    first, second = (await client.get("/healthz"), await client.get("/healthz"))
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(HEX_ID.match(i) for i in ids) and ids[0] != ids[1]
    assert [line["request_id"] for line in captured.requests()] == [longest, *ids]


async def test_a_crash_logs_the_request_id_and_answers_it(
    platform: Platform, captured: Captured
) -> None:
    async def crash(request: Request) -> Response:
        raise RuntimeError("the test-only route failed")

    app = create_app(platform, background=False)
    app.router.routes.insert(0, Route("/test-only/crash/{partnerId}", crash))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        answer = await http.get("/test-only/crash/100013?secret=hunter2hunter2", headers={
            "X-Request-ID": "crash-1"})  # fmt: skip
    error_list(answer, 500, "INTERNAL_SERVER_ERROR")
    assert answer.headers["x-request-id"] == "crash-1"
    records = captured.records()
    (crashed,) = [r for r in records if r["event"] == "unhandled error"]
    assert crashed["request_id"] == "crash-1" and crashed["level"] == "error"
    (line,) = captured.requests()
    assert line["status"] == 500 and line["request_id"] == "crash-1"
    assert line["path"] == "/test-only/crash/{partnerId}" and line["partner_id"] == 100013
    assert "hunter2" not in captured.text()


async def test_an_unrouted_path_is_not_written(
    client: httpx.AsyncClient, captured: Captured
) -> None:
    answer = await client.get("/wp-login.php/eyJhbGciOiJIUzI1NiJ9.e30.abc")
    assert answer.status_code == 404
    (line,) = captured.requests()
    assert line["path"] == "(no route)" and line["status"] == 404
    assert "wp-login" not in captured.text()


async def test_requests_are_not_logged_above_info(
    client: httpx.AsyncClient, captured: Captured
) -> None:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    try:
        await client.get("/healthz")
    finally:
        root.setLevel(level)
    assert captured.requests() == []


async def test_a_request_id_that_looks_like_a_credential_is_not_written(
    client: httpx.AsyncClient, captured: Captured
) -> None:
    credential = "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtMm0ifQ.c2lnbmF0dXJl"
    answer = await client.get("/healthz", headers={"X-Request-ID": credential})
    assert answer.headers["x-request-id"] == credential  # the caller's own value, echoed
    (line,) = captured.requests()
    assert "eyJ" not in captured.text() and "[redacted]" in line["request_id"]
