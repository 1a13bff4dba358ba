"""Reading the SIM inventory through the customer API: details by any identifier, the SIM
list (paging, keyset, filters, searches) and the partner view (CONTRACT.md 6, 7.1-7.3)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from m2mportal import synthetic
from m2mportal.api.sims import request_target
from m2mportal.clock import Clock
from m2mportal.models import NewMaterial, NewOption, NewProfile, NewTariff
from m2mportal.platform import open_platform
from m2mportal.services import catalog
from m2mportal.store import catalog as catalog_store
from m2mportal.store import sims as sim_store
from tests.helpers import World, assert_error_names

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
STATUSES = ("Inactive", "Active", "Suspended", "Blocked", "Terminated")


assert_error = assert_error_names


def sim(serial: int, status: str = "Active", esim: bool = False, **extra: Any) -> dict[str, Any]:
    """One operator-API SIM record with the identifiers a SIM in ``status`` has."""
    record: dict[str, Any] = {
        "iccid": synthetic.iccid(serial),
        "imsi": synthetic.imsi(serial),
        "status": status,
        "simType": "eSIM" if esim else "physical",
    }
    if status != "Inactive":
        record["msisdn"] = synthetic.msisdn(serial)
    if status in ("Active", "Suspended"):
        record["imei"] = synthetic.imei(serial)
    if esim:
        record["euiccid"] = synthetic.euiccid(serial)
    record.update(extra)
    return record


@dataclass
class Scene:
    world: World
    partner: int
    subunit: int
    other: int
    headers: dict[str, str]
    tariff: int
    material: int
    limit_profile: int

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.world.api("GET", path, self.headers, params=params)

    async def details(self, body: Any) -> httpx.Response:
        return await self.world.api(
            "POST", f"/partners/{self.partner}/sims/details", self.headers, json=body
        )


async def _catalog(world: World, kind: str, body: dict[str, Any]) -> int:
    answer = await world.op("POST", f"/{kind}", json=body)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


@pytest.fixture
async def scene(world: World) -> Scene:
    """Partner with one subunit and an application; another partner; a small catalogue.

    SIMs: 1 Active eSIM with everything set, 2 Inactive physical, 3 Active in the
    subunit, 4 Active at the other partner."""
    partner = await world.partner("Fleet GmbH")
    subunit = await world.partner("Fleet GmbH North", parent=partner)
    other = await world.partner("Other AG")
    tariff = await world.tariff("IoT Flex 24", binding_months=24)
    material = await _catalog(world, "materials", {"name": "eSIM MFF2", "simType": "eSIM"})
    limit_profile = await _catalog(world, "profiles", {"kind": "limit", "name": "Limit 1 GB"})
    rich = sim(
        1,
        esim=True,
        tariffId=tariff,
        materialId=material,
        limitProfileId=limit_profile,
        productive=True,
        activationDate="2025-01-15T10:00:00.000Z",
        apns=["internet.m2m", "iot.corp"],
        remarks={"remark1": "Truck 17", "remark3": "depot Hamburg"},
        activationCode="LPA:1$smdp.example.com$MATCH-1",
    )
    answer = await world.sims(partner, [rich, sim(2, "Inactive")])
    assert answer.status_code == 201, answer.text
    answer = await world.sims(partner, [sim(3, subunitId=subunit)])
    assert answer.status_code == 201, answer.text
    answer = await world.sims(other, [sim(4)])
    assert answer.status_code == 201, answer.text
    headers = await world.headers_for(await world.app(partner))
    return Scene(world, partner, subunit, other, headers, tariff, material, limit_profile)


# --- POST /partners/{id}/sims/details -----------------------------------------------------


FINDS_SIM_1 = {
    "iccid": {"iccid": synthetic.iccid(1)},
    "euiccid": {"euiccid": synthetic.euiccid(1)},  # 32-digit EID
    "imsi": {"imsi": synthetic.imsi(1)},
    "imei": {"imei": synthetic.imei(1)},  # 15 digits with Luhn
    "imeisv": {"imei": synthetic.imei(1)[:14] + "07"},  # 16 digits, same first 14
    "msisdn": {"msisdn": synthetic.msisdn(1)},
}


async def test_details_finds_the_sim_by_each_identifier(scene: Scene) -> None:
    assert len(synthetic.euiccid(1)) == 32 and len(FINDS_SIM_1["imeisv"]["imei"]) == 16
    for case, body in FINDS_SIM_1.items():
        answer = await scene.details(body)
        assert answer.status_code == 200, (case, answer.text)
        found = answer.json()
        assert found["iccid"] == synthetic.iccid(1), case
        assert found["euiccid"] == synthetic.euiccid(1), case
        assert found["imei"] == synthetic.imei(1), case
        assert found["partnerId"] == scene.partner, case


async def test_details_finds_a_subunits_sim_from_the_parent(scene: Scene) -> None:
    answer = await scene.details({"imsi": synthetic.imsi(3)})
    assert answer.status_code == 200, answer.text
    assert answer.json()["iccid"] == synthetic.iccid(3)
    assert answer.json()["partnerId"] == scene.subunit


NOT_FOUND_CASES = {
    "msisdn of an Inactive SIM": ("msisdn", synthetic.msisdn(2)),  # no MSISDN yet
    "imei never seen": ("imei", synthetic.imei(2)),  # SIM 2 was never in a device
    "imei unknown": ("imei", synthetic.imei(99)),
    "euiccid of a physical SIM": ("euiccid", synthetic.euiccid(3)),
    "iccid not in the inventory": ("iccid", synthetic.iccid(99)),
    "imsi of another partner": ("imsi", synthetic.imsi(4)),
    "iccid of another partner": ("iccid", synthetic.iccid(4)),
}


async def test_details_of_an_identifier_the_sim_does_not_have_is_404(scene: Scene) -> None:
    for case, (kind, value) in NOT_FOUND_CASES.items():
        answer = await scene.details({kind: value})
        errors = assert_error(answer, 404, "NOT_FOUND")
        assert any(value in e for e in errors), (case, errors)
        # The other partner's SIM is not revealed by any message either.
        assert all(str(scene.other) not in e for e in errors), case


MALFORMED = [
    ({"imsi": "26201"}, "imsi: must be 14 or 15 digits"),
    ({"iccid": "89490200000000000012"}, "iccid: check digit wrong"),
    ({"iccid": "12345678901234567890"}, "iccid: must start with 89"),
    ({"euiccid": "89049032000001000"}, "euiccid: must be 32 digits"),
    ({"euiccid": synthetic.euiccid(1)[:-1] + "0"}, "euiccid: check digits wrong"),
    ({"imei": "350000000000015"}, "imei: check digit wrong"),
    ({"imei": "3500000000"}, "imei: must be 15 digits (IMEI) or 16 digits (IMEISV)"),
    ({"msisdn": "+4915100000001"}, "msisdn: must be E.164 digits without '+', at most 15"),
]


async def test_details_with_a_malformed_identifier_is_400(scene: Scene) -> None:
    for body, error in MALFORMED:
        errors = assert_error(await scene.details(body), 400, "BAD_REQUEST")
        assert errors == [error], body


async def test_details_with_a_bad_body_is_400(scene: Scene) -> None:
    two = {"iccid": synthetic.iccid(1), "imsi": synthetic.imsi(1)}
    assert_error(await scene.details(two), 400, "BAD_REQUEST", "body")
    assert_error(await scene.details({}), 400, "BAD_REQUEST", "body")
    assert_error(await scene.details({"iccid": None}), 400, "BAD_REQUEST", "body")
    unknown = {"iccid": synthetic.iccid(1), "serialNumber": "1"}
    errors = assert_error(await scene.details(unknown), 400, "BAD_REQUEST")
    assert any("serialNumber" in e for e in errors), errors
    number = {"imsi": int(synthetic.imsi(1))}
    assert_error(await scene.details(number), 400, "BAD_REQUEST", "imsi")
    assert_error(await scene.details([synthetic.iccid(1)]), 400, "BAD_REQUEST")
    malformed = await scene.world.api(
        "POST",
        f"/partners/{scene.partner}/sims/details",
        {**scene.headers, "Content-Type": "application/json"},
        content=b'{"iccid": ',
    )
    assert_error(malformed, 400, "BAD_REQUEST", "body")


async def test_a_valid_json_body_of_the_wrong_shape_is_not_called_malformed(scene: Scene) -> None:
    # msgspec.ValidationError is a subclass of DecodeError: the message must still say
    # what is wrong, not that the JSON is malformed.
    for body in ({"iccid": synthetic.iccid(1), "serialNumber": "1"}, [synthetic.iccid(1)]):
        errors = assert_error(await scene.details(body), 400, "BAD_REQUEST")
        assert not any("malformed JSON" in e for e in errors), (body, errors)


async def test_details_of_a_partner_outside_the_scope_is_403(scene: Scene) -> None:
    answer = await scene.world.api(
        "POST",
        f"/partners/{scene.other}/sims/details",
        scene.headers,
        json={"iccid": synthetic.iccid(4)},
    )
    assert_error(answer, 403, "FORBIDDEN")


async def test_details_without_a_token_is_401(scene: Scene) -> None:
    answer = await scene.world.api(
        "POST", f"/partners/{scene.partner}/sims/details", {}, json={"iccid": synthetic.iccid(1)}
    )
    assert_error(answer, 401, "UNAUTHORIZED")


# --- GET /partners/{id}/sims/{iccid} ------------------------------------------------------

DETAIL_FIELDS = {
    "iccid", "euiccid", "imsi", "msisdn", "imei", "partnerId", "simType", "material", "status",
    "productive", "activationDate", "terminationDate", "bindingPeriod", "tariff", "options",
    "profiles", "apns", "restrictionStatus", "limitStatus", "fraudStatus", "remarks",
    "activationCode", "eidProfileStatus", "simAggregatedData", "links",
}  # fmt: skip


async def test_get_details_has_every_field_with_its_shape(scene: Scene) -> None:
    iccid = synthetic.iccid(1)
    answer = await scene.get(f"/partners/{scene.partner}/sims/{iccid}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) >= DETAIL_FIELDS, DETAIL_FIELDS - set(body)
    assert body["iccid"] == iccid
    assert body["euiccid"] == synthetic.euiccid(1)
    assert body["imsi"] == synthetic.imsi(1)
    assert body["msisdn"] == synthetic.msisdn(1)
    assert body["imei"] == synthetic.imei(1)
    assert body["simType"] == "eSIM"
    assert body["material"] == "eSIM MFF2"
    assert body["status"] == "Active"
    assert body["productive"] is True
    assert body["activationDate"].startswith("2025-01-15T10:00:00")
    assert body["terminationDate"] is None
    assert body["tariff"] == {"id": scene.tariff, "name": "IoT Flex 24"}
    binding = body["bindingPeriod"]
    assert set(binding) == {"months", "endDate"}
    assert binding["months"] == 24
    assert binding["endDate"].startswith("2027-01")  # 24 months after 2025-01-15
    assert body["options"] == []
    assert body["profiles"] == {
        "limitProfile": {"id": scene.limit_profile, "name": "Limit 1 GB"},
        "fraudProfile": None,
        "costLimitProfile": None,
    }
    assert body["apns"] == [
        {"name": "internet.m2m", "staticIp": None, "restrictionStatus": "No Restriction"},
        {"name": "iot.corp", "staticIp": None, "restrictionStatus": "No Restriction"},
    ]
    assert body["restrictionStatus"] == "No Restriction"
    assert body["limitStatus"] == "OK"
    assert body["fraudStatus"] == "OK"
    assert body["remarks"] == {
        "remark1": "Truck 17",
        "remark2": None,
        "remark3": "depot Hamburg",
        "remark4": None,
        "remark5": None,
    }
    assert body["activationCode"] == "LPA:1$smdp.example.com$MATCH-1"
    assert body["eidProfileStatus"] == "Enabled"
    assert body["simAggregatedData"] == {
        "dataBytes": 0,
        "smsMo": 0,
        "smsMt": 0,
        "voiceSeconds": 0,
        "sessions": 0,
        "lastSessionAt": None,
    }
    links = {link["rel"]: link for link in body["links"]}
    assert {"self", "session", "sessionHistory", "smsHistory", "actions"} <= set(links)
    sim_path = f"/iot/connectivity/management/v1/partners/{scene.partner}/sims/{iccid}"
    assert links["self"]["href"].endswith(sim_path)
    assert links["session"]["href"].endswith(sim_path + "/session")
    assert links["sessionHistory"]["href"].endswith(sim_path + "/sessionhistory")
    assert links["smsHistory"]["href"].endswith(sim_path + "/smshistory")
    assert links["actions"]["href"].endswith(f"/partners/{scene.partner}/sims/actions")
    for link in body["links"]:
        assert set(link) == {"rel", "href", "type", "name"}
        assert link["href"].startswith("http://testserver/")


async def test_get_details_of_a_plain_inactive_sim(scene: Scene) -> None:
    answer = await scene.get(f"/partners/{scene.partner}/sims/{synthetic.iccid(2)}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) >= DETAIL_FIELDS
    assert body["status"] == "Inactive"
    assert body["simType"] == "physical"
    assert body["msisdn"] is None and body["imei"] is None and body["euiccid"] is None
    assert body["activationDate"] is None
    assert body["tariff"] is None
    assert body["bindingPeriod"] == {"months": 0, "endDate": None}
    assert body["activationCode"] is None and body["eidProfileStatus"] is None
    assert body["profiles"] == {
        "limitProfile": None,
        "fraudProfile": None,
        "costLimitProfile": None,
    }


async def test_catalogue_entries_made_by_another_process_are_named_at_once(
    scene: Scene, clock: Clock
) -> None:
    """SIM reads take the catalogue's names from memory (services/catalog_names.py).
    Entries made since the names were read, by another process on the same database, are
    named on the first read that meets them: one read of the catalogue, then none."""
    names = scene.world.platform.names
    warm = await scene.get(f"/partners/{scene.partner}/sims/{synthetic.iccid(1)}")
    assert warm.status_code == 200 and names.reads == 1, warm.text

    other = await open_platform(scene.world.platform.settings, clock=clock, run_migrations=False)
    try:
        made = {
            "tariff": await catalog.create(other.db, NewTariff(name="Fleet 5 GB")),
            "material": await catalog.create(
                other.db, NewMaterial(name="Chip MFF2", sim_type="physical")
            ),
            "limit": await catalog.create(other.db, NewProfile(kind="limit", name="5 GB cap")),
            "fraud": await catalog.create(other.db, NewProfile(kind="fraud", name="Geo fence")),
            "cost": await catalog.create(other.db, NewProfile(kind="costLimit", name="EUR 20")),
            "option": await catalog.create(other.db, NewOption(name="Roaming Plus")),
        }
        record = sim(
            5, tariffId=made["tariff"].id, materialId=made["material"].id,
            limitProfileId=made["limit"].id, fraudProfileId=made["fraud"].id,
            costLimitProfileId=made["cost"].id,
        )  # fmt: skip
        answer = await scene.world.sims(scene.partner, [record])
        assert answer.status_code == 201, answer.text
        await sim_store.book_option(
            other.db, synthetic.iccid(5), made["option"].id, "2026-11-30T08:00:00.000Z"
        )
    finally:
        await other.close()

    answer = await scene.get(f"/partners/{scene.partner}/sims/{synthetic.iccid(5)}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["tariff"] == {"id": made["tariff"].id, "name": "Fleet 5 GB"}
    assert body["material"] == "Chip MFF2"
    assert body["profiles"] == {
        "limitProfile": {"id": made["limit"].id, "name": "5 GB cap"},
        "fraudProfile": {"id": made["fraud"].id, "name": "Geo fence"},
        "costLimitProfile": {"id": made["cost"].id, "name": "EUR 20"},
    }
    assert body["options"] == [
        {"id": made["option"].id, "name": "Roaming Plus", "bookedAt": "2026-11-30T08:00:00.000Z"}
    ]
    listed = await scene.get(f"/partners/{scene.partner}/sims", iccid=synthetic.iccid(5))
    assert listed.status_code == 200, listed.text
    assert listed.json()["content"][0]["tariff"] == body["tariff"]
    assert names.reads == 2  # one read for the new entries, none for the list
    again = await scene.get(f"/partners/{scene.partner}/sims/{synthetic.iccid(5)}")
    assert again.json() == body and names.reads == 2


CATALOGUE_WRITE = re.compile(
    r"\b(UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+(tariffs|options|materials|profiles)\b",
    re.IGNORECASE,
)


def test_the_catalogue_is_insert_only() -> None:
    """services/catalog_names.py keeps a name once read: right only while no entry is
    renamed or deleted. A change that does so must give the names cache a way to learn
    of it (and change this test)."""
    src = Path(catalog_store.__file__).resolve().parents[1]
    offenders = [
        str(path.relative_to(src))
        for path in src.rglob("*.py")
        if "migrations" not in path.parts and CATALOGUE_WRITE.search(path.read_text())
    ]
    assert offenders == []
    catalogue_sql = Path(catalog_store.__file__).read_text()
    assert not re.search(r"\b(UPDATE|DELETE)\b", catalogue_sql)


async def test_a_reference_the_catalogue_does_not_hold_shows_no_name(scene: Scene) -> None:
    """As the joins the names replaced showed it: a tariff or profile id without its
    catalogue entry keeps its id with an empty name, a material none (the operator API
    refuses such ids; this SIM was changed in the database). An option cannot be booked
    without its entry: sim_options has a foreign key on both databases."""
    db = scene.world.platform.db
    iccid = synthetic.iccid(2)
    await sim_store.update(db, iccid, {"tariff_id": 990001, "fraud_profile_id": 990002,
                                       "material_id": 990003})  # fmt: skip
    answer = await scene.get(f"/partners/{scene.partner}/sims/{iccid}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["tariff"] == {"id": 990001, "name": ""}
    assert body["profiles"]["fraudProfile"] == {"id": 990002, "name": ""}
    assert body["material"] is None
    listed = await scene.get(f"/partners/{scene.partner}/sims", iccid=iccid)
    assert listed.json()["content"][0]["tariff"] == {"id": 990001, "name": ""}


async def test_get_and_post_details_answer_the_same(scene: Scene) -> None:
    get = await scene.get(f"/partners/{scene.partner}/sims/{synthetic.iccid(1)}")
    post = await scene.details({"msisdn": synthetic.msisdn(1)})
    assert get.status_code == post.status_code == 200
    assert get.json() == post.json()


async def test_get_details_with_a_malformed_iccid_is_400(scene: Scene) -> None:
    for iccid, error in (
        ("89490200000000000012", "iccid: check digit wrong"),
        ("894902000000", "iccid: must be 19 or 20 digits"),
        ("8949020000000000001x", "iccid: must be 19 or 20 digits"),
    ):
        answer = await scene.get(f"/partners/{scene.partner}/sims/{iccid}")
        assert assert_error(answer, 400, "BAD_REQUEST", "iccid") == [error]


async def test_get_details_of_another_partners_sim_is_404(scene: Scene) -> None:
    answer = await scene.get(f"/partners/{scene.partner}/sims/{synthetic.iccid(4)}")
    assert_error(answer, 404, "NOT_FOUND")


async def test_get_details_of_a_parents_sim_through_the_subunit_is_404(scene: Scene) -> None:
    answer = await scene.get(f"/partners/{scene.subunit}/sims/{synthetic.iccid(1)}")
    assert_error(answer, 404, "NOT_FOUND")
    answer = await scene.get(f"/partners/{scene.subunit}/sims/{synthetic.iccid(3)}")
    assert answer.status_code == 200, answer.text


async def test_get_details_of_a_partner_outside_the_scope_is_403(scene: Scene) -> None:
    answer = await scene.get(f"/partners/{scene.other}/sims/{synthetic.iccid(4)}")
    assert_error(answer, 403, "FORBIDDEN")


async def test_get_details_with_a_malformed_partner_id_is_400(scene: Scene) -> None:
    answer = await scene.get(f"/partners/abc/sims/{synthetic.iccid(1)}")
    assert_error(answer, 400, "BAD_REQUEST", "partnerId")


# --- GET /partners/{id}/sims: paging --------------------------------------------------------


@dataclass
class Inventory:
    world: World
    partner: int
    subunit: int
    other: int
    tariffs: tuple[int, int]
    headers: dict[str, str]
    sims: list[dict[str, Any]]

    async def list(self, **params: Any) -> httpx.Response:
        return await self.world.api(
            "GET", f"/partners/{self.partner}/sims", self.headers, params=params
        )

    async def follow(self, href: str) -> httpx.Response:
        return await self.world.http.get(href, headers=self.headers)

    @property
    def iccids(self) -> list[str]:
        return sorted(s["iccid"] for s in self.sims)


async def _inventory(world: World, count: int) -> Inventory:
    partner = await world.partner("Meters Ltd")
    subunit = await world.partner("Meters Ltd South", parent=partner)
    other = await world.partner("Elsewhere Inc")
    tariffs = (await world.tariff("Tariff A"), await world.tariff("Tariff B"))
    made = await world.synthetic_sims(
        partner, count, start=1000, tariff_ids=tariffs, subunits=(None, subunit), esim_share=0.3
    )
    await world.synthetic_sims(other, 5, start=5000)
    headers = await world.headers_for(await world.app(partner))
    return Inventory(world, partner, subunit, other, tariffs, headers, made)


@pytest.fixture
async def inventory(world: World) -> Inventory:
    return await _inventory(world, 40)


async def test_list_defaults_to_pages_of_100_with_totals(world: World) -> None:
    inv = await _inventory(world, 130)
    first = await inv.list()
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) == {"content", "page", "links"}
    assert body["page"] == {"size": 100, "number": 0, "totalElements": 130, "totalPages": 2}
    assert [e["iccid"] for e in body["content"]] == inv.iccids[:100]
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert "next" in rels and "page=1" in rels["next"]

    second = await inv.follow(rels["next"])
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["page"] == {"size": 100, "number": 1, "totalElements": 130, "totalPages": 2}
    assert [e["iccid"] for e in body["content"]] == inv.iccids[100:]
    assert "next" not in {link["rel"] for link in body["links"]}


async def test_list_entries_have_the_contract_fields(inventory: Inventory) -> None:
    answer = await inventory.list(size=1000)
    assert answer.status_code == 200, answer.text
    by_iccid = {s["iccid"]: s for s in inventory.sims}
    content = answer.json()["content"]
    assert len(content) == 40
    for entry in content:
        assert set(entry) == {
            "iccid", "euiccid", "imsi", "msisdn", "imei", "status", "productive",
            "partnerId", "tariff", "activationDate", "dataConsumption",
        }  # fmt: skip
        made = by_iccid[entry["iccid"]]
        assert entry["status"] == made["status"]
        assert entry["imsi"] == made["imsi"]
        assert entry["msisdn"] == made.get("msisdn")
        assert entry["euiccid"] == made.get("euiccid")
        assert entry["partnerId"] == made.get("subunitId", inventory.partner)
        assert entry["tariff"]["id"] == made["tariffId"]
        assert entry["tariff"]["name"] in ("Tariff A", "Tariff B")
        assert entry["dataConsumption"] == 0
        assert (entry["activationDate"] is None) == (made["status"] == "Inactive")


async def test_list_page_and_size(inventory: Inventory) -> None:
    answer = await inventory.list(page=2, size=15)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["page"] == {"size": 15, "number": 2, "totalElements": 40, "totalPages": 3}
    assert [e["iccid"] for e in body["content"]] == inventory.iccids[30:40]
    beyond = (await inventory.list(page=7, size=15)).json()
    assert beyond["content"] == []
    assert beyond["page"]["totalElements"] == 40


async def test_list_size_1000_is_allowed(inventory: Inventory) -> None:
    answer = await inventory.list(size=1000)
    assert answer.status_code == 200, answer.text
    assert answer.json()["page"]["size"] == 1000


BAD_LIST_PARAMS = [
    ({"size": 1001}, "size"),
    ({"size": 0}, "size"),
    ({"size": "ten"}, "size"),
    ({"page": -1}, "page"),
    ({"status": "Sleeping"}, "status"),
    ({"status": "active"}, "status"),
    ({"tariffId": "abc"}, "tariffId"),
    ({"subunitId": "x"}, "subunitId"),
    ({"remark": ""}, "remark"),
    ({"after": "89490200000000000012"}, "after"),
    ({"after": "abc"}, "after"),
    ({"imsi": "123"}, "imsi"),
    ({"iccid": "89490200000000000012"}, "iccid"),
    ({"imei": "350000000000015"}, "imei"),
    ({"msisdn": "+491510"}, "msisdn"),
    ({"euiccid": "1234"}, "euiccid"),
]


async def test_list_with_a_bad_parameter_is_400_naming_it(inventory: Inventory) -> None:
    for params, field in BAD_LIST_PARAMS:
        assert_error(await inventory.list(**params), 400, "BAD_REQUEST", field)


async def test_list_names_every_malformed_search_value(inventory: Inventory) -> None:
    errors = assert_error(
        await inventory.list(imsi="1", msisdn="+1"), 400, "BAD_REQUEST", "imsi", "msisdn"
    )
    assert len(errors) == 2


# --- keyset paging ----------------------------------------------------------------------


async def test_keyset_after_returns_the_next_sims_in_iccid_order(inventory: Inventory) -> None:
    iccids = inventory.iccids
    answer = await inventory.list(after=iccids[4], size=3)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [e["iccid"] for e in body["content"]] == iccids[5:8]
    page = body["page"]
    assert page["size"] == 3
    # Keyset answers carry no totals.
    assert page.get("totalElements") is None
    assert page.get("totalPages") is None
    nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
    assert len(nxt) == 1 and f"after={iccids[7]}" in nxt[0]


async def test_keyset_after_an_iccid_not_in_the_inventory(inventory: Inventory) -> None:
    # Keys need not exist: the smallest 19-digit ICCID starts before every SIM.
    answer = await inventory.list(after="8900000000000000000", size=2)
    assert answer.status_code == 200, answer.text
    assert [e["iccid"] for e in answer.json()["content"]] == inventory.iccids[:2]


async def test_keyset_next_links_walk_the_whole_list_exactly_once(inventory: Inventory) -> None:
    first = await inventory.list(size=7)
    assert first.status_code == 200, first.text
    body = first.json()
    seen = [e["iccid"] for e in body["content"]]
    href = next(link["href"] for link in body["links"] if link["rel"] == "nextKeyset")
    pages = 1
    while True:
        answer = await inventory.follow(href)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["page"].get("totalElements") is None
        assert 1 <= len(body["content"]) <= 7
        seen += [e["iccid"] for e in body["content"]]
        pages += 1
        assert pages <= 10, "the walk does not end"
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not nxt:
            break
        href = nxt[0]
    assert len(seen) == len(set(seen)), "a SIM came twice"
    assert seen == inventory.iccids, "gaps or wrong order"
    assert pages == 6  # 40 SIMs, 7 per page


async def walk(inventory: Inventory, answer: httpx.Response) -> list[dict[str, Any]]:
    """Every entry from ``answer`` on, following the ``next`` links to the last page."""
    entries: list[dict[str, Any]] = []
    while True:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        entries += body["content"]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not nxt:
            return entries
        answer = await inventory.follow(nxt[0])


async def test_keyset_walk_keeps_the_filters(inventory: Inventory) -> None:
    active = sorted(s["iccid"] for s in inventory.sims if s["status"] == "Active")
    entries = await walk(
        inventory, await inventory.list(status="Active", size=4, after="8900000000000000000")
    )
    assert all(e["status"] == "Active" for e in entries)
    assert [e["iccid"] for e in entries] == active


async def test_pages_of_a_partner_without_subunits(inventory: Inventory) -> None:
    # One partner is one ICCID range (SQLite reads it without merging ranges): keyset and
    # offset pages, with and without a remark filter, give the same SIMs in ICCID order.
    own = sorted(s["iccid"] for s in inventory.sims if s.get("subunitId"))
    assert len(own) > 6

    async def sims_of(**params: Any) -> httpx.Response:
        return await inventory.world.api(
            "GET", f"/partners/{inventory.subunit}/sims", inventory.headers, params=params
        )

    entries = await walk(inventory, await sims_of(after="8900000000000000000", size=3))
    assert [e["iccid"] for e in entries] == own
    second = (await sims_of(page=1, size=3)).json()
    assert [e["iccid"] for e in second["content"]] == own[3:6]
    assert second["page"]["totalElements"] == len(own)
    after = (await sims_of(after=own[2], size=2)).json()
    assert [e["iccid"] for e in after["content"]] == own[3:5]
    remarks = {s["iccid"]: s["remarks"]["remark1"].lower() for s in inventory.sims}
    word = remarks[own[0]].split()[0]
    with_word = [iccid for iccid in own if word in remarks[iccid]]
    found = (await sims_of(remark=word.upper(), after="8900000000000000000", size=100)).json()
    assert [e["iccid"] for e in found["content"]] == with_word
    found = (await sims_of(remark=word, after=with_word[0], size=100)).json()
    assert [e["iccid"] for e in found["content"]] == with_word[1:]


async def test_keyset_exact_multiple_of_size_ends_without_an_empty_page(world: World) -> None:
    inv = await _inventory(world, 12)
    answer = await inv.list(after="8900000000000000000", size=6)
    body = answer.json()
    assert len(body["content"]) == 6
    href = next(link["href"] for link in body["links"] if link["rel"] == "next")
    body = (await inv.follow(href)).json()
    assert [e["iccid"] for e in body["content"]] == inv.iccids[6:]
    assert "next" not in {link["rel"] for link in body["links"]}


# --- filters and exact searches ----------------------------------------------------------


async def test_list_filters_by_status(inventory: Inventory) -> None:
    for status in STATUSES:
        expected = sorted(s["iccid"] for s in inventory.sims if s["status"] == status)
        answer = await inventory.list(status=status, size=1000)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert [e["iccid"] for e in body["content"]] == expected, status
        assert body["page"]["totalElements"] == len(expected), status


async def test_list_filters_by_tariff(inventory: Inventory) -> None:
    for tariff in inventory.tariffs:
        expected = sorted(s["iccid"] for s in inventory.sims if s["tariffId"] == tariff)
        assert expected
        body = (await inventory.list(tariffId=tariff, size=1000)).json()
        assert [e["iccid"] for e in body["content"]] == expected
        assert {e["tariff"]["id"] for e in body["content"]} == {tariff}
    empty = await inventory.list(tariffId=999999)
    assert empty.status_code == 200 and empty.json()["page"]["totalElements"] == 0


async def test_list_filters_by_subunit_only(inventory: Inventory) -> None:
    in_subunit = sorted(s["iccid"] for s in inventory.sims if s.get("subunitId"))
    assert 0 < len(in_subunit) < 40
    body = (await inventory.list(subunitId=inventory.subunit, size=1000)).json()
    assert [e["iccid"] for e in body["content"]] == in_subunit
    assert {e["partnerId"] for e in body["content"]} == {inventory.subunit}
    assert body["page"]["totalElements"] == len(in_subunit)
    # The subunit's own list is the same.
    own = await inventory.world.api(
        "GET", f"/partners/{inventory.subunit}/sims", inventory.headers, params={"size": 1000}
    )
    assert [e["iccid"] for e in own.json()["content"]] == in_subunit


async def test_list_filter_by_subunit_outside_the_tree_is_403(inventory: Inventory) -> None:
    answer = await inventory.list(subunitId=inventory.other)
    assert_error(answer, 403, "FORBIDDEN", "subunitId")
    answer = await inventory.list(subunitId=987654321)
    assert_error(answer, 403, "FORBIDDEN", "subunitId")


async def test_list_filter_remark_substring_ignores_case(inventory: Inventory) -> None:
    word = inventory.sims[0]["remarks"]["remark1"].split()[0]
    expected = sorted(s["iccid"] for s in inventory.sims if word in s["remarks"]["remark1"].lower())
    for query in (word.upper(), word.capitalize(), word[1:-1]):
        body = (await inventory.list(remark=query, size=1000)).json()
        got = [e["iccid"] for e in body["content"]]
        if query == word[1:-1]:
            assert set(expected) <= set(got)
        else:
            assert got == expected
    none = (await inventory.list(remark="no such remark")).json()
    assert none["content"] == [] and none["page"]["totalElements"] == 0


async def test_list_remark_wildcards_are_literal(world: World) -> None:
    partner = await world.partner()
    answer = await world.sims(
        partner,
        [
            sim(1, remarks={"remark2": "Rebate 50% off_peak"}),
            sim(2, remarks={"remark1": "Rebate 50 off peak"}),
            sim(3, remarks={"remark5": "back\\slash"}),
        ],
    )
    assert answer.status_code == 201, answer.text
    headers = await world.headers_for(await world.app(partner))
    for query, expected in (
        ("50%", [synthetic.iccid(1)]),
        ("f_p", [synthetic.iccid(1)]),
        ("rebate", [synthetic.iccid(1), synthetic.iccid(2)]),
        ("k\\s", [synthetic.iccid(3)]),
    ):
        answer = await world.api(
            "GET", f"/partners/{partner}/sims", headers, params={"remark": query}
        )
        assert answer.status_code == 200, answer.text
        assert [e["iccid"] for e in answer.json()["content"]] == expected, query


async def test_list_exact_searches(inventory: Inventory) -> None:
    esim = next(s for s in inventory.sims if s.get("euiccid") and s.get("imei"))
    for kind in ("iccid", "imsi", "msisdn", "imei", "euiccid"):
        body = (await inventory.list(**{kind: esim[kind]})).json()
        assert [e["iccid"] for e in body["content"]] == [esim["iccid"]], kind
        assert body["page"]["totalElements"] == 1
    imeisv = esim["imei"][:14] + "42"
    body = (await inventory.list(imei=imeisv)).json()
    assert [e["iccid"] for e in body["content"]] == [esim["iccid"]]


async def test_list_exact_search_does_not_match_prefixes_or_other_partners(
    inventory: Inventory,
) -> None:
    sample = inventory.sims[0]
    body = (await inventory.list(imsi=sample["imsi"][:14])).json()
    assert body["content"] == []
    other_iccid = synthetic.iccid(5000)
    body = (await inventory.list(iccid=other_iccid)).json()
    assert body["content"] == [] and body["page"]["totalElements"] == 0


async def test_list_filters_combine(inventory: Inventory) -> None:
    tariff = inventory.tariffs[0]
    expected = sorted(
        s["iccid"]
        for s in inventory.sims
        if s["status"] == "Active" and s["tariffId"] == tariff and s.get("subunitId")
    )
    body = (
        await inventory.list(
            status="Active", tariffId=tariff, subunitId=inventory.subunit, size=1000
        )
    ).json()
    assert [e["iccid"] for e in body["content"]] == expected


async def test_list_of_a_partner_outside_the_scope_is_403(inventory: Inventory) -> None:
    answer = await inventory.world.api(
        "GET", f"/partners/{inventory.other}/sims", inventory.headers
    )
    assert_error(answer, 403, "FORBIDDEN")


# --- GET /partners/{id} --------------------------------------------------------------------


async def test_partner_view_counts_sims_per_status_including_subunits(
    inventory: Inventory,
) -> None:
    answer = await inventory.world.api("GET", f"/partners/{inventory.partner}", inventory.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["partnerId"] == inventory.partner
    assert body["name"] == "Meters Ltd"
    assert body["parentPartnerId"] is None
    assert body["subunits"] == [{"partnerId": inventory.subunit, "name": "Meters Ltd South"}]
    counts = Counter(s["status"] for s in inventory.sims)
    expected = {status: counts.get(status, 0) for status in STATUSES}
    expected["total"] = 40
    assert body["simCounts"] == expected


async def test_partner_view_of_a_subunit(inventory: Inventory) -> None:
    answer = await inventory.world.api("GET", f"/partners/{inventory.subunit}", inventory.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["parentPartnerId"] == inventory.partner
    assert body["subunits"] == []
    in_subunit = [s for s in inventory.sims if s.get("subunitId")]
    assert body["simCounts"]["total"] == len(in_subunit)
    counts = Counter(s["status"] for s in in_subunit)
    for status in STATUSES:
        assert body["simCounts"][status] == counts.get(status, 0)


async def test_partner_view_of_an_empty_partner(world: World) -> None:
    partner = await world.partner("Empty KG")
    headers = await world.headers_for(await world.app(partner))
    body = (await world.api("GET", f"/partners/{partner}", headers)).json()
    assert body["simCounts"] == {**{s: 0 for s in STATUSES}, "total": 0}
    assert body["subunits"] == []


async def test_partner_view_outside_the_scope_is_403(inventory: Inventory) -> None:
    answer = await inventory.world.api("GET", f"/partners/{inventory.other}", inventory.headers)
    assert_error(answer, 403, "FORBIDDEN")


@settings(max_examples=300, deadline=None)
@given(
    query=st.text(
        st.sampled_from("#\t\r\n?&=%+ \\/a1")
        | st.characters(codec="utf-8", exclude_categories=("Cs",)),
        max_size=40,
    ),
    path=st.sampled_from(["/partners/1/sims", "/a?b#c\\d", "//x/%3F"]),
)
def test_the_request_target_is_starlettes(query: str, path: str) -> None:
    """The list's links start from the request's path and query as Starlette's URL gives
    them (api/sims.py reads them from the scope without building the URL)."""
    scope = {
        "type": "http", "scheme": "http", "server": ("127.0.0.1", 80), "path": path,
        "query_string": query.encode(), "headers": [(b"host", b"example.test")],
    }  # fmt: skip
    url = Request(scope).url
    assert request_target(scope) == url.path + (f"?{url.query}" if url.query else "")
