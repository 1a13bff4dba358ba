"""SQL of the rules engine: profiles and pools a batch's SIMs fall under, the rules'
running counters, the exactly-once ledger of fired levels, and the SIM state a rule sets.

Exactly once across processes (PostgreSQL): a counter increment is one upsert whose row
lock is held until the ingesting transaction commits, so a second process adds on top of
the first one's total; a level fires for whoever inserts its ``rule_firings`` row, the
other one's insert finds the key taken and does nothing. SQLite has one writer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from m2mportal.store.database import Database, Row
from m2mportal.store.network import _element, _json_rows


async def _returning(db: Database, sql: str, params: dict[str, Any]) -> Any:
    """The ``RETURNING ... AS found`` value of a write, or None (every row read, so SQLite
    finishes the statement before the transaction commits)."""
    rows = await db.fetch_all(sql, params)
    return rows[0]["found"] if rows else None


async def profiles(db: Database, ids: Sequence[int]) -> dict[int, Row]:
    if not ids:
        return {}
    rows = await db.fetch_all(
        "SELECT id, kind, name, rules FROM profiles WHERE " + db.in_list("id", "ids"),
        {"ids": db.list_param(list(ids))},
    )
    return {row["id"]: row for row in rows}


async def pools_of(db: Database, partner_ids: Sequence[int]) -> list[Row]:
    """The pools the SIMs of these partners draw from (their top partner's), one row per
    (pool, member partner)."""
    if not partner_ids:
        return []
    return await db.fetch_all(
        "SELECT pt.id AS member, p.offering_id, p.partner_id, p.name, p.offering_name,"
        " p.pool_type, p.allowance, p.level1, p.level2 FROM partners pt"
        " JOIN pools p ON pt.path LIKE '/' || CAST(p.partner_id AS TEXT) || '/%'"
        " WHERE " + db.in_list("pt.id", "ids") + " ORDER BY p.offering_id",
        {"ids": db.list_param(list(partner_ids))},
    )


async def tariffs(db: Database, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await db.fetch_all(
        "SELECT id, name FROM tariffs WHERE " + db.in_list("id", "ids"),
        {"ids": db.list_param(list(ids))},
    )
    return {row["id"]: row["name"] for row in rows}


async def add_many(
    db: Database, rows: Sequence[tuple[str, str, str, float]]
) -> dict[tuple[str, str, str], float]:
    """Adds ``(subject, period, rule, amount)`` to their counters (made at 0 the first
    time) in one statement and answers each one's new value; the rows stay locked, in the
    order given, until the transaction ends. In a transaction."""
    if not rows:
        return {}
    subject, period, rule, amount = (_element(db, i) for i in range(4))
    found = await db.fetch_all(
        "INSERT INTO rule_counters (subject, period, rule, value)"
        f" SELECT {subject}, {period}, {rule}, CAST({amount} AS DOUBLE PRECISION)"
        f" FROM {_json_rows(db)} WHERE true ON CONFLICT (subject, period, rule) DO UPDATE"
        " SET value = rule_counters.value + excluded.value"
        " RETURNING subject, period, rule, value",
        {"rows": json.dumps([list(row) for row in rows])},
    )
    return {(r["subject"], r["period"], r["rule"]): float(r["value"]) for r in found}


async def add_pool(
    db: Database, offering_id: int, owner: int, period: str, amount: float, start: str
) -> float:
    """A pool's counter: the first time in a month it starts from the month's totals of
    the owner's tree's SIMs (``start``: the counter expression, store/pools.py COUNTERS;
    they already hold this batch), later batches add ``amount``. In a transaction."""
    params = {"subject": f"pool:{offering_id}", "period": period, "amount": amount}
    value = await _returning(
        db,
        "UPDATE rule_counters SET value = value + :amount"
        " WHERE subject = :subject AND period = :period AND rule = 'pool' RETURNING value AS found",
        params,
    )
    if value is not None:
        return float(value)
    value = await _returning(
        db,
        "INSERT INTO rule_counters (subject, period, rule, value)"
        " SELECT CAST(:subject AS TEXT), CAST(:period AS TEXT), 'pool',"
        f" COALESCE(SUM({start}), 0) FROM sims s JOIN partners pt ON pt.id = s.partner_id"
        " WHERE s.usage_month = CAST(:period AS TEXT) AND pt.path LIKE :prefix"
        " ON CONFLICT (subject, period, rule) DO UPDATE"
        " SET value = rule_counters.value + :amount RETURNING value AS found",
        {**params, "prefix": f"/{owner}/%"},
    )
    return float(value)


async def fire(db: Database, subject: str, rule: str, level: int, period: str, now: str) -> bool:
    """Claims a level of a rule for a subject and period: True for the one caller that
    claimed it, False when it fired before (here or in another process)."""
    found = await _returning(
        db,
        "INSERT INTO rule_firings (subject, rule, level, period, fired_at)"
        " VALUES (:subject, :rule, :level, :period, :now)"
        " ON CONFLICT (subject, rule, level, period) DO NOTHING RETURNING level AS found",
        {"subject": subject, "rule": rule, "level": level, "period": period, "now": now},
    )
    return found is not None


async def forget_limits(db: Database, iccids: Sequence[str]) -> None:
    """resetlimitstatus: the SIMs' limit counters and fired limit levels start over."""
    if not iccids:
        return
    params = {"ids": db.list_param(list(iccids))}
    for table in ("rule_counters", "rule_firings"):
        await db.execute(
            f"DELETE FROM {table} WHERE rule LIKE 'limit:%' AND " + db.in_list("subject", "ids"),
            params,
        )


async def set_limit(
    db: Database,
    iccid: str,
    status: str,
    period: str,
    restriction: str | None,
    apn: str | None,
    now: str,
) -> None:
    """A limit rule's outcome on the SIM: the status, and at level 2 the restriction of
    the SIM (``apn`` null) or of one APN (its row made if the SIM had none)."""
    await db.execute(
        "UPDATE sims SET limit_status = :status, limit_period = :period,"
        " limit_apn = CASE WHEN CAST(:restriction AS TEXT) IS NULL THEN limit_apn"
        " ELSE CAST(:apn AS TEXT) END,"
        " restriction_status = CASE WHEN CAST(:restriction AS TEXT) IS NOT NULL"
        " AND CAST(:apn AS TEXT) IS NULL THEN CAST(:restriction AS TEXT)"
        " ELSE restriction_status END, updated_at = :now WHERE iccid = :iccid",
        {
            "iccid": iccid,
            "status": status,
            "period": period,
            "restriction": restriction,
            "apn": apn,
            "now": now,
        },
    )
    if restriction is not None and apn is not None:
        await set_apn(db, iccid, apn, restriction)


async def set_apn(db: Database, iccid: str, apn: str, restriction: str) -> None:
    await db.execute(
        "INSERT INTO sim_apns (iccid, name, static_ip, restriction_status)"
        " VALUES (:iccid, :apn, NULL, :restriction) ON CONFLICT (iccid, name)"
        " DO UPDATE SET restriction_status = excluded.restriction_status",
        {"iccid": iccid, "apn": apn, "restriction": restriction},
    )


async def new_period(db: Database, iccid: str, apn: str | None, now: str) -> None:
    """A new month: the limit state of the last one is over (its restriction lifted)."""
    await db.execute(
        "UPDATE sims SET limit_status = 'OK', limit_period = NULL, limit_apn = NULL,"
        " limit_before_override = NULL, restriction_status = CASE WHEN limit_status = 'Alarm'"
        " AND limit_apn IS NULL THEN 'No Restriction' ELSE restriction_status END,"
        " updated_at = :now WHERE iccid = :iccid",
        {"iccid": iccid, "now": now},
    )
    if apn is not None:
        await set_apn(db, iccid, apn, "No Restriction")


async def set_fraud(db: Database, iccid: str, fraud: str, restriction: str, now: str) -> bool:
    """Fraud bars data; True for the one caller that moved the SIM from OK."""
    found = await _returning(
        db,
        "UPDATE sims SET fraud_status = :fraud, restriction_status = :restriction,"
        " updated_at = :now WHERE iccid = :iccid AND fraud_status = 'OK' RETURNING iccid AS found",
        {"iccid": iccid, "fraud": fraud, "restriction": restriction, "now": now},
    )
    return found is not None


async def sim(db: Database, iccid: str) -> Row | None:
    return await db.fetch_one(
        "SELECT iccid, partner_id, limit_status, fraud_status, restriction_status"
        " FROM sims WHERE iccid = :iccid",
        {"iccid": iccid},
    )


async def set_state(db: Database, iccid: str, columns: dict[str, Any]) -> None:
    """The operator's direct setting; ``columns`` are fixed names chosen by the service."""
    assignments = ", ".join(f"{name} = :{name}" for name in sorted(columns))
    await db.execute(
        f"UPDATE sims SET {assignments} WHERE iccid = :iccid", {**columns, "iccid": iccid}
    )
