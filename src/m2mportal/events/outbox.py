"""Publishing an event: the outbox row and one delivery per subscription that may see it,
in the transaction that made the change (Horizon's Starlight and Galaxy in one step)."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from m2mportal.events.bus import EventBus
from m2mportal.events.cloudevents import event_id
from m2mportal.store import events as event_store
from m2mportal.store.database import Database
from m2mportal.store.sequences import next_id


def _ancestors(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part]


def _sees(row: Any, chain: list[int]) -> bool:
    """An application sees events of partners in its scope: its partner's tree, or for a
    subunit user the trees of its subunits."""
    if row["user_type"] != "Subunit":
        return True
    return any(sub in chain for sub in json.loads(row["subunits"]))


async def publish(
    db: Database,
    bus: EventBus | None,
    kind: tuple[str, str],
    partner_id: int,
    time: str,
    data: dict[str, Any],
) -> str:
    """Write one event and its deliveries; streams wake when the transaction commits
    (without a bus, as in a batch ingested by a script, they find it on their next read)."""
    async with db.transaction():
        identifier = event_id(await next_id(db, "event"))
        body = msgspec.json.encode(data).decode()
        seq = await event_store.insert(db, identifier, kind[0], kind[1], partner_id, time, body)
        path = await event_store.partner_path(db, partner_id)
        chain = _ancestors(path) if path else [partner_id]
        rows = await event_store.subscribers(db, kind[0], chain)
        targets = [row["id"] for row in rows if _sees(row, chain)]
        if targets:
            await event_store.insert_deliveries(db, seq, targets)
            # The outbox row as a read would return it: this process's streams need none.
            event = {
                "seq": seq,
                "id": identifier,
                "type": kind[0],
                "source": kind[1],
                "partner_id": partner_id,
                "time": time,
                "data": body,
            }
            if bus is not None:
                await bus.announce(targets, event)
    return identifier
