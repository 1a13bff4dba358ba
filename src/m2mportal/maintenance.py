"""Background housekeeping: events past their retention, expired idempotency keys."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog

from m2mportal.clock import iso
from m2mportal.platform import Platform
from m2mportal.store import actions as action_store
from m2mportal.store import events as event_store
from m2mportal.store import network as network_store

log = structlog.get_logger("m2mportal.maintenance")
INTERVAL_SECONDS = 300.0


async def purge(platform: Platform) -> tuple[int, int]:
    """Delete events and network records past their retention (7 and 92 days by default)
    and idempotency keys past 24 h."""
    now = platform.clock.now()
    retention = timedelta(days=platform.settings.event_retention_days)
    events = await event_store.purge_before(platform.db, iso(now - retention))
    keys = await action_store.purge_idempotency_before(platform.db, iso(now - timedelta(days=1)))
    # Usage records: by default as long as the longest history window reaches back (92
    # days); this month's counters on the SIM row do not depend on them.
    records = timedelta(days=platform.settings.record_retention_days)
    await network_store.purge_before(platform.db, iso(now - records))
    return events, keys


async def run(platform: Platform) -> None:
    while True:
        try:
            await purge(platform)
        except Exception:
            log.exception("maintenance pass failed")
        await asyncio.sleep(INTERVAL_SECONDS)
