"""SQL for API clients (partner applications and operator clients) and subscriptions."""

from __future__ import annotations

from typing import Any

from m2mportal.store.database import Database, Row

_COLUMNS = (
    "client_id, partner_id, role, name, secret_enc, event_client_id, event_secret_enc, status,"
    " read_only, ip_whitelist, user_type, subunits, created_at, updated_at"
)


async def insert(db: Database, values: dict[str, Any]) -> None:
    await db.execute(
        f"INSERT INTO applications ({_COLUMNS}) VALUES (:client_id, :partner_id, :role, :name,"
        " :secret_enc, :event_client_id, :event_secret_enc, :status, :read_only, :ip_whitelist,"
        " :user_type, :subunits, :created_at, :updated_at)",
        values,
    )


async def get(db: Database, client_id: str) -> Row | None:
    return await db.fetch_one(
        f"SELECT {_COLUMNS} FROM applications WHERE client_id = :id", {"id": client_id}
    )


async def get_by_event_client(db: Database, event_client_id: str) -> Row | None:
    return await db.fetch_one(
        f"SELECT {_COLUMNS} FROM applications WHERE event_client_id = :id", {"id": event_client_id}
    )


async def list_for_partner(db: Database, partner_id: int) -> list[Row]:
    return await db.fetch_all(
        f"SELECT {_COLUMNS} FROM applications WHERE partner_id = :p ORDER BY created_at, client_id",
        {"p": partner_id},
    )


async def update(db: Database, client_id: str, values: dict[str, Any]) -> int:
    sets = ", ".join(f"{column} = :{column}" for column in values)
    return await db.execute(
        f"UPDATE applications SET {sets} WHERE client_id = :client_id",
        {**values, "client_id": client_id},
    )


async def activate_created(db: Database, now: str, created_before: str) -> int:
    """Provisioning finished: applications 'In Creation' since before the cutoff go Active."""
    return await db.execute(
        "UPDATE applications SET status = 'Active', updated_at = :now"
        " WHERE status = 'In Creation' AND created_at <= :cutoff",
        {"now": now, "cutoff": created_before},
    )


async def activate(db: Database, client_id: str, now: str) -> int:
    """One application's provisioning finished (a no-op once it is Active)."""
    return await db.execute(
        "UPDATE applications SET status = 'Active', updated_at = :now"
        " WHERE client_id = :id AND status = 'In Creation'",
        {"now": now, "id": client_id},
    )


async def set_secret(db: Database, client_id: str, column: str, encrypted: str, now: str) -> int:
    """Replace the REST (``secret_enc``) or the event (``event_secret_enc``) secret."""
    if column not in ("secret_enc", "event_secret_enc"):
        raise ValueError(column)
    return await db.execute(
        f"UPDATE applications SET {column} = :secret, updated_at = :now WHERE client_id = :id",
        {"secret": encrypted, "now": now, "id": client_id},
    )


async def delete(db: Database, client_id: str) -> int:
    async with db.transaction():
        await db.execute("DELETE FROM subscriptions WHERE client_id = :id", {"id": client_id})
        return await db.execute("DELETE FROM applications WHERE client_id = :id", {"id": client_id})


async def insert_subscription(
    db: Database, subscription_id: str, client_id: str, event_type: str, now: str
) -> None:
    await db.execute(
        "INSERT INTO subscriptions (id, client_id, event_type, created_at)"
        " VALUES (:id, :client_id, :event_type, :now)",
        {"id": subscription_id, "client_id": client_id, "event_type": event_type, "now": now},
    )


async def subscriptions_of(db: Database, client_id: str) -> list[Row]:
    return await db.fetch_all(
        "SELECT id, event_type, created_at FROM subscriptions WHERE client_id = :id"
        " ORDER BY event_type",
        {"id": client_id},
    )


async def get_subscription(db: Database, subscription_id: str) -> Row | None:
    return await db.fetch_one(
        "SELECT id, client_id, event_type, created_at FROM subscriptions WHERE id = :id",
        {"id": subscription_id},
    )
