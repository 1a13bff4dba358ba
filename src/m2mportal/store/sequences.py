"""Numeric ids shaped like the seed's (partner 100013, signup 708855306)."""

from __future__ import annotations

from m2mportal.store.database import Database

STARTS = {
    "partner": 100013,
    "signup": 708855306,
    "transaction": 1002946614,
    "tariff": 800000100,
    "option": 800000500,
    "material": 800001000,
    "profile": 708529600,
    "offering": 800206100,
    "event": 706409461,
}


async def next_id(db: Database, name: str, count: int = 1) -> int:
    """Reserve ``count`` ids and return the first; call inside the caller's transaction."""
    async with db.transaction():
        current = await db.fetch_val(
            "UPDATE sequences SET value = value + :count WHERE name = :name RETURNING value",
            {"name": name, "count": count},
        )
        if current is None:
            start = STARTS[name]
            await db.execute(
                "INSERT INTO sequences (name, value) VALUES (:name, :value)",
                {"name": name, "value": start + count - 1},
            )
            return start
        return int(current) - count + 1
