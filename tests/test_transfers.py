"""SIM transfers, SIM orders and subunits through HTTP: create, details, accept (into a
subunit), reject, cancel by sender and operator, every refusal the issue names, the seed's
four events field by field on both sides, the lock on pending SIMs, orders with a minimum
order quantity, and the operator's subunit calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from m2mportal import synthetic
from m2mportal.actions import worker
from m2mportal.domain.identifiers import CHECKS
from m2mportal.events.cloudevents import envelope
from m2mportal.platform import Platform
from m2mportal.store import events as event_store
from tests.helpers import World, assert_error_names, error_list
from tests.test_events import event_token, read_lines
from tests.test_events import settings as short_streams

settings = short_streams  # streams of 0.2 s, so reading one costs no real time

ACTIONS = "/partners/{p}/sims/actions"
SENDER_NAME = "Telekom Main Test Company"
RECEIVER_NAME = "Telekom Secondary Test Company"


@dataclass
class Pair:
    world: World
    sender: int
    sender_unit: int
    receiver: int
    receiver_unit: int
    stranger: int
    sender_headers: dict[str, str]
    receiver_headers: dict[str, str]
    apps: dict[int, dict[str, Any]]
    serial: int = 0

    async def streamed(self, partner: int, count: int) -> list[dict[str, Any]]:
        """The simaction.v1 events the partner's application reads from its stream."""
        app = self.apps[partner]
        sub = next(s["subscriptionId"] for s in app["subscriptions"]
                   if s["eventType"] == "simaction.v1")  # fmt: skip
        headers = {"Authorization": f"Bearer {await event_token(self.world, app)}"}
        _, events = await read_lines(self.world.http, sub, headers, maxNumber=count)
        return events

    async def sims(
        self, count: int, status: str = "Active", partner: int | None = None
    ) -> list[str]:
        made = []
        for _ in range(count):
            self.serial += 1
            n = self.serial
            sim: dict[str, Any] = {
                "iccid": synthetic.iccid(n),
                "imsi": synthetic.imsi(n),
                "status": status,
            }
            if status != "Inactive":
                sim["msisdn"] = synthetic.msisdn(n)
            made.append(sim)
        answer = await self.world.sims(partner or self.sender, made)
        assert answer.status_code == 201, answer.text
        return [sim["iccid"] for sim in made]

    async def create(
        self, iccids: list[str], target: int | None = None, **kw: Any
    ) -> httpx.Response:
        body = {
            "sims": [{"iccid": i} for i in iccids],
            "targetPartnerId": target or self.receiver,
            "message": "Fleet of trackers, as agreed",
        }
        path = ACTIONS.format(p=self.sender) + "/simtransfer"
        return await self.world.api("POST", path, kw.get("headers", self.sender_headers), json=body)

    def path(self, partner: int, transaction_id: int) -> str:
        return ACTIONS.format(p=partner) + f"/simtransfer/{transaction_id}"

    async def details(self, partner: int, headers: dict[str, str], tid: int) -> httpx.Response:
        return await self.world.api("GET", self.path(partner, tid), headers)

    async def patch(
        self, partner: int, headers: dict[str, str], tid: int, body: dict[str, Any]
    ) -> httpx.Response:
        return await self.world.api("PATCH", self.path(partner, tid), headers, json=body)

    async def owners(self, iccids: list[str]) -> dict[str, int]:
        rows = await self.world.platform.db.fetch_all(
            "SELECT iccid, partner_id FROM sims WHERE "
            + self.world.platform.db.in_list("iccid", "ids"),
            {"ids": self.world.platform.db.list_param(iccids)},
        )
        return {r["iccid"]: r["partner_id"] for r in rows}

    async def listed(self, partner: int, headers: dict[str, str]) -> set[str]:
        answer = await self.world.api("GET", f"/partners/{partner}/sims?size=1000", headers)
        assert answer.status_code == 200, answer.text
        return {sim["iccid"] for sim in answer.json()["content"]}


@pytest.fixture
async def pair(world: World) -> Pair:
    sender = await world.partner(SENDER_NAME)
    sender_unit = await world.partner("Main North", parent=sender)
    receiver = await world.partner(RECEIVER_NAME)
    # The operator's subunit call (POST /partners/{id}/subunits) makes the receiver's unit.
    made = await world.op("POST", f"/partners/{receiver}/subunits", json={"name": "Second South"})
    assert made.status_code == 201, made.text
    assert made.json()["parentPartnerId"] == receiver
    stranger = await world.partner("Not Allowed Ltd")
    allowed = await world.op(
        "PUT", f"/partners/{sender}/transfer-partners", json={"partnerIds": [receiver]}
    )
    assert allowed.status_code == 200 and allowed.json() == {"partnerIds": [receiver]}
    apps = {sender: await world.app(sender), receiver: await world.app(receiver)}
    sender_headers = await world.headers_for(apps[sender])
    receiver_headers = await world.headers_for(apps[receiver])
    return Pair(
        world,
        sender,
        sender_unit,
        receiver,
        made.json()["partnerId"],
        stranger,
        sender_headers,
        receiver_headers,
        apps,
    )


async def _events(platform: Platform, partner: int) -> list[dict[str, Any]]:
    return [envelope(row) for row in await event_store.of_partner(platform.db, partner)]


def _seed_shape(event: dict[str, Any]) -> None:
    assert list(event) == ["time", "id", "source", "specversion", "type", "datacontenttype", "data"]
    assert event["source"] == "/v1/partners/simaction" and event["type"] == "simaction.v1"
    assert event["specversion"] == "1.0" and event["datacontenttype"] == "application/json"


async def test_transfer_accepted_into_a_subunit_moves_every_sim_with_the_seed_events(
    pair: Pair, platform: Platform
) -> None:
    iccids = await pair.sims(3)
    created = await pair.create(iccids)
    assert created.status_code == 202, created.text
    answer = created.json()
    tid, signup = answer["transactionId"], answer["signupId"]
    assert isinstance(tid, int) and isinstance(signup, int)
    # The request event goes to the receiver, its links work as given.
    (request,) = await _events(platform, pair.receiver)
    _seed_shape(request)
    href = f"http://testserver/iot/connectivity/management/v1/partners/{pair.receiver}/sims/actions/simtransfer/{tid}"
    assert request["data"] == {
        "partnerID": str(pair.receiver),
        "signupID": str(signup),
        "transactionID": str(tid),
        "message": f"You have received a request from '{SENDER_NAME}' to add SIM cards to your"
        " inventory. Please follow the link to accept or reject them.",
        "actionLinks": {
            "accept": {
                "rel": "accept",
                "href": href,
                "type": "PATCH",
                "name": "update SIM transfer",
            },
            "reject": {
                "rel": "reject",
                "href": href,
                "type": "PATCH",
                "name": "update SIM transfer",
            },
            "sims": {
                "rel": "sims",
                "href": href,
                "type": "GET",
                "name": "get SIM transfer details",
            },
        },
    }
    assert await _events(platform, pair.sender) == []
    # Pending: the receiver sees the transfer (the sims link), not the SIMs themselves.
    link = request["data"]["actionLinks"]["sims"]["href"].removeprefix("http://testserver")
    shown = await pair.world.http.get(link, headers=pair.receiver_headers)
    assert shown.status_code == 200, shown.text
    seen = shown.json()
    assert seen["status"] == "Pending" and seen["subunitPartnerID"] is None
    assert seen["sender"] == {"partnerId": pair.sender, "name": SENDER_NAME}
    assert seen["receiver"] == {"partnerId": pair.receiver, "name": RECEIVER_NAME}
    assert [s["iccid"] for s in seen["sims"]] == iccids
    assert await pair.listed(pair.receiver, pair.receiver_headers) == set()
    details = await pair.world.api(
        "GET", f"/partners/{pair.receiver}/sims/{iccids[0]}", pair.receiver_headers
    )
    assert details.status_code == 404
    # The sender's other actions on them fail with the reason; the transfer is outside
    # the actions budget and its action cannot be deleted.
    suspend = await pair.world.api(
        "POST",
        ACTIONS.format(p=pair.sender) + "/suspend",
        pair.sender_headers,
        json={"sims": [{"iccid": iccids[0]}]},
    )
    assert suspend.status_code == 202
    await worker.run_until_idle(platform)
    status = await pair.world.api(
        "GET", ACTIONS.format(p=pair.sender) + f"/{suspend.json()['signupId']}", pair.sender_headers
    )
    assert status.json()["sims"][0]["error"] == (
        f"SIM is in pending SIM transfer {tid}; no other action until the transfer ends"
    )
    delete = await pair.world.api(
        "DELETE", ACTIONS.format(p=pair.sender) + f"/{signup}", pair.sender_headers
    )
    assert delete.status_code == 409 and "PATCH" in error_list(delete, 409, "CONFLICT")[0]
    # Nothing runs before the decision.
    await worker.run_until_idle(platform)
    assert set((await pair.owners(iccids)).values()) == {pair.sender}
    # Accept via the accept link, into the receiver's subunit.
    accept_link = request["data"]["actionLinks"]["accept"]["href"].removeprefix("http://testserver")
    accepted = await pair.world.http.patch(
        accept_link,
        headers=pair.receiver_headers,
        json={"status": "Accepted", "subunitPartnerID": pair.receiver_unit},
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "Accepted"
    assert accepted.json()["subunitPartnerID"] == pair.receiver_unit
    await worker.run_until_idle(platform)
    assert set((await pair.owners(iccids)).values()) == {pair.receiver_unit}
    assert await pair.listed(pair.receiver, pair.receiver_headers) == set(iccids)
    assert await pair.listed(pair.sender, pair.sender_headers) == set()
    done = (await pair.details(pair.sender, pair.sender_headers, tid)).json()
    assert done["status"] == "Completed" and done["completedAt"] is not None
    assert {s["status"] for s in done["sims"]} == {"Done"}
    # The completion event, once per side, and no plain "action done" event besides.
    message = f"'The SIM Transfer between '{SENDER_NAME}' and '{RECEIVER_NAME}' has been completed."
    for partner in (pair.sender, pair.receiver):
        completion = (await _events(platform, partner))[-1]
        _seed_shape(completion)
        assert completion["data"] == {
            "partnerID": str(partner),
            "signupID": str(signup),
            "transactionID": str(tid),
            "message": message,
        }
    assert len(await _events(platform, pair.sender)) == 2  # the suspend's, the completion
    assert len(await _events(platform, pair.receiver)) == 2
    # Each side's application reads exactly these from its stream.
    for partner in (pair.sender, pair.receiver):
        assert await pair.streamed(partner, 2) == await _events(platform, partner)
    # Accepting twice, cancelling after completion: 409.
    again = await pair.patch(pair.receiver, pair.receiver_headers, tid, {"status": "Accepted"})
    assert error_list(again, 409, "CONFLICT") == [
        f"status: SIM transfer {tid} is already Completed"
    ]
    late = await pair.patch(pair.sender, pair.sender_headers, tid, {"status": "Cancelled"})
    assert error_list(late, 409, "CONFLICT") == [f"status: SIM transfer {tid} is already Completed"]


async def test_reject_and_cancels_send_the_seed_events_and_move_nothing(
    pair: Pair, platform: Platform
) -> None:
    iccids = await pair.sims(3)
    ids = []
    for index in range(3):
        created = await pair.create([iccids[index]])
        assert created.status_code == 202, created.text
        ids.append((created.json()["transactionId"], created.json()["signupId"]))
    # Rejected by the receiver: the sender hears of it.
    (tid, signup) = ids[0]
    rejected = await pair.patch(pair.receiver, pair.receiver_headers, tid, {"status": "Rejected"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "Rejected"
    event = (await _events(platform, pair.sender))[-1]
    _seed_shape(event)
    assert event["data"] == {
        "partnerID": str(pair.sender),
        "signupID": str(signup),
        "transactionID": str(tid),
        "message": f"'{RECEIVER_NAME}' has rejected your SIM Transfer request.",
    }
    # Cancelled by the sender: the receiver hears of it; accepting afterwards is 409.
    (tid, signup) = ids[1]
    cancelled = await pair.patch(pair.sender, pair.sender_headers, tid, {"status": "Cancelled"})
    assert cancelled.status_code == 200 and cancelled.json()["decidedBy"] == "sender"
    message = f"'{SENDER_NAME}' has cancelled the request to transfer SIM cards."
    event = (await _events(platform, pair.receiver))[-1]
    assert event["data"] == {
        "partnerID": str(pair.receiver),
        "signupID": str(signup),
        "transactionID": str(tid),
        "message": message,
    }
    late = await pair.patch(pair.receiver, pair.receiver_headers, tid, {"status": "Accepted"})
    assert error_list(late, 409, "CONFLICT") == [f"status: SIM transfer {tid} is already Cancelled"]
    # Cancelled by the operator: both sides hear of it.
    (tid, signup) = ids[2]
    before = {p: len(await _events(platform, p)) for p in (pair.sender, pair.receiver)}
    by_operator = await pair.world.op(
        "PATCH", f"/sims/actions/simtransfer/{tid}", json={"status": "Cancelled"}
    )
    assert by_operator.status_code == 200, by_operator.text
    assert by_operator.json()["decidedBy"] == "operator"
    for partner in (pair.sender, pair.receiver):
        events = await _events(platform, partner)
        assert len(events) == before[partner] + 1
        assert events[-1]["data"] == {
            "partnerID": str(partner),
            "signupID": str(signup),
            "transactionID": str(tid),
            "message": message,
        }
    await worker.run_until_idle(platform)
    assert set((await pair.owners(iccids)).values()) == {pair.sender}
    action = await pair.world.api(
        "GET", ACTIONS.format(p=pair.sender) + f"/{signup}", pair.sender_headers
    )
    assert action.json()["status"] == "Cancelled"
    # The SIMs are free again: the sender can act on them.
    suspend = await pair.world.api(
        "POST",
        ACTIONS.format(p=pair.sender) + "/suspend",
        pair.sender_headers,
        json={"sims": [{"iccid": i} for i in iccids]},
    )
    await worker.run_until_idle(platform)
    status = await pair.world.api(
        "GET", ACTIONS.format(p=pair.sender) + f"/{suspend.json()['signupId']}", pair.sender_headers
    )
    assert status.json()["status"] == "Done"


async def test_refusals(pair: Pair, platform: Platform) -> None:
    iccids = await pair.sims(2)
    terminated = await pair.sims(1, "Terminated")
    for target, problem in (
        (pair.sender, "is in the sender's own partner tree; use move"),
        (pair.sender_unit, "is in the sender's own partner tree; use move"),
        (99_999_999, "partner 99999999 does not exist"),
        (pair.stranger, f"the operator allows no SIM transfers from partner {pair.sender}"),
        (pair.receiver_unit, "is a subunit; transfer to its top partner"),
    ):
        answer = await pair.create(iccids, target)
        (error,) = assert_error_names(answer, 400, "BAD_REQUEST", "targetPartnerId")
        assert problem in error, error
    # None that can move: nothing is offered, the action fails with the reason.
    answer = await pair.create(terminated)
    assert answer.status_code == 202 and answer.json()["transactionId"] is None
    status = await pair.world.api(
        "GET", ACTIONS.format(p=pair.sender) + f"/{answer.json()['signupId']}", pair.sender_headers
    )
    assert status.json()["status"] == "Failed"
    assert status.json()["sims"][0]["error"] == "cannot transfer: SIM is Terminated"
    assert await _events(platform, pair.receiver) == []
    # A SIM that cannot move fails alone.
    created = await pair.create([iccids[0], terminated[0]])
    assert created.status_code == 202, created.text
    tid = created.json()["transactionId"]
    details = (await pair.details(pair.sender, pair.sender_headers, tid)).json()
    assert [(s["status"], s["error"]) for s in details["sims"]] == [
        ("Pending", None),
        ("Failed", "cannot transfer: SIM is Terminated"),
    ]
    # A SIM already in an open transfer cannot go into another.
    again = await pair.create([iccids[0]])
    assert again.status_code == 202 and again.json()["transactionId"] is None
    status = await pair.world.api(
        "GET", ACTIONS.format(p=pair.sender) + f"/{again.json()['signupId']}", pair.sender_headers
    )
    assert status.json()["sims"][0]["error"] == (
        f"SIM is in pending SIM transfer {tid}; no other action until the transfer ends"
    )
    # A subunit that is not the receiver's; the sender may not accept; the receiver may not
    # cancel; a stranger does not see it.
    foreign = await pair.patch(
        pair.receiver,
        pair.receiver_headers,
        tid,
        {"status": "Accepted", "subunitPartnerID": pair.sender_unit},
    )
    assert_error_names(foreign, 400, "BAD_REQUEST", "subunitPartnerID")
    own = await pair.patch(pair.sender, pair.sender_headers, tid, {"status": "Accepted"})
    assert_error_names(own, 403, "FORBIDDEN", "status")
    cancel = await pair.patch(pair.receiver, pair.receiver_headers, tid, {"status": "Cancelled"})
    assert_error_names(cancel, 403, "FORBIDDEN", "status")
    stranger = await pair.world.headers_for(await pair.world.app(pair.stranger))
    hidden = await pair.details(pair.stranger, stranger, tid)
    assert hidden.status_code == 404
    unknown = await pair.details(pair.receiver, pair.receiver_headers, tid + 1000)
    assert unknown.status_code == 404
    bad = await pair.patch(pair.receiver, pair.receiver_headers, tid, {"status": "Completed"})
    assert_error_names(bad, 400, "BAD_REQUEST", "status")
    # A subunit user of the sender side sees only its unit; a transfer into the receiver's
    # unit becomes visible to that unit's subunit user once accepted there.
    unit_app = await pair.world.app(
        pair.receiver, userType="Subunit", subunits=[pair.receiver_unit]
    )
    unit_headers = await pair.world.headers_for(unit_app)
    assert (await pair.details(pair.receiver_unit, unit_headers, tid)).status_code == 404
    accepted = await pair.patch(
        pair.receiver,
        pair.receiver_headers,
        tid,
        {"status": "Accepted", "subunitPartnerID": pair.receiver_unit},
    )
    assert accepted.status_code == 200, accepted.text
    await worker.run_until_idle(platform)
    seen = await pair.details(pair.receiver_unit, unit_headers, tid)
    assert seen.status_code == 200 and seen.json()["status"] == "Completed"
    assert await pair.listed(pair.receiver_unit, unit_headers) == {iccids[0]}
    # It reads the transfer but does not decide it.
    deny = await pair.patch(pair.receiver_unit, unit_headers, tid, {"status": "Cancelled"})
    assert_error_names(deny, 403, "FORBIDDEN", "status")
    # The operator cannot cancel what completed.
    late = await pair.world.op(
        "PATCH", f"/sims/actions/simtransfer/{tid}", json={"status": "Cancelled"}
    )
    assert error_list(late, 409, "CONFLICT") == [f"status: SIM transfer {tid} is already Completed"]


async def test_transfer_is_outside_the_actions_budget_and_idempotent(pair: Pair) -> None:
    world = pair.world
    limits = await world.op("PUT", f"/partners/{pair.sender}/limits", json={"actions": ["1/hour"]})
    assert limits.status_code == 200, limits.text
    iccids = await pair.sims(3)
    key = {**pair.sender_headers, "Idempotency-Key": "transfer-1"}
    first = await pair.create(iccids, headers=key)
    assert first.status_code == 202, first.text
    assert "RateLimit-Limit" not in first.headers
    again = await pair.create(iccids, headers=key)
    assert again.status_code == 202
    assert again.json()["transactionId"] == first.json()["transactionId"]
    assert again.json()["signupId"] == first.json()["signupId"]
    # The actions budget is untouched: a 1-SIM action still fits, the next does not.
    other = await pair.sims(1)
    body = {"sims": [{"iccid": other[0]}]}
    path = ACTIONS.format(p=pair.sender) + "/suspend"
    assert (await world.api("POST", path, pair.sender_headers, json=body)).status_code == 202
    assert (await world.api("POST", path, pair.sender_headers, json=body)).status_code == 403


async def test_relations_and_subunits_through_the_operator(pair: Pair) -> None:
    world = pair.world
    listed = await world.op("GET", f"/partners/{pair.sender}/transfer-partners")
    assert listed.json() == {"partnerIds": [pair.receiver]}
    for body, field in (
        ({"partnerIds": [pair.receiver_unit]}, "partnerIds[0]"),
        ({"partnerIds": [pair.sender]}, "partnerIds[0]"),
        ({"partnerIds": [99_999_999]}, "partnerIds[0]"),
    ):
        answer = await world.op("PUT", f"/partners/{pair.sender}/transfer-partners", json=body)
        assert_error_names(answer, 400, "BAD_REQUEST", field)
    unit = await world.op(
        "PUT",
        f"/partners/{pair.sender_unit}/transfer-partners",
        json={"partnerIds": [pair.receiver]},
    )
    assert_error_names(unit, 400, "BAD_REQUEST", "partnerId")
    deeper = await world.op("POST", f"/partners/{pair.sender_unit}/subunits", json={"name": "Deep"})
    assert deeper.status_code == 201
    subunits = await world.op("GET", f"/partners/{pair.sender}/subunits")
    assert subunits.status_code == 200
    assert [(s["partnerId"], s["parentPartnerId"]) for s in subunits.json()] == [
        (pair.sender_unit, pair.sender),
        (deeper.json()["partnerId"], pair.sender_unit),
    ]
    assert (await world.op("GET", "/partners/99999999/subunits")).status_code == 404
    assert (
        await world.op("POST", "/partners/99999999/subunits", json={"name": "x"})
    ).status_code == 404


async def test_orders_with_minimum_quantity_and_esim_activation_codes(
    pair: Pair, platform: Platform
) -> None:
    world = pair.world
    material = await world.op(
        "POST",
        "/materials",
        json={"name": "eSIM profile", "simType": "eSIM", "minOrderQuantity": 5},
    )
    assert material.status_code == 201, material.text
    material_id = material.json()["id"]
    tariff = await world.tariff()
    path = f"/partners/{pair.sender}/sims/orders"
    small = {"materialId": material_id, "quantity": 2, "tariffId": tariff}
    refused = await world.api("POST", path, pair.sender_headers, json=small)
    assert_error_names(refused, 400, "BAD_REQUEST", "quantity")
    for body, field in (
        ({"materialId": 1, "quantity": 5}, "materialId"),
        ({"materialId": material_id, "quantity": 5, "tariffId": 1}, "tariffId"),
        ({"materialId": material_id, "quantity": 0}, "quantity"),
    ):
        answer = await world.api("POST", path, pair.sender_headers, json=body)
        assert_error_names(answer, 400, "BAD_REQUEST", field)
    placed = await world.api("POST", path, pair.sender_headers, json={**small, "overrideMoq": True})
    assert placed.status_code == 202, placed.text
    signup = placed.json()["signupId"]
    actions_path = ACTIONS.format(p=pair.sender)
    pending = await world.api("GET", f"{actions_path}?action=simorder", pair.sender_headers)
    assert [(a["signupId"], a["status"]) for a in pending.json()["content"]] == [
        (signup, "Pending")
    ]
    assert await pair.listed(pair.sender, pair.sender_headers) == set()
    await worker.run_until_idle(platform)
    status = (await world.api("GET", f"{actions_path}/{signup}", pair.sender_headers)).json()
    assert status["status"] == "Done" and status["counts"]["done"] == 2
    iccids = [s["iccid"] for s in status["sims"]]
    assert await pair.listed(pair.sender, pair.sender_headers) == set(iccids)
    for iccid in iccids:
        details = (
            await world.api("GET", f"/partners/{pair.sender}/sims/{iccid}", pair.sender_headers)
        ).json()
        assert details["status"] == "Inactive" and details["simType"] == "eSIM"
        assert CHECKS["iccid"](iccid) is None and CHECKS["imsi"](details["imsi"]) is None
        assert details["msisdn"] is None and details["eidProfileStatus"] == "Not bound"
        assert details["activationCode"].startswith("LPA:1$")
        assert details["tariff"]["id"] == tariff
    (event,) = await _events(platform, pair.sender)
    assert event["data"]["message"] == f"Action with signup ID {signup} is done."
    delete = await world.api("DELETE", f"{actions_path}/{signup}", pair.sender_headers)
    assert delete.status_code == 409
    read_only = await world.headers_for(await world.app(pair.sender, name="ro", readOnly=True))
    assert (await world.api("POST", path, read_only, json=small)).status_code == 403


async def test_an_order_of_1000_sims_completes_and_they_activate(
    pair: Pair, platform: Platform
) -> None:
    world = pair.world
    material = await world.op(
        "POST",
        "/materials",
        json={"name": "MFF2 chip", "simType": "physical", "minOrderQuantity": 1000},
    )
    order = {"materialId": material.json()["id"], "quantity": 1000}
    placed = await world.api(
        "POST", f"/partners/{pair.sender}/sims/orders", pair.sender_headers, json=order
    )
    assert placed.status_code == 202, placed.text
    await worker.run_until_idle(platform)
    listed = await pair.listed(pair.sender, pair.sender_headers)
    assert len(listed) == 1000
    activate = await world.api(
        "POST",
        ACTIONS.format(p=pair.sender) + "/activation",
        pair.sender_headers,
        json={"sims": [{"iccid": i} for i in sorted(listed)]},
    )
    assert activate.status_code == 202, activate.text
    await worker.run_until_idle(platform)
    result = await world.api(
        "GET",
        ACTIONS.format(p=pair.sender) + f"/{activate.json()['signupId']}",
        pair.sender_headers,
    )
    assert result.json()["status"] == "Done" and result.json()["counts"]["done"] == 1000
