"""SQL for SIM actions: the action row, its per-SIM rows, claims, counters, idempotency."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from m2mportal.store.database import Database, Row

_ACTION_COLUMNS = (
    "signup_id, partner_id, client_id, action, status, params, total, pending, done, failed,"
    " cancelled, not_before, created_at, started_at, finished_at"
)


async def insert(db: Database, values: dict[str, Any]) -> None:
    await db.execute(
        f"INSERT INTO actions ({_ACTION_COLUMNS}) VALUES (:signup_id, :partner_id, :client_id,"
        " :action, :status, :params, :total, :pending, :done, :failed, :cancelled, :not_before,"
        " :created_at, NULL, NULL)",
        values,
    )


async def insert_sims(db: Database, rows: Sequence[Sequence[Any]]) -> None:
    await db.copy_rows(
        "action_sims",
        ("signup_id", "seq", "selector", "iccid", "status", "error", "processed_at"),
        rows,
    )


async def get(db: Database, signup_id: int, partner_ids: list[int]) -> Row | None:
    return await db.fetch_one(
        f"SELECT {_ACTION_COLUMNS} FROM actions WHERE signup_id = :id AND "
        + db.in_list("partner_id", "partner_ids"),
        {"id": signup_id, "partner_ids": db.list_param(partner_ids)},
    )


async def get_any(db: Database, signup_id: int) -> Row | None:
    return await db.fetch_one(
        f"SELECT {_ACTION_COLUMNS} FROM actions WHERE signup_id = :id", {"id": signup_id}
    )


async def sims_of(db: Database, signup_id: int) -> list[Row]:
    return await db.fetch_all(
        "SELECT seq, selector, iccid, status, error, processed_at FROM action_sims"
        " WHERE signup_id = :id ORDER BY seq",
        {"id": signup_id},
    )


def _list_where(
    db: Database, partner_ids: list[int], action: str | None, status: str | None,
    created_from: str | None, created_to: str | None,
) -> tuple[str, dict[str, Any]]:  # fmt: skip
    clauses = [db.in_list("partner_id", "partner_ids")]
    params: dict[str, Any] = {"partner_ids": db.list_param(partner_ids)}
    for column, value, op in (
        ("action", action, "="),
        ("status", status, "="),
        ("created_at", created_from, ">="),
        ("created_at", created_to, "<"),
    ):
        if value is not None:
            name = f"p{len(params)}"
            clauses.append(f"{column} {op} :{name}")
            params[name] = value
    return " AND ".join(clauses), params


async def list_page(
    db: Database, partner_ids: list[int], action: str | None, status: str | None,
    created_from: str | None, created_to: str | None, limit: int, offset: int,
) -> tuple[list[Row], int]:  # fmt: skip
    where, params = _list_where(db, partner_ids, action, status, created_from, created_to)
    rows = await db.fetch_all(
        f"SELECT {_ACTION_COLUMNS} FROM actions WHERE {where}"
        " ORDER BY signup_id DESC LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )
    total = await db.fetch_val(f"SELECT COUNT(*) FROM actions WHERE {where}", params)
    return rows, int(total or 0)


def _claim_sql(db: Database) -> str:
    # A SIM row is ready when its action's start delay has passed and no earlier-accepted
    # action still has that SIM pending: actions on one SIM apply in acceptance order.
    sql = (
        "SELECT s.signup_id, s.seq, s.selector, s.iccid FROM action_sims s"
        " JOIN actions a ON a.signup_id = s.signup_id"
        " WHERE s.status = 'Pending' AND a.not_before <= :now"
        " AND NOT EXISTS (SELECT 1 FROM action_sims e WHERE e.iccid = s.iccid"
        " AND e.status = 'Pending' AND e.signup_id < s.signup_id)"
        " ORDER BY s.signup_id, s.seq LIMIT :limit"
    )
    if db.dialect == "postgresql":
        sql += " FOR UPDATE OF s SKIP LOCKED"
    return sql


async def claim(db: Database, now: str, limit: int) -> list[Row]:
    """Up to ``limit`` ready SIM rows; on PostgreSQL locked until the caller's transaction
    ends, and skipped by other workers meanwhile."""
    if db.dialect == "postgresql":
        # Plan the claim for the table as it is now. After five runs PostgreSQL may keep a
        # generic plan made while action_sims was small (bitmap scan of every Pending row,
        # sort, then the NOT EXISTS per row); once an earlier action on the same SIMs left
        # index entries behind, that plan cost ~150 ms a claim.
        await db.execute("SET LOCAL plan_cache_mode = force_custom_plan")
    return await db.fetch_all(_claim_sql(db), {"now": now, "limit": limit})


async def mark_sims(db: Database, rows: Sequence[dict[str, Any]]) -> None:
    """Per-SIM results: ``{"id", "seq", "status", "error", "now"}`` each."""
    await db.execute_many(
        "UPDATE action_sims SET status = :status, error = :error, processed_at = :now"
        " WHERE signup_id = :id AND seq = :seq AND status = 'Pending'",
        rows,
    )


async def count_sims(db: Database, signup_id: int, done: int, failed: int, now: str) -> Row:
    """Count processed SIMs on the action row. The row lock this takes serialises the last
    SIMs of an action across workers, so exactly one of them sees pending reach 0."""
    row = await db.fetch_one(
        "UPDATE actions SET pending = pending - :n, done = done + :done,"
        " failed = failed + :failed,"
        " status = CASE WHEN status = 'Pending' THEN 'In Progress' ELSE status END,"
        " started_at = COALESCE(started_at, :now)"
        " WHERE signup_id = :id"
        " RETURNING pending, done, failed, cancelled, status, partner_id, action",
        {"id": signup_id, "n": done + failed, "done": done, "failed": failed, "now": now},
    )
    assert row is not None
    return row


async def cancel_pending(db: Database, signup_id: int, now: str) -> int:
    return await db.execute(
        "UPDATE action_sims SET status = 'Cancelled', processed_at = :now"
        " WHERE signup_id = :id AND status = 'Pending'",
        {"id": signup_id, "now": now},
    )


async def count_cancelled(db: Database, signup_id: int, count: int) -> Row:
    row = await db.fetch_one(
        "UPDATE actions SET pending = pending - :n, cancelled = cancelled + :n"
        " WHERE signup_id = :id"
        " RETURNING pending, done, failed, cancelled, status, partner_id, action",
        {"id": signup_id, "n": count},
    )
    assert row is not None
    return row


async def lock_action(db: Database, signup_id: int) -> Row | None:
    sql = f"SELECT {_ACTION_COLUMNS} FROM actions WHERE signup_id = :id"
    if db.dialect == "postgresql":
        sql += " FOR UPDATE"
    return await db.fetch_one(sql, {"id": signup_id})


async def release(db: Database, signup_id: int, now: str) -> None:
    """A held action (its SIMs waiting for a decision) may start now."""
    await db.execute(
        "UPDATE actions SET not_before = :now WHERE signup_id = :id", {"id": signup_id, "now": now}
    )


async def finish(db: Database, signup_id: int, status: str, now: str) -> int:
    return await db.execute(
        "UPDATE actions SET status = :status, finished_at = :now"
        " WHERE signup_id = :id AND finished_at IS NULL",
        {"status": status, "now": now, "id": signup_id},
    )


async def unfinished_without_pending(db: Database) -> list[Row]:
    """Actions whose SIMs are all processed but that were never finished (all SIMs failed
    at acceptance, or a crash between the last SIM and the finish)."""
    return await db.fetch_all(
        f"SELECT {_ACTION_COLUMNS} FROM actions WHERE finished_at IS NULL AND pending = 0"
    )


async def get_idempotency(db: Database, partner_id: int, key: str) -> Row | None:
    return await db.fetch_one(
        "SELECT request_hash, signup_id, created_at FROM idempotency_keys"
        " WHERE partner_id = :p AND key = :k",
        {"p": partner_id, "k": key},
    )


async def put_idempotency(
    db: Database, partner_id: int, key: str, request_hash: str, signup_id: int, now: str
) -> None:
    await db.execute(
        "DELETE FROM idempotency_keys WHERE partner_id = :p AND key = :k",
        {"p": partner_id, "k": key},
    )
    await db.execute(
        "INSERT INTO idempotency_keys (partner_id, key, request_hash, signup_id, created_at)"
        " VALUES (:p, :k, :h, :s, :now)",
        {"p": partner_id, "k": key, "h": request_hash, "s": signup_id, "now": now},
    )


async def record_changes(db: Database, rows: Sequence[dict[str, Any]]) -> None:
    """Audit rows: ``{"iccid", "signup_id", "action", "changes", "worker", "now"}`` each."""
    await db.execute_many(
        "INSERT INTO sim_changes (iccid, signup_id, action, changes, worker, changed_at)"
        " VALUES (:iccid, :signup_id, :action, :changes, :worker, :now)",
        rows,
    )


async def purge_idempotency_before(db: Database, cutoff: str) -> int:
    return await db.execute(
        "DELETE FROM idempotency_keys WHERE created_at < :cutoff", {"cutoff": cutoff}
    )
