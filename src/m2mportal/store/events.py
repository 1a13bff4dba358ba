"""SQL for the event outbox."""

from __future__ import annotations

from m2mportal.store.database import Database, Row


async def insert(
    db: Database, event_id: str, type_: str, source: str, partner_id: int, time: str, data: str
) -> None:
    await db.execute(
        "INSERT INTO events (id, type, source, partner_id, time, data, created_at)"
        " VALUES (:id, :type, :source, :partner_id, :time, :data, :time)",
        {
            "id": event_id,
            "type": type_,
            "source": source,
            "partner_id": partner_id,
            "time": time,
            "data": data,
        },
    )


async def of_partner(db: Database, partner_id: int) -> list[Row]:
    return await db.fetch_all(
        "SELECT seq, id, type, source, partner_id, time, data FROM events"
        " WHERE partner_id = :p ORDER BY seq",
        {"p": partner_id},
    )
