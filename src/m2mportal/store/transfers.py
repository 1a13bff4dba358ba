"""SQL for SIM transfers: the transfer row, the allowed relations, the SIMs it locks, and
the one statement that hands every SIM of a completed transfer to its new owner."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from m2mportal.store.database import Database, Row

_COLUMNS = (
    "transaction_id, signup_id, sender_partner_id, receiver_partner_id, subunit_partner_id,"
    " status, message, decided_by, created_at, decided_at, completed_at"
)


async def insert(db: Database, values: dict[str, Any]) -> None:
    await db.execute(
        f"INSERT INTO transfers ({_COLUMNS}) VALUES (:transaction_id, :signup_id,"
        " :sender_partner_id, :receiver_partner_id, NULL, :status, :message, NULL,"
        " :created_at, NULL, NULL)",
        values,
    )


async def get(db: Database, transaction_id: int) -> Row | None:
    return await db.fetch_one(
        f"SELECT {_COLUMNS} FROM transfers WHERE transaction_id = :id", {"id": transaction_id}
    )


async def by_signup(db: Database, signup_id: int) -> Row | None:
    return await db.fetch_one(
        f"SELECT {_COLUMNS} FROM transfers WHERE signup_id = :id", {"id": signup_id}
    )


async def decide(
    db: Database, transaction_id: int, status: str, by: str, subunit: int | None, now: str
) -> Row | None:
    """Pending -> ``status``, once: of two deciders at the same moment one gets the row,
    the other None (the row is no longer Pending)."""
    return await db.fetch_one(
        "UPDATE transfers SET status = :status, decided_by = :by, decided_at = :now,"
        " subunit_partner_id = :subunit"
        " WHERE transaction_id = :id AND status = 'Pending'"
        f" RETURNING {_COLUMNS}",
        {"id": transaction_id, "status": status, "by": by, "subunit": subunit, "now": now},
    )


async def complete(db: Database, signup_id: int, now: str) -> Row | None:
    """Accepted -> Completed, once (None when it is not an accepted transfer)."""
    return await db.fetch_one(
        "UPDATE transfers SET status = 'Completed', completed_at = :now"
        " WHERE signup_id = :id AND status = 'Accepted'"
        f" RETURNING {_COLUMNS}",
        {"id": signup_id, "now": now},
    )


async def hand_over(db: Database, signup_id: int, destination: int, now: str) -> int:
    """Every SIM the transfer applied goes to ``destination``, in one statement."""
    return await db.execute(
        "UPDATE sims SET partner_id = :dest, updated_at = :now WHERE iccid IN"
        " (SELECT iccid FROM action_sims WHERE signup_id = :id AND status = 'Done')",
        {"dest": destination, "now": now, "id": signup_id},
    )


async def locked(db: Database, iccids: Sequence[str]) -> dict[str, int]:
    """``iccid -> transactionId`` for the SIMs of open transfers (Pending or Accepted)
    that the transfer has not failed or cancelled."""
    if not iccids:
        return {}
    rows = await db.fetch_all(
        "SELECT s.iccid, t.transaction_id FROM action_sims s"
        " JOIN transfers t ON t.signup_id = s.signup_id"
        " WHERE t.status IN ('Pending', 'Accepted') AND s.status IN ('Pending', 'Done')"
        " AND " + db.in_list("s.iccid", "iccids"),
        {"iccids": db.list_param(list(iccids))},
    )
    return {row["iccid"]: row["transaction_id"] for row in rows}


async def allowed_targets(db: Database, partner_id: int) -> frozenset[int]:
    rows = await db.fetch_all(
        "SELECT target_partner_id FROM transfer_partners WHERE partner_id = :p"
        " ORDER BY target_partner_id",
        {"p": partner_id},
    )
    return frozenset(row["target_partner_id"] for row in rows)


async def set_targets(db: Database, partner_id: int, targets: Sequence[int]) -> None:
    async with db.transaction():
        await db.execute("DELETE FROM transfer_partners WHERE partner_id = :p", {"p": partner_id})
        await db.execute_many(
            "INSERT INTO transfer_partners (partner_id, target_partner_id) VALUES (:p, :t)",
            [{"p": partner_id, "t": target} for target in targets],
        )
