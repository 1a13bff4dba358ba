"""SQL for the operator's catalogue: tariffs, options, materials, profiles."""

from __future__ import annotations

from typing import Any

from m2mportal.store.database import Database, Row

# Table name -> its columns besides id. The catalogue tables differ only in columns, so
# one set of statements serves them all.
TABLES: dict[str, tuple[str, ...]] = {
    "tariffs": ("name", "description", "binding_months"),
    "options": ("name", "description"),
    "materials": ("name", "sim_type", "min_order_quantity"),
    "profiles": ("kind", "name", "rules"),
}


async def insert(db: Database, table: str, values: dict[str, Any]) -> None:
    columns = ("id", *TABLES[table])
    await db.execute(
        f"INSERT INTO {table} ({', '.join(columns)})"
        f" VALUES ({', '.join(':' + c for c in columns)})",
        values,
    )


async def get(db: Database, table: str, item_id: int) -> Row | None:
    columns = ("id", *TABLES[table])
    return await db.fetch_one(
        f"SELECT {', '.join(columns)} FROM {table} WHERE id = :id", {"id": item_id}
    )


async def list_all(db: Database, table: str) -> list[Row]:
    columns = ("id", *TABLES[table])
    return await db.fetch_all(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id")


async def names(db: Database) -> dict[str, dict[int, str]]:
    """Every entry's name, per table (services/catalog_names.py), in one statement."""
    parts = [f"SELECT '{table}' AS tbl, id, name FROM {table}" for table in TABLES]
    rows = await db.fetch_values(" UNION ALL ".join(parts))
    found: dict[str, dict[int, str]] = {table: {} for table in TABLES}
    for table, item_id, name in rows:
        found[table][item_id] = name
    return found
