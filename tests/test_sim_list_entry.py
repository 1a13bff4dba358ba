"""The SIM list's entries as the database keeps them (sims.list_entry, migration 0009).

A page of the list is the entries' JSON text as the database's triggers wrote it, with the
month's data volume added by the read (store/sims.py). These tests hold it to what the
list answered before: the bytes msgspec writes for a SimPage of SimListEntry structs made
from the SIM's columns (here from SIM details, which reads the columns), after any write.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from m2mportal import synthetic
from m2mportal.models import Link, NewTariff, PageInfo, SimListEntry, SimPage, TariffRef
from m2mportal.services import catalog
from m2mportal.store import migrate
from m2mportal.store import sims as sim_store
from tests.helpers import World

# Names a tariff may have that JSON must escape or carry as they are.
ODD_NAMES = (
    'Fleet "5 GB"',
    "back\\slash / slash",
    "tab\there\nline\rreturn\x08\x0c",
    "\x01\x1f\x7f control",
    "Ümlaut ✓ 😀 \u2028\u2029",
    "</script><b>",
    "",
)


def record(serial: int, **extra: Any) -> dict[str, Any]:
    sim: dict[str, Any] = {
        "iccid": synthetic.iccid(serial),
        "imsi": synthetic.imsi(serial),
        "msisdn": synthetic.msisdn(serial),
        "status": "Active",
        "simType": "physical",
    }
    sim.update(extra)
    return sim


class Fleet:
    def __init__(self, world: World, partner: int, headers: dict[str, str]) -> None:
        self.world = world
        self.partner = partner
        self.headers = headers

    async def list(self, **params: Any) -> httpx.Response:
        answer = await self.world.api(
            "GET", f"/partners/{self.partner}/sims", self.headers, params=params
        )
        assert answer.status_code == 200, answer.text
        return answer

    async def entry_of(self, iccid: str) -> SimListEntry:
        """What the list showed before 0009, from the SIM's columns (SIM details)."""
        answer = await self.world.api("GET", f"/partners/{self.partner}/sims/{iccid}", self.headers)
        assert answer.status_code == 200, answer.text
        d = answer.json()
        return SimListEntry(
            iccid=d["iccid"],
            euiccid=d["euiccid"],
            imsi=d["imsi"],
            msisdn=d["msisdn"],
            imei=d["imei"],
            status=d["status"],
            productive=d["productive"],
            partner_id=d["partnerId"],
            tariff=TariffRef(**d["tariff"]) if d["tariff"] else None,
            activation_date=d["activationDate"],
            data_consumption=d["simAggregatedData"]["dataBytes"],
        )

    async def assert_as_msgspec_writes(self, **params: Any) -> dict[str, Any]:
        """The list's answer is byte for byte the SimPage msgspec writes for its SIMs."""
        answer = await self.list(**params)
        body = answer.json()
        expected = SimPage(
            content=[await self.entry_of(e["iccid"]) for e in body["content"]],
            page=msgspec.convert(body["page"], PageInfo),
            links=[msgspec.convert(link, Link) for link in body["links"]],
        )
        assert answer.content == msgspec.json.encode(expected)
        page: dict[str, Any] = body
        return page


@pytest.fixture
async def fleet(world: World) -> Fleet:
    partner = await world.partner("Odd Names Ltd")
    subunit = await world.partner("Odd Names Ltd East", parent=partner)
    db = world.platform.db
    tariffs = [(await catalog.create(db, NewTariff(name=name))).id for name in ODD_NAMES]
    sims = [
        record(i + 1, tariffId=tariff, productive=i % 2 == 0) for i, tariff in enumerate(tariffs)
    ]
    sims += [
        record(20, status="Inactive", msisdn=None),
        record(21, euiccid=synthetic.euiccid(21), simType="eSIM", imei=synthetic.imei(21)),
        record(22, subunitId=subunit, activationDate="2025-01-15T10:00:00.000Z"),
    ]
    answer = await world.sims(
        partner, [{k: v for k, v in s.items() if v is not None} for s in sims]
    )
    assert answer.status_code == 201, answer.text
    headers = await world.headers_for(await world.app(partner))
    return Fleet(world, partner, headers)


async def test_entries_are_the_bytes_msgspec_writes(fleet: Fleet) -> None:
    page = await fleet.assert_as_msgspec_writes()
    assert len(page["content"]) == len(ODD_NAMES) + 3
    names = {e["tariff"]["name"] for e in page["content"] if e["tariff"]}
    assert names == set(ODD_NAMES)
    # A keyset page and a search read the same column.
    await fleet.assert_as_msgspec_writes(after=synthetic.iccid(3), size=4)
    await fleet.assert_as_msgspec_writes(status="Inactive")
    await fleet.assert_as_msgspec_writes(size=2, page=1)


# Every column the entry shows, and a value to set it to.
CHANGES: dict[str, Any] = {
    "iccid": None,  # the primary key: not changed by any writer
    "euiccid": synthetic.euiccid(99),
    "imsi": synthetic.imsi(99),
    "msisdn": synthetic.msisdn(99),
    "imei": synthetic.imei(99),
    "status": "Suspended",
    "productive": True,
    "tariff_id": "odd",
    "activation_date": "2026-01-02T03:04:05.000Z",
    "partner_id": "subunit",
}


@pytest.mark.parametrize("column", [c for c, v in CHANGES.items() if v is not None])
async def test_the_entry_follows_a_write_of_each_column_it_shows(fleet: Fleet, column: str) -> None:
    db = fleet.world.platform.db
    iccid = synthetic.iccid(21)
    value = CHANGES[column]
    if value == "odd":
        value = (await catalog.create(db, NewTariff(name='New "tariff"'))).id
    elif value == "subunit":
        value = (await fleet.list(iccid=synthetic.iccid(22))).json()["content"][0]["partnerId"]
    before = (await fleet.list(iccid=iccid)).json()["content"][0]
    await sim_store.update(db, iccid, {column: value})
    after = (await fleet.list(iccid=iccid)).json()["content"][0]
    assert after != before
    await fleet.assert_as_msgspec_writes(iccid=iccid)
    await fleet.assert_as_msgspec_writes()


async def test_a_write_of_other_columns_and_an_action_keep_it_right(fleet: Fleet) -> None:
    db = fleet.world.platform.db
    iccid = synthetic.iccid(1)
    await sim_store.update(db, iccid, {"remark1": "Truck 9", "fraud_status": "Suspicious"})
    await fleet.assert_as_msgspec_writes()
    await sim_store.update_many(
        db, ["status", "msisdn"], [{"iccid": iccid, "status": "Blocked", "msisdn": None}]
    )
    entry = (await fleet.list(iccid=iccid)).json()["content"][0]
    assert (entry["status"], entry["msisdn"]) == ("Blocked", None)
    await fleet.assert_as_msgspec_writes()


async def test_the_data_volume_is_the_current_months(fleet: Fleet) -> None:
    db, clock = fleet.world.platform.db, fleet.world.platform.clock
    iccid = synthetic.iccid(2)
    await sim_store.update(db, iccid, {"usage_month": clock.month(), "data_bytes": 123456789})
    entry = (await fleet.list(iccid=iccid)).json()["content"][0]
    assert entry["dataConsumption"] == 123456789
    await fleet.assert_as_msgspec_writes()
    await sim_store.update(db, iccid, {"usage_month": "2001-01"})
    entry = (await fleet.list(iccid=iccid)).json()["content"][0]
    assert entry["dataConsumption"] == 0
    await fleet.assert_as_msgspec_writes()


async def test_a_tariff_made_after_its_sims_names_them(fleet: Fleet) -> None:
    """A SIM referring to a tariff id the catalogue does not hold shows it with an empty
    name, as SIM details does; the tariff's insert names it in the list at once."""
    db = fleet.world.platform.db
    iccid = synthetic.iccid(20)
    await sim_store.update(db, iccid, {"tariff_id": 990001})
    entry = (await fleet.list(iccid=iccid)).json()["content"][0]
    assert entry["tariff"] == {"id": 990001, "name": ""}
    await db.execute(
        "INSERT INTO tariffs (id, name, description, binding_months)"
        " VALUES (990001, 'Late \"one\"', '', 0)"
    )
    entry = (await fleet.list(iccid=iccid)).json()["content"][0]
    assert entry["tariff"] == {"id": 990001, "name": 'Late "one"'}


async def test_the_triggers_write_what_the_insert_brought(fleet: Fleet) -> None:
    """The bulk insert brings each new SIM's entry (services/sims.py list_entry); the
    triggers, made to write every entry anew, write the same text."""
    db = fleet.world.platform.db
    read = "SELECT iccid, list_entry FROM sims ORDER BY iccid"
    brought = [tuple(row) for row in await db.fetch_values(read)]
    assert len(brought) == len(ODD_NAMES) + 3 and all(entry for _, entry in brought)
    await db.execute("UPDATE sims SET list_entry = NULL")
    assert [tuple(row) for row in await db.fetch_values(read)] == brought


LIST_ENTRY_WRITE = re.compile(r"\blist_entry\s*=(?!=)|SET\b[^;\n]*\blist_entry\b", re.IGNORECASE)


def test_only_the_databases_triggers_write_the_entries() -> None:
    """The entries are right because the database writes them on every change: code that
    wrote them itself could write what the triggers would not. (A new SIM's row brings its
    entry in the bulk insert's columns, checked by the test above.)"""
    src = Path(sim_store.__file__).resolve().parents[1]
    offenders = [
        str(path.relative_to(src))
        for path in src.rglob("*.py")
        if "migrations" not in path.parts and LIST_ENTRY_WRITE.search(path.read_text())
    ]
    assert offenders == []


async def test_the_migration_writes_the_entries_of_sims_already_there(tmp_path: Path) -> None:
    """SIMs added before 0009 get their entries when it runs (SQLite; on PostgreSQL the
    same UPDATE goes through the trigger the tariff test above exercises)."""
    url = f"sqlite:///{tmp_path}/old.db"
    migrate.upgrade(url, "0008")
    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.execute("INSERT INTO tariffs (id, name, description, binding_months)"
                     " VALUES (7, 'Seven', '', 0)")  # fmt: skip
        conn.execute(
            "INSERT INTO partners (id, name, path, created_at) VALUES (5, 'P', '5', 'now')"
        )
        conn.execute(
            "INSERT INTO sims (iccid, partner_id, imsi, sim_type, status, productive,"
            " tariff_id, restriction_status, limit_status, fraud_status, remarks_search,"
            " binding_months, data_bytes, sms_mo, sms_mt, voice_seconds, session_count,"
            " created_at, updated_at) VALUES ('8949020000000000001', 5, '262010000000001',"
            " 'physical', 'Active', 1, 7, 'None', 'OK', 'OK', '', 0, 0, 0, 0, 0, 0, 'now',"
            " 'now')"
        )
    migrate.upgrade(url)
    with sqlite3.connect(tmp_path / "old.db") as conn:
        (entry,) = conn.execute("SELECT list_entry FROM sims").fetchone()
    assert msgspec.json.decode(entry) == {
        "iccid": "8949020000000000001", "euiccid": None, "imsi": "262010000000001",
        "msisdn": None, "imei": None, "status": "Active", "productive": True,
        "partnerId": 5, "tariff": {"id": 7, "name": "Seven"}, "activationDate": None,
        "dataConsumption": 0,
    }  # fmt: skip
