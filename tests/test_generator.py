"""The traffic generator through HTTP: what it produces shows in the session, the session
and SMS histories and the aggregated usage; a seed repeats it; only Active SIMs produce,
restrictions apply; a restart mid-window loses and duplicates nothing; the operator's
``/simulator/config`` (404 without M2MP_SIMULATION, 400 naming the field, persisted)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from m2mportal.actions import backend_delays, worker
from m2mportal.app import create_app
from m2mportal.clock import Clock, iso
from m2mportal.config import Settings
from m2mportal.network import generator, records
from m2mportal.platform import open_platform
from tests.conftest import test_settings
from tests.helpers import (
    World,
    assert_error_mentions,
    assert_error_names,
    error_list,
    mid_month,
)
from tests.test_network import Scene, add_sims

MINUTES = 15  # of platform time: 15 device hours at speed 60
Snapshot = dict[str, dict[str, Any]]


@pytest.fixture
async def scene(world: World) -> Scene:
    partner = await world.partner()
    sims = await add_sims(world, partner, range(1, 5))
    headers = await world.headers_for(await world.app(partner))
    return Scene(world, partner, headers, sims)


async def configure(world: World, **body: Any) -> dict[str, Any]:
    answer = await world.op("PUT", "/simulator/config", json=body)
    assert answer.status_code == 200, answer.text
    config: dict[str, Any] = answer.json()
    return config


async def generate(world: World, minutes: int = MINUTES) -> generator.StepResult:
    """Moves the platform clock and lets a new generator (as after a restart) catch up."""
    world.platform.clock.advance(minutes * 60)
    result = await generator.for_platform(world.platform).catch_up()
    assert not result.behind
    return result


async def snapshot(scene: Scene) -> Snapshot:
    """What a customer reads of each SIM's traffic (fresh tokens: the clock moved)."""
    world = scene.world
    await world.renew()
    scene.headers = await world.headers_for(await world.app(scene.partner, name="reader"))
    now = world.platform.clock.now()
    window = {"dateFrom": iso(now - timedelta(days=1)), "dateTo": iso(now), "size": 1000}
    seen: Snapshot = {}
    for sim in scene.sims:
        iccid = sim["iccid"]
        reads = {}
        for path in ("session", "sessionhistory", "smshistory"):
            answer = await scene.get(
                f"/sims/{iccid}/{path}", params=None if path == "session" else window
            )
            assert answer.status_code == 200, answer.text
            reads[path] = answer.json()
        details = (await scene.get(f"/sims/{iccid}")).json()
        seen[iccid] = {
            "session": reads["session"]["session"],
            "closed": reads["sessionhistory"]["content"],
            "sms": reads["smshistory"]["content"],
            "usage": details["simAggregatedData"],
        }
    return seen


async def forget_traffic(world: World) -> None:
    """Back to a network without traffic, the generator off (to generate a window again)."""
    db = world.platform.db
    for table in ("network_records", "data_sessions", "sms_records", "voice_records"):
        await db.execute(f"DELETE FROM {table}")
    await db.execute(
        "UPDATE sims SET usage_month = NULL, data_bytes = 0, sms_mo = 0, sms_mt = 0,"
        " voice_seconds = 0, session_count = 0, last_session_at = NULL"
    )
    await db.execute("DELETE FROM simulator_config")


async def set_sim(world: World, iccid: str, column: str, value: str) -> None:
    await world.platform.db.execute(
        f"UPDATE sims SET {column} = :value WHERE iccid = :iccid", {"value": value, "iccid": iccid}
    )


async def run_from(world: World, start: float, **config: Any) -> generator.StepResult:
    """Switches on at platform time ``start`` and generates MINUTES from there."""
    await world.move_clock(start)
    await configure(world, running=True, **config)
    await generator.for_platform(world.platform).step()  # starts the position at now
    return await generate(world)


async def test_generated_traffic_shows_everywhere_and_a_seed_repeats_it(scene: Scene) -> None:
    world = scene.world
    start = mid_month(world.platform.clock.now())
    await run_from(world, start, seed=7)
    first = await snapshot(scene)
    for iccid, seen in first.items():
        assert seen["closed"], iccid  # 15 device hours: every SIM had sessions
        usage = seen["usage"]
        assert usage["dataBytes"] > 0 and usage["sessions"] >= len(seen["closed"])
        assert usage["dataBytes"] == sum(
            s["volumeUpload"] + s["volumeDownload"]
            for s in [*seen["closed"], *([seen["session"]] if seen["session"] else [])]
        )
        assert usage["smsMo"] + usage["smsMt"] == len(seen["sms"])
        for closed in seen["closed"]:
            assert closed["endCause"] == "Normal" and closed["network"]["name"]
            assert closed["apn"] == "internet.m2m"  # the SIMs have no APN of their own
        if generator.profile(7, iccid, []).sms_per_hour >= 1:  # one an hour at least
            assert len(seen["sms"]) >= MINUTES - 1, iccid  # whole device hours
    assert any(generator.profile(7, iccid, []).sms_per_hour >= 1 for iccid in first)

    await forget_traffic(world)
    await run_from(world, start, seed=7)
    assert await snapshot(scene) == first

    await forget_traffic(world)
    await run_from(world, start, seed=8)
    assert await snapshot(scene) != first


async def test_only_active_sims_produce_and_restrictions_apply(scene: Scene) -> None:
    world = scene.world
    others = await add_sims(world, scene.partner, range(10, 13), status="Suspended")
    for sim, status in zip(others[1:], ("Blocked", "Terminated"), strict=True):
        await set_sim(world, sim["iccid"], "status", status)
    scene.sims += others
    start = mid_month(world.platform.clock.now())
    await run_from(world, start)
    normal = await snapshot(scene)
    for sim in others:
        assert normal[sim["iccid"]] == {
            "session": None, "closed": [], "sms": [], "usage": normal[sim["iccid"]]["usage"]
        }  # fmt: skip
        assert normal[sim["iccid"]]["usage"]["dataBytes"] == 0
        assert normal[sim["iccid"]]["usage"]["sessions"] == 0

    restricted, slowed = scene.sims[0]["iccid"], scene.sims[1]["iccid"]
    await forget_traffic(world)
    await set_sim(world, restricted, "restriction_status", "Data Restricted")
    await set_sim(world, slowed, "restriction_status", "Speed Step-down")
    await run_from(world, start)
    limited = await snapshot(scene)
    assert limited[restricted]["closed"] == [] and limited[restricted]["session"] is None
    assert limited[restricted]["usage"]["dataBytes"] == 0
    assert limited[restricted]["sms"] == normal[restricted]["sms"]  # SMS is not data
    assert [s["sessionStart"] for s in limited[slowed]["closed"]] == [
        s["sessionStart"] for s in normal[slowed]["closed"]
    ]
    assert all(s["restrictionReason"] == "Speed Step-down" for s in limited[slowed]["closed"])
    slow, full = (v[slowed]["usage"]["dataBytes"] for v in (limited, normal))
    assert 0 < slow <= full * generator.STEP_DOWN_SHARE + 10
    assert limited[scene.sims[2]["iccid"]] == normal[scene.sims[2]["iccid"]]


async def test_a_sim_that_stops_being_active_goes_offline(scene: Scene) -> None:
    world = scene.world
    await run_from(world, mid_month(world.platform.clock.now()))
    before = await snapshot(scene)
    online = [iccid for iccid, seen in before.items() if seen["session"]]
    for _ in range(24):  # a device hour at a time until a device is online
        if online:
            break
        await generate(world, 1)
        before = await snapshot(scene)
        online = [iccid for iccid, seen in before.items() if seen["session"]]
    assert online
    live = before[online[0]]["session"]
    await set_sim(world, online[0], "status", "Suspended")
    await generate(world, 1)
    after = (await snapshot(scene))[online[0]]
    assert after["session"] is None
    assert after["closed"][0]["sessionId"] == live["sessionId"]
    assert after["usage"]["dataBytes"] == before[online[0]]["usage"]["dataBytes"]


def batches_of_two(
    monkeypatch: pytest.MonkeyPatch, after: Callable[[list[Any]], Awaitable[None]]
) -> list[Any]:
    """The generator writes batches of 2 records; after each batch is ingested, ``after``
    sees every answer so far (and may raise or switch the generator off). The answers."""
    monkeypatch.setattr(generator, "BATCH", 2)
    real_ingest, calls = records.ingest, []

    async def ingest(*args: Any) -> Any:
        answer = await real_ingest(*args)
        calls.append(answer)
        await after(calls)
        return answer

    monkeypatch.setattr(records, "ingest", ingest)
    return calls


async def test_a_restart_mid_window_loses_and_duplicates_nothing(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = scene.world
    start = mid_month(world.platform.clock.now())
    whole = await run_from(world, start)
    reference = await snapshot(scene)

    await forget_traffic(world)
    await world.move_clock(start)
    await configure(world, running=True)
    await generator.for_platform(world.platform).step()
    world.platform.clock.advance(MINUTES * 60)

    # The process dies in the middle of a window: batches written, the position not.
    async def die_at_the_sixth(calls: list[Any]) -> None:
        if len(calls) == 6:
            raise RuntimeError("killed")

    real_ingest = records.ingest
    calls = batches_of_two(monkeypatch, die_at_the_sixth)
    with pytest.raises(RuntimeError):
        await generator.for_platform(world.platform).catch_up()
    monkeypatch.setattr(records, "ingest", real_ingest)
    restarted = await generator.for_platform(world.platform).catch_up()
    assert restarted.duplicates > 0 and not restarted.behind  # the window was sent again
    assert sum(c.accepted for c in calls) + restarted.accepted == whole.accepted
    assert await snapshot(scene) == reference


async def test_switching_off_stops_a_step_at_its_next_slice(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator switching the generator off mid-step: no batch after the next one is
    written, the position stays, and switching on again starts at the present."""
    world = scene.world
    await world.move_clock(mid_month(world.platform.clock.now()))
    await configure(world, running=True)
    await generator.for_platform(world.platform).step()
    position = (await configure(world))["position"]
    world.platform.clock.advance(MINUTES * 60)
    await world.renew()  # the operator's token expired with the clock

    async def switch_off_after_the_second(calls: list[Any]) -> None:
        if len(calls) == 2:
            await configure(world, running=False)

    calls = batches_of_two(monkeypatch, switch_off_after_the_second)
    result = await generator.for_platform(world.platform).step()
    assert len(calls) == 2 and result.accepted == 4 and not result.behind
    written = await world.platform.db.fetch_val("SELECT COUNT(*) FROM network_records")
    assert written == 4
    config = await configure(world)
    assert not config["running"] and config["position"] == position
    # Off: a step generates nothing.
    assert (await generator.for_platform(world.platform).step()).accepted == 0
    assert len(calls) == 2


async def test_config_is_persisted_and_checked(world: World) -> None:
    default = (await world.op("GET", "/simulator/config")).json()
    assert default == {
        "running": False, "speed": 60.0, "seed": 1, "actionDelayMs": 0, "perSimDelayMs": 0,
        "position": None,
    }  # fmt: skip
    changed = await configure(world, running=True, speed=120, seed=42, actionDelayMs=250)
    assert changed == {**default, "running": True, "speed": 120.0, "seed": 42,
                       "actionDelayMs": 250}  # fmt: skip
    await generator.for_platform(world.platform).step()
    read = (await world.op("GET", "/simulator/config")).json()
    assert read["position"] is not None and read["speed"] == 120.0 and read["seed"] == 42
    assert (await configure(world, speed=30))["seed"] == 42  # the others stay

    for body, field in (
        ({"speed": 0}, "speed"), ({"speed": -1}, "speed"), ({"speed": 1e9}, "speed"),
        ({"speed": "\u0000"}, "speed"), ({"seed": -1}, "seed"), ({"running": "yes"}, "running"),
        ({"perSimDelayMs": 10**9}, "perSimDelayMs"),
    ):  # fmt: skip
        answer = await world.op("PUT", "/simulator/config", json=body)
        assert_error_names(answer, 400, "BAD_REQUEST", field)
    unknown = await world.op("PUT", "/simulator/config", json={"warp": 9})
    assert_error_mentions(unknown, 400, "BAD_REQUEST", "unknown field `warp`")
    assert (await world.op("GET", "/simulator/config")).json()["speed"] == 30.0


async def test_config_is_seen_by_another_process_and_404_without_simulation(
    world: World, database_url: str, tmp_path: Path
) -> None:
    await configure(world, running=True, speed=90, seed=3)
    for simulation in (True, False):
        settings = test_settings(database_url, tmp_path, simulation=simulation)
        platform = await open_platform(settings, clock=Clock(), run_migrations=False)
        try:
            transport = httpx.ASGITransport(app=create_app(platform, background=False))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                url = "/operator/v1/simulator/config"
                answer = await http.get(url, headers=world.operator)
                if simulation:
                    assert answer.json()["speed"] == 90.0 and answer.json()["seed"] == 3
                    continue
                error_list(answer, 404, "NOT_FOUND")
                put = await http.put(url, headers=world.operator, json={"running": False})
                error_list(put, 404, "NOT_FOUND")
        finally:
            await platform.close()
    assert Settings().simulation is False  # the default a user gets: no generator routes


async def test_backend_delays_follow_the_simulator_config(scene: Scene) -> None:
    world = scene.world
    await configure(world, actionDelayMs=60_000, perSimDelayMs=7)
    assert (await backend_delays.current(world.platform)).per_sim_ms == 7
    iccid = scene.sims[0]["iccid"]
    accepted = await scene.post("/sims/actions/suspend", json={"sims": [{"iccid": iccid}]})
    assert accepted.status_code == 202, accepted.text
    # The simulated backend holds the action for the configured minute ...
    assert await worker.run_until_idle(world.platform) == 0
    assert (await scene.get(f"/sims/{iccid}")).json()["status"] == "Active"
    world.platform.clock.advance(61)
    # ... then applies it.
    assert await worker.run_until_idle(world.platform) == 1
    assert (await scene.get(f"/sims/{iccid}")).json()["status"] == "Suspended"
