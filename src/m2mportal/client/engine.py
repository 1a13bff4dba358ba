"""What every call does, once for the sync and the async client (sans-I/O).

A call is a generator that yields ``Send`` (an HTTP request to make) and ``Wait`` (seconds
to sleep) and gets the answer back; ``Client`` and ``AsyncClient`` only run it with their
httpx client and their sleep. The generator fetches and refreshes the token, paces the
call within the SIM budget, sends the ``Idempotency-Key`` of an action (the same key on
every retry), retries after network errors, a 401 from an expired token, and the seed's
403 "Limit exceeded", and decodes the answer into its msgspec type.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Generator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar

import httpx
import msgspec

from m2mportal.client.config import Credentials
from m2mportal.client.pacing import Charge, Pacer

T = TypeVar("T")

API_PATH = "/iot/connectivity/management/v1"
LIMIT_EXCEEDED = "Limit exceeded"
# A token is renewed this long before it expires (or at a fifth of its life, if shorter).
TOKEN_MARGIN_S = 30.0


class ApiError(Exception):
    """An error answer of the API (the contract's body: status, message, errors)."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.headers = response.headers
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        self.status: str = str(body.get("status") or body.get("error") or response.status_code)
        self.message: str = str(body.get("message") or body.get("error_description") or "")
        self.errors: list[str] = [str(e) for e in body.get("errors") or []]
        super().__init__(f"{self.status_code} {self.status}: {self.message} {self.errors}")


class AuthError(ApiError):
    """The token endpoint refused the credentials (RFC 6749 error)."""


class BudgetError(Exception):
    """A call larger than the partner's smallest window can never be accepted."""


class ConnectionFailed(Exception):
    """The server could not be reached after every retry."""


@dataclass(frozen=True)
class Send:
    method: str
    url: str
    params: dict[str, Any] | None = None
    json: Any = None
    data: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Wait:
    seconds: float


Step = Send | Wait
Answer = httpx.Response | httpx.TransportError
Exchange = Generator[Step, Answer | None, T]


@dataclass(frozen=True)
class Req(Generic[T]):
    """One call of the API: what to send, what comes back, what it costs."""

    method: str
    path: str  # below the API base (``/partners/...``) unless ``absolute``
    result: Any  # the msgspec type of the answer (``None``: no body)
    params: dict[str, Any] | None = None
    body: Any = None
    partner_id: int | None = None
    rate_class: str | None = None
    cost: int = 1
    action: bool = False  # gets an Idempotency-Key
    idempotency_key: str | None = None
    # Safe to send again after a network error: reads, and actions (their key makes a
    # repeat start nothing). Send message and HLR reset are not.
    retry_safe: bool = True
    absolute: bool = False


@dataclass
class Session:
    """What one client keeps between calls: its token and its budgets."""

    credentials: Credentials
    pacer: Pacer = field(default_factory=Pacer)
    token: str | None = None
    token_renew_at: float = 0.0
    usage_resource: bool = True
    max_retries: int = 5
    max_limit_waits: int = 100
    # Longest wait for budget room before giving up with BudgetError (None: as long as
    # it takes; the sms class may need most of an hour).
    max_wait: float | None = None

    @property
    def api_url(self) -> str:
        return self.credentials.base_url.rstrip("/") + API_PATH


def now() -> float:
    # Rate-limit windows run on real time on the server too.
    return time.monotonic()


def backoff(attempt: int) -> float:
    return min(0.25 * 2 ** (attempt - 1), 10.0)


def retry_after(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "1")
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return 1.0


def is_limit_exceeded(response: httpx.Response) -> bool:
    if response.status_code not in (403, 429):
        return False
    if response.status_code == 429:
        return True
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("message") == LIMIT_EXCEEDED


def token_exchange(session: Session, force: bool = False) -> Exchange[str]:
    """A valid access token, fetched (client credentials) when missing or about to expire."""
    if not force and session.token is not None and now() < session.token_renew_at:
        return session.token
    creds = session.credentials
    for attempt in range(1, session.max_retries + 2):
        answer = yield Send(
            "POST",
            creds.token_endpoint,
            data={
                "grant_type": "client_credentials",
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
                "scope": creds.scope,
            },
            headers={"Accept": "application/json"},
        )
        if isinstance(answer, httpx.TransportError) or (
            answer is not None and answer.status_code >= 500
        ):
            if attempt > session.max_retries:
                raise ConnectionFailed(f"token endpoint {creds.token_endpoint}: {answer!r}")
            yield Wait(backoff(attempt))
            continue
        assert answer is not None
        if answer.status_code != 200:
            raise AuthError(answer)
        body = answer.json()
        lifetime = float(body.get("expires_in", 300))
        session.token = str(body["access_token"])
        session.token_renew_at = now() + lifetime - min(TOKEN_MARGIN_S, lifetime / 5)
        return session.token
    raise AssertionError("unreachable")


def learn_budget(session: Session, partner_id: int) -> Exchange[None]:
    """Reads the partner's budgets (window lengths and use) from ``apiusage``."""
    token = yield from token_exchange(session)
    answer = yield Send(
        "GET",
        f"{session.api_url}/partners/{partner_id}/apiusage",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    if isinstance(answer, httpx.TransportError) or answer is None:
        return
    if answer.status_code == 200:
        session.pacer.learn(answer.json(), now())
    elif answer.status_code in (404, 405, 410):
        session.usage_resource = False
        session.pacer.no_usage_resource()


def pace(session: Session, req: Req[Any]) -> Exchange[Charge]:
    """Waits until the call fits the budget as far as this client knows; reserves it."""
    assert req.rate_class is not None
    pacer = session.pacer
    while True:
        budget = pacer.budget(req.rate_class)
        if budget.stale and session.usage_resource and req.partner_id is not None:
            yield from learn_budget(session, req.partner_id)
            budget.stale = False
        wait = pacer.delay(req.rate_class, req.cost, now())
        if math.isinf(wait):
            raise BudgetError(
                f"{req.cost} SIMs in one call exceed the smallest {req.rate_class} window"
                f" ({pacer.largest_call(req.rate_class)} SIMs): split it"
            )
        if wait <= 0:
            return pacer.reserve(req.rate_class, req.cost, now())
        if session.max_wait is not None and wait > session.max_wait:
            raise BudgetError(
                f"the {req.rate_class} budget has room for {req.cost} SIMs in {wait:.0f} s,"
                f" more than max_wait ({session.max_wait:.0f} s)"
            )
        yield Wait(wait)


def largest_call(session: Session, partner_id: int, rate_class: str) -> Exchange[int | None]:
    """The most SIMs one call of the class may carry for this partner, if known."""
    if session.pacer.budget(rate_class).stale and session.usage_resource:
        yield from learn_budget(session, partner_id)
        session.pacer.budget(rate_class).stale = False
    return session.pacer.largest_call(rate_class)


def call(session: Session, req: Req[T]) -> Exchange[T]:
    """One API call with everything around it (see the module's docstring)."""
    key = req.idempotency_key or (str(uuid.uuid4()) if req.action else None)
    failures = limit_waits = 0
    renewed = False
    url = (session.credentials.base_url.rstrip("/") if req.absolute else session.api_url) + (
        req.path
    )
    while True:
        token = yield from token_exchange(session)
        charge = None
        if req.rate_class and req.cost:
            charge = yield from pace(session, req)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if key is not None:
            headers["Idempotency-Key"] = key
        answer = yield Send(req.method, url, req.params, req.body, headers=headers)
        assert answer is not None
        at = now()
        ok = not isinstance(answer, httpx.TransportError) and answer.status_code < 400
        if charge is not None and req.rate_class is not None:
            if ok:
                assert isinstance(answer, httpx.Response)
                session.pacer.charged(req.rate_class, charge, answer.headers, at)
            elif isinstance(answer, httpx.Response) and is_limit_exceeded(answer):
                session.pacer.refused(
                    req.rate_class, charge, retry_after(answer), at, answer.headers
                )
            elif not isinstance(answer, httpx.TransportError):
                session.pacer.release(req.rate_class, charge)
            # After a network error the call may have reached the server: it stays counted.
        if isinstance(answer, httpx.TransportError):
            failures += 1
            if not (req.retry_safe or key) or failures > session.max_retries:
                raise ConnectionFailed(f"{req.method} {url}: {answer!r}") from answer
            yield Wait(backoff(failures))
            continue
        if answer.status_code == 401 and not renewed:
            renewed = True
            yield from token_exchange(session, force=True)
            continue
        if is_limit_exceeded(answer) and limit_waits < session.max_limit_waits:
            limit_waits += 1
            if charge is None:  # not a class we pace: honour Retry-After at least
                yield Wait(retry_after(answer))
            continue
        if answer.status_code in (502, 503, 504) and req.retry_safe:
            failures += 1
            if failures <= session.max_retries:
                yield Wait(backoff(failures))
                continue
        if answer.status_code >= 400:
            raise ApiError(answer)
        if req.result is None or not answer.content:
            return None  # type: ignore[return-value]
        decoded: T = msgspec.json.decode(answer.content, type=req.result)
        return decoded
