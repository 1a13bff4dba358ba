"""Ending an action: its final status and the ``simaction.v1`` event, in one transaction."""

from __future__ import annotations

from m2mportal.clock import iso
from m2mportal.events import cloudevents, outbox
from m2mportal.platform import Platform
from m2mportal.store import actions as action_store

MESSAGES = {
    "Done": "Action with signup ID {id} is done.",
    "Partially Done": (
        "Action with signup ID {id} is partially done: {failed} of {total} SIMs failed."
    ),
    "Failed": "Action with signup ID {id} failed.",
    "Cancelled": "Action with signup ID {id} was cancelled.",
}


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
