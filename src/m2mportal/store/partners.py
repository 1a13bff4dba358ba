"""SQL for partners (the customer tree) and portal users."""

from __future__ import annotations

from m2mportal.store.database import Database, Row


async def insert(
    db: Database, partner_id: int, name: str, parent_id: int | None, path: str, now: str
) -> None:
    await db.execute(
        "INSERT INTO partners (id, name, parent_id, path, created_at)"
        " VALUES (:id, :name, :parent_id, :path, :now)",
        {"id": partner_id, "name": name, "parent_id": parent_id, "path": path, "now": now},
    )


async def get(db: Database, partner_id: int) -> Row | None:
    return await db.fetch_one(
        "SELECT id, name, parent_id, path, created_at FROM partners WHERE id = :id",
        {"id": partner_id},
    )


async def all_partners(db: Database) -> list[Row]:
    return await db.fetch_all("SELECT id, name, parent_id, path FROM partners ORDER BY id")


async def children(db: Database, partner_id: int) -> list[Row]:
    return await db.fetch_all(
        "SELECT id, name FROM partners WHERE parent_id = :id ORDER BY id", {"id": partner_id}
    )


async def sim_counts(db: Database, partner_ids: list[int]) -> list[Row]:
    return await db.fetch_all(
        "SELECT status, COUNT(*) AS n FROM sims WHERE "
        + db.in_list("partner_id", "ids")
        + " GROUP BY status",
        {"ids": db.list_param(partner_ids)},
    )


async def insert_portal_user(
    db: Database, partner_id: int, username: str, password_hash: str, now: str
) -> None:
    await db.execute(
        "INSERT INTO portal_users (partner_id, username, password_hash, created_at)"
        " VALUES (:partner_id, :username, :password_hash, :now)",
        {
            "partner_id": partner_id,
            "username": username,
            "password_hash": password_hash,
            "now": now,
        },
    )


async def get_portal_user(db: Database, username: str) -> Row | None:
    return await db.fetch_one(
        "SELECT id, partner_id, username, password_hash FROM portal_users WHERE username = :u",
        {"u": username},
    )


async def set_limits(db: Database, partner_id: int, limit_class: str, rates_json: str) -> None:
    async with db.transaction():
        await db.execute(
            "DELETE FROM partner_limits WHERE partner_id = :p AND limit_class = :c",
            {"p": partner_id, "c": limit_class},
        )
        await db.execute(
            "INSERT INTO partner_limits (partner_id, limit_class, rates) VALUES (:p, :c, :r)",
            {"p": partner_id, "c": limit_class, "r": rates_json},
        )


async def get_limits(db: Database, partner_id: int) -> list[Row]:
    return await db.fetch_all(
        "SELECT limit_class, rates FROM partner_limits WHERE partner_id = :p", {"p": partner_id}
    )


async def set_password(db: Database, username: str, password_hash: str) -> int:
    return await db.execute(
        "UPDATE portal_users SET password_hash = :h WHERE username = :u",
        {"h": password_hash, "u": username},
    )
