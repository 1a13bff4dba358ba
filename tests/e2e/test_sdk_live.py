"""The Python SDK (m2mportal.client) against a live server on 127.0.0.1 (issue 16).

uvicorn serves the app in the test's event loop (tests/e2e/in_process.py); the async client
talks to it over TCP, the blocking client from a worker thread (``asyncio.to_thread``) so
the loop keeps serving. No mocks: tokens, pacing, retries and streams are the real ones.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from m2mportal import synthetic
from m2mportal.app import create_app
from m2mportal.cli import app
from m2mportal.client import (
    ApiError,
    AsyncClient,
    AsyncEventConsumer,
    Client,
    CostLimitNotificationEvent,
    Credentials,
    PoolLimitNotificationEvent,
    ProfileNotificationEvent,
    SimActionEvent,
)
from m2mportal.config import Settings
from m2mportal.events import outbox, samples
from m2mportal.events.cloudevents import SIM_ACTION
from m2mportal.platform import Platform
from tests.conftest import test_settings
from tests.e2e.in_process import serving
from tests.e2e.test_streams_live import free_port
from tests.helpers import World

WAIT_S = 10.0
OPEN = {"apn": "internet.m2m", "mcc": "262", "mnc": "01"}


@pytest.fixture
def lifetime() -> float:
    return 0.5


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, port: int, lifetime: float) -> Settings:
    return test_settings(
        database_url,
        tmp_path,
        public_url=f"http://127.0.0.1:{port}",
        sse_lifetime_seconds=lifetime,
        sse_confirm_seconds=0.05,
        sse_poll_seconds=0.05,
    )


@pytest.fixture
async def server(platform: Platform, port: int) -> AsyncIterator[str]:
    async with serving(create_app(platform), port, WAIT_S) as url:
        yield url


@pytest.fixture
async def world(platform: Platform, server: str) -> AsyncIterator[World]:
    async with httpx.AsyncClient(base_url=server, timeout=30.0) as http:
        yield await World.start(platform, http)


def sim_record(serial: int, status: str = "Active") -> dict[str, Any]:
    record: dict[str, Any] = {
        "iccid": synthetic.iccid(serial),
        "imsi": synthetic.imsi(serial),
        "status": status,
        "productive": True,
    }
    if status != "Inactive":
        record |= {"msisdn": synthetic.msisdn(serial), "imei": synthetic.imei(serial)}
    return record


async def add_sims(world: World, partner: int, serials: range, status: str = "Active") -> list:
    records = [sim_record(n, status) for n in serials]
    for at in range(0, len(records), 1000):
        answer = await world.sims(partner, records[at : at + 1000])
        assert answer.status_code == 201, answer.text
    return records


def credentials(server: str, app: dict[str, Any], partner: int) -> Credentials:
    return Credentials(
        base_url=server,
        client_id=app["clientId"],
        client_secret=app["clientSecret"],
        partner_id=partner,
        event_client_id=app["eventClientId"],
        event_client_secret=app["eventClientSecret"],
    )


@dataclass
class Scene:
    world: World
    server: str
    partner: int
    receiver: int
    creds: Credentials
    receiver_creds: Credentials
    active: list[dict[str, Any]]
    inactive: list[dict[str, Any]]
    material: int
    subscription: str


@pytest.fixture
async def scene(world: World, server: str) -> Scene:
    partner = await world.partner()
    receiver = await world.partner("Telekom Secondary Test Company")
    allowed = await world.op(
        "PUT", f"/partners/{partner}/transfer-partners", json={"partnerIds": [receiver]}
    )
    assert allowed.status_code == 200, allowed.text
    active = await add_sims(world, partner, range(1, 7))
    inactive = await add_sims(world, partner, range(7, 9), "Inactive")
    material = await world.op(
        "POST", "/materials", json={"name": "Standard 2FF", "minOrderQuantity": 5}
    )
    assert material.status_code == 201, material.text
    app = await world.app(partner, eventTypes=["simaction.v1"])
    receiver_app = await world.app(receiver)
    return Scene(
        world, server, partner, receiver, credentials(server, app, partner),
        credentials(server, receiver_app, receiver), active, inactive,
        int(material.json()["id"]), app["subscriptions"][0]["subscriptionId"],
    )  # fmt: skip


async def traffic(scene: Scene, sim: dict[str, Any]) -> None:
    """An hour-old closed session, an open one and a message from the device."""
    world = scene.world
    hour_ago = (world.platform.clock.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    await world.inject(
        "sessions", iccid=sim["iccid"], bytesUp=1000, bytesDown=2000, durationSeconds=600,
        open=False, startedAt=hour_ago, **OPEN,
    )  # fmt: skip
    await world.inject(
        "sessions", iccid=sim["iccid"], imei=sim["imei"], bytesUp=5, bytesDown=7,
        durationSeconds=60, open=True, **OPEN,
    )  # fmt: skip
    await world.inject("sms", iccid=sim["iccid"], direction="MO", text="t=21", mcc="262", mnc="01")


async def _simulator(world: World, **config: Any) -> None:
    answer = await world.op("PUT", "/simulator/config", json=config)
    assert answer.status_code == 200, answer.text


async def test_every_customer_endpoint_through_the_async_client(scene: Scene) -> None:
    p, sim, other = scene.partner, scene.active[0], scene.active[1]
    iccids = sorted(s["iccid"] for s in scene.active + scene.inactive)
    await traffic(scene, sim)
    async with AsyncClient(scene.creds) as api:
        # Partner, budgets, pools.
        partner = await api.partner(p)
        assert partner.partner_id == p and partner.sim_counts["total"] == len(iccids)
        usage = await api.api_usage(p)
        assert {"actions", "details", "history", "sms"} <= set(usage["limits"])
        assert (await api.pools_usage(p)).pools == []

        # SIM list: one page, every SIM by keyset pages of two, a filter.
        page = await api.sims(p, size=3)
        assert page.page.total_elements == len(iccids) and len(page.content) == 3
        assert [s.iccid async for s in api.iter_sims(p, size=2)] == iccids
        inactive = [s.iccid async for s in api.iter_sims(p, status="Inactive", size=1)]
        assert inactive == sorted(s["iccid"] for s in scene.inactive)

        # Details by ICCID and by another identifier.
        details = await api.sim(p, sim["iccid"])
        assert details.status == "Active" and details.imsi == sim["imsi"]
        assert (await api.sim_by(p, imsi=sim["imsi"])).iccid == sim["iccid"]
        with pytest.raises(ApiError) as missing:
            await api.sim(p, synthetic.iccid(999))
        assert missing.value.status_code == 404 and missing.value.status == "NOT_FOUND"

        # Session and histories, GET by ICCID and POST by MSISDN, one page and every page.
        session = await api.session_of(p, sim["iccid"])
        assert session.online and session.session is not None
        assert session.session.apn == OPEN["apn"]
        assert (await api.session_of(p, msisdn=sim["msisdn"])).online
        history = await api.session_history(p, sim["iccid"])
        assert [s.volume_upload for s in history.content] == [1000]
        closed = [s async for s in api.iter_session_history(p, msisdn=sim["msisdn"], size=1)]
        assert [s.session_id for s in closed] == [history.content[0].session_id]
        sms = await api.sms_history(p, sim["iccid"])
        assert [m.direction for m in sms.content] == ["MO"]

        # Diagnostics: send message (by ICCID and MSISDN), HLR check and reset.
        sent = await api.send_sms(p, sim["iccid"], "ping")
        sent_by = await api.send_sms(p, None, "pong", msisdn=sim["msisdn"])
        messages = [m async for m in api.iter_sms_history(p, msisdn=sim["msisdn"], size=1)]
        assert {sent.sms_id, sent_by.sms_id} <= {m.sms_id for m in messages}
        assert len(messages) == 3
        assert (await api.hlr_check(p, sim["iccid"])).iccid == sim["iccid"]
        assert (await api.hlr_check(p, msisdn=sim["msisdn"])).iccid == sim["iccid"]
        reset = await api.hlr_reset(p, sim["iccid"])
        assert reset.iccid == sim["iccid"]
        assert (await api.hlr_reset(p, msisdn=sim["msisdn"])).iccid == sim["iccid"]

        # Actions: dry run, run (the same Idempotency-Key twice starts one), wait, list.
        dry = await api.dry_run(p, "suspend", [sim["iccid"], scene.inactive[0]["iccid"]])
        assert (dry.would_succeed, dry.would_fail) == (1, 1)
        key = str(uuid.uuid4())
        first = await api.run_action(p, "suspend", [sim["iccid"]], idempotency_key=key)
        again = await api.run_action(p, "suspend", [sim["iccid"]], idempotency_key=key)
        assert again.signup_id == first.signup_id
        done = await api.wait_for_action(p, first.signup_id, timeout=WAIT_S)
        assert done.status == "Done" and done.counts.done == 1
        assert (await api.sim(p, sim["iccid"])).status == "Suspended"
        remarks = await api.run_action(
            p, "modifyremarks", [{"imsi": other["imsi"]}], remarks={"remark1": "sdk"}
        )
        await api.wait_for_action(p, remarks.signup_id, timeout=WAIT_S)
        assert (await api.sim(p, other["iccid"])).remarks.remark1 == "sdk"
        listed = [a.signup_id async for a in api.iter_actions(p, size=1)]
        assert listed[:2] == [remarks.signup_id, first.signup_id]
        assert (await api.actions(p, action="suspend")).content[0].signup_id == first.signup_id
        with pytest.raises(ApiError) as finished:
            await api.cancel_action(p, first.signup_id)
        assert finished.value.status_code == 409

        # Cancel: the backend holds the action long enough to cancel it.
        await _simulator(scene.world, actionDelayMs=5000)
        held = await api.run_action(p, "unsuspend", [sim["iccid"]])
        cancelled = await api.cancel_action(p, held.signup_id)
        assert cancelled.status == "Cancelled"
        await _simulator(scene.world, actionDelayMs=0)

        # Transfer: offered by the sender, accepted by the receiver, seen by both.
        offered = await api.transfer_sims(
            p, [other["iccid"]], target_partner_id=scene.receiver, message="as agreed"
        )
        assert offered.transaction_id is not None
        tid = offered.transaction_id
        shown = await api.transfer(p, tid)
        assert shown.status == "Pending" and shown.receiver.partner_id == scene.receiver
        async with AsyncClient(scene.receiver_creds) as receiver:
            decided = await receiver.decide_transfer(scene.receiver, tid, "Accepted")
            assert decided.status in ("Accepted", "Completed")
            async with asyncio.timeout(WAIT_S):
                while (await receiver.transfer(scene.receiver, tid)).status != "Completed":
                    await asyncio.sleep(0.05)
            assert (await receiver.sim(scene.receiver, other["iccid"])).partner_id == (
                scene.receiver
            )

        # Order: five new SIMs arrive Inactive.
        ordered = await api.order(p, scene.material, 5)
        delivered = await api.wait_for_action(p, ordered.signup_id, timeout=WAIT_S)
        assert delivered.status == "Done"
        assert len([s async for s in api.iter_sims(p, status="Inactive")]) == 2 + 5

        # Events: every action above ended with a simaction.v1 event.
        consumer = api.events(scene.subscription)
        signups = {first.signup_id, remarks.signup_id, held.signup_id, ordered.signup_id}
        seen: set[int] = set()
        async with asyncio.timeout(WAIT_S):
            async for event in consumer:
                assert isinstance(event, SimActionEvent)
                seen.add(int(event.data.signupID))
                if signups <= seen:
                    break
        await consumer.terminate()
        health = await api.http.head(scene.server + "/events/v1/sse")
        assert health.status_code == 204


def _sync_tour(scene: Scene) -> dict[str, Any]:
    """Every method of the blocking client once (it mirrors the async one)."""
    p, sim = scene.partner, scene.active[2]
    out: dict[str, Any] = {}
    with Client(scene.creds) as api:
        out["partner"] = api.partner(p).partner_id
        out["usage"] = sorted(api.api_usage(p)["limits"])
        out["pools"] = api.pools_usage(p).pools
        out["page"] = len(api.sims(p, size=2).content)
        out["all"] = [s.iccid for s in api.iter_sims(p, size=3)]
        out["details"] = api.sim(p, sim["iccid"]).iccid
        out["by"] = api.sim_by(p, msisdn=sim["msisdn"]).iccid
        out["online"] = api.session_of(p, sim["iccid"]).online
        out["history"] = len(api.session_history(p, sim["iccid"]).content)
        out["closed"] = len(list(api.iter_session_history(p, sim["iccid"], size=1)))
        api.send_sms(p, sim["iccid"], "ping")
        out["sms"] = len(api.sms_history(p, sim["iccid"]).content)
        out["messages"] = len(list(api.iter_sms_history(p, sim["iccid"], size=1)))
        out["hlr"] = api.hlr_check(p, sim["iccid"]).iccid
        out["reset"] = api.hlr_reset(p, sim["iccid"]).iccid
        out["dry"] = api.dry_run(p, "suspend", [sim["iccid"]]).would_succeed
        accepted = api.submit(p, "suspend", [sim["iccid"]])
        out["done"] = api.wait_for_action(p, accepted[0].signup_id, timeout=WAIT_S).status
        out["status"] = api.action(p, accepted[0].signup_id).status
        out["listed"] = [a.signup_id for a in api.iter_actions(p)]
        out["page_of_actions"] = len(api.actions(p).content)
        try:
            api.cancel_action(p, accepted[0].signup_id)
        except ApiError as error:
            out["cancel"] = error.status_code
        offered = api.transfer_sims(p, [scene.active[3]["iccid"]], scene.receiver)
        assert offered.transaction_id is not None
        out["transfer"] = api.transfer(p, offered.transaction_id).status
        out["cancelled"] = api.decide_transfer(p, offered.transaction_id, "Cancelled").status
        out["order"] = api.wait_for_action(p, api.order(p, scene.material, 5).signup_id).status
        out["signup"] = accepted[0].signup_id
        for event in api.events(scene.subscription):
            assert isinstance(event, SimActionEvent)
            if int(event.data.signupID) == accepted[0].signup_id:
                out["event"] = event.type
                break
    return out


async def test_every_customer_endpoint_through_the_blocking_client(scene: Scene) -> None:
    await traffic(scene, scene.active[2])
    async with asyncio.timeout(30):
        out = await asyncio.to_thread(_sync_tour, scene)
    assert out["partner"] == scene.partner
    assert out["usage"] == ["actions", "details", "history", "sms"] and out["pools"] == []
    assert out["page"] == 2 and len(out["all"]) == 8 and out["all"] == sorted(out["all"])
    assert out["details"] == out["by"] == out["hlr"] == out["reset"] == scene.active[2]["iccid"]
    assert out["online"] and out["history"] == out["closed"] == 1
    assert out["sms"] == out["messages"] == 2
    assert out["dry"] == 1 and out["done"] == out["status"] == "Done"
    assert out["signup"] in out["listed"] and out["page_of_actions"] >= 1
    assert out["cancel"] == 409
    assert (out["transfer"], out["cancelled"]) == ("Pending", "Cancelled")
    assert out["order"] == "Done" and out["event"] == "simaction.v1"


# --- pacing within the SIM budget ------------------------------------------------------------


class Statuses:
    """Every status code the server answered to a client (an httpx response hook)."""

    def __init__(self) -> None:
        self.codes: list[int] = []

    async def __call__(self, response: httpx.Response) -> None:
        self.codes.append(response.status_code)


async def _limits(world: World, partner: int, **classes: list[str]) -> None:
    answer = await world.op("PUT", f"/partners/{partner}/limits", json=classes)
    assert answer.status_code == 200, answer.text


async def test_a_500_sim_suspend_is_split_and_paced_within_the_budget(scene: Scene) -> None:
    """100 SIMs per 2 s: five actions of 100, the first at once, one every 2 s after it
    (8 s in all); the client never sends a call the server refuses."""
    world, p = scene.world, scene.partner
    sims = await add_sims(world, p, range(1000, 1500))
    await _limits(world, p, actions=["100/2 seconds"])
    statuses = Statuses()
    http = httpx.AsyncClient(timeout=30.0, event_hooks={"response": [statuses]})
    async with http, AsyncClient(scene.creds, http=http) as api:
        began = time.monotonic()
        accepted = await api.submit(p, "suspend", [s["iccid"] for s in sims])
        elapsed = time.monotonic() - began
        ended = [await api.wait_for_action(p, a.signup_id, timeout=WAIT_S) for a in accepted]
        suspended = (await api.sims(p, status="Suspended", size=1)).page.total_elements
    assert [e.counts.total for e in ended] == [100] * 5
    assert {e.status for e in ended} == {"Done"}
    assert 403 not in statuses.codes and 429 not in statuses.codes, statuses.codes
    assert 8.0 <= elapsed < 11.0, elapsed
    assert suspended == 500


async def test_a_403_from_a_budget_shared_with_another_caller_is_waited_out(
    scene: Scene,
) -> None:
    """Another application of the partner takes half of 100 SIMs per 2 s behind the
    client's back: the client's next call meets the seed's 403 "Limit exceeded", waits
    its Retry-After, learns the budget again and goes through; the caller sees no error."""
    world, p = scene.world, scene.partner
    sims = [s["iccid"] for s in await add_sims(world, p, range(2000, 2150))]
    await _limits(world, p, actions=["100/2 seconds"])
    other = await world.headers_for(await world.app(p, name="second"))
    statuses = Statuses()
    http = httpx.AsyncClient(timeout=30.0, event_hooks={"response": [statuses]})
    async with http, AsyncClient(scene.creds, http=http) as api:
        await api.run_action(p, "suspend", sims[:50])
        behind = await world.api(
            "POST", f"/partners/{p}/sims/actions/suspend", other,
            json={"sims": [{"iccid": i} for i in sims[50:100]]},
        )  # fmt: skip
        assert behind.status_code == 202, behind.text
        began = time.monotonic()
        last = await api.run_action(p, "suspend", sims[100:150])
        elapsed = time.monotonic() - began
        assert (await api.wait_for_action(p, last.signup_id, timeout=WAIT_S)).status == "Done"
    assert statuses.codes.count(403) == 1 and statuses.codes.count(202) == 2, statuses.codes
    assert 1.0 <= elapsed < 4.0, elapsed


# --- the event consumer across stream ends and a restart -----------------------------------

EVENTS = 2000
GROUP = 20


async def _publish(platform: Platform, partner: int, count: int) -> list[str]:
    """``count`` simaction.v1 events through the outbox, ``GROUP`` per transaction."""
    made = []
    for _ in range(count // GROUP):
        async with platform.db.transaction():
            for _ in range(GROUP):
                now = platform.clock.iso()
                data = samples.sample("simaction.v1", partner, platform.api_base, now)
                made.append(
                    await outbox.publish(platform.db, platform.bus, SIM_ACTION, partner, now, data)
                )
        # Spread over a few stream lifetimes (the SQLite driver never yields on its own).
        await asyncio.sleep(0.02)
    return made


@pytest.mark.parametrize("lifetime", [0.3])
async def test_the_consumer_gets_2000_events_once_across_closes_and_a_restart(
    platform: Platform, port: int
) -> None:
    """Streams end every 0.3 s and the server stops and starts again in the middle: the
    consumer reconnects (with backoff while the server is away), resumes with
    Last-Event-ID, drops repeats, and yields each of the 2,000 events once, in order."""
    async with (
        serving(create_app(platform), port, WAIT_S) as url,
        httpx.AsyncClient(base_url=url, timeout=30.0) as http,
    ):
        world = await World.start(platform, http)
        partner = await world.partner()
        app = await world.app(partner, eventTypes=["simaction.v1"])
    creds = credentials(url, app, partner).for_events()
    consumer = AsyncEventConsumer(creds, app["subscriptions"][0]["subscriptionId"])
    received: list[str] = []
    got_all = asyncio.Event()

    async def consume() -> None:
        async for event in consumer:
            assert isinstance(event, SimActionEvent)
            received.append(event.id)
            if len(received) == EVENTS:
                got_all.set()

    produced: list[str] = []
    reader = asyncio.create_task(consume())
    try:
        async with asyncio.timeout(60):
            async with serving(create_app(platform), port, WAIT_S):
                produced += await _publish(platform, partner, EVENTS // 2)
                while len(received) < EVENTS // 4:
                    await asyncio.sleep(0.02)
            # The server is away: events keep coming into the outbox meanwhile.
            produced += await _publish(platform, partner, EVENTS // 4)
            async with serving(create_app(platform), port, WAIT_S):
                produced += await _publish(platform, partner, EVENTS // 4)
                await got_all.wait()
    finally:
        reader.cancel()
        await consumer.http.aclose()
    assert received == produced
    # Several streams ended by their lifetime; at least one connection failed while the
    # server was away.
    assert consumer.connections >= 4 and consumer.faults >= 1, consumer.connections
    print(
        f"\n{EVENTS} events, {platform.db.dialect}: {consumer.connections} connections,"
        f" {consumer.faults} failed, {consumer.state.repeats} repeats dropped"
    )


# --- the SDK stands alone ----------------------------------------------------------------------

# What only the server needs: none of it may be imported by the SDK.
SERVER_ONLY = (
    "starlette", "sqlalchemy", "asyncpg", "alembic", "uvicorn", "joserfc", "cryptography",
    "limits", "redis", "structlog", "prometheus_client", "jinja2", "sqlite3", "typer",
    "m2mportal.app", "m2mportal.platform", "m2mportal.config", "m2mportal.store",
    "m2mportal.gateway", "m2mportal.api", "m2mportal.services", "m2mportal.iam",
    "m2mportal.actions", "m2mportal.operator", "m2mportal.portal",
)  # fmt: skip

STANDALONE = """
import json, os, sys

BLOCKED = tuple(os.environ["BLOCKED"].split(","))

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ImportError(f"{name} is blocked: the SDK must stand alone")
        return None

sys.meta_path.insert(0, Blocker())

from m2mportal.client import Client, Credentials

creds = Credentials.from_env()
out = {}
with Client(creds) as api:
    p = creds.partner_id
    out["partner"] = api.partner(p).partner_id
    out["sims"] = [s.iccid for s in api.iter_sims(p, size=2)]
    accepted = api.submit(p, "suspend", out["sims"][:2])
    out["status"] = api.wait_for_action(p, accepted[0].signup_id, timeout=10).status
    for event in api.events(os.environ["SUBSCRIPTION"]):
        out["event"] = [event.type, event.data.signupID]
        break
out["loaded"] = sorted(
    m for m in sys.modules if any(m == b or m.startswith(b + ".") for b in BLOCKED)
)
print(json.dumps(out))
"""


async def test_the_sdk_runs_with_the_server_dependencies_blocked(scene: Scene) -> None:
    creds = scene.creds
    env = {
        "PATH": "/usr/bin:/bin",
        "BLOCKED": ",".join(SERVER_ONLY),
        "SUBSCRIPTION": scene.subscription,
        "M2M_BASE_URL": creds.base_url,
        "M2M_CLIENT_ID": creds.client_id,
        "M2M_CLIENT_SECRET": creds.client_secret,
        "M2M_PARTNER_ID": str(scene.partner),
        "M2M_EVENT_CLIENT_ID": creds.event_client_id or "",
        "M2M_EVENT_CLIENT_SECRET": creds.event_client_secret or "",
    }
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", STANDALONE, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(30):
        stdout, stderr = await child.communicate()
    assert child.returncode == 0, stderr.decode()
    out = json.loads(stdout)
    iccids = sorted(s["iccid"] for s in scene.active + scene.inactive)
    assert out["partner"] == scene.partner and out["sims"] == iccids
    assert out["status"] == "Done" and out["event"][0] == "simaction.v1"
    assert out["loaded"] == []


# --- the customer command line (m2mportal api ...) ---------------------------------------------


def _env(creds: Credentials) -> dict[str, str]:
    return {
        "M2M_BASE_URL": creds.base_url,
        "M2M_CLIENT_ID": creds.client_id,
        "M2M_CLIENT_SECRET": creds.client_secret,
        "M2M_PARTNER_ID": str(creds.partner_id),
        "M2M_EVENT_CLIENT_ID": creds.event_client_id or "",
        "M2M_EVENT_CLIENT_SECRET": creds.event_client_secret or "",
    }


async def _cli(env: dict[str, str], *args: str) -> Result:
    """``m2mportal api ...`` in a worker thread (the server keeps serving in this loop)."""
    runner = CliRunner()
    async with asyncio.timeout(30):
        return await asyncio.to_thread(runner.invoke, app, ["api", *args], env=env)


async def test_the_customer_command_line(scene: Scene, tmp_path: Path) -> None:
    sim = scene.active[4]
    await traffic(scene, sim)
    env = _env(scene.creds)
    iccids = sorted(s["iccid"] for s in scene.active + scene.inactive)

    listed = await _cli(env, "sims", "list", "--all", "--json")
    assert listed.exit_code == 0, listed.output
    assert [s["iccid"] for s in json.loads(listed.stdout)] == iccids
    table = await _cli(env, "sims", "list", "--status", "Inactive")
    assert table.exit_code == 0 and scene.inactive[0]["iccid"] in table.stdout
    assert sim["iccid"] not in table.stdout

    shown = await _cli(env, "sims", "show", sim["iccid"], "--json")
    assert json.loads(shown.stdout)["imsi"] == sim["imsi"]
    assert "restrictionStatus" in (await _cli(env, "sims", "show", sim["iccid"])).stdout
    session = await _cli(env, "sims", "session", sim["iccid"], "--json")
    assert json.loads(session.stdout)["online"] is True
    history = await _cli(env, "sims", "history", sim["iccid"], "--json")
    assert [s["volumeUpload"] for s in json.loads(history.stdout)] == [1000]
    messages = await _cli(env, "sims", "history", sim["iccid"], "--sms")
    assert messages.exit_code == 0 and "MO" in messages.stdout

    run = await _cli(env, "actions", "run", "suspend", sim["iccid"], "--wait", "--json")
    assert run.exit_code == 0, run.output
    (ended,) = json.loads(run.stdout)
    assert ended["status"] == "Done" and ended["counts"]["done"] == 1
    signup = str(ended["signupId"])
    file = tmp_path / "sims.txt"
    file.write_text(f"{sim['iccid']}\n{scene.inactive[0]['iccid']}\n")
    dry = await _cli(env, "actions", "run", "unsuspend", "--file", str(file), "--dry-run")
    assert "would succeed 1, would fail 1" in dry.stdout
    remarks = await _cli(
        env, "actions", "run", "modifyremarks", sim["iccid"], "--param",
        'remarks={"remark1": "from the cli"}', "--wait",
    )  # fmt: skip
    assert remarks.exit_code == 0 and "Done" in remarks.stdout, remarks.output
    shown = await _cli(env, "actions", "show", signup)
    assert f"action {signup} suspend: Done" in shown.stdout
    waited = await _cli(env, "actions", "wait", signup, "--json")
    assert json.loads(waited.stdout)["status"] == "Done"
    listed_actions = await _cli(env, "actions", "list", "--json")
    assert [a["action"] for a in json.loads(listed_actions.stdout)] == ["modifyremarks", "suspend"]
    cancel = await _cli(env, "actions", "cancel", signup)
    assert cancel.exit_code == 2 and "409 CONFLICT" in cancel.output

    tail = await _cli(env, "events", "tail", scene.subscription, "--count", "2", "--json")
    assert tail.exit_code == 0, tail.output
    events = [json.loads(line) for line in tail.stdout.splitlines()]
    assert [e["type"] for e in events] == ["simaction.v1"] * 2

    # A profile file instead of the environment; no credentials at all is refused by name.
    profile = tmp_path / "profiles.toml"
    creds = scene.creds
    profile.write_text(
        f'[lab]\nbase_url = "{creds.base_url}"\nclient_id = "{creds.client_id}"\n'
        f'client_secret = "{creds.client_secret}"\npartner_id = {scene.partner}\n'
    )
    by_profile = await _cli(
        {}, "--profile", "lab", "--profile-file", str(profile), "sims", "show", sim["iccid"],
        "--json",
    )  # fmt: skip
    assert json.loads(by_profile.stdout)["iccid"] == sim["iccid"]
    missing = await _cli({"HOME": str(tmp_path)}, "sims", "list")
    assert missing.exit_code == 2 and "M2M_BASE_URL" in missing.output


# --- docs/sdk.md: every Python example runs as printed ----------------------------------------

ROOT = Path(__file__).resolve().parents[2]
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def python_examples() -> list[str]:
    return PYTHON_BLOCK.findall((ROOT / "docs" / "sdk.md").read_text(encoding="utf-8"))


def test_the_sdk_document_has_examples() -> None:
    assert len(python_examples()) >= 6


async def test_every_python_example_of_the_sdk_document_runs(scene: Scene) -> None:
    """Each ```python block of docs/sdk.md in its own interpreter, with the M2M_*
    variables of the scene's application (the sh blocks run in tests/e2e/test_readme.py)."""
    await traffic(scene, scene.active[0])
    env = {"PATH": "/usr/bin:/bin", **_env(scene.creds), "M2M_SUBSCRIPTION_ID": scene.subscription}
    for example in python_examples():
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", example, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        async with asyncio.timeout(30):
            stdout, stderr = await child.communicate()
        assert child.returncode == 0, f"{example}\n{stderr.decode()}"
        assert stdout.strip(), example
    # What the examples did shows in the API: the remarks action reached every Active SIM.
    async with AsyncClient(scene.creds) as api:
        sim = await api.sim(scene.partner, scene.active[1]["iccid"])
        assert sim.remarks.remark1 == "sdk"


async def test_a_token_the_server_no_longer_accepts_is_renewed_once(scene: Scene) -> None:
    """The server's clock jumps past the token's expiry: the next call's 401 makes the
    client fetch a new token and repeat the call, and the caller sees only the answer."""
    statuses = Statuses()
    http = httpx.AsyncClient(timeout=30.0, event_hooks={"response": [statuses]})
    async with http, AsyncClient(scene.creds, http=http) as api:
        assert (await api.partner(scene.partner)).partner_id == scene.partner
        scene.world.platform.clock.advance(600)
        assert (await api.partner(scene.partner)).partner_id == scene.partner
    # token, partner, 401, token, partner
    assert statuses.codes == [200, 200, 401, 200, 200]


class LoseFirstAnswer(httpx.AsyncBaseTransport):
    """Sends every request; the first answer to an action POST is lost on the way back
    (the server did the work, the client sees a broken connection)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.keys: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await self.inner.handle_async_request(request)
        if request.method == "POST" and "/sims/actions/" in request.url.path:
            self.keys.append(request.headers["Idempotency-Key"])
            if len(self.keys) == 1:
                await answer.aread()
                await answer.aclose()
                raise httpx.ReadError("connection reset", request=request)
        return answer

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_an_action_repeated_after_a_lost_answer_starts_once(scene: Scene) -> None:
    p, iccid = scene.partner, scene.active[5]["iccid"]
    transport = LoseFirstAnswer()
    http = httpx.AsyncClient(transport=transport, timeout=30.0)
    async with http, AsyncClient(scene.creds, http=http) as api:
        accepted = await api.run_action(p, "suspend", [iccid])
        listed = [a.signup_id async for a in api.iter_actions(p)]
    # Sent twice with one key; the server answered the repeat with the first signupId.
    assert len(transport.keys) == 2 and transport.keys[0] == transport.keys[1]
    assert listed == [accepted.signup_id]


async def test_each_event_type_arrives_as_its_own_type(scene: Scene) -> None:
    """The operator's test event of each type, read by the consumer of its subscription,
    comes out as the seed's type with its data typed (CostLimitNotificationEvent, ...)."""
    world = scene.world
    app = await world.app(scene.partner, name="all-types")
    creds = credentials(scene.server, app, scene.partner)
    kinds = {
        "simaction.v1": SimActionEvent,
        "profilenotification.v1": ProfileNotificationEvent,
        "poollimitnotification.v1": PoolLimitNotificationEvent,
        "costlimitnotification.v1": CostLimitNotificationEvent,
    }
    async with AsyncClient(creds) as api:
        for subscription in app["subscriptions"]:
            kind = subscription["eventType"]
            published = await world.op(
                "POST", "/events/test", json={"partnerId": scene.partner, "type": kind}
            )
            assert published.status_code == 201, published.text
            stream = aiter(api.events(subscription["subscriptionId"]))
            async with asyncio.timeout(WAIT_S):
                event = await anext(stream)
            await stream.aclose()  # type: ignore[attr-defined]
            assert isinstance(event, kinds[kind]) and event.id == published.json()["id"]
            assert event.data.partnerID == str(scene.partner)
