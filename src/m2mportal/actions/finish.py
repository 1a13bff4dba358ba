"""Ending an action: its final status and the ``simaction.v1`` event, in one transaction."""

from __future__ import annotations

import structlog

from m2mportal.clock import iso, parse_iso
from m2mportal.events import cloudevents, outbox
from m2mportal.platform import Platform
from m2mportal.services import transfers
from m2mportal.store import actions as action_store
from m2mportal.store.database import Row

log = structlog.get_logger("m2mportal.actions")

MESSAGES = {
    "Done": "Action with signup ID {id} is done.",
    "Partially Done": (
        "Action with signup ID {id} is partially done: {failed} of {total} SIMs failed."
    ),
    "Failed": "Action with signup ID {id} failed.",
    "Cancelled": "Action with signup ID {id} was cancelled.",
}


def note_progress(signup_id: int, counts: Row, done: int, failed: int) -> None:
    """Log an action's start: ``counts`` (the action's counters after this batch) hold
    only this batch's SIMs when it was the first to reach the backend."""
    if counts["done"] + counts["failed"] == done + failed:
        sims = counts["pending"] + counts["done"] + counts["failed"] + counts["cancelled"]
        log.info(
            "action started",
            signup_id=signup_id,
            partner_id=counts["partner_id"],
            action=counts["action"],
            sims=sims,
        )


def final_status(done: int, failed: int, cancelled: int) -> str:
    if cancelled:
        return "Cancelled"
    if failed and done:
        return "Partially Done"
    return "Failed" if failed else "Done"


async def complete(platform: Platform, signup_id: int, partner_id: int, status: str) -> bool:
    """Finish the action once (inside the caller's transaction); False if already finished."""
    db = platform.db
    now = iso(platform.clock.now())
    if await action_store.finish(db, signup_id, status, now) == 0:
        return False
    row = await action_store.get_any(db, signup_id)
    assert row is not None
    log.info(
        "action finished",
        signup_id=signup_id,
        partner_id=partner_id,
        action=row["action"],
        status=status,
        sims=row["total"],
        done=row["done"],
        failed=row["failed"],
        cancelled=row["cancelled"],
        # From acceptance to the end (the seed's `not_before` delay included).
        duration_ms=round((parse_iso(now) - parse_iso(row["created_at"])).total_seconds() * 1000),
    )
    # A transfer ends with the seed's completion events to both sides instead, written
    # with the change of owner of its SIMs.
    if row["action"] == "simtransfer" and await transfers.complete(platform, signup_id, now):
        return True
    message = MESSAGES[status].format(id=signup_id, failed=row["failed"], total=row["total"])
    href = f"{platform.api_base}/partners/{partner_id}/sims/actions/{signup_id}"
    await outbox.publish(
        db,
        platform.bus,
        cloudevents.SIM_ACTION,
        partner_id,
        now,
        cloudevents.sim_action_data(partner_id, signup_id, message, href),
    )
    return True
