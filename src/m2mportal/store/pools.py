"""SQL for pools: their definitions, and their usage summed from the SIMs' month counters
(store/network.py keeps those per SIM as records are ingested)."""

from __future__ import annotations

from typing import Any

from m2mportal.store.database import Database, Row

# Per pool type, the counter expression it draws on.
COUNTERS = {"Data": "data_bytes", "Voice": "voice_seconds", "SMS": "sms_mo + sms_mt"}


async def insert(db: Database, values: dict[str, Any]) -> None:
    await db.execute(
        "INSERT INTO pools (offering_id, partner_id, name, offering_name, pool_type,"
        " allowance, level1, level2, created_at) VALUES (:offering_id, :partner_id, :name,"
        " :offering_name, :pool_type, :allowance, :level1, :level2, :created_at)",
        values,
    )


async def with_usage(db: Database, owner: int, partner_ids: list[int], month: str) -> list[Row]:
    """The owner's pools, each with the month's totals of the SIMs of ``partner_ids``
    (``used_data``, ``used_voice``, ``used_sms``), in one statement. A SIM whose counters
    hold an older month has used nothing this month."""
    totals = ", ".join(
        f"COALESCE(SUM({expr}), 0) AS used_{kind.lower()}" for kind, expr in COUNTERS.items()
    )
    return await db.fetch_all(
        "SELECT p.offering_id, p.name, p.offering_name, p.pool_type, p.allowance, p.level1,"
        " p.level2, u.used_data, u.used_voice, u.used_sms FROM pools p CROSS JOIN"
        f" (SELECT {totals} FROM sims WHERE usage_month = :month AND "
        + db.in_list("partner_id", "partner_ids")
        + ") u WHERE p.partner_id = :owner ORDER BY p.offering_id",
        {"owner": owner, "month": month, "partner_ids": db.list_param(partner_ids)},
    )
