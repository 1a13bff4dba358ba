"""Event streams over real HTTP (issue "Event streams", points 1, 3, 4 and 6).

A uvicorn server runs in the test's event loop on 127.0.0.1 and a free port, with the app's
background tasks (the embedded action worker among them); clients are ordinary httpx
clients over TCP, so a stream's events arrive while the connection is open. Point 6 starts
two ``m2mportal serve`` processes on one PostgreSQL database.

Streams end ``lifetime`` seconds after they opened: 0.2 s by default, and tests that keep
a stream open while something else happens parametrize ``lifetime`` to 30 s and end their
streams themselves (a second connection, ``terminate``, ``maxNumber``). A written event is
confirmed (DELIVERED) once its connection was still open ``confirm`` seconds later: 0.05 s
here unless a test says otherwise.

Nothing sleeps for a fixed time: the tests wait for lines on streams (bounded by
``asyncio.timeout``) or poll other processes every 20 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse

from m2mportal import synthetic
from m2mportal.app import create_app
from m2mportal.config import Settings
from m2mportal.events import outbox, samples
from m2mportal.events.cloudevents import SIM_ACTION
from m2mportal.platform import Platform
from tests.conftest import FERNET_KEY, test_settings
from tests.e2e.in_process import serving
from tests.e2e.processes import ServerChild
from tests.helpers import World
from tests.test_events import (
    EVENT_TYPES,
    SSE,
    Tenant,
    asyncapi_validators,
    check_cloudevent,
    check_seed_shape,
    event_token,
    ids,
    make_tenant,
    publish,
)

TOTAL = 10_000
GROUP = 10
WAIT_S = 5.0
POLL_S = 0.02


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def lifetime() -> float:
    return 0.2


@pytest.fixture
def confirm() -> float:
    return 0.05


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(
    database_url: str, tmp_path: Path, port: int, lifetime: float, confirm: float
) -> Settings:
    return test_settings(
        database_url,
        tmp_path,
        public_url=f"http://127.0.0.1:{port}",
        sse_lifetime_seconds=lifetime,
        sse_confirm_seconds=confirm,
        sse_poll_seconds=0.05,
    )


@pytest.fixture
async def server(platform: Platform, port: int) -> AsyncIterator[str]:
    """uvicorn serving the app (lifespan on: worker, provisioner, maintenance)."""
    async with serving(create_app(platform), port, WAIT_S) as url:
        yield url


@pytest.fixture
async def live(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=30.0) as http:
        yield http


@pytest.fixture
async def world(platform: Platform, live: httpx.AsyncClient) -> World:
    """The conftest's World, over TCP to the live server."""
    return await World.start(platform, live)


class Stream:
    """An open JSON-lines stream: read its lines one at a time, each within a bound."""

    def __init__(self, answer: httpx.Response) -> None:
        self.answer = answer
        self._lines = answer.aiter_lines()

    async def next(self, within: float = WAIT_S) -> dict[str, Any] | None:
        """The next event, or None when the stream ended."""
        async with asyncio.timeout(within):
            async for line in self._lines:
                if line:
                    event: dict[str, Any] = json.loads(line)
                    return event
        return None

    async def rest(self, within: float = WAIT_S) -> list[dict[str, Any]]:
        """Every event until the stream ends (which must happen within the bound)."""
        events = []
        async with asyncio.timeout(within):
            while (event := await self.next(within)) is not None:
                events.append(event)
        return events


@asynccontextmanager
async def open_stream(
    http: httpx.AsyncClient, sub: str, headers: dict[str, str], **params: Any
) -> AsyncIterator[Stream]:
    async with http.stream("GET", f"{SSE}/{sub}", headers=headers, params=params) as answer:
        assert answer.status_code == 200, (await answer.aread()).decode()
        yield Stream(answer)


async def wait_until_open(world: World, sub: str) -> None:
    """The serving process reports the stream open (its operator API answers for it)."""
    async with asyncio.timeout(WAIT_S):
        while True:
            answer = await world.op("GET", f"/subscriptions/{sub}")
            assert answer.status_code == 200, answer.text
            if answer.json()["streamOpen"]:
                return
            await asyncio.sleep(POLL_S)


async def all_delivered(world: World, sub: str) -> dict[str, Any]:
    """The subscription's backlog once it is empty (a stream marks events DELIVERED just
    after writing them, so a client may read them a moment before)."""
    async with asyncio.timeout(WAIT_S):
        while True:
            answer = await world.op("GET", f"/subscriptions/{sub}")
            assert answer.status_code == 200, answer.text
            state: dict[str, Any] = answer.json()
            if state["undelivered"] == 0:
                return state
            await asyncio.sleep(POLL_S)


# --- 1. events arrive on open connections, in both formats -----------------------------------


@pytest.mark.parametrize("lifetime", [30.0])
async def test_events_arrive_while_the_connection_is_open(
    world: World, live: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(world)
    validators = asyncapi_validators((await live.get("/v3/asyncapi")).json())
    assert (await live.head(SSE)).status_code == 204

    # A real SSE client: each event type, published while its stream is open.
    for event_type in EVENT_TYPES:
        sub = tenant.sub(event_type)
        headers = dict(tenant.events)
        async with aconnect_sse(live, "GET", f"{SSE}/{sub}", headers=headers) as source:
            assert source.response.headers["content-type"] == "text/event-stream;charset=UTF-8"
            assert source.response.headers["cache-control"] == "no-cache"
            await wait_until_open(world, sub)
            made = await publish(world, tenant.partner, event_type)
            received = source.aiter_sse()
            async with asyncio.timeout(WAIT_S):
                sse = await anext(received)
            assert sse.id == made
            event = json.loads(sse.data)
            check_seed_shape(event, event_type, tenant.partner)
            check_cloudevent(sse.data, event_type)
            validators[event_type].validate(event)
            ended = await live.post(f"{SSE}/{sub}/terminate", headers=tenant.events)
            assert ended.status_code == 200
            assert ended.json() == {"subscriptionId": sub, "terminated": True}
            async with asyncio.timeout(WAIT_S):
                assert [s async for s in received] == []  # the stream ended

    # A plain line reader (the default format): a real action's event, as it finishes.
    answer = await world.sims(
        tenant.partner,
        [{"iccid": synthetic.iccid(1), "imsi": synthetic.imsi(1), "status": "Active"}],
    )
    assert answer.status_code == 201, answer.text
    async with open_stream(live, tenant.sub(), tenant.events, maxNumber=1) as stream:
        assert stream.answer.headers["content-type"] == "application/stream+json"
        assert stream.answer.headers["cache-control"] == "no-cache"
        await wait_until_open(world, tenant.sub())
        started = await world.api(
            "POST",
            f"/partners/{tenant.partner}/sims/actions/suspend",
            tenant.rest,
            json={"sims": [{"iccid": synthetic.iccid(1)}]},
        )
        assert started.status_code == 202, started.text
        event = await stream.next()  # the embedded worker runs the action
        assert event is not None
        assert await stream.next() is None  # maxNumber=1 ends the stream
    check_seed_shape(event, "simaction.v1", tenant.partner)
    check_cloudevent(json.dumps(event), "simaction.v1")
    validators["simaction.v1"].validate(event)
    assert event["data"]["signupID"] == str(started.json()["signupId"])


# --- 4. one stream per subscription; terminate ----------------------------------------------


@pytest.mark.parametrize("lifetime", [30.0])
async def test_a_second_connection_ends_the_first(world: World, live: httpx.AsyncClient) -> None:
    tenant = await make_tenant(world)
    sub = tenant.sub()
    first_event = await publish(world, tenant.partner)
    async with open_stream(live, sub, tenant.events) as first:
        got = await first.next()
        assert got is not None and got["id"] == first_event
        # Confirmed first: otherwise the second stream sends it again (at least once).
        await all_delivered(world, sub)
        async with (
            httpx.AsyncClient(base_url=str(live.base_url), timeout=30.0) as other,
            open_stream(other, sub, tenant.events) as second,
        ):
            assert await first.rest() == []  # the first stream's body ends
            made = [await publish(world, tenant.partner) for _ in range(3)]
            assert [(await second.next() or {}).get("id") for _ in made] == made
            state = await all_delivered(world, sub)
            assert state["streamOpen"] is True and state["lastDelivered"] is not None

            ended = await live.post(f"{SSE}/{sub}/terminate", headers=tenant.events)
            assert ended.status_code == 200
            assert ended.json() == {"subscriptionId": sub, "terminated": True}
            assert await second.rest() == []
    state = (await world.op("GET", f"/subscriptions/{sub}")).json()
    assert state["streamOpen"] is False
    again = await live.post(f"{SSE}/{sub}/terminate", headers=tenant.events)
    assert again.status_code == 200 and again.json()["terminated"] is False


@pytest.mark.parametrize("lifetime", [30.0])
async def test_reconnecting_right_after_terminate_keeps_the_new_stream(
    world: World, live: httpx.AsyncClient
) -> None:
    """The new stream is the newest: the terminate that came before it must not end it
    (on PostgreSQL the terminate's NOTIFY comes back after the new stream opened)."""
    tenant = await make_tenant(world)
    sub = tenant.sub()
    for _ in range(10):
        async with open_stream(live, sub, tenant.events) as stream:
            ended = await live.post(f"{SSE}/{sub}/terminate", headers=tenant.events)
            assert ended.status_code == 200
            assert await stream.rest() == []
        async with open_stream(live, sub, tenant.events, maxNumber=1) as stream:
            made = await publish(world, tenant.partner)
            event = await stream.next()
            assert event is not None and event["id"] == made
            assert await stream.next() is None


# --- 3. ten thousand events through a reconnecting client ------------------------------------


@dataclass
class Connection:
    mode: str
    events: list[dict[str, Any]] = field(default_factory=list)
    cut_by_client: bool = False


async def _read(
    http: httpx.AsyncClient, tenant: Tenant, mode: str, last_read: str | None
) -> Connection:
    """One connection. Modes: ``plain`` (until the stream's lifetime is over), ``max500``
    (maxNumber), ``sse`` (text/event-stream via httpx-sse, at most 100 kB by maxBytes),
    ``cut`` (the client hangs up after 137 events; the next connection then sends
    Last-Event-ID, as an SSE client does)."""
    sub = tenant.sub()
    connection = Connection(mode)
    headers = dict(tenant.events)
    if last_read is not None:
        headers["Last-Event-ID"] = last_read
    if mode == "sse":
        url = f"{SSE}/{sub}"
        params = {"maxBytes": "100000"}
        async with aconnect_sse(http, "GET", url, headers=headers, params=params) as source:
            assert source.response.status_code == 200
            async for sse in source.aiter_sse():
                event = json.loads(sse.data)
                assert sse.id == event["id"]
                connection.events.append(event)
        return connection
    params = {"maxNumber": "500"} if mode == "max500" else {}
    async with http.stream("GET", f"{SSE}/{sub}", headers=headers, params=params) as answer:
        assert answer.status_code == 200
        async for line in answer.aiter_lines():
            if line:
                connection.events.append(json.loads(line))
                if mode == "cut" and len(connection.events) == 137:
                    connection.cut_by_client = True
                    break
    return connection


@pytest.mark.slow
@pytest.mark.parametrize("lifetime", [2.0])  # long enough for maxNumber=500 to end some
async def test_ten_thousand_events_reach_a_reconnecting_client(
    world: World, platform: Platform, live: httpx.AsyncClient
) -> None:
    """The producer publishes in four bursts while the client reads; between bursts it
    waits until a ``plain`` connection has ended at its lifetime (so streams end every
    way: lifetime, maxNumber, maxBytes, the client's own hang-up)."""
    tenant = await make_tenant(world)
    produced: list[str] = []
    finished = asyncio.Event()
    idled = asyncio.Event()

    async def producer() -> None:
        # Ten events per transaction: on PostgreSQL one commit per event makes the
        # producer alone take about 4 ms an event (40 s for 10,000).
        for n in range(0, TOTAL, GROUP):
            async with platform.db.transaction():
                for _ in range(GROUP):
                    now = platform.clock.iso()
                    data = samples.sample("simaction.v1", tenant.partner, platform.api_base, now)
                    made = await outbox.publish(
                        platform.db, platform.bus, SIM_ACTION, tenant.partner, now, data
                    )
                    produced.append(made)
            await asyncio.sleep(0)  # the SQLite driver never yields on its own
            if (n + GROUP) % (TOTAL // 4) == 0 and n + GROUP < TOTAL:
                idled.clear()
                await idled.wait()
        finished.set()

    modes = ["max500", "sse", "cut", "max500", "plain"]
    connections: list[Connection] = []
    first_seen: dict[str, dict[str, Any]] = {}
    began = time.monotonic()
    task = asyncio.create_task(producer())
    try:
        async with asyncio.timeout(300):
            last_read: str | None = None
            while not (finished.is_set() and len(first_seen) >= TOTAL):
                mode = modes[len(connections) % len(modes)]
                connection = await _read(live, tenant, mode, last_read)
                connections.append(connection)
                for event in connection.events:
                    first_seen.setdefault(event["id"], event)
                # After its own cut the client says what it read last; otherwise not.
                last_read = connection.events[-1]["id"] if connection.cut_by_client else None
                if mode == "plain":
                    idled.set()
        await task
    finally:
        task.cancel()
    elapsed = time.monotonic() - began

    # None missing, nothing extra.
    assert len(produced) == TOTAL
    assert set(first_seen) == set(produced)
    # Oldest first: the first arrivals are in production order; within one connection
    # every id is new and ascending.
    assert list(first_seen) == produced
    for connection in connections:
        got = [e["id"] for e in connection.events]
        assert got == sorted(got) and len(got) == len(set(got))
        if connection.mode == "max500":
            assert len(got) <= 500
    # Duplicates only across a cut, as the same event under the same id.
    where: dict[str, list[int]] = {}
    for index, connection in enumerate(connections):
        for event in connection.events:
            where.setdefault(event["id"], []).append(index)
            assert event == first_seen[event["id"]]
    duplicated = {i: c for i, c in where.items() if len(c) > 1}
    for indexes in duplicated.values():
        assert len(set(indexes)) == len(indexes)
    # maxNumber forced cuts at 500 while events were still coming.
    shape = [(c.mode, len(c.events)) for c in connections]
    assert any(size == 500 for mode, size in shape if mode == "max500"), shape
    await all_delivered(world, tenant.sub())
    print(
        f"\n{TOTAL} events, {platform.db.dialect}: {elapsed:.1f} s, {len(connections)}"
        f" connections, {len(duplicated)} duplicates; (mode, events) per connection: {shape}"
    )


# --- a client that hangs up; the stream's lifetime (issues 8.5 and 9.3) ----------------------

HANG_UPS = 2000
CONFIRM_EVERY = 50


async def publish_now(platform: Platform, partner: int) -> str:
    """A simaction.v1 event straight through the outbox (no HTTP round trip)."""
    now = platform.clock.iso()
    data = samples.sample("simaction.v1", partner, platform.api_base, now)
    return await outbox.publish(platform.db, platform.bus, SIM_ACTION, partner, now, data)


@pytest.mark.parametrize("lifetime", [30.0])
async def test_no_event_is_lost_when_the_client_hangs_up(
    world: World, platform: Platform, live: httpx.AsyncClient
) -> None:
    """An event written to a connection the client had just closed was marked DELIVERED,
    and a reconnect without Last-Event-ID never got it. Each round opens a stream without
    Last-Event-ID, reads until every event not yet received has arrived, then hangs up and
    publishes one event: after the hang-up (the stream writes to a closed connection),
    before it (written, never read), or both at once. Every event must arrive on some
    stream; duplicates are allowed. Every CONFIRM_EVERY rounds the client keeps its stream
    open until what it read is confirmed, which bounds the duplicates."""
    tenant = await make_tenant(world)
    sub = tenant.sub()
    produced: list[str] = []
    missing: set[str] = set()
    arrivals = 0
    began = time.monotonic()
    async with asyncio.timeout(120):
        for round_ in range(HANG_UPS + 1):
            async with live.stream("GET", f"{SSE}/{sub}", headers=tenant.events) as answer:
                assert answer.status_code == 200
                lines = answer.aiter_lines()
                try:
                    async with asyncio.timeout(WAIT_S):
                        while missing:
                            line = await anext(lines)
                            if line:
                                missing.discard(json.loads(line)["id"])
                                arrivals += 1
                except TimeoutError:
                    pytest.fail(f"round {round_}: {sorted(missing)} never arrived")
                if round_ % CONFIRM_EVERY == 0 or round_ == HANG_UPS:
                    await all_delivered(world, sub)
                if round_ == HANG_UPS:
                    break
                way = round_ % 3
                if way == 0:
                    await answer.aclose()
                    made = await publish_now(platform, tenant.partner)
                elif way == 1:
                    made = await publish_now(platform, tenant.partner)
                    await answer.aclose()
                else:
                    _, made = await asyncio.gather(
                        answer.aclose(), publish_now(platform, tenant.partner)
                    )
            produced.append(made)
            missing.add(made)
    assert len(set(produced)) == HANG_UPS and not missing
    print(
        f"\n{HANG_UPS} hang-ups, {platform.db.dialect}: {time.monotonic() - began:.1f} s,"
        f" {arrivals - HANG_UPS} duplicates"
    )


@pytest.mark.parametrize("lifetime", [30.0])
async def test_a_hang_up_during_a_stall_of_the_loop_loses_no_event(
    world: World, platform: Platform, live: httpx.AsyncClient, confirm: float
) -> None:
    """The event loop stalls (a long collection, a slow callback) just as a client hangs up
    on a stream that had written an event the client never read. When the loop runs again,
    the event's confirm time has passed and the news of the close is still on its way: the
    event must stay undelivered and arrive on the next stream (one was lost so in 2,000
    hang-ups under the load of the whole suite)."""
    tenant = await make_tenant(world)
    sub = tenant.sub()
    async with open_stream(live, sub, tenant.events) as stream:
        await wait_until_open(world, sub)
        made = await publish_now(platform, tenant.partner)
        # Written by the stream (the bus waits to confirm it), not read by the client.
        async with asyncio.timeout(WAIT_S):
            while not platform.bus._written:
                await asyncio.sleep(0)
        # The client hangs up; its socket closes on the loop's next turn, after the stall
        # (which nothing runs during): the news reaches the server after the confirm time.
        await stream.answer.aclose()
        time.sleep(4 * confirm)
    async with open_stream(live, sub, tenant.events) as stream:
        got = await stream.next()
    assert got is not None and got["id"] == made


@pytest.mark.parametrize(("lifetime", "confirm"), [(2.0, 0.2)])
async def test_a_busy_stream_ends_at_its_lifetime_and_the_next_one_resumes(
    world: World, platform: Platform, live: httpx.AsyncClient, lifetime: float, confirm: float
) -> None:
    """The seed's 60-second close at a 30th of the scale (60 s, 1 s to confirm, an event
    every 4 s): a stream that receives an event every ``lifetime / 15`` seconds ends
    ``lifetime`` after it opened, not later for being busy; what it wrote is DELIVERED by
    then; an event made during its close arrives on the next stream, which resumes with
    Last-Event-ID without a gap."""
    tenant = await make_tenant(world)
    sub = tenant.sub()
    produced: list[str] = []
    stop = asyncio.Event()

    async def producer() -> None:
        while not stop.is_set():
            produced.append(await publish_now(platform, tenant.partner))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(lifetime / 15):
                    await stop.wait()

    async def publish_at(moment: float) -> str:
        await asyncio.sleep(moment - time.monotonic())
        made = await publish_now(platform, tenant.partner)
        produced.append(made)
        return made

    task = asyncio.create_task(producer())
    try:
        async with open_stream(live, sub, tenant.events) as first:
            opened = time.monotonic()  # the server's lifetime began a moment before
            # Inside the last ``confirm`` seconds, when the stream sends nothing new.
            closing = asyncio.create_task(publish_at(opened + lifetime - confirm / 2))
            got = await first.rest(within=lifetime + 1)
            ended = time.monotonic()
        during_close = await closing
        assert lifetime - 0.05 <= ended - opened <= lifetime + 0.1, ended - opened
        assert len(got) >= 10  # busy to the end
        assert during_close not in ids(got)
        statuses = await platform.db.fetch_all(
            "SELECT e.id, d.status FROM event_deliveries d JOIN events e ON e.seq = d.event_seq"
            " WHERE d.subscription_id = :s",
            {"s": sub},
        )
        delivered = {r["id"] for r in statuses if r["status"] == "DELIVERED"}
        assert set(ids(got)) <= delivered  # confirmed before the close

        headers = {**tenant.events, "Last-Event-ID": got[-1]["id"]}
        async with open_stream(live, sub, headers) as second:
            resumed: list[dict[str, Any]] = []
            while during_close not in ids(resumed):
                event = await second.next()
                assert event is not None
                resumed.append(event)
    finally:
        stop.set()
        await task
    upto = produced.index(during_close) + 1
    assert ids(got) + ids(resumed) == sorted(produced[:upto])


# --- 6. two server processes on PostgreSQL --------------------------------------------------


@dataclass
class ServerProcess(ServerChild):
    name: str = ""

    def tail(self) -> str:
        return self.log_tail()


@pytest.fixture
def serve_processes(database_url: str, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """Starts ``m2mportal serve`` processes on request (append to the list); ends them all."""
    started: list[ServerProcess] = []
    try:
        yield started
    finally:
        for proc in started:
            proc.stop()


def start_server(
    started: list[ServerProcess], database_url: str, tmp_path: Path, name: str, worker: bool
) -> ServerProcess:
    port = free_port()
    env = {
        **os.environ,
        "M2MP_DATABASE_URL": database_url,
        "M2MP_SECRET_KEY": FERNET_KEY,
        "M2MP_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "M2MP_ACTION_DELAY_MS": "0",
        "M2MP_PER_SIM_DELAY_MS": "0",
        "M2MP_PROVISIONING_SECONDS": "0",
        # A stream stays open for the whole test, and an idle stream polls the database
        # only every 5 s: an event within 1 s can only come by NOTIFY.
        "M2MP_SSE_LIFETIME_SECONDS": "30",
        "M2MP_SSE_POLL_SECONDS": "5",
        "M2MP_EMBEDDED_WORKER": "true" if worker else "false",
        "M2MP_LOG_LEVEL": "warning",
    }
    log = tmp_path / f"serve-{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "m2mportal.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    proc = ServerProcess(process, log, port=port, name=name)
    started.append(proc)
    return proc


async def wait_healthy(proc: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=proc.url, timeout=1.0) as http:
        deadline = time.monotonic() + 30.0
        while True:
            assert proc.process.poll() is None, f"{proc.name} exited:\n{proc.tail()}"
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{proc.name} never got healthy:\n{proc.tail()}"
            await asyncio.sleep(POLL_S)


@pytest.mark.slow
async def test_two_server_processes_share_streams(
    platform: Platform,
    database_url: str,
    tmp_path: Path,
    serve_processes: list[ServerProcess],
) -> None:
    if platform.db.dialect != "postgresql":
        pytest.skip("several server processes need PostgreSQL")
    a = start_server(serve_processes, database_url, tmp_path, "a", worker=True)
    b = start_server(serve_processes, database_url, tmp_path, "b", worker=False)
    await asyncio.gather(wait_healthy(a), wait_healthy(b))
    try:
        async with (
            httpx.AsyncClient(base_url=a.url, timeout=30.0) as http_a,
            httpx.AsyncClient(base_url=b.url, timeout=30.0) as http_b,
        ):
            world_a = await World.start(platform, http_a)
            world_b = World(platform, http_b, operator_client=world_a.operator_client)
            await world_b.renew()
            tenant = await make_tenant(world_a)
            sub = tenant.sub()
            # Each process issues and checks its own tokens (issuer = its public URL).
            events_b = {"Authorization": f"Bearer {await event_token(world_b, tenant.app)}"}
            answer = await world_a.sims(
                tenant.partner,
                [{"iccid": synthetic.iccid(1), "imsi": synthetic.imsi(1), "status": "Active"}],
            )
            assert answer.status_code == 201, answer.text

            async with open_stream(http_b, sub, events_b) as on_b:
                await wait_until_open(world_b, sub)
                started = await world_a.api(
                    "POST",
                    f"/partners/{tenant.partner}/sims/actions/suspend",
                    tenant.rest,
                    json={"sims": [{"iccid": synthetic.iccid(1)}]},
                )
                assert started.status_code == 202, started.text
                accepted_at = time.monotonic()
                event = await on_b.next(within=WAIT_S)
                latency = time.monotonic() - accepted_at
                assert event is not None
                signup = started.json()["signupId"]
                assert event["data"]["signupID"] == str(signup)
                check_seed_shape(event, "simaction.v1", tenant.partner)
                status = await world_a.api(
                    "GET", f"/partners/{tenant.partner}/sims/actions/{signup}", tenant.rest
                )
                assert status.json()["status"] == "Done", status.text
                print(f"\naction on A -> event on B: {latency * 1000:.0f} ms after the 202")
                assert latency < 1.0
                # Confirmed by B (1 s after the write): else A sends it again (at least once).
                await all_delivered(world_a, sub)

                # A second stream of the subscription, on A, ends the one on B.
                async with open_stream(http_a, sub, tenant.events) as on_a:
                    assert await on_b.rest() == []
                    made = await publish(world_b, tenant.partner)  # published through B
                    got = await on_a.next()
                    assert got is not None and got["id"] == made
                    # terminate through B ends the stream A serves
                    ended = await http_b.post(f"{SSE}/{sub}/terminate", headers=events_b)
                    assert ended.status_code == 200
                    assert await on_a.rest() == []
            state = await all_delivered(world_a, sub)
            assert state["streamOpen"] is False
    except BaseException:
        for proc in (a, b):
            print(f"--- {proc.name} log ---\n{proc.tail()}")
        raise
