"""CloudEvents 1.0 in the seed's exact shapes, and writing them to the outbox."""

from __future__ import annotations

from typing import Any

import msgspec

from m2mportal.store import events as event_store
from m2mportal.store.database import Database
from m2mportal.store.sequences import next_id

SIM_ACTION = ("simaction.v1", "/v1/partners/simaction")
PROFILE = ("profilenotification.v1", "/notification/limit")
POOL_LIMIT = ("poollimitnotification.v1", "/notification/poollimit")
COST_LIMIT = ("costlimitnotification.v1", "/notification/costlimit")


def event_id(number: int) -> str:
    """The seed's id shape: ``00000000-0000-1000-a000-000706409461``."""
    return f"00000000-0000-1000-a000-{number:012d}"


async def publish(
    db: Database, kind: tuple[str, str], partner_id: int, time: str, data: dict[str, Any]
) -> str:
    """Write one event to the outbox; call inside the transaction that made the change."""
    number = await next_id(db, "event")
    identifier = event_id(number)
    await event_store.insert(
        db, identifier, kind[0], kind[1], partner_id, time, msgspec.json.encode(data).decode()
    )
    return identifier


def envelope(row: Any) -> dict[str, Any]:
    """The whole CloudEvent of an outbox row, keys in the seed's order."""
    return {
        "time": row["time"],
        "id": row["id"],
        "source": row["source"],
        "specversion": "1.0",
        "type": row["type"],
        "datacontenttype": "application/json",
        "data": msgspec.json.decode(row["data"]),
    }


def sim_action_data(partner_id: int, signup_id: int, message: str, href: str) -> dict[str, Any]:
    return {
        "partnerID": str(partner_id),
        "signupID": str(signup_id),
        "message": message,
        "actionLink": {"rel": "actions", "href": href, "type": "GET", "name": "get action status"},
    }
