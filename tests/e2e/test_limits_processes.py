"""Protective measures across processes: four ``m2mportal serve`` processes sharing Redis.

Issue "Protective measures", point 4: four API processes on one PostgreSQL database and one
Redis, hammered concurrently on loopback, never admit one SIM beyond a partner's budget.

The world (built through the operator API of an in-test platform on the same database): a
partner with a subunit, SIMs in both, one application for each, and the partner's limits

- details: ``200/6 minutes`` and ``300/hour`` (the 6-minute window binds),
- actions: ``500/6 minutes``.

Then, spread round-robin over the four processes and over the parent's and the subunit's
application, at most ``IN_FLIGHT`` requests at a time:

1. 480 ``GET /partners/{id}/sims/{iccid}`` (1 SIM each) interleaved with bulk suspends of
   1 to 60 SIMs (seeded sizes, about 1,100 SIMs in all, each on SIMs of its own);
2. then 80 single-SIM suspends: the last refused bulk action left less than its size (at
   most 60), so these drain whatever budget the first phase left, one SIM at a time.

What must hold. The moving window is exact and the budget is shared, so the admitted SIMs
(200s for details, the sizes of the 202s for actions) add up to exactly the budget: 200
details, 500 action SIMs. Every admitted call read a distinct ``RateLimit-Remaining`` and
those values form one chain (each call took its cost from what the one before left), which
is what one serialized budget looks like from the outside. Every refusal is the seed's 403
body, nothing more, with a ``Retry-After`` header, and a refused action started nothing: the
partner's action list holds exactly as many actions as there were 202s.

Skipped on SQLite (several processes on one SQLite file is not the scaled setup) and when
``M2MP_TEST_REDIS_URL`` is unset. Every process is ended in a ``finally`` block; waiting is
bounded (``START_TIMEOUT_S`` for the processes to answer ``/healthz``, ``LOAD_TIMEOUT_S``
for the load).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from m2mportal import API_BASE, synthetic
from m2mportal.config import Settings
from m2mportal.store import sequences
from tests.conftest import FERNET_KEY, REDIS_URL
from tests.e2e.processes import ServerChild
from tests.helpers import World

pytestmark = pytest.mark.slow

PROCESSES = 4
START_TIMEOUT_S = 60.0
LOAD_TIMEOUT_S = 60.0
IN_FLIGHT = 48

DETAILS_LIMITS = ["200/6 minutes", "300/hour"]
DETAILS_BUDGET = 200
ACTIONS_LIMITS = ["500/6 minutes"]
ACTIONS_BUDGET = 500
DETAILS_CALLS = 480
BULK_SIMS = 1_100  # the first phase's action demand, in SIMs (more than the budget)
MAX_BULK = 60
DRAIN_CALLS = 80  # single-SIM actions; more than MAX_BULK, so they always drain the rest

PARENT_SERIALS = range(1, 1_201)
SUBUNIT_SERIALS = range(2_001, 3_201)
READ_SIMS = 100  # the first of each caller's SIMs are read; actions take the others

EXCEEDED = {
    "status": "FORBIDDEN",
    "message": "Limit exceeded",
    "errors": ["Too Many Concurrent Requests on Platform."],
}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


# --- the API processes ---------------------------------------------------------------------


@dataclass
class Server(ServerChild):
    index: int = 0


class Servers:
    def __init__(self, settings: Settings, folder: Path, prefix: str) -> None:
        self.settings = settings
        self.folder = folder
        self.prefix = prefix
        self.started: list[Server] = []

    def start(self, count: int, settings: dict[str, str] | None = None) -> list[Server]:
        """``count`` processes; ``settings``: M2MP_* variables beyond the ones set here."""
        env = {
            **os.environ,
            "M2MP_DATABASE_URL": self.settings.database_url,
            "M2MP_REDIS_URL": REDIS_URL,
            "M2MP_REDIS_PREFIX": self.prefix,
            "M2MP_SECRET_KEY": FERNET_KEY,
            "M2MP_SECRET_KEY_FILE": str(self.folder / "secret.key"),
            # Tokens taken from the in-test platform carry this issuer.
            "M2MP_PUBLIC_URL": self.settings.public_url,
            "M2MP_PROVISIONING_SECONDS": "0",
            "M2MP_ACTION_DELAY_MS": "0",
            "M2MP_PER_SIM_DELAY_MS": "0",
            "M2MP_LOG_LEVEL": "warning",
            "PYTHONUNBUFFERED": "1",
            **(settings or {}),
        }
        for index, port in enumerate(free_ports(count)):
            log = self.folder / f"serve-{index}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "m2mportal.cli", "serve",
                     "--host", "127.0.0.1", "--port", str(port)],
                    env=env,
                    cwd=self.folder,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )  # fmt: skip
            self.started.append(Server(process, log, port=port, index=index))
        return list(self.started)

    def stop_all(self) -> None:
        for server in self.started:  # all at once, then wait for each
            if server.alive():
                server.process.terminate()
        for server in self.started:
            server.stop()

    def logs(self) -> str:
        return "\n".join(f"--- serve {s.index} ---\n{s.log_tail()}" for s in self.started)

    def check_alive(self, during: str) -> None:
        for server in self.started:
            if not server.alive():
                pytest.fail(
                    f"serve {server.index} exited (code {server.process.returncode}) "
                    f"{during}\n{self.logs()}"
                )


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


async def wait_healthy(servers: Servers, clients: list[httpx.AsyncClient]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    waiting = set(range(len(clients)))
    while waiting:
        servers.check_alive("before answering /healthz")
        for index in sorted(waiting):
            try:
                answer = await clients[index].get("/healthz", timeout=2.0)
            except httpx.TransportError:
                continue
            if answer.status_code == 200:
                waiting.discard(index)
        if waiting and time.monotonic() > deadline:
            pytest.fail(
                f"serve {sorted(waiting)} not healthy after {START_TIMEOUT_S:.0f} s\n"
                f"{servers.logs()}"
            )
        if waiting:
            await asyncio.sleep(0.1)


def delete_redis_keys(prefix: str) -> None:
    import redis

    client = redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def servers(settings: Settings, tmp_path: Path) -> Iterator[Servers]:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("several API processes on one SQLite file is not the scaled setup")
    if not REDIS_URL:
        pytest.skip("budgets shared between processes need Redis: set M2MP_TEST_REDIS_URL")
    started = Servers(settings, tmp_path, "t" + uuid.uuid4().hex[:12])
    try:
        yield started
    finally:
        started.stop_all()
        delete_redis_keys(started.prefix)


# --- the load ------------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str  # "details" or "action"
    server: int
    cost: int
    status: int
    headers: httpx.Headers
    body: Any


@dataclass
class Caller:
    """One application: the SIMs it reads, and the SIMs its actions use (each once)."""

    partner: int
    headers: dict[str, str]
    reads: list[int]
    spare: list[int]

    def take(self, count: int) -> list[int]:
        assert len(self.spare) >= count, "the test needs more SIMs for its actions"
        taken, self.spare = self.spare[:count], self.spare[count:]
        return taken


async def call(
    http: httpx.AsyncClient,
    index: int,
    gate: asyncio.Semaphore,
    kind: str,
    cost: int,
    method: str,
    path: str,
    headers: dict[str, str],
    body: Any = None,
) -> Outcome:
    async with gate:
        try:
            answer = await http.request(method, API_BASE + path, headers=headers, json=body)
        except httpx.TransportError as exc:  # reported with the processes' logs
            return Outcome(kind, index, cost, 0, httpx.Headers(), f"{type(exc).__name__}: {exc}")
    try:
        decoded: Any = answer.json()
    except ValueError:
        decoded = answer.text
    return Outcome(kind, index, cost, answer.status_code, answer.headers, decoded)


async def bounded(what: str, work: Awaitable[list[Outcome]], servers: Servers) -> list[Outcome]:
    try:
        async with asyncio.timeout(LOAD_TIMEOUT_S):
            return await work
    except TimeoutError:
        pytest.fail(f"{what} did not finish within {LOAD_TIMEOUT_S:.0f} s\n{servers.logs()}")


def assert_refusal(outcome: Outcome) -> None:
    body = outcome.body
    assert isinstance(body, dict) and set(body) == {*EXCEEDED, "timestamp"}, body
    assert {k: body[k] for k in EXCEEDED} == EXCEEDED, body
    assert TIMESTAMP.match(body["timestamp"]), body
    assert int(outcome.headers["Retry-After"]) >= 1, dict(outcome.headers)


def assert_one_chain(admitted: list[Outcome], budget: int, what: str) -> None:
    """Each admitted call's RateLimit-Remaining is what the one before it left minus its
    cost: one budget, taken from one call at a time, whichever process served it."""
    seen = sorted(((int(o.headers["RateLimit-Remaining"]), o.cost) for o in admitted),
                  reverse=True)  # fmt: skip
    left = budget
    for remaining, cost in seen:
        assert remaining == left - cost, f"{what}: remaining {remaining} after {left}-{cost}"
        left = remaining
    assert left == 0, f"{what}: {left} left in the budget"


async def test_four_processes_never_admit_beyond_the_budget(servers: Servers, world: World) -> None:
    partner = await world.partner("Limits Across Processes Company")
    subunit = await world.partner("North", parent=partner)
    parent_sims = [{"iccid": synthetic.iccid(n), "status": "Active"} for n in PARENT_SERIALS]
    subunit_sims = [
        {"iccid": synthetic.iccid(n), "status": "Active", "subunitId": subunit}
        for n in SUBUNIT_SERIALS
    ]
    for batch in (parent_sims[:1000], parent_sims[1000:], subunit_sims[:1000], subunit_sims[1000:]):
        answer = await world.sims(partner, batch)
        assert answer.status_code == 201, answer.text
    # A sequence's first id is made by an INSERT that two processes can race for (a 500 on
    # a fresh database, see store/sequences.py); this test is about budgets, so it starts
    # from a database whose sequences exist, as any database that has served a call.
    for name in sequences.STARTS:
        await sequences.next_id(world.platform.db, name)
    limits = {"details": DETAILS_LIMITS, "actions": ACTIONS_LIMITS}
    answer = await world.op("PUT", f"/partners/{partner}/limits", json=limits)
    assert answer.status_code == 200, answer.text
    parent = Caller(
        partner,
        await world.headers_for(await world.app(partner)),
        list(PARENT_SERIALS[:READ_SIMS]),
        list(PARENT_SERIALS[READ_SIMS:]),
    )
    north = Caller(
        subunit,
        await world.headers_for(await world.app(subunit, name="north")),
        list(SUBUNIT_SERIALS[:READ_SIMS]),
        list(SUBUNIT_SERIALS[READ_SIMS:]),
    )
    callers = [parent, north]

    running = servers.start(PROCESSES)
    clients = [
        httpx.AsyncClient(
            base_url=s.url,
            trust_env=False,
            timeout=30.0,
            limits=httpx.Limits(max_connections=IN_FLIGHT // PROCESSES),
        )
        for s in running
    ]
    try:
        await wait_healthy(servers, clients)
        gate = asyncio.Semaphore(IN_FLIGHT)
        rng = random.Random(20261127)
        turn = 0

        def next_server() -> int:
            nonlocal turn
            turn += 1
            return turn % PROCESSES

        def details(n: int) -> Awaitable[Outcome]:
            who = callers[n % 2]
            serial = rng.choice(who.reads)
            index = next_server()
            path = f"/partners/{who.partner}/sims/{synthetic.iccid(serial)}"
            return call(clients[index], index, gate, "details", 1, "GET", path, who.headers)

        def action(size: int) -> Awaitable[Outcome]:
            who = max(callers, key=lambda c: len(c.spare))
            serials = who.take(size)
            body = {"sims": [{"iccid": synthetic.iccid(s)} for s in serials]}
            index = next_server()
            path = f"/partners/{who.partner}/sims/actions/suspend"
            return call(clients[index], index, gate, "action", size, "POST", path,
                        who.headers, body)  # fmt: skip

        sizes: list[int] = []
        while sum(sizes) < BULK_SIMS:
            sizes.append(rng.randint(1, MAX_BULK))
        first: list[Awaitable[Outcome]] = [details(n) for n in range(DETAILS_CALLS)]
        first += [action(size) for size in sizes]
        rng.shuffle(first)
        phase1 = await bounded("the first phase", asyncio.gather(*first), servers)
        drain = [action(1) for _ in range(DRAIN_CALLS)]
        phase2 = await bounded("the drain phase", asyncio.gather(*drain), servers)
        servers.check_alive("during the load")

        outcomes = phase1 + phase2
        unexpected = [
            (o.kind, o.server, o.status, o.body)
            for o in outcomes
            if o.status not in ((200, 403) if o.kind == "details" else (202, 403))
        ]
        tally = Counter((o.kind, o.status) for o in outcomes)
        assert not unexpected, f"{sorted(tally.items())}\n{unexpected[:3]}\n{servers.logs()}"
        for o in outcomes:
            if o.status == 403:
                assert_refusal(o)

        # Details: demand 480 > budget 200; exactly the budget admitted, over all processes.
        got = [o for o in phase1 if o.kind == "details" and o.status == 200]
        assert len(got) == DETAILS_BUDGET, f"{len(got)} details admitted"
        assert {o.headers["RateLimit-Limit"] for o in got} == {str(DETAILS_BUDGET)}
        assert_one_chain(got, DETAILS_BUDGET, "details")
        by_server = {i: sum(1 for o in got if o.server == i) for i in range(PROCESSES)}
        assert all(by_server.values()), f"every process admits some: {by_server}"

        # Actions: the first phase asked for more than the budget and never exceeded it...
        bulk = [o for o in phase1 if o.kind == "action"]
        bulk_admitted = sum(o.cost for o in bulk if o.status == 202)
        assert any(o.status == 403 for o in bulk), f"demand {sum(sizes)} was never refused"
        assert bulk_admitted <= ACTIONS_BUDGET
        # ...and a refusal of at most MAX_BULK SIMs means less than that was left, which the
        # single-SIM drain takes to the last SIM, and not one more.
        assert ACTIONS_BUDGET - bulk_admitted < MAX_BULK < DRAIN_CALLS
        accepted = [o for o in outcomes if o.kind == "action" and o.status == 202]
        assert sum(o.cost for o in accepted) == ACTIONS_BUDGET
        assert sum(1 for o in phase2 if o.status == 202) == ACTIONS_BUDGET - bulk_admitted
        assert_one_chain(accepted, ACTIONS_BUDGET, "actions")

        # A refused action started nothing: as many actions as 202s, holding the SIMs paid for.
        listed = await clients[0].get(
            f"{API_BASE}/partners/{partner}/sims/actions",
            params={"size": 1},
            headers=parent.headers,
        )
        assert listed.status_code == 200, listed.text
        assert listed.json()["page"]["totalElements"] == len(accepted)
        rows = await world.platform.db.fetch_all(
            "SELECT signup_id, total FROM actions WHERE partner_id IN (:p, :s)",
            {"p": partner, "s": subunit},
        )
        assert len(rows) == len(accepted)
        assert sum(int(r["total"]) for r in rows) == ACTIONS_BUDGET
        assert {int(r["signup_id"]) for r in rows} == {int(o.body["signupId"]) for o in accepted}

        servers.check_alive("after the load")
        for server in running:
            # m2mportal.logs writes an error's traceback on its line as traceback="...".
            assert "traceback" not in server.log_tail(200_000).lower(), servers.logs()
    finally:
        for client in clients:
            await client.aclose()
