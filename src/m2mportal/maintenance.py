"""Background housekeeping: events past their retention, expired idempotency keys."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog

from m2mportal.clock import iso
from m2mportal.domain.usage import HISTORY_MAX_DAYS as RECORD_DAYS
from m2mportal.platform import Platform
from m2mportal.store import actions as action_store
from m2mportal.store import events as event_store
from m2mportal.store import network as network_store

log = structlog.get_logger("m2mportal.maintenance")
INTERVAL_SECONDS = 300.0


async def purge(platform: Platform) -> tuple[int, int]:
    """Delete events older than the retention (7 days) and idempotency keys past 24 h."""
    now = platform.clock.now()
    retention = timedelta(days=platform.settings.event_retention_days)
    events = await event_store.purge_before(platform.db, iso(now - retention))
    keys = await action_store.purge_idempotency_before(platform.db, iso(now - timedelta(days=1)))
    # Usage records as long as the longest history window reaches back (92 days).
    await network_store.purge_before(platform.db, iso(now - timedelta(days=RECORD_DAYS)))
    return events, keys


async def run(platform: Platform) -> None:
    while True:
        try:
            await purge(platform)
        except Exception:
            log.exception("maintenance pass failed")
        await asyncio.sleep(INTERVAL_SECONDS)
