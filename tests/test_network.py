"""The simulated network through HTTP: injected traffic shows up in the session, the
session and SMS histories, the SIM's aggregated usage and the SIM list; send message and
HLR check/reset; identifiers, scope, dates and budgets; record ids count once."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from m2mportal import maintenance, synthetic
from m2mportal.actions import worker
from m2mportal.app import create_app
from m2mportal.clock import Clock, iso
from m2mportal.config import Settings
from m2mportal.domain.usage import window
from m2mportal.gateway.limits import EXCEEDED
from m2mportal.network import records
from m2mportal.network.models import SessionStart, SessionStop, SessionUpdate, SmsRecord
from m2mportal.platform import open_platform
from tests.conftest import test_settings
from tests.helpers import (
    World,
    assert_error_mentions,
    assert_error_names,
    error_list,
    mid_month,
)

OPEN = {"apn": "internet.m2m", "mcc": "262", "mnc": "01"}


@dataclass
class Scene:
    world: World
    partner: int
    headers: dict[str, str]
    sims: list[dict[str, str]]  # Active SIMs with every identifier

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.world.api("GET", f"/partners/{self.partner}{path}", self.headers, **kw)

    async def post(self, path: str, **kw: Any) -> httpx.Response:
        return await self.world.api("POST", f"/partners/{self.partner}{path}", self.headers, **kw)


def identifiers(serial: int) -> dict[str, str]:
    return {
        "iccid": synthetic.iccid(serial),
        "imsi": synthetic.imsi(serial),
        "msisdn": synthetic.msisdn(serial),
        "imei": synthetic.imei(serial),
    }


async def add_sims(world: World, partner: int, serials: range, status: str = "Active") -> list:
    sims = [identifiers(serial) for serial in serials]
    records_ = [{**sim, "status": status, "productive": True} for sim in sims]
    answer = await world.sims(partner, records_)
    assert answer.status_code == 201, answer.text
    return sims


@pytest.fixture
async def scene(world: World) -> Scene:
    # Traffic reaches an hour back: keep it inside this month's usage counters.
    await world.move_clock(mid_month(world.platform.clock.now()))
    partner = await world.partner()
    sims = await add_sims(world, partner, range(1, 4))
    headers = await world.headers_for(await world.app(partner))
    return Scene(world, partner, headers, sims)


async def test_injected_traffic_shows_in_session_histories_and_usage(scene: Scene) -> None:
    world, sim = scene.world, scene.sims[0]
    iccid = sim["iccid"]
    an_hour_ago = iso(world.platform.clock.now() - timedelta(hours=1))
    closed = await world.inject(
        "sessions", iccid=iccid, bytesUp=1000, bytesDown=2000, durationSeconds=600,
        open=False, startedAt=an_hour_ago, **OPEN,
    )  # fmt: skip
    live = await world.inject(
        "sessions", iccid=iccid, imei=sim["imei"], bytesUp=500, bytesDown=700,
        durationSeconds=60, open=True, apn="iot.static", mcc="232", mnc="03",
    )  # fmt: skip
    await world.inject("sms", iccid=iccid, direction="MO", text="temp=21.5", mcc="262", mnc="01")
    await world.inject(
        "voice", iccid=iccid, direction="MT", durationSeconds=95, mcc="262", mnc="01", cost=0.09
    )

    session = await scene.get(f"/sims/{iccid}/session")
    assert session.status_code == 200, session.text
    body = session.json()
    assert body["online"] is True and "sessions" not in body
    current = body["session"]
    assert current["sessionId"] == live["id"]
    assert current["apn"] == "iot.static" and current["ratType"] == "LTE"
    assert current["network"] == {
        "mcc": "232", "mnc": "03", "name": "Magenta Telekom", "country": "AT"
    }  # fmt: skip
    assert (current["volumeUpload"], current["volumeDownload"]) == (500, 700)
    assert current["volumeRounded"] == 2048 and current["restrictionReason"] is None
    assert current["ipAddress"].startswith("10.")
    assert int(session.headers["RateLimit-Remaining"]) >= 0
    by_msisdn = await scene.post("/sims/session", json={"msisdn": sim["msisdn"]})
    assert by_msisdn.status_code == 200 and by_msisdn.json() == body

    history = await scene.get(f"/sims/{iccid}/sessionhistory")
    assert history.status_code == 200, history.text
    page = history.json()
    assert page["page"] == {"size": 100, "number": 0, "totalElements": 1, "totalPages": 1}
    (entry,) = page["content"]
    assert entry["sessionId"] == closed["id"] and entry["sessionStart"] == an_hour_ago
    assert entry["durationSeconds"] == 600 and entry["endCause"] == "Normal"
    assert (entry["volumeUpload"], entry["volumeDownload"]) == (1000, 2000)
    assert entry["network"]["name"] == "Telekom Deutschland"
    posted = await scene.post("/sims/sessionhistory", json={"iccid": iccid})
    assert posted.json()["content"] == page["content"]

    sms = await scene.get(f"/sims/{iccid}/smshistory")
    assert sms.status_code == 200, sms.text
    (message,) = sms.json()["content"]
    assert message["direction"] == "MO" and message["status"] == "DELIVERED"
    assert message["originator"] == sim["msisdn"] and message["network"]["country"] == "DE"
    posted = await scene.post("/sims/smshistory", json={"msisdn": sim["msisdn"]})
    assert posted.json()["content"] == sms.json()["content"]

    details = (await scene.get(f"/sims/{iccid}")).json()
    assert details["simAggregatedData"] == {
        "dataBytes": 4200, "smsMo": 1, "smsMt": 0, "voiceSeconds": 95, "sessions": 2,
        "lastSessionAt": current["sessionStart"],
    }  # fmt: skip
    listing = (await scene.get("/sims")).json()["content"]
    consumption = {e["iccid"]: e["dataConsumption"] for e in listing}
    assert consumption == {iccid: 4200, scene.sims[1]["iccid"]: 0, scene.sims[2]["iccid"]: 0}
    for link in details["links"]:  # every link now names a route that answers
        followed = await world.http.get(link["href"], headers=scene.headers)
        assert followed.status_code == 200, (link, followed.text)


async def test_usage_counts_this_month_only(scene: Scene) -> None:
    world, iccid = scene.world, scene.sims[0]["iccid"]
    await world.inject(
        "sessions", iccid=iccid, bytesUp=10, bytesDown=20, durationSeconds=5, open=False, **OPEN
    )
    world.platform.clock.advance(32 * 86400)
    await world.renew()
    scene.headers = await world.headers_for(await world.app(scene.partner, name="later"))
    usage = (await scene.get(f"/sims/{iccid}")).json()["simAggregatedData"]
    assert (usage["dataBytes"], usage["sessions"]) == (0, 0)
    await world.inject(
        "sessions", iccid=iccid, bytesUp=1, bytesDown=2, durationSeconds=5, open=False, **OPEN
    )
    usage = (await scene.get(f"/sims/{iccid}")).json()["simAggregatedData"]
    assert (usage["dataBytes"], usage["sessions"]) == (3, 1)


async def test_post_variants_take_iccid_and_msisdn_only(scene: Scene) -> None:
    sim = scene.sims[1]
    for path in ("session", "sessionhistory", "smshistory", "hlr/check"):
        for kind in ("iccid", "msisdn"):
            answer = await scene.post(f"/sims/{path}", json={kind: sim[kind]})
            assert answer.status_code == 200, (path, kind, answer.text)
            assert answer.json()["iccid"] == sim["iccid"]
        for kind in ("imsi", "imei"):
            answer = await scene.post(f"/sims/{path}", json={kind: sim[kind]})
            assert_error_names(answer, 400, "BAD_REQUEST", "body")
            assert kind in answer.text
        both = {"iccid": sim["iccid"], "msisdn": sim["msisdn"]}
        assert_error_names(await scene.post(f"/sims/{path}", json=both), 400, "BAD_REQUEST", "body")
        bad = await scene.post(f"/sims/{path}", json={"msisdn": "+49151"})
        assert_error_names(bad, 400, "BAD_REQUEST", "msisdn")
        bad = await scene.post(f"/sims/{path}", json={"iccid": "89490200000000000012"})
        assert_error_names(bad, 400, "BAD_REQUEST", "iccid")
    for path in ("session", "sessionhistory", "smshistory"):
        answer = await scene.get(f"/sims/89490200000000000012/{path}")
        assert_error_names(answer, 400, "BAD_REQUEST", "iccid")


async def test_a_sim_of_another_partner_is_not_found(scene: Scene) -> None:
    world = scene.world
    other = await world.partner("Other Corp")
    (foreign,) = await add_sims(world, other, range(50, 51))
    for path in ("session", "sessionhistory", "smshistory"):
        answer = await scene.get(f"/sims/{foreign['iccid']}/{path}")
        assert_error_mentions(answer, 404, "NOT_FOUND", foreign["iccid"])
        answer = await scene.post(f"/sims/{path}", json={"msisdn": foreign["msisdn"]})
        assert_error_mentions(answer, 404, "NOT_FOUND", foreign["msisdn"])
    for path in ("sms", "hlr/check", "hlr/reset"):
        body = {"message": "hi"} if path == "sms" else None
        answer = await scene.post(f"/sims/{foreign['iccid']}/{path}", json=body)
        error_list(answer, 404, "NOT_FOUND")
        answer = await scene.post(f"/sims/{path}", json={"iccid": foreign["iccid"], **(body or {})})
        error_list(answer, 404, "NOT_FOUND")


def test_a_window_ending_now_holds_what_was_stamped_this_millisecond() -> None:
    # Records are stamped to the millisecond: a message sent in the millisecond of the read
    # (a fast client) must be in the history that ends "now" (exclusive), for both reads.
    now = datetime(2026, 8, 15, 12, 0, 0, 123_456, tzinfo=UTC)
    for start_given in (None, "2026-08-15"):
        found = window(now, start_given, None)
        assert not isinstance(found, list)
        assert iso(found[0]) <= iso(now) < iso(found[1])


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"dateFrom": "2025-13-01"}, "dateFrom"),
        ({"dateFrom": "yesterday"}, "dateFrom"),
        ({"dateTo": "2025-08-01T25:00:00Z"}, "dateTo"),
        ({"dateFrom": "2025-01-01", "dateTo": "2025-04-03"}, "dateTo"),  # 93 days
        ({"dateFrom": "2025-08-03", "dateTo": "2025-08-01"}, "dateTo"),
        ({"size": "0"}, "size"),
        ({"size": "1001"}, "size"),
        ({"page": "-1"}, "page"),
    ],
)
async def test_bad_dates_and_spans_are_400_naming_the_field(
    scene: Scene, params: dict[str, str], named: str
) -> None:
    iccid = scene.sims[0]["iccid"]
    for path in ("sessionhistory", "smshistory"):
        answer = await scene.get(f"/sims/{iccid}/{path}", params=params)
        assert_error_names(answer, 400, "BAD_REQUEST", named)
        body = {"iccid": iccid, **{k: int(v) if k in ("size", "page") else v
                                   for k, v in params.items()}}  # fmt: skip
        answer = await scene.post(f"/sims/{path}", json=body)
        error_list(answer, 400, "BAD_REQUEST")
        assert named in answer.text


async def test_history_windows_default_and_pages(scene: Scene) -> None:
    world, iccid = scene.world, scene.sims[0]["iccid"]
    now = world.platform.clock.now()
    for days in (1, 2, 3, 10):  # the last one is outside the default 7 days
        start = iso(now - timedelta(days=days))
        await world.inject(
            "sessions", iccid=iccid, bytesUp=days, bytesDown=0, durationSeconds=60,
            open=False, startedAt=start, **OPEN,
        )  # fmt: skip
    page = (await scene.get(f"/sims/{iccid}/sessionhistory", params={"size": 2})).json()
    assert page["page"] == {"size": 2, "number": 0, "totalElements": 3, "totalPages": 2}
    assert [e["volumeUpload"] for e in page["content"]] == [1, 2]  # newest first
    (nxt,) = [link for link in page["links"] if link["rel"] == "next"]
    second = (await world.http.get(nxt["href"], headers=scene.headers)).json()
    assert [e["volumeUpload"] for e in second["content"]] == [3]
    wide = await scene.get(
        f"/sims/{iccid}/sessionhistory",
        params={"dateFrom": iso(now - timedelta(days=30))[:10]},
    )
    assert [e["volumeUpload"] for e in wide.json()["content"]] == [1, 2, 3, 10]


async def test_parallel_sessions_need_the_option(scene: Scene) -> None:
    world, iccid = scene.world, scene.sims[0]["iccid"]
    first = await world.inject(
        "sessions", iccid=iccid, bytesUp=1, bytesDown=1, durationSeconds=60, open=True, **OPEN
    )
    second = await world.inject(
        "sessions", iccid=iccid, bytesUp=1, bytesDown=1, durationSeconds=5, open=True, **OPEN
    )
    refused = await scene.get(f"/sims/{iccid}/session", params={"parallelSessions": "true"})
    assert_error_mentions(refused, 400, "BAD_REQUEST", "parallelSessions", "Parallel Sessions")
    option = await world.op("POST", "/options", json={"name": "Parallel Sessions"})
    booked = await scene.post(
        "/sims/actions/bookoption",
        json={"sims": [{"iccid": iccid}], "optionId": option.json()["id"]},
    )
    assert booked.status_code == 202, booked.text
    await worker.run_until_idle(world.platform)
    answer = await scene.get(f"/sims/{iccid}/session", params={"parallelSessions": "true"})
    body = answer.json()
    assert [s["sessionId"] for s in body["sessions"]] == [second["id"], first["id"]]
    assert body["session"]["sessionId"] == second["id"]
    posted = await scene.post("/sims/session", json={"iccid": iccid, "parallelSessions": True})
    assert posted.json() == body


async def test_send_message_reaches_the_sms_history(scene: Scene) -> None:
    world, online, offline = scene.world, scene.sims[0], scene.sims[1]
    await world.inject(
        "sessions", iccid=online["iccid"], bytesUp=0, bytesDown=0, durationSeconds=1,
        open=True, **OPEN,
    )  # fmt: skip
    sent = await scene.post(f"/sims/{online['iccid']}/sms", json={"message": "PING"})
    assert sent.status_code == 202, sent.text
    assert sent.json()["status"] == "DELIVERED" and sent.json()["iccid"] == online["iccid"]
    (message,) = (await scene.get(f"/sims/{online['iccid']}/smshistory")).json()["content"]
    assert message["smsId"] == sent.json()["smsId"]
    assert (message["direction"], message["status"]) == ("MT", "DELIVERED")
    assert message["destination"] == online["msisdn"] and message["network"]["mcc"] == "262"
    usage = (await scene.get(f"/sims/{online['iccid']}")).json()["simAggregatedData"]
    assert usage["smsMt"] == 1

    # A device that is off: one attempt, FAILED, when no validity is given ...
    failed = await scene.post(f"/sims/{offline['iccid']}/sms", json={"message": "PING"})
    assert failed.status_code == 202 and failed.json()["status"] == "FAILED"
    # ... held, and delivered when it attaches within the validity ...
    held = await scene.post(
        "/sims/sms", json={"msisdn": offline["msisdn"], "message": "Grüße €", "validityMinutes": 5}
    )
    assert held.status_code == 202 and held.json()["status"] == "PENDING"
    await world.inject(
        "sessions", iccid=offline["iccid"], bytesUp=0, bytesDown=0, durationSeconds=0,
        open=True, **OPEN,
    )  # fmt: skip
    history = (await scene.get(f"/sims/{offline['iccid']}/smshistory")).json()["content"]
    assert {m["smsId"]: m["status"] for m in history} == {
        held.json()["smsId"]: "DELIVERED",
        failed.json()["smsId"]: "FAILED",
    }
    # ... else EXPIRED once the validity has passed.
    third = scene.sims[2]
    late = await scene.post(
        f"/sims/{third['iccid']}/sms", json={"message": "x", "validityMinutes": 1}
    )
    assert late.json()["status"] == "PENDING"
    world.platform.clock.advance(61)
    (message,) = (await scene.get(f"/sims/{third['iccid']}/smshistory")).json()["content"]
    assert message["status"] == "EXPIRED"


@pytest.mark.parametrize(
    ("message", "fits"),
    [("a" * 160, True), ("a" * 161, False), ("€" * 80, True), ("€" * 81, False),
     ("ж" * 70, True), ("ж" * 71, False), ("", False)],
)  # fmt: skip
async def test_send_message_checks_the_length(scene: Scene, message: str, fits: bool) -> None:
    answer = await scene.post(f"/sims/{scene.sims[0]['iccid']}/sms", json={"message": message})
    if fits:
        assert answer.status_code == 202, answer.text
    else:
        assert_error_names(answer, 400, "BAD_REQUEST", "message")


async def test_send_message_only_to_active_sims_and_within_the_sms_budget(scene: Scene) -> None:
    world = scene.world
    (suspended,) = await add_sims(world, scene.partner, range(20, 21), status="Suspended")
    limits = await world.op("PUT", f"/partners/{scene.partner}/limits", json={"sms": ["2/hour"]})
    assert limits.status_code == 200, limits.text
    refused = await scene.post(f"/sims/{suspended['iccid']}/sms", json={"message": "hi"})
    assert_error_mentions(refused, 409, "CONFLICT", "Suspended", "Active")
    iccid = scene.sims[0]["iccid"]
    for left in (1, 0):  # the refused call took nothing
        answer = await scene.post(f"/sims/{iccid}/sms", json={"message": "hi"})
        assert answer.status_code == 202 and answer.headers["RateLimit-Remaining"] == str(left)
    over = await scene.post(f"/sims/{iccid}/sms", json={"message": "hi"})
    assert error_list(over, 403, "FORBIDDEN") == [EXCEEDED]
    read_only = await world.headers_for(await world.app(scene.partner, readOnly=True))
    for path, body in (
        (f"/sims/{iccid}/sms", {"message": "hi"}),
        (f"/sims/{iccid}/hlr/reset", None),
    ):
        answer = await world.api("POST", f"/partners/{scene.partner}{path}", read_only, json=body)
        error_list(answer, 403, "FORBIDDEN")
    for path in ("session", "sessionhistory", "smshistory", "hlr/check"):
        answer = await world.api(
            "POST", f"/partners/{scene.partner}/sims/{path}", read_only, json={"iccid": iccid}
        )
        assert answer.status_code == 200, (path, answer.text)


async def test_history_reads_charge_the_history_budget(scene: Scene) -> None:
    world, iccid = scene.world, scene.sims[0]["iccid"]
    limits = await world.op(
        "PUT", f"/partners/{scene.partner}/limits", json={"history": ["2/hour"]}
    )
    assert limits.status_code == 200, limits.text
    bad = await scene.get(f"/sims/{iccid}/sessionhistory", params={"dateFrom": "nope"})
    error_list(bad, 400, "BAD_REQUEST")  # invalid: free
    missing = await scene.get(f"/sims/{synthetic.iccid(999)}/session")
    assert missing.status_code == 404 and missing.headers["RateLimit-Remaining"] == "1"
    assert (await scene.post("/sims/smshistory", json={"iccid": iccid})).status_code == 200
    over = await scene.get(f"/sims/{iccid}/sessionhistory")
    assert error_list(over, 403, "FORBIDDEN") == [EXCEEDED]


async def test_hlr_reset_closes_sessions_and_the_device_reattaches(scene: Scene) -> None:
    world, sim = scene.world, scene.sims[0]
    iccid = sim["iccid"]
    live = await world.inject(
        "sessions", iccid=iccid, bytesUp=300, bytesDown=400, durationSeconds=30, open=True, **OPEN
    )
    check = await scene.post(f"/sims/{iccid}/hlr/check")
    assert check.status_code == 200 and check.headers["Deprecation"] == "true"
    assert check.json()["registered"] is True and check.json()["online"] is True
    reset = await scene.post("/sims/hlr/reset", json={"msisdn": sim["msisdn"]})
    assert reset.status_code == 200, reset.text
    assert reset.json()["closedSessions"] == [live["id"]]
    (new_id,) = reset.json()["newSessions"]
    (closed,) = (await scene.get(f"/sims/{iccid}/sessionhistory")).json()["content"]
    assert closed["sessionId"] == live["id"] and closed["endCause"] == "HLR reset"
    assert (closed["volumeUpload"], closed["volumeDownload"]) == (300, 400)
    now = (await scene.get(f"/sims/{iccid}/session")).json()
    assert now["online"] is True and now["session"]["sessionId"] == new_id
    assert now["session"]["apn"] == OPEN["apn"] and now["session"]["volumeUpload"] == 0
    usage = (await scene.get(f"/sims/{iccid}")).json()["simAggregatedData"]
    assert (usage["sessions"], usage["dataBytes"]) == (2, 700)


async def test_a_repeated_record_id_counts_once(scene: Scene) -> None:
    platform, iccid = scene.world.platform, scene.sims[0]["iccid"]
    now = platform.clock.now()
    at = [iso(now - timedelta(minutes=m)) for m in (10, 5, 1)]
    common = {"iccid": iccid, "session_id": "feed-session-1"}
    batch = [
        SessionStart(record_id="cdr-1", time=at[0], **OPEN, **common),
        SessionUpdate(record_id="cdr-2", time=at[1], bytes_up=100, bytes_down=200, **common),
        SessionStop(record_id="cdr-3", time=at[2], bytes_up=150, bytes_down=250, **common),
        SmsRecord(
            record_id="cdr-4", iccid=iccid, time=at[2], sms_id="feed-sms-1", direction="MO",
            status="DELIVERED", originator="491510000001", destination="M2MPortal",
        ),
    ]  # fmt: skip
    first = await records.ingest(platform.db, platform.clock, batch)
    assert (first.accepted, first.duplicates, first.rejected) == (4, 0, [])
    again = await records.ingest(platform.db, platform.clock, [*batch, batch[1]])
    assert (again.accepted, again.duplicates, again.rejected) == (0, 5, [])
    unknown = SessionUpdate(
        record_id="cdr-9", time=at[2], bytes_up=1, bytes_down=1, iccid=iccid, session_id="nope"
    )
    refused = await records.ingest(platform.db, platform.clock, [unknown])
    assert refused.accepted == 0 and "sessionId" in refused.rejected[0]
    usage = (await scene.get(f"/sims/{iccid}")).json()["simAggregatedData"]
    assert (usage["dataBytes"], usage["sessions"], usage["smsMo"]) == (400, 1, 1)
    (entry,) = (await scene.get(f"/sims/{iccid}/sessionhistory")).json()["content"]
    assert (entry["volumeUpload"], entry["volumeDownload"]) == (150, 250)


async def test_injection_is_checked_and_needs_the_simulation(
    scene: Scene, database_url: str, tmp_path: Path
) -> None:
    world, iccid = scene.world, scene.sims[0]["iccid"]
    body = {"iccid": iccid, "bytesUp": 1, "bytesDown": 1, "durationSeconds": 60, **OPEN}
    cases = [
        ({**body, "open": False, "startedAt": iso(world.platform.clock.now())}, "durationSeconds"),
        ({**body, "open": True, "startedAt": "tomorrow"}, "startedAt"),
        ({**body, "open": True, "mcc": "26"}, "mcc"),
        ({**body, "open": True, "bytesUp": -1}, "bytesUp"),
        ({**body, "open": True, "iccid": "89490200000000000012"}, "iccid"),
    ]
    for wrong, named in cases:
        answer = await world.op("POST", "/simulator/sessions", json=wrong)
        error_list(answer, 400, "BAD_REQUEST")
        assert named in answer.text, answer.text
    nowhere = {**body, "open": True, "iccid": synthetic.iccid(999)}
    error_list(await world.op("POST", "/simulator/sessions", json=nowhere), 404, "NOT_FOUND")
    sms = {"iccid": iccid, "direction": "MO", "text": "ж" * 71, "mcc": "262", "mnc": "01"}
    assert_error_names(
        await world.op("POST", "/simulator/sms", json=sms), 400, "BAD_REQUEST", "text"
    )

    off = test_settings(database_url, tmp_path, simulation=False)
    assert Settings().simulation is False  # the default a user gets
    platform = await open_platform(off, clock=Clock(), run_migrations=False)
    try:
        transport = httpx.ASGITransport(app=create_app(platform, background=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            for kind in ("sessions", "sms", "voice"):
                answer = await http.post(
                    f"/operator/v1/simulator/{kind}", headers=world.operator, json={}
                )
                error_list(answer, 404, "NOT_FOUND")
            document = (await http.get("/v3/api-docs/operator")).json()
            assert not [p for p in document["paths"] if "/simulator/" in p]
    finally:
        await platform.close()


async def test_records_are_kept_92_days(scene: Scene) -> None:
    """The default retention (M2MP_RECORD_RETENTION_DAYS, tested as a user gets it)."""
    world, iccid = scene.world, scene.sims[0]["iccid"]
    assert world.platform.settings.record_retention_days == 92
    then = world.platform.clock.now()
    around = {"dateFrom": iso(then - timedelta(days=1)), "dateTo": iso(then + timedelta(days=1))}
    await world.inject(
        "sessions", iccid=iccid, bytesUp=1, bytesDown=1, durationSeconds=5, open=False, **OPEN
    )
    await world.inject("sms", iccid=iccid, direction="MO", text="x", mcc="262", mnc="01")
    world.platform.clock.advance(91 * 86400)
    await maintenance.purge(world.platform)
    await world.renew()  # tokens expired with the clock's move
    scene.headers = await world.headers_for(await world.app(scene.partner, name="later"))
    for path in ("sessionhistory", "smshistory"):
        answer = await scene.get(f"/sims/{iccid}/{path}", params=around)
        assert len(answer.json()["content"]) == 1, path
    world.platform.clock.advance(2 * 86400)
    await maintenance.purge(world.platform)
    await world.renew()
    scene.headers = await world.headers_for(await world.app(scene.partner, name="latest"))
    for path in ("sessionhistory", "smshistory"):
        answer = await scene.get(f"/sims/{iccid}/{path}", params=around)
        assert answer.json()["content"] == [], path


async def test_record_retention_is_a_setting(scene: Scene) -> None:
    world, iccid = scene.world, scene.sims[0]["iccid"]
    world.platform.settings = dataclasses.replace(world.platform.settings, record_retention_days=30)
    then = world.platform.clock.now()
    around = {"dateFrom": iso(then - timedelta(days=1)), "dateTo": iso(then + timedelta(days=1))}
    await world.inject("sms", iccid=iccid, direction="MO", text="x", mcc="262", mnc="01")
    world.platform.clock.advance(29 * 86400)
    await maintenance.purge(world.platform)
    await world.renew()
    scene.headers = await world.headers_for(await world.app(scene.partner, name="later"))
    assert len((await scene.get(f"/sims/{iccid}/smshistory", params=around)).json()["content"]) == 1
    world.platform.clock.advance(2 * 86400)
    await maintenance.purge(world.platform)
    await world.renew()
    scene.headers = await world.headers_for(await world.app(scene.partner, name="latest"))
    assert (await scene.get(f"/sims/{iccid}/smshistory", params=around)).json()["content"] == []
