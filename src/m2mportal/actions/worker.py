"""The action worker: applies ready SIMs until none is left, then waits for a wake-up.

In the embedded default one worker runs inside the server process; ``m2mportal worker``
runs the same loop as its own process (several of them on PostgreSQL, where claims use
``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from m2mportal.actions import backend_delays
from m2mportal.actions.apply import BATCH, apply_next
from m2mportal.platform import Platform
from m2mportal.services import orders

log = structlog.get_logger("m2mportal.actions")
IDLE_POLL_SECONDS = 0.2


async def run_until_idle(platform: Platform, limit: int | None = None) -> int:
    """Apply ready SIMs until none is ready (tests call this instead of a running worker);
    with ``limit``, at most that many."""
    applied = 0
    while limit is None or applied < limit:
        batch = BATCH if limit is None else min(BATCH, limit - applied)
        count = await apply_next(platform, batch) + await orders.deliver_next(platform)
        if count == 0:
            break
        applied += count
    return applied


async def run(platform: Platform, stop: asyncio.Event | None = None) -> None:
    wake = platform.new_wakeup()
    # Each action's start and end are logged by the workflow (actions/finish.py).
    log.info("worker started")
    while stop is None or not stop.is_set():
        per_sim = 0.0
        try:
            per_sim = (await backend_delays.current(platform)).per_sim_ms / 1000
            # With a backend delay per SIM, SIMs go one at a time so progress shows SIM
            # by SIM.
            progressed = await apply_next(platform, 1 if per_sim > 0 else BATCH)
            # A due SIM order is delivered whole, between two batches of SIM actions.
            progressed += await orders.deliver_next(platform)
        except Exception:
            log.exception("applying a SIM failed; retrying")
            progressed = 0
            await asyncio.sleep(1.0)
        if progressed:
            # Let requests in between batches; the inline SQLite driver never yields.
            await asyncio.sleep(per_sim)
            continue
        wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), IDLE_POLL_SECONDS)
    log.info("worker stopped")
