"""SIM actions run by real ``m2mportal worker`` processes: crash recovery and shared work.

Issue "SIM actions", points 4 and 5:

4. A worker process is killed (SIGKILL) in the middle of a 5,000-SIM action; a new worker
   process finishes it, and every SIM is applied exactly once: one ``sim_changes`` row per
   ICCID, all 5,000 ``action_sims`` rows Done, every SIM Suspended, the action Done with
   done=5000, and exactly one ``simaction.v1`` event. SQLite and PostgreSQL.
5. Two worker processes on PostgreSQL share one 5,000-SIM action: each SIM is done once and
   the ``worker`` column of ``sim_changes`` shows that both processes did part of it.
   (SQLite runs one worker per database by design, so it is skipped there.)

How the 5,000-SIM action is made. The API takes 1 to 1,000 SIMs per request, and the limit
lives in the type (``Sims = Annotated[list, Meta(max_length=MAX_SIMS)]`` in
``domain/actions.py``), so ``msgspec.convert`` refuses a 5,000-entry body just as the HTTP
decoder does (both are asserted below). A msgspec Struct built by its constructor is not
validated against ``Meta`` constraints, though, so the test builds
``ActionBody(sims=[...5,000 selectors...])`` directly and hands it to the service the HTTP
handler calls, ``m2mportal.actions.accept.accept``. That runs the very same request checks,
SIM resolution and single insert transaction as a request does, without copying the store
calls of ``accept.py`` into the test; only the partner's SIM budget (1,000 per 6 minutes by
default, charged by the HTTP path) is left uncharged for it (``Unmetered``). Alongside it,
a 1,000-SIM action on other SIMs is accepted through HTTP (the in-process app, which runs
no worker: ``background=False``) as a sanity check that the worker processes pick up what
the API accepts.

The tests wait on other processes, not on time: they poll the database every 20 ms, each
wait bounded by ``TIMEOUT_S``, and every process they start is terminated (or killed) and
waited for. Runtime on a busy 2-core machine: ~15 s on SQLite, 35-50 s (crash) and ~35 s
(two workers) on PostgreSQL, where each SIM is its own transaction of ~11 round trips.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest

from m2mportal import synthetic
from m2mportal.actions import accept
from m2mportal.config import Settings
from m2mportal.domain.actions import BY_PATH, MAX_SIMS, ActionBody
from m2mportal.models import ActionAccepted
from m2mportal.platform import Platform
from tests.e2e.processes import Child
from tests.helpers import World

pytestmark = pytest.mark.slow

BIG = 5_000
# Per wait, generous for a busy 2-core box (a wait covers up to 5,000 SIMs).
TIMEOUT_S = 90.0
POLL_S = 0.02
ACTIONS = "/partners/{p}/sims/actions"


# --- worker processes ---------------------------------------------------------------------


@dataclass
class Worker(Child):
    """One ``m2mportal worker`` process and its log file."""

    name: str = ""

    @property
    def worker_id(self) -> str:
        # apply.WORKER_ID as the child computes it: f"{hostname}-{pid}".
        return f"{socket.gethostname()}-{self.process.pid}"


class Workers:
    """Starts worker processes against the test's database; the fixture ends them all."""

    def __init__(self, settings: Settings, folder: Path) -> None:
        self.settings = settings
        self.folder = folder
        self.started: list[Worker] = []

    def start(self, name: str, per_sim_delay_ms: int | None = None) -> Worker:
        # The simulated backend's pause between SIMs. On SQLite a SIM takes well under a
        # millisecond, so 1 ms keeps the action running long enough to be caught half done;
        # on PostgreSQL each SIM already costs several round trips, so no pause is needed.
        if per_sim_delay_ms is None:
            per_sim_delay_ms = 1 if self.settings.database_url.startswith("sqlite") else 0
        env = {
            **os.environ,
            "M2MP_DATABASE_URL": self.settings.database_url,
            "M2MP_SECRET_KEY": self.settings.secret_key,
            "M2MP_SECRET_KEY_FILE": str(self.folder / "secret.key"),
            "M2MP_PUBLIC_URL": self.settings.public_url,
            "M2MP_PER_SIM_DELAY_MS": str(per_sim_delay_ms),
            "M2MP_ACTION_DELAY_MS": "0",
            "PYTHONUNBUFFERED": "1",
        }
        log = self.folder / f"worker-{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "m2mportal.cli", "worker"],
                env=env,
                cwd=self.folder,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        worker = Worker(process, log, name=name)
        self.started.append(worker)
        return worker

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()

    def logs(self) -> str:
        return "\n".join(f"--- worker {w.name} ---\n{w.log_tail()}" for w in self.started)


@pytest.fixture
def workers(settings: Settings, tmp_path: Path) -> Iterator[Workers]:
    started = Workers(settings, tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


async def wait_for(
    what: str, check: Callable[[], Awaitable[bool]], running: list[Worker], workers: Workers
) -> None:
    """Poll ``check`` until true; fail clearly on timeout or when a worker died."""
    deadline = time.monotonic() + TIMEOUT_S
    while not await check():
        for worker in running:
            if not worker.alive():
                pytest.fail(
                    f"worker {worker.name} exited (code {worker.process.returncode}) while "
                    f"waiting for {what}\n{workers.logs()}"
                )
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {TIMEOUT_S:.0f} s waiting for {what}\n{workers.logs()}")
        await asyncio.sleep(POLL_S)


# --- the world: a partner, an application, 6,000 Active SIMs --------------------------------


@dataclass
class Fleet:
    world: World
    partner: int
    client_id: str
    headers: dict[str, str]
    big: list[str]  # ICCIDs of the 5,000-SIM action
    small: list[str]  # ICCIDs of the 1,000-SIM action sent through HTTP

    @property
    def db(self) -> Any:
        return self.world.platform.db

    async def action(self, signup_id: int) -> dict[str, Any]:
        row = await self.db.fetch_one(
            "SELECT status, total, pending, done, failed, cancelled, finished_at FROM actions"
            " WHERE signup_id = :id",
            {"id": signup_id},
        )
        assert row is not None
        return dict(row)

    async def finished(self, signup_id: int) -> bool:
        return (await self.action(signup_id))["finished_at"] is not None

    async def status_via_http(self, signup_id: int) -> dict[str, Any]:
        path = ACTIONS.format(p=self.partner) + f"/{signup_id}"
        answer = await self.world.api("GET", path, self.headers)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found


@pytest.fixture
async def fleet(world: World) -> Fleet:
    partner = await world.partner("Worker Process Test Company")
    app = await world.app(partner)
    serials = range(1, BIG + MAX_SIMS + 1)
    sims = [
        {
            "iccid": synthetic.iccid(n),
            "imsi": synthetic.imsi(n),
            "msisdn": synthetic.msisdn(n),
            "status": "Active",
        }
        for n in serials
    ]
    answer = await world.sims(partner, sims)
    assert answer.status_code == 201, answer.text
    iccids = [s["iccid"] for s in sims]
    return Fleet(
        world, partner, app["clientId"], await world.headers_for(app), iccids[:BIG], iccids[BIG:]
    )


class Unmetered:
    """The per-partner SIM budget, not charged: 5,000 SIMs exceed any one request's share
    (the HTTP path charges it; ``tests/test_actions.py`` and the gateway tests cover that)."""

    async def charge(self, cost: int) -> None:
        return None

    async def peek(self) -> None:
        return None


async def accept_big(fleet: Fleet, iccids: list[str]) -> int:
    """A 5,000-SIM suspend through the service the HTTP handler calls (see the docstring)."""
    selectors: list[dict[str, Any]] = [{"iccid": i} for i in iccids]
    raw = msgspec.json.encode({"sims": selectors})
    # The 1,000 limit is part of the type: the decoder (HTTP) and convert both refuse 5,000.
    with pytest.raises(msgspec.ValidationError, match=r"sims"):
        msgspec.convert({"sims": selectors}, ActionBody)
    refused = await fleet.world.api(
        "POST",
        ACTIONS.format(p=fleet.partner) + "/suspend",
        {**fleet.headers, "Content-Type": "application/json"},
        content=raw,
    )
    assert refused.status_code == 400, refused.text
    # Constructing the Struct does not apply Meta constraints; everything else is the same
    # path as a request: request checks, SIM resolution, one insert transaction.
    accepted = await accept.accept(
        fleet.world.platform,
        BY_PATH["suspend"],
        ActionBody(sims=selectors),
        raw,
        fleet.partner,
        fleet.client_id,
        idempotency_key=None,
        is_dry_run=False,
        budget=Unmetered(),
    )
    assert isinstance(accepted, ActionAccepted)
    return accepted.signup_id


async def accept_small_via_http(fleet: Fleet) -> int:
    answer = await fleet.world.api(
        "POST",
        ACTIONS.format(p=fleet.partner) + "/suspend",
        fleet.headers,
        json={"sims": [{"iccid": i} for i in fleet.small]},
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "Pending"
    return int(answer.json()["signupId"])


async def changes_by_worker(platform: Platform, signup_id: int) -> dict[str, int]:
    rows = await platform.db.fetch_all(
        "SELECT worker, COUNT(*) AS n FROM sim_changes WHERE signup_id = :id GROUP BY worker",
        {"id": signup_id},
    )
    return {r["worker"]: int(r["n"]) for r in rows}


async def assert_applied_exactly_once(fleet: Fleet, signup_id: int, iccids: list[str]) -> None:
    """One change per SIM, every per-SIM row Done, the action Done, exactly one event."""
    db = fleet.db
    changes = await db.fetch_all(
        "SELECT iccid, COUNT(*) AS n FROM sim_changes WHERE signup_id = :id GROUP BY iccid",
        {"id": signup_id},
    )
    twice = [r["iccid"] for r in changes if r["n"] != 1]
    assert not twice, f"{len(twice)} SIMs applied more than once, e.g. {twice[:5]}"
    assert {r["iccid"] for r in changes} == set(iccids), "sim_changes: not one row per SIM"
    per_sim = await db.fetch_all(
        "SELECT status, COUNT(*) AS n FROM action_sims WHERE signup_id = :id GROUP BY status",
        {"id": signup_id},
    )
    assert {r["status"]: int(r["n"]) for r in per_sim} == {"Done": len(iccids)}
    action = await fleet.action(signup_id)
    assert action["status"] == "Done", action
    assert (action["total"], action["done"], action["pending"], action["failed"]) == (
        len(iccids), len(iccids), 0, 0,
    )  # fmt: skip
    events = await db.fetch_all(
        "SELECT data FROM events WHERE type = 'simaction.v1' AND partner_id = :p",
        {"p": fleet.partner},
    )
    mine = [e for e in events if msgspec.json.decode(e["data"])["signupID"] == str(signup_id)]
    assert len(mine) == 1, f"{len(mine)} simaction.v1 events for signupId {signup_id}"


async def statuses(fleet: Fleet) -> dict[str, int]:
    rows = await fleet.db.fetch_all(
        "SELECT status, COUNT(*) AS n FROM sims WHERE partner_id = :p GROUP BY status",
        {"p": fleet.partner},
    )
    return {r["status"]: int(r["n"]) for r in rows}


# --- point 4: a killed worker, a new one, every SIM once -----------------------------------


async def test_killed_worker_resumes_without_doing_a_sim_twice(
    fleet: Fleet, workers: Workers, platform: Platform
) -> None:
    first = workers.start("first")
    big = await accept_big(fleet, fleet.big)
    small = await accept_small_via_http(fleet)

    async def some_done() -> bool:
        return int((await fleet.action(big))["done"]) >= BIG // 5

    await wait_for("the first worker to apply some SIMs", some_done, [first], workers)
    first.kill()
    at_kill = await fleet.action(big)
    assert 0 < at_kill["done"] < BIG, f"expected a partial action at the kill, got {at_kill}"
    assert at_kill["finished_at"] is None
    # What the killed worker committed stays committed, and nothing more.
    assert await changes_by_worker(platform, big) == {first.worker_id: at_kill["done"]}

    second = workers.start("second")

    async def both_finished() -> bool:
        return await fleet.finished(big) and await fleet.finished(small)

    await wait_for("the second worker to finish both actions", both_finished, [second], workers)

    await assert_applied_exactly_once(fleet, big, fleet.big)
    await assert_applied_exactly_once(fleet, small, fleet.small)
    # The new worker did exactly the SIMs the killed one had not committed.
    assert await changes_by_worker(platform, big) == {
        first.worker_id: at_kill["done"],
        second.worker_id: BIG - at_kill["done"],
    }
    assert await statuses(fleet) == {"Suspended": BIG + MAX_SIMS}
    # The HTTP view agrees (status and counts of the action accepted through HTTP).
    seen = await fleet.status_via_http(small)
    assert seen["status"] == "Done" and seen["counts"]["done"] == MAX_SIMS
    assert {s["status"] for s in seen["sims"]} == {"Done"}
    assert "applying a SIM failed" not in second.log_tail(100_000), workers.logs()


# --- point 5: two workers on PostgreSQL share one action ------------------------------------


async def test_two_workers_share_an_action_on_postgresql(
    fleet: Fleet, workers: Workers, platform: Platform
) -> None:
    if platform.db.dialect != "postgresql":
        pytest.skip("one worker per SQLite database is the design")
    big = await accept_big(fleet, fleet.big)
    pair = [workers.start("a"), workers.start("b")]

    async def finished() -> bool:
        return await fleet.finished(big)

    await wait_for("two workers to finish the action", finished, pair, workers)

    await assert_applied_exactly_once(fleet, big, fleet.big)
    by_worker = await changes_by_worker(platform, big)
    assert set(by_worker) == {w.worker_id for w in pair}, (by_worker, workers.logs())
    assert all(n > 0 for n in by_worker.values()) and sum(by_worker.values()) == BIG
    assert await statuses(fleet) == {"Suspended": BIG, "Active": MAX_SIMS}
    for worker in pair:
        assert worker.alive(), workers.logs()
        assert "applying a SIM failed" not in worker.log_tail(100_000), workers.logs()
