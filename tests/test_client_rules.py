"""The SDK's pure parts: the pacer's moving-window ledger, paging, the event consumer's
resume point and de-duplication, credentials (the live behaviour: tests/e2e/test_sdk_live.py)."""

from __future__ import annotations

import inspect
import math
import re
from pathlib import Path

import httpx
import msgspec
import pytest

from m2mportal.api.routes import ENDPOINTS
from m2mportal.client import (
    AsyncClient,
    AsyncEventConsumer,
    Client,
    Credentials,
    EventConsumer,
    GenericEvent,
    SimActionEvent,
    engine,
)
from m2mportal.client import endpoints as ep
from m2mportal.client.config import ConfigError
from m2mportal.client.endpoints import action, camel, sims
from m2mportal.client.engine import BudgetError, Req, Send, Session, Wait
from m2mportal.client.events import EventState, reconnect_pause
from m2mportal.client.pacing import MARGIN_S, Pacer, Window, parse_rate
from m2mportal.client.paging import next_page
from m2mportal.domain.actions import CATALOGUE
from m2mportal.events import samples
from m2mportal.models import SimPage


def usage(**classes: list[tuple[str, int, int, int]]) -> dict[str, object]:
    """An apiusage answer: per class, (limit, allowed, used, resetSeconds) per window."""
    return {
        "limits": {
            name: [
                {"limit": limit, "allowed": allowed, "used": used, "resetSeconds": reset}
                for limit, allowed, used, reset in windows
            ]
            for name, windows in classes.items()
        }
    }


def test_rates_in_both_notations() -> None:
    assert parse_rate("1000 per 6 minute") == Window(1000, 360.0)
    assert parse_rate("1000/6 minutes") == Window(1000, 360.0)
    assert parse_rate("10000/hour") == Window(10000, 3600.0)
    assert parse_rate("100 per 2 second") == Window(100, 2.0)
    assert parse_rate("lots") is None and parse_rate("5 per 1 fortnight") is None


def test_the_pacer_waits_until_the_oldest_calls_leave_the_window() -> None:
    pacer = Pacer()
    pacer.learn(usage(actions=[("100 per 10 second", 100, 0, 10)]), now=0.0)
    assert pacer.largest_call("actions") == 100
    assert pacer.delay("actions", 60, now=0.0) == 0
    first = pacer.reserve("actions", 60, now=0.0)
    pacer.charged("actions", first, {}, now=0.1)
    assert pacer.delay("actions", 40, now=1.0) == 0
    second = pacer.reserve("actions", 40, now=1.0)
    pacer.charged("actions", second, {}, now=1.0)
    # Full: 30 SIMs fit once the first call (60 SIMs, counted from 0.1 s) has left.
    assert pacer.delay("actions", 30, now=2.0) == pytest.approx(10.1 - 2.0 + MARGIN_S)
    # 70 need both calls gone.
    assert pacer.delay("actions", 70, now=2.0) == pytest.approx(11.0 - 2.0 + MARGIN_S)
    assert pacer.delay("actions", 30, now=10.2) == 0
    assert math.isinf(pacer.delay("actions", 101, now=20.0))


def test_every_window_of_a_class_counts() -> None:
    pacer = Pacer()
    pacer.learn(usage(details=[("5 per 1 second", 5, 0, 1), ("8 per 1 hour", 8, 0, 3600)]), now=0.0)
    for at in range(8):
        pacer.charged("details", pacer.reserve("details", 1, float(at)), {}, float(at))
    # The second window is full although the first has room: wait an hour.
    assert pacer.delay("details", 1, now=8.0) == pytest.approx(3600.0 - 8.0 + MARGIN_S)


def test_use_by_others_counts_from_apiusage_and_from_the_headers() -> None:
    pacer = Pacer()
    # 80 of 100 used before this client started; the oldest of it leaves in 4 s.
    pacer.learn(usage(actions=[("100 per 10 second", 100, 80, 4)]), now=0.0)
    assert pacer.delay("actions", 20, now=0.0) == 0
    assert pacer.delay("actions", 21, now=0.0) == pytest.approx(4.0 + MARGIN_S)
    # The server says only 10 are left after our 20: 70 more were taken by someone else.
    pacer2 = Pacer()
    pacer2.learn(usage(actions=[("100 per 10 second", 100, 0, 10)]), now=0.0)
    charge = pacer2.reserve("actions", 20, now=0.0)
    headers = {"ratelimit-limit": "100", "ratelimit-remaining": "10", "ratelimit-reset": "10"}
    pacer2.charged("actions", charge, headers, now=1.0)
    assert pacer2.delay("actions", 10, now=1.0) == 0
    assert pacer2.delay("actions", 11, now=1.0) > 9.0


def test_a_refusal_blocks_for_retry_after_and_takes_nothing() -> None:
    pacer = Pacer()
    pacer.learn(usage(sms=[("30 per 1 hour", 30, 0, 3600)]), now=0.0)
    charge = pacer.reserve("sms", 1, now=0.0)
    pacer.refused("sms", charge, retry_after=5.0, now=0.0)
    budget = pacer.budget("sms")
    assert budget.charges == [] and budget.stale
    assert pacer.delay("sms", 1, now=1.0) == pytest.approx(4.0)


def test_without_apiusage_the_headers_give_a_window() -> None:
    pacer = Pacer()
    charge = pacer.reserve("details", 1, now=0.0)
    headers = {"ratelimit-limit": "10", "ratelimit-remaining": "9", "ratelimit-reset": "60"}
    pacer.charged("details", charge, headers, now=0.0)
    assert pacer.largest_call("details") == 10


def _page(iccids: list[str], size: int, number: int | None, pages: int | None) -> SimPage:
    entry = {"euiccid": None, "imsi": None, "msisdn": None, "imei": None, "status": "Active",
             "productive": True, "partnerId": 1, "tariff": None, "activationDate": None,
             "dataConsumption": 0}  # fmt: skip
    body = {
        "content": [{**entry, "iccid": i} for i in iccids],
        "page": {"size": size, "number": number, "totalPages": pages},
        "links": [],
    }
    return msgspec.convert(body, SimPage)


def test_paging_by_number_and_by_keyset() -> None:
    req = sims(100013, status="Active", size=2)
    following = next_page(req, _page(["a", "b"], 2, 0, 2))
    assert following is not None and following.params == {"status": "Active", "size": 2, "page": 1}
    assert next_page(following, _page(["c"], 2, 1, 2)) is None
    by_keyset = next_page(req, _page(["a", "b"], 2, 0, 9), by_keyset=True)
    assert by_keyset is not None and by_keyset.params is not None
    assert by_keyset.params["after"] == "b" and "page" not in by_keyset.params
    assert next_page(by_keyset, _page(["c"], 2, None, None), by_keyset=True) is None


def test_action_requests_carry_their_cost_and_camel_case_fields() -> None:
    req = action(100013, "changetariff", ["8949", {"imsi": "262"}], {"tariff_id": 7}, None)
    assert req.body == {"sims": [{"iccid": "8949"}, {"imsi": "262"}], "tariffId": 7}
    assert (req.cost, req.rate_class, req.action) == (2, "actions", True)
    assert action(1, "simtransfer", ["8949"], {}, None).rate_class is None
    assert camel({"target_partner_id": 5, "message": None}) == {"targetPartnerId": 5}


def test_the_event_state_resumes_and_drops_repeats() -> None:
    state = EventState(remember=2)
    now = "2025-08-28T11:25:49.000Z"
    event = {"time": now, "source": "/v1/partners/simaction", "specversion": "1.0",
             "type": "simaction.v1", "datacontenttype": "application/json",
             "data": samples.sample("simaction.v1", 100013, "http://x", now)}  # fmt: skip
    lines = [msgspec.json.encode({**event, "id": f"e{n}"}).decode() for n in range(3)]
    first = state.accept(lines[0])
    assert isinstance(first, SimActionEvent) and first.data.partnerID == "100013"
    assert state.accept(lines[0]) is None and state.repeats == 1
    assert state.accept("") is None
    state.accept(lines[1])
    state.accept(lines[2])
    assert state.last_event_id == "e2" and list(state.seen) == ["e1", "e2"]
    odd = state.accept('{"id": "x1", "type": "other.v9", "data": {"a": 1}}')
    assert isinstance(odd, GenericEvent) and odd.data == {"a": 1}
    assert reconnect_pause(0) == 0 and 0.25 <= reconnect_pause(1) <= 0.5
    assert reconnect_pause(30) <= 30.0


def test_credentials_from_the_environment_and_a_profile(tmp_path: Path) -> None:
    env = {"M2M_BASE_URL": "https://api.example", "M2M_CLIENT_ID": "c",
           "M2M_CLIENT_SECRET": "s3cr3t", "M2M_PARTNER_ID": "100013"}  # fmt: skip
    creds = Credentials.from_env(env)
    assert creds.partner_id == 100013
    assert creds.token_endpoint == (
        "https://api.example/auth/realms/m2m/protocol/openid-connect/token"
    )
    assert "s3cr3t" not in repr(creds)
    with pytest.raises(ConfigError, match="client_secret"):
        Credentials.from_env({"M2M_BASE_URL": "x", "M2M_CLIENT_ID": "c"})
    with pytest.raises(ConfigError, match="event_client_id"):
        creds.for_events()
    profile = tmp_path / "p.toml"
    profile.write_text('[x]\nbase_url = "u"\nclient_id = "c"\nclient_secret = "s"\n'
                       'token_url = "https://idp/token"\n')  # fmt: skip
    assert Credentials.from_profile("x", profile).token_endpoint == "https://idp/token"
    with pytest.raises(ConfigError, match=r"no profile \[y\]"):
        Credentials.from_profile("y", profile)


def _sdk_requests() -> list[Req[object]]:
    """One request of every SDK method, with placeholder ids (partner 1, signupId 2,
    transactionId 3, ICCID ``ICCID``, action ``{action}``)."""
    p = 1
    return [
        ep.partner(p), ep.api_usage(p), ep.pools_usage(p), ep.sims(p), ep.sim(p, "ICCID"),
        ep.sim_by(p, imsi="1"), ep.session(p, "ICCID"), ep.session_by(p, msisdn="1"),
        ep.session_history(p, "ICCID"), ep.session_history(p, msisdn="1"),
        ep.sms_history(p, "ICCID"), ep.sms_history(p, msisdn="1"),
        ep.send_sms(p, "ICCID", "hi"), ep.send_sms(p, None, "hi", msisdn="1"),
        ep.hlr_check(p, "ICCID"), ep.hlr_check(p, msisdn="1"),
        ep.hlr_reset(p, "ICCID"), ep.hlr_reset(p, msisdn="1"),
        ep.action(p, "{action}", ["ICCID"], {}, None), ep.dry_run(p, "{action}", ["ICCID"], {}),
        ep.action_status(p, 2), ep.cancel_action(p, 2), ep.actions(p),
        ep.transfer(p, 3), ep.decide_transfer(p, 3, "Accepted"), ep.order(p, 1, 1),
    ]  # fmt: skip


def _template(path: str) -> str:
    path = path.replace("/partners/1", "/partners/{partnerId}").replace("/ICCID", "/{iccid}")
    path = re.sub(r"/simtransfer/3$", "/simtransfer/{transactionId}", path)
    return re.sub(r"/actions/2$", "/actions/{signupId}", path)


def test_the_sdk_has_a_method_for_every_customer_endpoint() -> None:
    """Every route of the customer API (the route table the OpenAPI document comes from)
    is sent by some SDK method; the action POSTs by ``run_action``/``submit``. A new
    endpoint fails here until m2mportal/client has its method (and docs/sdk.md its row)."""
    sent = {(req.method, _template(req.path)) for req in _sdk_requests()}
    catalogue = {spec.path for spec in CATALOGUE}
    missing = []
    for endpoint in ENDPOINTS:
        path = endpoint.path
        action_path = re.fullmatch(r"/partners/\{partnerId\}/sims/actions/(\w+)", path)
        if endpoint.method == "POST" and action_path and action_path.group(1) in catalogue:
            path = "/partners/{partnerId}/sims/actions/{action}"
        if (endpoint.method, path) not in sent:
            missing.append(f"{endpoint.method} {endpoint.path}")
    assert missing == []


def test_tokens_are_renewed_before_they_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    """The token is fetched once, kept, and fetched again 30 s before it expires (or at a
    fifth of a short lifetime) without waiting for a 401."""
    clock = [1000.0]
    monkeypatch.setattr(engine, "now", lambda: clock[0])
    session = Session(Credentials("https://api.example", "c", "s3cr3t"))

    def fetch(lifetime: int, token: str) -> str | None:
        steps = engine.token_exchange(session)
        try:
            step = next(steps)
        except StopIteration as kept:
            assert isinstance(kept.value, str)
            return None  # no request: the token in hand is still good
        assert isinstance(step, Send) and step.data is not None
        assert step.url == "https://api.example/auth/realms/m2m/protocol/openid-connect/token"
        assert step.data["grant_type"] == "client_credentials"
        answer = httpx.Response(200, json={"access_token": token, "expires_in": lifetime})
        with pytest.raises(StopIteration) as done:
            steps.send(answer)
        value: str = done.value.value
        return value

    assert fetch(300, "first") == "first"
    clock[0] += 269.0
    assert fetch(300, "unused") is None and session.token == "first"
    clock[0] += 1.0  # 30 s before the end
    assert fetch(10, "second") == "second"
    clock[0] += 7.9  # a 10 s token is renewed 2 s before its end
    assert fetch(10, "unused") is None
    clock[0] += 0.1
    assert fetch(10, "third") == "third"


@pytest.mark.parametrize(
    ("blocking", "asynchronous"), [(Client, AsyncClient), (EventConsumer, AsyncEventConsumer)]
)
def test_the_blocking_and_the_async_client_have_the_same_methods(
    blocking: type, asynchronous: type
) -> None:
    """Same public methods with the same parameters (sync.py mirrors aio.py by hand)."""

    def methods(cls: type) -> dict[str, list[str]]:
        return {
            name: list(inspect.signature(member).parameters)
            for name, member in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_") and name not in ("aclose", "close")
        }

    assert methods(blocking) == methods(asynchronous)


def test_a_wait_longer_than_max_wait_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "now", lambda: 0.0)
    session = Session(Credentials("https://api.example", "c", "s3cr3t"), max_wait=60.0)
    session.pacer.learn(usage(sms=[("30 per 1 hour", 30, 30, 1800)]), now=0.0)
    steps = engine.pace(session, ep.send_sms(1, "ICCID", "hi"))
    with pytest.raises(BudgetError, match="in 1800 s"):
        next(steps)
    session.max_wait = None
    step = next(engine.pace(session, ep.send_sms(1, "ICCID", "hi")))
    assert isinstance(step, Wait) and step.seconds == pytest.approx(1800 + MARGIN_S)
