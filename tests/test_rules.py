"""Rules and notifications through HTTP (issue 12): the operator's profiles and pools,
injected traffic, the exact event on the subscription's stream, the SIM's status, and the
action that undoes it; level 1 and level 2 once each per period; a new month starts over.

Each event body is compared with the seed's sample of its variant (its ``"restrictionStatus:"``
key read as ``restrictionStatus``, CONTRACT 8), with the values this test's traffic makes.
Streams live 0.2 s here, so a read returns what is new since the last one.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from m2mportal import synthetic
from m2mportal.actions import worker
from m2mportal.clock import iso
from m2mportal.config import Settings
from m2mportal.events import schemas
from m2mportal.network import generator, records
from m2mportal.network.models import SessionStart
from tests.conftest import test_settings
from tests.helpers import World, assert_error_names, mid_month
from tests.test_events import Tenant, event_token, make_tenant, read_lines

APN = "b2b.dtag.test"
HOME = {"mcc": "262", "mnc": "01"}  # DE
ABROAD = {"mcc": "232", "mnc": "03"}  # AT

# The seed's samples (data only), the key typo fixed.
SEED_ZONE = {
    "partnerID": "100013",
    "sim": {"iccid": "8999829698800485278", "restrictionStatus": "Speed Step-down"},
    "profileStatus": {
        "barring": "Session Limit",
        "barringType": "Limit",
        "barringLevel": 2,
        "allowed": "5",
        "detected": "6",
        "note": "Reached: Limit 2 Allowed (sessions): 5 Detected (sessions): 6",
    },
}
SEED_APN = {
    **SEED_ZONE,
    "profileStatus": {
        **SEED_ZONE["profileStatus"],  # type: ignore[dict-item]
        "apn": {"apnName": "b2b.dtag.test", "restrictionStatus": "Speed Step-down"},
    },
}
SEED_POOL = {
    "partnerID": "162652",
    "poolLimitNotification": {
        "poolName": "SMS Test Pool",
        "offeringName": "Test Pool PLS",
        "offeringID": 800206106,
        "typeOfThreshold": "SMS Limit 1",
        "limit": 50.0,
        "date": "2025-08-02T09:43:11.142Z",
    },
}
SEED_COST = {
    "partnerID": "162652",
    "costLimitNotification": {
        "iccid": "8925475978255758883",
        "euiccid": "22233356789100043",
        "imsi": "254759782866388",
        "msisdn": "4367619128340",
        "offeringName": "Test SLS",
        "offeringID": 800000333,
        "typeOfThreshold": "SMS Limit 1",
        "limit": 25,
        "date": "2025-08-02T09:43:11.142Z",
        "profileName": "Test Cost Limit Profile",
        "profileID": 708529655,
    },
}


DATA_TYPES: dict[str, Any] = {
    "profilenotification.v1": schemas.ProfileNotificationData,
    "poollimitnotification.v1": schemas.PoolLimitNotificationData,
    "costlimitnotification.v1": schemas.CostLimitNotificationData,
}


def shape(value: Any) -> Any:
    """Keys and value types, recursively: what a sample fixes beyond its values."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    return type(value).__name__


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return test_settings(
        database_url,
        tmp_path,
        sse_lifetime_seconds=0.2,
        sse_confirm_seconds=0.02,
        sse_poll_seconds=0.05,
    )


@dataclass
class Rig:
    world: World
    tenant: Tenant
    serial: int = 0

    @property
    def partner(self) -> int:
        return self.tenant.partner

    async def profile(self, kind: str, rules: dict[str, Any], name: str = "p") -> int:
        answer = await self.world.op(
            "POST", "/profiles", json={"kind": kind, "name": name, "rules": rules}
        )
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])

    async def sim(self, esim: bool = False, **extra: Any) -> dict[str, Any]:
        self.serial += 1
        n = 500 + self.serial
        sim: dict[str, Any] = {
            "iccid": synthetic.iccid(n),
            "imsi": synthetic.imsi(n),
            "msisdn": synthetic.msisdn(n),
            "imei": synthetic.imei(n),
            "status": "Active",
            "productive": True,
            "apns": [APN, "internet.m2m"],
            **extra,
        }
        if esim:
            sim.update(simType="eSIM", euiccid=synthetic.euiccid(n))
        answer = await self.world.sims(self.partner, [sim])
        assert answer.status_code == 201, answer.text
        return sim

    async def events(self, event_type: str) -> list[dict[str, Any]]:
        """The events new on the subscription's stream since the last read (their data)."""
        _, found = await read_lines(
            self.world.http, self.tenant.sub(event_type), self.tenant.events
        )
        for event in found:
            assert event["type"] == event_type
            # The AsyncAPI document's type of the event holds it (no field beyond it).
            msgspec.convert(event["data"], DATA_TYPES[event_type])
        return [event["data"] for event in found]

    async def details(self, iccid: str) -> dict[str, Any]:
        answer = await self.world.api(
            "GET", f"/partners/{self.partner}/sims/{iccid}", self.tenant.rest
        )
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    async def state(self, iccid: str) -> tuple[str, str, str]:
        d = await self.details(iccid)
        return d["limitStatus"], d["fraudStatus"], d["restrictionStatus"]

    async def apn_state(self, iccid: str, apn: str = APN) -> str:
        apns = {a["name"]: a["restrictionStatus"] for a in (await self.details(iccid))["apns"]}
        return apns[apn]

    async def action(self, name: str, iccid: str) -> dict[str, Any]:
        """Runs the action on one SIM; that SIM's result (status and error)."""
        path = f"/partners/{self.partner}/sims/actions/{name}"
        answer = await self.world.api(
            "POST", path, self.tenant.rest, json={"sims": [{"iccid": iccid}]}
        )
        assert answer.status_code == 202, answer.text
        await worker.run_until_idle(self.world.platform)
        status = await self.world.api(
            "GET", f"{path.rsplit('/', 1)[0]}/{answer.json()['signupId']}", self.tenant.rest
        )
        result: dict[str, Any] = status.json()["sims"][0]
        return result

    async def session(
        self, iccid: str, apn: str = APN, bytes_: int = 0, network: dict[str, str] = HOME,
        **kw: Any,
    ) -> None:  # fmt: skip
        await self.world.inject(
            "sessions", iccid=iccid, apn=apn, bytesUp=bytes_, bytesDown=0,
            durationSeconds=60, open=False, **{**network, **kw},
        )  # fmt: skip

    async def sms(self, iccid: str, cost: float | None = None) -> None:
        body: dict[str, Any] = {"iccid": iccid, "direction": "MO", "text": "hi", **HOME}
        if cost is not None:
            body["cost"] = cost
        await self.world.inject("sms", **body)

    async def voice(self, iccid: str, seconds: int, cost: float | None = None) -> None:
        body: dict[str, Any] = {"iccid": iccid, "direction": "MO", "durationSeconds": seconds}
        if cost is not None:
            body["cost"] = cost
        await self.world.inject("voice", **{**body, **HOME})

    async def next_month(self) -> None:
        now = self.world.platform.clock.now()
        days = calendar.monthrange(now.year, now.month)[1]
        await self.world.move_clock(now.timestamp() + days * 86400)
        await self.renew()

    async def renew(self) -> None:
        """Fresh tokens: those from before a clock jump have expired."""
        await self.world.renew()
        self.tenant.rest = await self.world.headers_for(self.tenant.app)
        token = await event_token(self.world, self.tenant.app)
        self.tenant.events = {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def rig(world: World) -> Rig:
    await world.move_clock(mid_month(world.platform.clock.now()))
    tenant = await make_tenant(
        world,
        eventTypes=[
            "profilenotification.v1",
            "poollimitnotification.v1",
            "costlimitnotification.v1",
        ],
    )
    return Rig(world, tenant)


def recent(date: str, world: World) -> str:
    """A notification's ``date``: the UTC time of a record of the last minutes (a call's
    record has its start)."""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", date), date
    now = world.platform.clock.now()
    assert iso(now - timedelta(minutes=15)) <= date <= iso(now), date
    return date


def limit_event(rig: Rig, iccid: str, restriction: str, level: int, **status: Any) -> Any:
    return {
        "partnerID": str(rig.partner),
        "sim": {"iccid": iccid, "restrictionStatus": restriction},
        "profileStatus": {"barringType": "Limit", "barringLevel": level, **status},
    }


# --- limit profiles -------------------------------------------------------------------------


async def test_session_limit_zone_warns_then_alarms_once_each_and_the_actions_undo_it(
    rig: Rig,
) -> None:
    profile = await rig.profile(
        "limit", {"type": "sessions", "period": "month", "levels": [4, 5],
                  "restriction": "Speed Step-down"},
    )  # fmt: skip
    iccid = (await rig.sim(limitProfileId=profile))["iccid"]
    for _ in range(4):
        await rig.session(iccid)
    assert await rig.events("profilenotification.v1") == []
    assert await rig.state(iccid) == ("OK", "OK", "No Restriction")
    await rig.session(iccid, apn="internet.m2m")  # zone-wide: every APN counts
    warning = limit_event(
        rig, iccid, "No Restriction", 1, barring="Session Limit", allowed="4", detected="5",
        note="Reached: Limit 1 Allowed (sessions): 4 Detected (sessions): 5",
    )  # fmt: skip
    assert await rig.events("profilenotification.v1") == [warning]
    assert await rig.state(iccid) == ("Warning", "OK", "No Restriction")
    await rig.session(iccid)
    alarm = {**SEED_ZONE, "partnerID": str(rig.partner),
             "sim": {"iccid": iccid, "restrictionStatus": "Speed Step-down"}}  # fmt: skip
    assert shape(alarm) == shape(SEED_ZONE)
    assert await rig.events("profilenotification.v1") == [alarm]
    assert await rig.state(iccid) == ("Alarm", "OK", "Speed Step-down")
    for _ in range(3):  # further sessions this month fire nothing more
        await rig.session(iccid)
    assert await rig.events("profilenotification.v1") == []

    refused = await rig.action("restorelimitstatus", iccid)
    assert refused["status"] == "Failed" and "not Overridden" in refused["error"]
    assert (await rig.action("overridelimitstatus", iccid))["status"] == "Done"
    assert await rig.state(iccid) == ("Overridden", "OK", "No Restriction")
    await rig.session(iccid)
    assert await rig.events("profilenotification.v1") == []
    assert await rig.state(iccid) == ("Overridden", "OK", "No Restriction")
    assert (await rig.action("restorelimitstatus", iccid))["status"] == "Done"
    assert await rig.state(iccid) == ("Alarm", "OK", "Speed Step-down")
    assert (await rig.action("resetlimitstatus", iccid))["status"] == "Done"
    assert await rig.state(iccid) == ("OK", "OK", "No Restriction")
    again = await rig.action("resetlimitstatus", iccid)
    assert again["status"] == "Failed" and "already OK" in again["error"]
    # The counters start over: the fifth session after the reset warns again.
    for _ in range(5):
        await rig.session(iccid)
    assert await rig.events("profilenotification.v1") == [warning]


async def test_a_new_month_resets_counters_and_levels(rig: Rig) -> None:
    profile = await rig.profile(
        "limit", {"type": "sessions", "levels": [1, 2], "restriction": "Data Restricted"}
    )
    iccid = (await rig.sim(limitProfileId=profile))["iccid"]
    for _ in range(3):
        await rig.session(iccid)
    assert [e["profileStatus"]["barringLevel"] for e in await rig.events(
        "profilenotification.v1")] == [1, 2]  # fmt: skip
    assert await rig.state(iccid) == ("Alarm", "OK", "Data Restricted")
    await rig.next_month()
    await rig.session(iccid)
    assert await rig.state(iccid) == ("OK", "OK", "No Restriction")
    assert await rig.events("profilenotification.v1") == []
    await rig.session(iccid)
    assert [e["profileStatus"]["barringLevel"] for e in await rig.events(
        "profilenotification.v1")] == [1]  # fmt: skip


async def test_session_limit_of_one_apn_restricts_that_apn(rig: Rig) -> None:
    profile = await rig.profile(
        "limit", {"type": "sessions", "levels": [4, 5], "apn": APN,
                  "restriction": "Speed Step-down"},
    )  # fmt: skip
    iccid = (await rig.sim(limitProfileId=profile))["iccid"]
    for _ in range(3):
        await rig.session(iccid, apn="internet.m2m")  # another APN: not counted
    for _ in range(6):
        await rig.session(iccid)
    first, second = await rig.events("profilenotification.v1")
    assert first["profileStatus"]["barringLevel"] == 1
    assert first["profileStatus"]["apn"] == {"apnName": APN, "restrictionStatus": "No Restriction"}
    # The APN is restricted, not the SIM: the SIM's own status stays as it was.
    expected = {**SEED_APN, "partnerID": str(rig.partner),
                "sim": {"iccid": iccid, "restrictionStatus": "No Restriction"}}  # fmt: skip
    assert shape(second) == shape(SEED_APN)
    assert second == expected
    assert await rig.state(iccid) == ("Alarm", "OK", "No Restriction")
    assert await rig.apn_state(iccid) == "Speed Step-down"
    assert await rig.apn_state(iccid, "internet.m2m") == "No Restriction"
    assert (await rig.action("overridelimitstatus", iccid))["status"] == "Done"
    assert await rig.apn_state(iccid) == "No Restriction"
    assert (await rig.action("restorelimitstatus", iccid))["status"] == "Done"
    assert await rig.apn_state(iccid) == "Speed Step-down"
    assert (await rig.action("resetlimitstatus", iccid))["status"] == "Done"
    assert await rig.apn_state(iccid) == "No Restriction"
    assert await rig.state(iccid) == ("OK", "OK", "No Restriction")


async def test_usage_limit_counts_bytes(rig: Rig) -> None:
    profile = await rig.profile(
        "limit", {"type": "volume", "levels": [1000, 2000], "restriction": "Data Restricted",
                  "mccs": ["262"]},
    )  # fmt: skip
    iccid = (await rig.sim(limitProfileId=profile))["iccid"]
    await rig.session(iccid, bytes_=5000, network=ABROAD)  # not a counted network
    await rig.session(iccid, bytes_=1500)
    await rig.session(iccid, bytes_=1000)
    assert await rig.events("profilenotification.v1") == [
        limit_event(rig, iccid, "No Restriction", 1, barring="Usage Limit", allowed="1000",
                    detected="1500",
                    note="Reached: Limit 1 Allowed (bytes): 1000 Detected (bytes): 1500"),
        limit_event(rig, iccid, "Data Restricted", 2, barring="Usage Limit", allowed="2000",
                    detected="2500",
                    note="Reached: Limit 2 Allowed (bytes): 2000 Detected (bytes): 2500"),
    ]  # fmt: skip
    assert await rig.state(iccid) == ("Alarm", "OK", "Data Restricted")
    assert (await rig.action("resetlimitstatus", iccid))["status"] == "Done"
    assert await rig.state(iccid) == ("OK", "OK", "No Restriction")


# --- fraud ----------------------------------------------------------------------------------


async def test_device_fraud_bars_data_until_reset(rig: Rig) -> None:
    profile = await rig.profile("fraud", {"deviceFraud": True})
    sim = await rig.sim(fraudProfileId=profile)
    iccid = sim["iccid"]
    await rig.session(iccid, imei=sim["imei"])  # the known device
    assert await rig.events("profilenotification.v1") == []
    other = synthetic.imei(9_999)
    await rig.session(iccid, imei=other)
    assert await rig.events("profilenotification.v1") == [
        {
            "partnerID": str(rig.partner),
            "sim": {"iccid": iccid, "restrictionStatus": "Data Restricted"},
            "profileStatus": {
                "barring": "Device Fraud", "barringType": "Fraud", "barringLevel": 2,
                "allowed": sim["imei"][:14], "detected": other[:14],
                "note": f"Reached: Device Fraud Allowed (IMEI): {sim['imei'][:14]}"
                f" Detected (IMEI): {other[:14]}",
            },
        }
    ]  # fmt: skip
    assert await rig.state(iccid) == ("OK", "Device Fraud", "Data Restricted")
    await rig.session(iccid, imei=synthetic.imei(9_998))
    assert await rig.events("profilenotification.v1") == []  # already in fraud
    assert (await rig.action("resetfraudstatus", iccid))["status"] == "Done"
    assert await rig.state(iccid) == ("OK", "OK", "No Restriction")
    again = await rig.action("resetfraudstatus", iccid)
    assert again["status"] == "Failed" and "already OK" in again["error"]


async def test_location_fraud_outside_the_allowed_countries(rig: Rig) -> None:
    profile = await rig.profile("fraud", {"allowedCountries": ["DE", "NL"]})
    iccid = (await rig.sim(fraudProfileId=profile))["iccid"]
    await rig.session(iccid)
    assert await rig.events("profilenotification.v1") == []
    await rig.session(iccid, network=ABROAD)
    (event,) = await rig.events("profilenotification.v1")
    assert event["profileStatus"] == {
        "barring": "Location Fraud", "barringType": "Fraud", "barringLevel": 2,
        "allowed": "DE, NL", "detected": "AT",
        "note": "Reached: Location Fraud Allowed (country): DE, NL Detected (country): AT",
    }  # fmt: skip
    assert event["sim"] == {"iccid": iccid, "restrictionStatus": "Data Restricted"}
    assert await rig.state(iccid) == ("OK", "Location Fraud", "Data Restricted")
    assert (await rig.action("resetfraudstatus", iccid))["status"] == "Done"
    assert await rig.state(iccid) == ("OK", "OK", "No Restriction")


# --- pools ----------------------------------------------------------------------------------


async def test_pools_notify_level_1_and_2_once_per_month(rig: Rig) -> None:
    world = rig.world
    unit = await world.partner("Pool unit", parent=rig.partner)
    offerings = {}
    for kind, allowance, levels, extra in (
        ("Data", 10_000, [50, 80], {}),
        ("Voice", 600, [10, 90], {}),
        ("SMS", 4, [50, 75], {"offeringName": "Test Pool PLS"}),
    ):
        name = "SMS Test Pool" if kind == "SMS" else f"Fleet {kind}"
        answer = await world.op(
            "POST", f"/partners/{rig.partner}/pools",
            json={"name": name, "type": kind, "allowance": allowance, "levels": levels, **extra},
        )  # fmt: skip
        assert answer.status_code == 201, answer.text
        offerings[kind] = answer.json()["offeringId"]
    top = (await rig.sim())["iccid"]
    answer = await world.sims(unit, [{"iccid": synthetic.iccid(900), "status": "Active"}])
    assert answer.status_code == 201, answer.text
    below = synthetic.iccid(900)  # a subunit's SIM draws from the same pool

    await rig.sms(top)
    assert await rig.events("poollimitnotification.v1") == []
    before = world.platform.clock.iso()
    await rig.sms(below)
    (sms1,) = await rig.events("poollimitnotification.v1")
    moment = sms1["poolLimitNotification"]["date"]  # the crossing message's time
    assert before <= moment <= world.platform.clock.iso()
    expected = {"partnerID": str(rig.partner), "poolLimitNotification": {
        **SEED_POOL["poolLimitNotification"],  # type: ignore[dict-item]
        "offeringID": offerings["SMS"], "date": moment}}  # fmt: skip
    assert shape(sms1) == shape(SEED_POOL)
    assert sms1 == expected
    await rig.sms(top)
    (sms2,) = await rig.events("poollimitnotification.v1")
    assert sms2["poolLimitNotification"]["typeOfThreshold"] == "SMS Limit 2"
    assert sms2["poolLimitNotification"]["limit"] == 75.0
    await rig.sms(top)  # 100 %: no third level, no repeat
    assert await rig.events("poollimitnotification.v1") == []

    await rig.session(top, bytes_=4000)
    await rig.session(below, bytes_=1000)  # 5,000 of 10,000: level 1
    await rig.session(top, bytes_=3500)  # 8,500: level 2
    await rig.voice(top, 60)  # 10 % of 600 s
    await rig.voice(below, 500)  # 93 %
    found = await rig.events("poollimitnotification.v1")
    crossed = [
        {"partnerID": str(rig.partner), "poolLimitNotification": {
            "poolName": f"Fleet {kind}", "offeringName": f"Fleet {kind}",
            "offeringID": offerings[kind], "typeOfThreshold": f"{kind} Limit {level}",
            "limit": limit, "date": recent(event["poolLimitNotification"]["date"], world)}}
        for (kind, level, limit), event in zip(
            [("Data", 1, 50.0), ("Data", 2, 80.0), ("Voice", 1, 10.0), ("Voice", 2, 90.0)],
            found, strict=True,
        )
    ]  # fmt: skip
    assert found == crossed
    # A new month: the pools start at 0 and their levels fire again.
    await rig.next_month()
    await rig.sms(top)
    assert await rig.events("poollimitnotification.v1") == []
    await rig.sms(top)
    assert [e["poolLimitNotification"]["typeOfThreshold"] for e in await rig.events(
        "poollimitnotification.v1")] == ["SMS Limit 1"]  # fmt: skip


# --- cost limits ----------------------------------------------------------------------------


async def test_cost_limits_name_every_identifier_of_the_sim(rig: Rig) -> None:
    tariff = await rig.world.tariff("Test SLS")
    sms_profile = await rig.profile(
        "costLimit", {"type": "SMS", "levels": [25, 50]}, name="Test Cost Limit Profile"
    )
    voice_profile = await rig.profile("costLimit", {"type": "Voice", "levels": [1.5, 3]})
    sim = await rig.sim(esim=True, costLimitProfileId=sms_profile, tariffId=tariff)
    iccid = sim["iccid"]
    await rig.sms(iccid, cost=20)
    await rig.voice(iccid, 60, cost=100)  # voice cost: not this profile's
    assert await rig.events("costlimitnotification.v1") == []
    before = rig.world.platform.clock.iso()
    await rig.sms(iccid, cost=5)  # 25: level 1 reached
    (level1,) = await rig.events("costlimitnotification.v1")
    moment = level1["costLimitNotification"]["date"]  # the crossing message's time
    assert before <= moment <= rig.world.platform.clock.iso()
    assert shape(level1) == shape(SEED_COST)
    assert level1 == {
        "partnerID": str(rig.partner),
        "costLimitNotification": {
            "iccid": iccid, "euiccid": sim["euiccid"], "imsi": sim["imsi"],
            "msisdn": sim["msisdn"], "offeringName": "Test SLS", "offeringID": tariff,
            "typeOfThreshold": "SMS Limit 1", "limit": 25, "date": moment,
            "profileName": "Test Cost Limit Profile", "profileID": sms_profile,
        },
    }  # fmt: skip
    await rig.sms(iccid, cost=30)
    await rig.sms(iccid, cost=30)
    (level2,) = await rig.events("costlimitnotification.v1")
    assert level2["costLimitNotification"]["typeOfThreshold"] == "SMS Limit 2"
    assert level2["costLimitNotification"]["limit"] == 50
    # A cost limit only notifies: the SIM's state is untouched.
    assert await rig.state(iccid) == ("OK", "OK", "No Restriction")

    other = await rig.sim(costLimitProfileId=voice_profile)
    await rig.voice(other["iccid"], 60, cost=1)
    await rig.voice(other["iccid"], 60, cost=1)
    await rig.voice(other["iccid"], 60, cost=2)
    found = await rig.events("costlimitnotification.v1")
    # Without a tariff the offering named is the profile; a physical SIM has no eUICCID.
    assert found == [
        {"partnerID": str(rig.partner), "costLimitNotification": {
            "iccid": other["iccid"], "euiccid": None, "imsi": other["imsi"],
            "msisdn": other["msisdn"], "offeringName": "p", "offeringID": voice_profile,
            "typeOfThreshold": f"Voice Limit {level}", "limit": limit,
            "date": recent(event["costLimitNotification"]["date"], rig.world),
            "profileName": "p", "profileID": voice_profile}}
        for (level, limit), event in zip([(1, 1.5), (2, 3)], found, strict=True)
    ]  # fmt: skip


async def test_generated_traffic_fires_the_rules_too(rig: Rig) -> None:
    """The traffic generator ingests like any producer: its sessions count."""
    profile = await rig.profile("limit", {"type": "sessions", "levels": [0, 10**6]})
    iccid = (await rig.sim(limitProfileId=profile))["iccid"]
    answer = await rig.world.op("PUT", "/simulator/config", json={"running": True, "speed": 60})
    assert answer.status_code == 200, answer.text
    await generator.for_platform(rig.world.platform).step()
    rig.world.platform.clock.advance(15 * 60)  # 15 device hours at speed 60
    await generator.for_platform(rig.world.platform).catch_up()
    await rig.renew()
    (event,) = await rig.events("profilenotification.v1")
    assert event["sim"]["iccid"] == iccid
    assert event["profileStatus"]["note"].startswith("Reached: Limit 1 Allowed (sessions): 0")
    assert (await rig.state(iccid))[0] == "Warning"


# --- exactly once, operator state, validation ------------------------------------------------


async def test_a_batch_sent_again_fires_nothing_again(rig: Rig) -> None:
    profile = await rig.profile("limit", {"type": "sessions", "levels": [1, 2]})
    iccid = (await rig.sim(limitProfileId=profile))["iccid"]
    moment = rig.world.platform.clock.iso()
    batch = [
        SessionStart(record_id=f"again-{n}", iccid=iccid, time=moment, session_id=f"s-{n}",
                     apn=APN, **HOME)
        for n in range(3)
    ]  # fmt: skip
    platform = rig.world.platform
    for _ in range(2):  # a feed resending after a timeout
        await records.ingest(platform.db, platform.clock, batch, platform.bus)
    assert [e["profileStatus"]["barringLevel"] for e in await rig.events(
        "profilenotification.v1")] == [1, 2]  # fmt: skip


async def test_operator_sets_a_sims_state_directly(rig: Rig) -> None:
    iccid = (await rig.sim())["iccid"]
    answer = await rig.world.op(
        "PATCH", f"/sims/{iccid}",
        json={"fraudStatus": "Location Fraud", "restrictionStatus": "Data Restricted"},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "iccid": iccid, "partnerId": rig.partner, "limitStatus": "OK",
        "fraudStatus": "Location Fraud", "restrictionStatus": "Data Restricted",
    }  # fmt: skip
    assert await rig.state(iccid) == ("OK", "Location Fraud", "Data Restricted")
    answer = await rig.world.op("PATCH", f"/sims/{iccid}", json={"limitStatus": "Warning"})
    assert answer.json()["limitStatus"] == "Warning"
    assert (await rig.action("overridelimitstatus", iccid))["status"] == "Done"
    assert (await rig.action("resetfraudstatus", iccid))["status"] == "Done"
    assert await rig.state(iccid) == ("Overridden", "OK", "No Restriction")
    assert await rig.events("profilenotification.v1") == []  # no rule ran

    for body, field in (({"limitStatus": "Bad"}, "limitStatus"), ({}, "body"),
                        ({"fraud": "OK"}, "body")):  # fmt: skip
        assert_error_names(
            await rig.world.op("PATCH", f"/sims/{iccid}", json=body), 400, "BAD_REQUEST", field
        )
    unknown = f"/sims/{synthetic.iccid(77_777)}"
    missing = await rig.world.op("PATCH", unknown, json={"limitStatus": "OK"})
    assert missing.status_code == 404, missing.text
    assert_error_names(
        await rig.world.op("PATCH", "/sims/123", json={"limitStatus": "OK"}),
        400, "BAD_REQUEST", "iccid",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "rules", "field"),
    [
        ("limit", {"type": "sessions"}, "rules.levels"),
        ("limit", {"type": "calls", "levels": [1, 2]}, "rules.type"),
        ("limit", {"type": "sessions", "levels": [5, 2]}, "rules.levels"),
        ("limit", {"type": "sessions", "levels": [1, 2], "speed": 1}, "rules.speed"),
        ("limit", {"type": "volume", "levels": [1, 2], "mccs": ["26"]}, "rules.mccs[0]"),
        ("fraud", {"allowedCountries": ["Germany"]}, "rules.allowedCountries[0]"),
        ("costLimit", {"type": "Data", "levels": [1, 2]}, "rules.type"),
        ("costLimit", {"type": "SMS", "levels": [-1, 2]}, "rules.levels[0]"),
    ],
)
async def test_profile_rules_are_checked(
    world: World, kind: str, rules: dict[str, Any], field: str
) -> None:
    answer = await world.op("POST", "/profiles", json={"kind": kind, "name": "x", "rules": rules})
    assert_error_names(answer, 400, "BAD_REQUEST", field)
