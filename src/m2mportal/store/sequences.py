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
    # Serial numbers of ordered SIMs (services/orders.py): far above the demo's and the
    # imports' serials, below the IMSI's 10 subscriber digits.
    "ordered_sim": 9_000_000_000,
}


async def next_id(db: Database, name: str, count: int = 1) -> int:
    """Reserve ``count`` ids and return the first. One upsert: two processes creating the
    same counter at once on a fresh database both succeed."""
    value = await db.fetch_val(
        "INSERT INTO sequences (name, value) VALUES (:name, :first)"
        " ON CONFLICT (name) DO UPDATE SET value = sequences.value + :count RETURNING value",
        {"name": name, "first": STARTS[name] + count - 1, "count": count},
    )
    return int(value) - count + 1
