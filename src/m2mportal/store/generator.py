"""SQL for the traffic generator: its control row, the SIMs that may produce traffic,
and the generated sessions still open."""

from __future__ import annotations

from typing import Any

from m2mportal.store.database import Database, Row

_COLUMNS = "running, speed, seed, action_delay_ms, per_sim_delay_ms, position, updated_at"


async def config(db: Database) -> Row | None:
    return await db.fetch_one(f"SELECT {_COLUMNS} FROM simulator_config WHERE id = 1")


async def save_config(db: Database, values: dict[str, Any]) -> None:
    """Writes the whole row (``running, speed, seed, action_delay_ms, per_sim_delay_ms,
    position, updated_at``), creating it the first time."""
    await db.execute(
        f"INSERT INTO simulator_config (id, {_COLUMNS}) VALUES (1, :running, :speed, :seed,"
        " :action_delay_ms, :per_sim_delay_ms, :position, :updated_at)"
        " ON CONFLICT (id) DO UPDATE SET running = excluded.running, speed = excluded.speed,"
        " seed = excluded.seed, action_delay_ms = excluded.action_delay_ms,"
        " per_sim_delay_ms = excluded.per_sim_delay_ms, position = excluded.position,"
        " updated_at = excluded.updated_at",
        values,
    )


async def move_position(db: Database, start: float | None, end: float) -> bool:
    """Sets the position to ``end`` if it is still ``start`` (another process generating
    the same window moved it already otherwise); answers whether it did."""
    if start is None:
        changed = await db.execute(
            "UPDATE simulator_config SET position = :end WHERE id = 1 AND position IS NULL",
            {"end": end},
        )
    else:
        changed = await db.execute(
            "UPDATE simulator_config SET position = :end WHERE id = 1 AND position = :start",
            {"start": start, "end": end},
        )
    return changed > 0


async def active_sims(db: Database, after: str, limit: int) -> list[Row]:
    """A page of Active SIMs with ICCIDs above ``after``, in ICCID order, with what the
    generator reads: restriction and fraud status, MSISDN, IMEI and APN names (``apns``:
    comma-separated, or null)."""
    aggregate = (
        "string_agg(a.name, ',' ORDER BY a.name)"
        if db.dialect == "postgresql"
        else "group_concat(a.name, ',')"
    )
    return await db.fetch_all(
        "SELECT s.iccid, s.restriction_status, s.fraud_status, s.msisdn, s.imei,"
        f" {aggregate} AS apns FROM"
        " (SELECT iccid, restriction_status, fraud_status, msisdn, imei FROM sims"
        "  WHERE status = 'Active' AND iccid > :after ORDER BY iccid LIMIT :limit) s"
        " LEFT JOIN sim_apns a ON a.iccid = s.iccid"
        " GROUP BY s.iccid, s.restriction_status, s.fraud_status, s.msisdn, s.imei"
        " ORDER BY s.iccid",
        {"after": after, "limit": limit},
    )


async def open_generated_sessions(db: Database, prefix: str) -> list[Row]:
    """Open sessions whose id starts with ``prefix`` (the generator's own)."""
    return await db.fetch_all(
        "SELECT session_id, iccid, started_at, bytes_up, bytes_down FROM data_sessions"
        " WHERE ended_at IS NULL AND session_id LIKE :pattern",
        {"pattern": prefix + "%"},
    )
