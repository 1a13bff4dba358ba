"""Protective measures through HTTP: budgets counted in SIMs, the seed's 403, headers,
shared by subunits, untouched by refused or invalid calls; in memory and on Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import time_machine

from m2mportal import synthetic
from m2mportal.app import create_app
from m2mportal.clock import Clock
from m2mportal.config import Settings
from m2mportal.platform import Platform, open_platform
from tests.conftest import REDIS_URL, test_settings
from tests.helpers import World

EXCEEDED = {
    "status": "FORBIDDEN",
    "message": "Limit exceeded",
    "errors": ["Too Many Concurrent Requests on Platform."],
}


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def settings(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Settings:
    """The same tests with budgets in process memory and in Redis."""
    if request.param == "memory":
        return test_settings(database_url, tmp_path)
    if not REDIS_URL:
        pytest.skip("Redis tests need M2MP_TEST_REDIS_URL (set by .ci/run)")
    return test_settings(
        database_url, tmp_path, redis_url=REDIS_URL, redis_prefix="t" + uuid.uuid4().hex[:10]
    )


@pytest.fixture
def traveller() -> Iterator[Any]:
    """Rate-limit windows run on real time: the tests move real time, never sleep."""
    with time_machine.travel(Clock().now(), tick=True) as travel:
        yield travel


@pytest.fixture
async def limited(world: World) -> AsyncIterator[dict[str, Any]]:
    partner = await world.partner()
    subunit = await world.partner("North", parent=partner)
    other = await world.partner("Other Company")
    sims = [
        {"iccid": synthetic.iccid(n), "status": "Active", "msisdn": synthetic.msisdn(n),
         "subunitId": subunit if n > 900 else None}
        for n in range(1, 1001)
    ]  # fmt: skip
    assert (await world.sims(partner, sims)).status_code == 201
    assert (
        await world.sims(other, [{"iccid": synthetic.iccid(5000), "status": "Active"}])
    ).status_code == 201
    yield {
        "partner": partner,
        "subunit": subunit,
        "other": other,
        "app": await world.app(partner),
        "sub_app": await world.app(subunit, name="north"),
        "other_app": await world.app(other, name="other"),
    }


async def _limits(world: World, partner: int, **classes: list[str]) -> None:
    answer = await world.op("PUT", f"/partners/{partner}/limits", json=classes)
    assert answer.status_code == 200, answer.text


async def _details(world: World, headers: dict[str, str], partner: int, n: int) -> httpx.Response:
    return await world.api("GET", f"/partners/{partner}/sims/{synthetic.iccid(n)}", headers)


def _exceeded(answer: httpx.Response) -> None:
    assert answer.status_code == 403, answer.text
    body = answer.json()
    assert {k: body[k] for k in EXCEEDED} == EXCEEDED
    assert set(body) == {"status", "message", "errors", "timestamp"}
    assert int(answer.headers["Retry-After"]) >= 1


def _usage(report: dict[str, Any], limit_class: str) -> dict[str, int]:
    return {row["limit"]: row["used"] for row in report["limits"][limit_class]}


async def _api_usage(world: World, headers: dict[str, str], partner: int) -> dict[str, Any]:
    answer = await world.api("GET", f"/partners/{partner}/apiusage", headers)
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


# Issue 9.1: with the default limits (the same windows for actions and details) the two
# classes shared one counter. These tests use the Settings defaults on purpose.


async def test_a_full_action_leaves_the_details_budget_whole(
    world: World, limited: dict[str, Any]
) -> None:
    p = limited["partner"]
    headers = await world.headers_for(limited["app"])
    sims = {"sims": [{"iccid": synthetic.iccid(n)} for n in range(1, 1001)]}
    action = await world.api("POST", f"/partners/{p}/sims/actions/suspend", headers, json=sims)
    assert action.status_code == 202, action.text
    assert action.headers["RateLimit-Limit"] == "1000"
    assert action.headers["RateLimit-Remaining"] == "0"
    _exceeded(await world.api("POST", f"/partners/{p}/sims/actions/suspend", headers, json=sims))
    details = await _details(world, headers, p, 1)
    assert details.status_code == 200, details.text
    assert details.headers["RateLimit-Limit"] == "1000"
    assert details.headers["RateLimit-Remaining"] == "999"
    report = await _api_usage(world, headers, p)
    assert _usage(report, "actions") == {"1000 per 6 minute": 1000, "10000 per 1 hour": 1000}
    assert _usage(report, "details") == {"1000 per 6 minute": 1, "10000 per 1 hour": 1}
    assert _usage(report, "history") == {"250 per 6 minute": 0, "2500 per 1 hour": 0}


async def test_a_thousand_details_leave_the_action_budget_whole(
    world: World, limited: dict[str, Any]
) -> None:
    p = limited["partner"]
    headers = await world.headers_for(limited["app"])
    for n in range(1, 1001):
        answer = await _details(world, headers, p, n)
        assert answer.status_code == 200, (n, answer.text)
    assert answer.headers["RateLimit-Remaining"] == "0"
    _exceeded(await _details(world, headers, p, 1))
    body = {"sims": [{"iccid": synthetic.iccid(n)} for n in range(1, 1001)]}
    action = await world.api("POST", f"/partners/{p}/sims/actions/suspend", headers, json=body)
    assert action.status_code == 202, action.text
    assert action.headers["RateLimit-Remaining"] == "0"
    report = await _api_usage(world, headers, p)
    assert _usage(report, "details") == {"1000 per 6 minute": 1000, "10000 per 1 hour": 1000}
    assert _usage(report, "actions") == {"1000 per 6 minute": 1000, "10000 per 1 hour": 1000}


async def test_six_minute_and_hourly_windows(
    world: World, limited: dict[str, Any], traveller: Any
) -> None:
    p = limited["partner"]
    await _limits(world, p, details=["5/6 minutes", "8/hour"])
    headers = await world.headers_for(limited["app"])
    for n in range(1, 6):
        answer = await _details(world, headers, p, n)
        assert answer.status_code == 200
        assert answer.headers["RateLimit-Limit"] == "5"
        assert answer.headers["RateLimit-Remaining"] == str(5 - n)
    refused = await _details(world, headers, p, 6)
    _exceeded(refused)
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert 0 < int(refused.headers["RateLimit-Reset"]) <= 360
    traveller.shift(361)
    await world.renew()
    headers = await world.headers_for(limited["app"])
    for n in range(6, 9):
        assert (await _details(world, headers, p, n)).status_code == 200
    # The 6-minute window has room for 2 more; the hourly one (8) is spent.
    hourly = await _details(world, headers, p, 9)
    _exceeded(hourly)
    assert hourly.headers["RateLimit-Limit"] == "8"
    traveller.shift(3601)
    await world.renew()
    headers = await world.headers_for(limited["app"])
    assert (await _details(world, headers, p, 9)).status_code == 200


async def test_windows_of_one_length_all_apply_and_one_window_counts_once(
    world: World,
) -> None:
    """["3/day", "9/day"] was refused ("repeats a window length"): both apply, the tighter
    binds. Two spellings of one window share a counter and must not take a call twice."""
    for start, rates in ((1, ["9/day", "3/day"]), (11, ["3/hour", "3/1 hours"])):
        partner = await world.partner()
        await world.synthetic_sims(partner, 4, start=start)
        await _limits(world, partner, details=rates)
        headers = await world.headers_for(await world.app(partner))
        for n in range(1, 4):
            answer = await _details(world, headers, partner, start + n - 1)
            assert answer.status_code == 200, (rates, n, answer.text)
            assert answer.headers["RateLimit-Limit"] == "3"
            assert answer.headers["RateLimit-Remaining"] == str(3 - n)
        _exceeded(await _details(world, headers, partner, start + 3))


async def test_actions_count_sims_and_refusals_cost_nothing(
    world: World, limited: dict[str, Any], traveller: Any
) -> None:
    p = limited["partner"]
    headers = await world.headers_for(limited["app"])
    path = f"/partners/{p}/sims/actions/suspend"

    def sims(start: int, count: int) -> dict[str, Any]:
        return {"sims": [{"iccid": synthetic.iccid(n)} for n in range(start, start + count)]}

    first = await world.api("POST", path, headers, json=sims(1, 1000))
    assert first.status_code == 202
    assert first.headers["RateLimit-Remaining"] == "0"
    _exceeded(await world.api("POST", path, headers, json=sims(1, 1)))
    traveller.shift(361)
    await world.renew()
    headers = await world.headers_for(limited["app"])
    await _limits(world, p, actions=["500/6 minutes"])
    world.platform.limiter.forget(p)
    ok = await world.api("POST", path, headers, json=sims(1, 300))
    assert ok.status_code == 202 and ok.headers["RateLimit-Remaining"] == "200"
    _exceeded(await world.api("POST", path, headers, json=sims(301, 300)))
    invalid = await world.api("POST", path, headers, json={"sims": [{"iccid": "12"}] * 100})
    assert invalid.status_code == 400
    dry = await world.api("POST", path, headers, json=sims(301, 200), params={"dryRun": "true"})
    assert dry.status_code == 200 and dry.headers["RateLimit-Remaining"] == "200"
    exact = await world.api("POST", path, headers, json=sims(301, 200))
    assert exact.status_code == 202 and exact.headers["RateLimit-Remaining"] == "0"


async def test_subunits_share_the_parent_budget_and_others_keep_theirs(
    world: World, limited: dict[str, Any]
) -> None:
    p, sub, other = limited["partner"], limited["subunit"], limited["other"]
    await _limits(world, p, details=["3/6 minutes"])
    await _limits(world, other, details=["3/6 minutes"])
    parent = await world.headers_for(limited["app"])
    north = await world.headers_for(limited["sub_app"])
    assert (await _details(world, parent, p, 1)).status_code == 200
    assert (await _details(world, north, sub, 901)).status_code == 200
    answer = await _details(world, north, sub, 902)
    assert answer.status_code == 200 and answer.headers["RateLimit-Remaining"] == "0"
    _exceeded(await _details(world, parent, p, 2))
    _exceeded(await _details(world, north, sub, 903))
    theirs = await world.headers_for(limited["other_app"])
    fine = await _details(world, theirs, other, 5000)
    assert fine.status_code == 200 and fine.headers["RateLimit-Remaining"] == "2"


async def test_post_details_is_limited_and_api_usage_reports(
    world: World, limited: dict[str, Any]
) -> None:
    p = limited["partner"]
    await _limits(world, p, details=["2/6 minutes", "100/hour"])
    headers = await world.headers_for(limited["app"])
    body = {"msisdn": synthetic.msisdn(1)}
    for _ in range(2):
        ok = await world.api("POST", f"/partners/{p}/sims/details", headers, json=body)
        assert ok.status_code == 200
    _exceeded(await world.api("POST", f"/partners/{p}/sims/details", headers, json=body))
    usage = await world.api("GET", f"/partners/{limited['subunit']}/apiusage", headers)
    assert usage.status_code == 200
    assert usage.headers["Deprecation"] == "true"
    report = usage.json()
    assert report["budgetPartnerId"] == p
    details = {row["limit"]: row for row in report["limits"]["details"]}
    assert details["2 per 6 minute"]["used"] == 2 and details["2 per 6 minute"]["remaining"] == 0
    assert details["100 per 1 hour"]["used"] == 2
    assert report["limits"]["actions"][0]["used"] == 0


async def test_operator_limits_validation(world: World, limited: dict[str, Any]) -> None:
    p = limited["partner"]
    bad = await world.op("PUT", f"/partners/{p}/limits", json={"details": ["lots"]})
    assert bad.status_code == 400 and "details[0]" in bad.json()["errors"][0]
    unknown = await world.op("PUT", f"/partners/{p}/limits", json={"speed": ["1/second"]})
    assert unknown.status_code == 400 and unknown.json()["errors"][0].startswith("speed")
    sub = await world.op(
        "PUT", f"/partners/{limited['subunit']}/limits", json={"details": ["1/hour"]}
    )
    assert sub.status_code == 400 and "top partner" in sub.json()["errors"][0]


async def test_unlimited_calls_carry_no_budget_headers(
    world: World, limited: dict[str, Any]
) -> None:
    headers = await world.headers_for(limited["app"])
    answer = await world.api("GET", f"/partners/{limited['partner']}/sims", headers)
    assert answer.status_code == 200 and "RateLimit-Limit" not in answer.headers


__all__ = ["Platform", "create_app", "open_platform"]
