"""SQL for the event outbox, its per-subscription deliveries, and stream wake-ups."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from m2mportal.store.database import Database, Row

_EVENT = "e.seq, e.id, e.type, e.source, e.partner_id, e.time, e.data"


async def insert(
    db: Database, event_id: str, type_: str, source: str, partner_id: int, time: str, data: str
) -> int:
    seq = await db.fetch_val(
        "INSERT INTO events (id, type, source, partner_id, time, data, created_at)"
        " VALUES (:id, :type, :source, :partner_id, :time, :data, :time) RETURNING seq",
        {
            "id": event_id,
            "type": type_,
            "source": source,
            "partner_id": partner_id,
            "time": time,
            "data": data,
        },
    )
    return int(seq)


async def of_partner(db: Database, partner_id: int) -> list[Row]:
    return await db.fetch_all(
        f"SELECT {_EVENT} FROM events e WHERE e.partner_id = :p ORDER BY e.seq", {"p": partner_id}
    )


async def recent_of(db: Database, partner_ids: Sequence[int], after: int, limit: int) -> list[Row]:
    """The newest events of these partners after sequence number ``after``, newest first
    (the portal's live view)."""
    return await db.fetch_all(
        f"SELECT {_EVENT} FROM events e WHERE "
        + db.in_list("e.partner_id", "ids")
        + " AND e.seq > :after ORDER BY e.seq DESC LIMIT :limit",
        {"ids": db.list_param(partner_ids), "after": after, "limit": limit},
    )


async def partner_path(db: Database, partner_id: int) -> str | None:
    path: str | None = await db.fetch_val(
        "SELECT path FROM partners WHERE id = :id", {"id": partner_id}
    )
    return path


async def subscribers(db: Database, event_type: str, partner_ids: Sequence[int]) -> list[Row]:
    """Subscriptions to ``event_type`` of applications whose partner is one of
    ``partner_ids`` (the event partner and its ancestors)."""
    return await db.fetch_all(
        "SELECT s.id, a.partner_id, a.user_type, a.subunits FROM subscriptions s"
        " JOIN applications a ON a.client_id = s.client_id"
        " WHERE s.event_type = :t AND " + db.in_list("a.partner_id", "ids"),
        {"t": event_type, "ids": db.list_param(list(partner_ids))},
    )


async def insert_deliveries(db: Database, event_seq: int, subscription_ids: Sequence[str]) -> None:
    """The whole fan-out in one statement (2,000 subscriptions: 2,000 rows)."""
    if db.dialect == "postgresql":
        rows = "SELECT s, CAST(:e AS bigint), 'PROCESSED' FROM unnest(CAST(:ids AS text[])) AS s"
    else:
        rows = "SELECT value, :e, 'PROCESSED' FROM json_each(:ids)"
    await db.execute(
        "INSERT INTO event_deliveries (subscription_id, event_seq, status) " + rows,
        {"e": event_seq, "ids": db.list_param(list(subscription_ids))},
    )


async def undelivered(
    db: Database, subscription_id: str, limit: int, skip: Collection[int] = ()
) -> list[Row]:
    """The oldest PROCESSED events of the subscription but ``skip`` (the ones the asking
    stream has written and not yet confirmed)."""
    params: dict[str, object] = {"s": subscription_id, "limit": limit}
    leave_out = ""
    if skip:
        leave_out = " AND NOT " + db.in_list("d.event_seq", "skip")
        params["skip"] = db.list_param(list(skip))
    return await db.fetch_all(
        f"SELECT {_EVENT} FROM event_deliveries d JOIN events e ON e.seq = d.event_seq"
        f" WHERE d.subscription_id = :s AND d.status = 'PROCESSED'{leave_out}"
        " ORDER BY d.event_seq LIMIT :limit",
        params,
    )


async def after(db: Database, subscription_id: str, seq: int, limit: int) -> list[Row]:
    """Every event of the subscription after ``seq``, delivered or not (a replay)."""
    return await db.fetch_all(
        f"SELECT {_EVENT} FROM event_deliveries d JOIN events e ON e.seq = d.event_seq"
        " WHERE d.subscription_id = :s AND d.event_seq > :seq"
        " ORDER BY d.event_seq LIMIT :limit",
        {"s": subscription_id, "seq": seq, "limit": limit},
    )


async def seq_in(db: Database, subscription_id: str, event_id: str) -> int | None:
    """The seq of an event of this subscription; None for any other id, whether it names
    no event or another subscription's (one query either way: the answer must not tell)."""
    seq = await db.fetch_val(
        "SELECT d.event_seq FROM events e JOIN event_deliveries d"
        " ON d.event_seq = e.seq AND d.subscription_id = :s WHERE e.id = :id",
        {"s": subscription_id, "id": event_id},
    )
    return None if seq is None else int(seq)


async def mark_delivered_many(
    db: Database, marks: Sequence[tuple[str, Sequence[int]]], now: str
) -> None:
    """Mark events DELIVERED for several streams, (subscription, seqs) each, in one
    transaction: one commit instead of one per stream, one primary-key update per event."""
    pairs = [(sub, seq) for sub, seqs in marks for seq in seqs]
    if db.dialect == "postgresql":
        # One statement: PostgreSQL would run a batch of 2,000 updates one by one.
        await db.execute(
            "UPDATE event_deliveries d SET status = 'DELIVERED', delivered_at = :now"
            " FROM unnest(CAST(:subs AS text[]), CAST(:seqs AS bigint[])) AS m(s, e)"
            " WHERE d.subscription_id = m.s AND d.event_seq = m.e AND d.status = 'PROCESSED'",
            {"now": now, "subs": [p[0] for p in pairs], "seqs": [p[1] for p in pairs]},
        )
        return
    async with db.transaction():
        await db.execute_many(
            "UPDATE event_deliveries SET status = 'DELIVERED', delivered_at = :now"
            " WHERE subscription_id = :s AND event_seq = :e AND status = 'PROCESSED'",
            [{"s": sub, "e": seq, "now": now} for sub, seq in pairs],
        )


async def backlog(db: Database, subscription_id: str) -> Row:
    row = await db.fetch_one(
        "SELECT"
        " (SELECT COUNT(*) FROM event_deliveries WHERE subscription_id = :s"
        "  AND status = 'PROCESSED') AS undelivered,"
        " (SELECT MIN(e.time) FROM event_deliveries d JOIN events e ON e.seq = d.event_seq"
        "  WHERE d.subscription_id = :s AND d.status = 'PROCESSED') AS oldest_undelivered,"
        " (SELECT MAX(delivered_at) FROM event_deliveries WHERE subscription_id = :s"
        "  AND status = 'DELIVERED') AS last_delivered",
        {"s": subscription_id},
    )
    assert row is not None
    return row


async def purge_before(db: Database, cutoff: str) -> int:
    async with db.transaction():
        await db.execute(
            "DELETE FROM event_deliveries WHERE event_seq IN"
            " (SELECT seq FROM events WHERE created_at < :cutoff)",
            {"cutoff": cutoff},
        )
        return await db.execute("DELETE FROM events WHERE created_at < :cutoff", {"cutoff": cutoff})


async def notify(db: Database, channel: str, payload: str) -> None:
    """PostgreSQL: a NOTIFY sent when the current transaction commits (no-op on SQLite,
    where every stream lives in this process)."""
    if db.dialect == "postgresql":
        await db.fetch_val("SELECT pg_notify(:c, :p)", {"c": channel, "p": payload})
