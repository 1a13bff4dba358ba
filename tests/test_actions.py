"""SIM actions through HTTP: every catalogue action's allowed and refused transition,
bounds, duplicates, cancellation, idempotency, per-SIM ordering, dry runs, the outbox."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from m2mportal import synthetic
from m2mportal.actions import worker
from m2mportal.domain.actions import CATALOGUE
from m2mportal.platform import Platform
from m2mportal.store import events as event_store
from tests.helpers import World

ACTIONS = "/partners/{p}/sims/actions"


@dataclass
class Shop:
    """A partner with a subunit, a catalogue, an application and its headers."""

    world: World
    partner: int
    subunit: int
    headers: dict[str, str]
    tariff_a: int
    tariff_b: int
    tariff_bound: int
    option_a: int
    option_b: int
    limit_profile: int
    serial: int = 0
    made: list[str] = field(default_factory=list)

    async def sim(self, status: str = "Active", **extra: Any) -> dict[str, Any]:
        self.serial += 1
        n = self.serial
        sim: dict[str, Any] = {
            "iccid": synthetic.iccid(n),
            "imsi": synthetic.imsi(n),
            "status": status,
            "apns": ["b2b.dtag.test"],
            "tariffId": self.tariff_a,
        }
        if status != "Inactive":
            sim["msisdn"] = synthetic.msisdn(n)
        sim.update(extra)
        answer = await self.world.sims(self.partner, [sim])
        assert answer.status_code == 201, answer.text
        return sim

    async def sql(self, sql: str, **params: Any) -> None:
        await self.world.platform.db.execute(sql, params)

    async def post(
        self, action: str, body: dict[str, Any], headers: dict[str, str] | None = None, **kw: Any
    ) -> Any:
        path = ACTIONS.format(p=self.partner) + "/" + action
        return await self.world.api("POST", path, headers or self.headers, json=body, **kw)

    async def run(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = await self.post(action, body)
        assert answer.status_code == 202, answer.text
        await worker.run_until_idle(self.world.platform)
        return await self.status(answer.json()["signupId"])

    async def status(self, signup_id: int) -> dict[str, Any]:
        path = ACTIONS.format(p=self.partner) + f"/{signup_id}"
        answer = await self.world.api("GET", path, self.headers)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    async def details(self, iccid: str) -> dict[str, Any]:
        answer = await self.world.api("GET", f"/partners/{self.partner}/sims/{iccid}", self.headers)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found


@pytest.fixture
async def shop(world: World) -> Shop:
    partner = await world.partner()
    subunit = await world.partner("Telekom Main Test Company - North", parent=partner)
    app = await world.app(partner)
    ids = []
    for path, body in (
        ("/tariffs", {"name": "IoT Basic"}),
        ("/tariffs", {"name": "IoT Data 1 GB"}),
        ("/tariffs", {"name": "IoT 12 months", "bindingMonths": 12}),
        ("/options", {"name": "Parallel Sessions"}),
        ("/options", {"name": "Static IP"}),
        ("/profiles", {"kind": "limit", "name": "Standard session limit"}),
    ):
        answer = await world.op("POST", path, json=body)
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    return Shop(world, partner, subunit, await world.headers_for(app), *ids)


@dataclass
class Case:
    """One action: a SIM it may change, a SIM it must refuse, and what to check."""

    allowed: Callable[[Shop], Any]
    refused: Callable[[Shop], Any]
    body: Callable[[Shop], dict[str, Any]]
    changed: Callable[[dict[str, Any], Shop], bool]
    refusal: str
    entry: Callable[[dict[str, Any]], dict[str, Any]] = lambda sim: {"iccid": sim["iccid"]}


async def _with_sql(shop: Shop, sql: str, **kw: Any) -> dict[str, Any]:
    sim = await shop.sim(**kw)
    await shop.sql(sql, iccid=sim["iccid"])
    return sim


async def _booked(shop: Shop, option: int) -> dict[str, Any]:
    sim = await shop.sim()
    await shop.sql(
        "INSERT INTO sim_options (iccid, option_id, booked_at)"
        " VALUES (:iccid, :o, '2026-01-01T00:00:00.000Z')",
        iccid=sim["iccid"],
        o=option,
    )
    return sim


def _no_body(shop: Shop) -> dict[str, Any]:
    return {}


CASES: dict[str, Case] = {
    "activation": Case(
        lambda s: s.sim("Inactive"), lambda s: s.sim("Active"), _no_body,
        lambda d, s: d["status"] == "Active" and d["msisdn"] is not None
        and d["activationDate"] is not None, "must be Inactive"),
    "suspend": Case(
        lambda s: s.sim("Active"), lambda s: s.sim("Inactive"), _no_body,
        lambda d, s: d["status"] == "Suspended", "must be Active"),
    "unsuspend": Case(
        lambda s: s.sim("Suspended"), lambda s: s.sim("Active"), _no_body,
        lambda d, s: d["status"] == "Active", "must be Suspended"),
    "block": Case(
        lambda s: s.sim("Suspended"), lambda s: s.sim("Inactive"),
        lambda s: {"reason": "lost device"},
        lambda d, s: d["status"] == "Blocked", "must be Active or Suspended"),
    "unblock": Case(
        lambda s: s.sim("Blocked"), lambda s: s.sim("Active"), _no_body,
        lambda d, s: d["status"] == "Active", "must be Blocked"),
    "termination": Case(
        lambda s: s.sim("Active"), lambda s: s.sim("Active", tariffId=s.tariff_bound),
        _no_body, lambda d, s: d["status"] == "Terminated" and d["terminationDate"],
        "binding period"),
    "restrict": Case(
        lambda s: s.sim("Active"), lambda s: s.sim("Inactive"),
        lambda s: {"restriction": "Speed Step-down"},
        lambda d, s: d["restrictionStatus"] == "Speed Step-down", "must be Active or Suspended"),
    "unrestrict": Case(
        lambda s: _with_sql(s, "UPDATE sims SET restriction_status = 'Data Restricted'"
                               " WHERE iccid = :iccid"),
        lambda s: s.sim("Active"), _no_body,
        lambda d, s: d["restrictionStatus"] == "No Restriction", "is not restricted"),
    "move": Case(
        lambda s: s.sim("Active"), lambda s: s.sim("Terminated"),
        lambda s: {"targetPartnerId": s.subunit},
        lambda d, s: d["partnerId"] == s.subunit, "SIM is Terminated"),
    "changetariff": Case(
        lambda s: s.sim("Active"), lambda s: s.sim("Active", tariffId=s.tariff_b),
        lambda s: {"tariffId": s.tariff_b},
        lambda d, s: d["tariff"]["id"] == s.tariff_b, "already has tariff"),
    "changeoption": Case(
        lambda s: _booked(s, s.option_a), lambda s: s.sim("Active"),
        lambda s: {"fromOptionId": s.option_a, "toOptionId": s.option_b},
        lambda d, s: [o["id"] for o in d["options"]] == [s.option_b], "is not booked"),
    "bookoption": Case(
        lambda s: s.sim("Active"), lambda s: _booked(s, s.option_a),
        lambda s: {"optionId": s.option_a},
        lambda d, s: [o["id"] for o in d["options"]] == [s.option_a], "already booked"),
    "terminateoption": Case(
        lambda s: _booked(s, s.option_a), lambda s: s.sim("Active"),
        lambda s: {"optionId": s.option_a},
        lambda d, s: d["options"] == [], "is not booked"),
    "modifyprofiles": Case(
        lambda s: s.sim("Active"), lambda s: s.sim("Terminated"),
        lambda s: {"limitProfileId": s.limit_profile,
                   "staticIpsPerApn": [{"apn": "b2b.dtag.test", "staticIp": "10.1.2.3"}]},
        lambda d, s: d["profiles"]["limitProfile"]["id"] == s.limit_profile
        and d["apns"][0]["staticIp"] == "10.1.2.3", "SIM is Terminated"),
    "modifyremarks": Case(
        lambda s: s.sim("Active"), lambda s: s.sim("Terminated"),
        lambda s: {"remarks": {"remark2": "Pump 7"}},
        lambda d, s: d["remarks"]["remark2"] == "Pump 7", "SIM is Terminated"),
    "bindeuiccid": Case(
        lambda s: s.sim("Active", simType="eSIM"), lambda s: s.sim("Active"), _no_body,
        lambda d, s: d["euiccid"] == synthetic.euiccid(999) and d["eidProfileStatus"] == "Enabled",
        "not an eSIM",
        entry=lambda sim: {"iccid": sim["iccid"], "euiccid": synthetic.euiccid(999)}),
    "resetfraudstatus": Case(
        lambda s: _with_sql(s, "UPDATE sims SET fraud_status = 'Device Fraud',"
                               " restriction_status = 'Data Restricted' WHERE iccid = :iccid"),
        lambda s: s.sim("Active"), _no_body,
        lambda d, s: d["fraudStatus"] == "OK" and d["restrictionStatus"] == "No Restriction",
        "already OK"),
    "overridelimitstatus": Case(
        lambda s: _with_sql(s, "UPDATE sims SET limit_status = 'Alarm',"
                               " restriction_status = 'Speed Step-down' WHERE iccid = :iccid"),
        lambda s: s.sim("Active"), _no_body,
        lambda d, s: d["limitStatus"] == "Overridden"
        and d["restrictionStatus"] == "No Restriction", "limit status is OK"),
    "resetlimitstatus": Case(
        lambda s: _with_sql(s, "UPDATE sims SET limit_status = 'Warning' WHERE iccid = :iccid"),
        lambda s: s.sim("Active"), _no_body,
        lambda d, s: d["limitStatus"] == "OK", "already OK"),
    "restorelimitstatus": Case(
        lambda s: _with_sql(s, "UPDATE sims SET limit_status = 'Overridden',"
                               " limit_before_override = 'Alarm|Speed Step-down'"
                               " WHERE iccid = :iccid"),
        lambda s: s.sim("Active"), _no_body,
        lambda d, s: d["limitStatus"] == "Alarm" and d["restrictionStatus"] == "Speed Step-down",
        "not Overridden"),
    "enterproductivestate": Case(
        lambda s: s.sim("Active", productive=False), lambda s: s.sim("Active", productive=True),
        _no_body, lambda d, s: d["productive"] is True, "already productive"),
}  # fmt: skip


def test_every_catalogue_action_has_a_case() -> None:
    # A held action waits for a decision (simtransfer: tests/test_transfers.py).
    assert sorted(CASES) == sorted(spec.path for spec in CATALOGUE if not spec.held)


@pytest.mark.parametrize("action", sorted(CASES))
async def test_action_applies_allowed_and_refuses_the_rest(shop: Shop, action: str) -> None:
    case = CASES[action]
    good = await case.allowed(shop)
    bad = await case.refused(shop)
    spec = next(s for s in CATALOGUE if s.path == action)
    if spec.single:
        first = await shop.run(action, {"sims": [case.entry(good)], **case.body(shop)})
        second = await shop.run(action, {"sims": [case.entry(bad)], **case.body(shop)})
        assert first["status"] == "Done", first
        assert second["status"] == "Failed", second
        results = [first["sims"][0], second["sims"][0]]
    else:
        result = await shop.run(
            action, {"sims": [case.entry(good), case.entry(bad)], **case.body(shop)}
        )
        assert result["status"] == "Partially Done", result
        assert result["counts"]["done"] == 1 and result["counts"]["failed"] == 1
        results = result["sims"]
    assert results[0]["status"] == "Done" and results[0]["error"] is None
    assert results[1]["status"] == "Failed"
    assert case.refusal in results[1]["error"], results[1]["error"]
    assert case.changed(await shop.details(good["iccid"]), shop)


async def test_mixed_identifiers_end_partially_done(shop: Shop) -> None:
    a = await shop.sim("Active")
    b = await shop.sim("Active")
    c = await shop.sim("Suspended")
    result = await shop.run(
        "suspend", {"sims": [{"iccid": a["iccid"]}, {"msisdn": b["msisdn"]}, {"iccid": c["iccid"]}]}
    )
    assert result["status"] == "Partially Done"
    assert [s["status"] for s in result["sims"]] == ["Done", "Done", "Failed"]
    assert [s["iccid"] for s in result["sims"]] == [a["iccid"], b["iccid"], c["iccid"]]
    assert (await shop.details(b["iccid"]))["status"] == "Suspended"


async def test_identifiers_the_action_does_not_take_are_400(shop: Shop) -> None:
    sim = await shop.sim("Active", imei="350000000000014")
    answer = await shop.post("suspend", {"sims": [{"imei": sim["imei"]}, {"iccid": "123"}]})
    assert answer.status_code == 400
    errors = answer.json()["errors"]
    assert any(e.startswith("sims[0].imei: identifier not supported") for e in errors)
    assert any(e.startswith("sims[1].iccid: must be 19 or 20 digits") for e in errors)


@pytest.mark.parametrize("count", [0, 1001])
async def test_sim_count_outside_1_to_1000_is_400(shop: Shop, count: int) -> None:
    sims = [{"iccid": synthetic.iccid(n)} for n in range(1, count + 1)]
    answer = await shop.post("suspend", {"sims": sims})
    assert answer.status_code == 400
    assert answer.json()["errors"][0].startswith("sims:")


async def test_a_thousand_sims_are_accepted(shop: Shop) -> None:
    made = [synthetic.iccid(n) for n in range(5000, 6000)]
    answer = await shop.world.sims(
        shop.partner, [{"iccid": i, "status": "Active", "msisdn": None} for i in made]
    )
    assert answer.status_code == 201, answer.text
    result = await shop.run("suspend", {"sims": [{"iccid": i} for i in made]})
    assert result["status"] == "Done" and result["counts"]["done"] == 1000


async def test_duplicates_are_reported_and_applied_once(shop: Shop, platform: Platform) -> None:
    sim = await shop.sim("Active")
    result = await shop.run(
        "suspend", {"sims": [{"iccid": sim["iccid"]}, {"msisdn": sim["msisdn"]}]}
    )
    assert [s["status"] for s in result["sims"]] == ["Done", "Failed"]
    assert "duplicate" in result["sims"][1]["error"] and "sims[0]" in result["sims"][1]["error"]
    changes = await platform.db.fetch_val(
        "SELECT COUNT(*) FROM sim_changes WHERE iccid = :i", {"i": sim["iccid"]}
    )
    assert changes == 1


async def test_unknown_and_foreign_sims_fail_without_revealing(shop: Shop, world: World) -> None:
    other = await world.partner("Other Company")
    foreign = synthetic.iccid(777)
    assert (await world.sims(other, [{"iccid": foreign, "status": "Active"}])).status_code == 201
    mine = await shop.sim("Active")
    result = await shop.run(
        "suspend",
        {"sims": [{"iccid": mine["iccid"]}, {"iccid": foreign}, {"iccid": synthetic.iccid(778)}]},
    )
    assert result["status"] == "Partially Done"
    unknown = synthetic.iccid(778)
    assert result["sims"][1]["error"] == result["sims"][2]["error"].replace(unknown, foreign)
    assert "SIM not found" in result["sims"][1]["error"]


async def test_request_level_problems_name_the_field(shop: Shop) -> None:
    sim = await shop.sim("Active")
    entry = {"sims": [{"iccid": sim["iccid"]}]}
    cases = [
        ("changetariff", {**entry, "tariffId": 1}, "tariffId: tariff 1 does not exist"),
        ("move", {**entry, "targetPartnerId": 1}, "targetPartnerId: partner 1"),
        ("bookoption", {**entry, "optionId": 5}, "optionId: option 5 does not exist"),
        ("modifyprofiles", entry, "body: give at least one of"),
        ("restrict", {**entry, "restriction": "Slow"}, "restriction"),
        ("suspend", {**entry, "color": "red"}, "color"),
        ("changeoption", {"sims": entry["sims"] * 2, "fromOptionId": shop.option_a,
                          "toOptionId": shop.option_b}, "sims: SIM Change Option takes"),
    ]  # fmt: skip
    for action, body, expected in cases:
        answer = await shop.post(action, body)
        assert answer.status_code == 400, (action, answer.text)
        assert any(expected in e for e in answer.json()["errors"]), (action, answer.json())
    listing = await shop.world.api("GET", ACTIONS.format(p=shop.partner), shop.headers)
    assert listing.json()["page"]["totalElements"] == 0


async def test_read_only_application_cannot_start_actions(shop: Shop, world: World) -> None:
    sim = await shop.sim("Active")
    reader = await world.app(shop.partner, name="reader", readOnly=True)
    answer = await world.api(
        "POST",
        ACTIONS.format(p=shop.partner) + "/suspend",
        await world.headers_for(reader),
        json={"sims": [{"iccid": sim["iccid"]}]},
    )
    assert answer.status_code == 403
    assert answer.json()["status"] == "FORBIDDEN"


async def test_cancel_keeps_done_sims_and_cancels_the_rest(shop: Shop, platform: Platform) -> None:
    sims = [await shop.sim("Active") for _ in range(3)]
    answer = await shop.post("suspend", {"sims": [{"iccid": s["iccid"]} for s in sims]})
    signup = answer.json()["signupId"]
    assert await worker.run_until_idle(platform, limit=1) == 1
    pending = await shop.status(signup)
    assert pending["status"] == "In Progress"
    assert any(link["rel"] == "cancel" for link in pending["links"])
    path = ACTIONS.format(p=shop.partner) + f"/{signup}"
    cancelled = await shop.world.api("DELETE", path, shop.headers)
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["status"] == "Cancelled"
    assert [s["status"] for s in body["sims"]] == ["Done", "Cancelled", "Cancelled"]
    assert body["counts"] == {"total": 3, "pending": 0, "done": 1, "failed": 0, "cancelled": 2}
    assert await worker.run_until_idle(platform) == 0
    assert (await shop.details(sims[0]["iccid"]))["status"] == "Suspended"
    assert (await shop.details(sims[1]["iccid"]))["status"] == "Active"
    again = await shop.world.api("DELETE", path, shop.headers)
    assert again.status_code == 409
    assert again.json()["status"] == "CONFLICT"
    events = await event_store.of_partner(platform.db, shop.partner)
    assert len(events) == 1 and "cancelled" in events[0]["data"]


async def test_cancelling_a_finished_action_is_409(shop: Shop) -> None:
    sim = await shop.sim("Active")
    result = await shop.run("suspend", {"sims": [{"iccid": sim["iccid"]}]})
    path = ACTIONS.format(p=shop.partner) + f"/{result['signupId']}"
    answer = await shop.world.api("DELETE", path, shop.headers)
    assert answer.status_code == 409
    assert not any(link["rel"] == "cancel" for link in result["links"])


async def test_idempotency_key(shop: Shop) -> None:
    sim = await shop.sim("Active")
    body = {"sims": [{"iccid": sim["iccid"]}]}
    first = await shop.post("suspend", body, headers={**shop.headers, "Idempotency-Key": "k-1"})
    again = await shop.post("suspend", body, headers={**shop.headers, "Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 202
    assert first.json()["signupId"] == again.json()["signupId"]
    other = await shop.post(
        "suspend", {"sims": [{"msisdn": sim["msisdn"]}]},
        headers={**shop.headers, "Idempotency-Key": "k-1"},
    )  # fmt: skip
    assert other.status_code == 409
    assert "Idempotency-Key" in other.json()["errors"][0]
    listing = await shop.world.api("GET", ACTIONS.format(p=shop.partner), shop.headers)
    assert listing.json()["page"]["totalElements"] == 1


async def test_idempotency_key_expires_after_24_hours(shop: Shop, platform: Platform) -> None:
    sim = await shop.sim("Active")
    headers = {**shop.headers, "Idempotency-Key": "k-2"}
    first = await shop.post("suspend", {"sims": [{"iccid": sim["iccid"]}]}, headers=headers)
    platform.clock.advance(24 * 3600 + 1)
    await shop.world.renew()
    token_headers = await shop.world.headers_for(await shop.world.app(shop.partner, name="later"))
    later = await shop.world.api(
        "POST", ACTIONS.format(p=shop.partner) + "/unsuspend",
        {**token_headers, "Idempotency-Key": "k-2"}, json={"sims": [{"iccid": sim["iccid"]}]},
    )  # fmt: skip
    assert later.status_code == 202
    assert later.json()["signupId"] != first.json()["signupId"]


async def test_actions_on_one_sim_apply_in_acceptance_order(shop: Shop, platform: Platform) -> None:
    sim = await shop.sim("Active")
    entry = {"sims": [{"iccid": sim["iccid"]}]}
    first = (await shop.post("suspend", entry)).json()["signupId"]
    second = (await shop.post("unsuspend", entry)).json()["signupId"]
    # Hold the first action back (as a backend delay would): the second must wait for it.
    await shop.sql(
        "UPDATE actions SET not_before = '2999-01-01T00:00:00.000Z' WHERE signup_id = :s",
        s=first,
    )
    assert await worker.run_until_idle(platform) == 0
    assert (await shop.status(second))["status"] == "Pending"
    await shop.sql(
        "UPDATE actions SET not_before = '2000-01-01T00:00:00.000Z' WHERE signup_id = :s",
        s=first,
    )
    assert await worker.run_until_idle(platform) == 2
    assert (await shop.status(first))["status"] == "Done"
    assert (await shop.status(second))["status"] == "Done"
    assert (await shop.details(sim["iccid"]))["status"] == "Active"


async def test_dry_run_predicts_the_real_run_and_changes_nothing(
    shop: Shop, platform: Platform
) -> None:
    sims = [await shop.sim("Active"), await shop.sim("Suspended"), await shop.sim("Active")]
    entries = [{"iccid": sims[0]["iccid"]}, {"msisdn": sims[1]["msisdn"]},
               {"iccid": sims[2]["iccid"]}, {"msisdn": sims[2]["msisdn"]},
               {"iccid": synthetic.iccid(4242)}]  # fmt: skip
    before = await platform.db.fetch_all("SELECT * FROM sims ORDER BY iccid")
    dry = await shop.post("suspend", {"sims": entries}, params={"dryRun": "true"})
    assert dry.status_code == 200, dry.text
    predicted = dry.json()
    assert predicted["dryRun"] is True
    assert predicted["wouldSucceed"] == 2 and predicted["wouldFail"] == 3
    after = await platform.db.fetch_all("SELECT * FROM sims ORDER BY iccid")
    assert [dict(r) for r in before] == [dict(r) for r in after]
    assert await platform.db.fetch_val("SELECT COUNT(*) FROM actions") == 0
    real = await shop.run("suspend", {"sims": entries})
    assert [(s["status"], s["error"]) for s in predicted["sims"]] == [
        (s["status"], s["error"]) for s in real["sims"]
    ]


async def test_finished_action_writes_the_seed_event_to_the_outbox(
    shop: Shop, platform: Platform
) -> None:
    sim = await shop.sim("Active")
    result = await shop.run("suspend", {"sims": [{"iccid": sim["iccid"]}]})
    rows = await event_store.of_partner(platform.db, shop.partner)
    assert len(rows) == 1
    from m2mportal.events.cloudevents import envelope

    event = envelope(rows[0])
    assert list(event) == ["time", "id", "source", "specversion", "type", "datacontenttype", "data"]
    assert event["type"] == "simaction.v1" and event["source"] == "/v1/partners/simaction"
    assert event["specversion"] == "1.0" and event["datacontenttype"] == "application/json"
    data = event["data"]
    signup = result["signupId"]
    assert data["partnerID"] == str(shop.partner) and data["signupID"] == str(signup)
    assert data["message"] == f"Action with signup ID {signup} is done."
    assert data["actionLink"] == {
        "rel": "actions",
        "href": f"http://testserver/iot/connectivity/management/v1/partners/{shop.partner}"
        f"/sims/actions/{signup}",
        "type": "GET",
        "name": "get action status",
    }


async def test_action_list_filters_and_pages(shop: Shop) -> None:
    sim = await shop.sim("Active")
    await shop.run("suspend", {"sims": [{"iccid": sim["iccid"]}]})
    await shop.run("unsuspend", {"sims": [{"iccid": sim["iccid"]}]})
    await shop.run("unsuspend", {"sims": [{"iccid": sim["iccid"]}]})
    path = ACTIONS.format(p=shop.partner)
    everything = (await shop.world.api("GET", path, shop.headers)).json()
    assert everything["page"]["totalElements"] == 3
    assert [a["action"] for a in everything["content"]] == ["unsuspend", "unsuspend", "suspend"]
    failed = await shop.world.api("GET", path, shop.headers, params={"status": "Failed"})
    assert [a["action"] for a in failed.json()["content"]] == ["unsuspend"]
    paged = await shop.world.api("GET", path, shop.headers, params={"size": 2, "page": 1})
    assert len(paged.json()["content"]) == 1
    bad = await shop.world.api("GET", path, shop.headers, params={"action": "explode"})
    assert bad.status_code == 400


async def test_other_partners_action_is_404(shop: Shop, world: World) -> None:
    sim = await shop.sim("Active")
    result = await shop.run("suspend", {"sims": [{"iccid": sim["iccid"]}]})
    other = await world.partner("Other Company")
    headers = await world.headers_for(await world.app(other, name="other"))
    answer = await world.api("GET", ACTIONS.format(p=other) + f"/{result['signupId']}", headers)
    assert answer.status_code == 404


async def test_a_failing_batch_is_retried_one_sim_at_a_time(
    shop: Shop, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    from m2mportal.actions import apply

    sims = [await shop.sim("Active") for _ in range(3)]
    bad = sims[1]["iccid"]
    real_write = apply._write

    async def write(db: Any, changes: list[Any], now: str) -> None:
        # One SIM's write always breaks: the batch holding it rolls back whole.
        if any(iccid == bad for iccid, _ in changes):
            raise RuntimeError("disk on fire")
        await real_write(db, changes, now)

    monkeypatch.setattr(apply, "_write", write)
    answer = await shop.post("suspend", {"sims": [{"iccid": s["iccid"]} for s in sims]})
    signup = answer.json()["signupId"]
    assert await worker.run_until_idle(platform) == 3
    status = await shop.status(signup)
    # The SIMs before and after the broken one were applied on their own; it failed whole.
    assert [s["status"] for s in status["sims"]] == ["Done", "Failed", "Done"]
    assert status["sims"][1]["error"].startswith("internal error")
    assert status["status"] == "Partially Done"
    assert (await shop.details(sims[0]["iccid"]))["status"] == "Suspended"
    assert (await shop.details(bad))["status"] == "Active"
    assert (await shop.details(sims[2]["iccid"]))["status"] == "Suspended"
