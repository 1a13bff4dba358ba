"""SQL for SIM orders: the order row and claiming the next one due for delivery."""

from __future__ import annotations

from typing import Any

from m2mportal.store.database import Database, Row

_COLUMNS = "signup_id, partner_id, material_id, quantity, override_moq, tariff_id, delivered_at"


async def insert(db: Database, values: dict[str, Any]) -> None:
    await db.execute(
        f"INSERT INTO orders ({_COLUMNS}) VALUES (:signup_id, :partner_id, :material_id,"
        " :quantity, :override_moq, :tariff_id, NULL)",
        values,
    )


async def claim_due(db: Database, now: str) -> Row | None:
    """The oldest undelivered order whose backend delay has passed; on PostgreSQL locked
    until the caller's transaction ends and skipped by other workers meanwhile."""
    sql = (
        "SELECT o.signup_id, o.partner_id, o.material_id, o.quantity, o.override_moq,"
        " o.tariff_id, o.delivered_at FROM orders o"
        " JOIN actions a ON a.signup_id = o.signup_id"
        " WHERE o.delivered_at IS NULL AND a.not_before <= :now"
        " ORDER BY o.signup_id LIMIT 1"
    )
    if db.dialect == "postgresql":
        sql += " FOR UPDATE OF o SKIP LOCKED"
    return await db.fetch_one(sql, {"now": now})


async def mark_delivered(db: Database, signup_id: int, now: str) -> int:
    return await db.execute(
        "UPDATE orders SET delivered_at = :now WHERE signup_id = :id AND delivered_at IS NULL",
        {"id": signup_id, "now": now},
    )
