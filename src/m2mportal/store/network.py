"""SQL for the network: the record ledger, data sessions, SMS and voice records, and the
per-SIM month counters on the ``sims`` row that the SIM list and details read."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from m2mportal.store.database import Database, Row

_SESSION = (
    "session_id, iccid, apn, ip_address, rat_type, imei, mcc, mnc, started_at, updated_at,"
    " ended_at, bytes_up, bytes_down, end_cause, restriction_reason"
)
_SMS = (
    "sms_id, iccid, direction, sent_at, originator, destination, status, status_at,"
    " expires_at, mcc, mnc, cost"
)


def _json_rows(db: Database) -> str:
    """A FROM clause reading the JSON array of arrays ``:rows`` as rows ``r``."""
    if db.dialect == "postgresql":
        return "jsonb_array_elements(CAST(:rows AS jsonb)) AS r"
    return "json_each(:rows) AS r"


def _element(db: Database, index: int) -> str:
    return f"r ->> {index}" if db.dialect == "postgresql" else f"r.value ->> {index}"


async def claim(db: Database, rows: Sequence[tuple[str, str, str, str]], now: str) -> set[str]:
    """Writes ``(record_id, kind, iccid, recorded_at)`` to the ledger in one statement and
    answers the ids that were new; a known id (from an earlier batch or another process)
    is skipped by the primary key, so each record takes effect once. In a transaction."""
    if not rows:
        return set()
    columns = ", ".join(_element(db, i) for i in range(4))
    found = await db.fetch_all(
        "INSERT INTO network_records (record_id, kind, iccid, recorded_at, received_at)"
        f" SELECT {columns}, :now FROM {_json_rows(db)} WHERE true"
        " ON CONFLICT (record_id) DO NOTHING RETURNING record_id",
        {"rows": json.dumps([list(row) for row in rows]), "now": now},
    )
    return {row["record_id"] for row in found}


async def sims_of(db: Database, iccids: Sequence[str]) -> dict[str, Row]:
    rows = await db.fetch_all(
        "SELECT iccid, partner_id, status, restriction_status, imsi, msisdn, euiccid,"
        " imei_key, tariff_id, limit_status, fraud_status, limit_period, limit_apn,"
        " limit_profile_id, fraud_profile_id, cost_limit_profile_id FROM sims WHERE "
        + db.in_list("iccid", "iccids"),
        {"iccids": db.list_param(list(iccids))},
    )
    return {row["iccid"]: row for row in rows}


async def sessions_by_id(db: Database, session_ids: Sequence[str]) -> dict[str, Row]:
    if not session_ids:
        return {}
    rows = await db.fetch_all(
        f"SELECT {_SESSION} FROM data_sessions WHERE " + db.in_list("session_id", "ids"),
        {"ids": db.list_param(list(session_ids))},
    )
    return {row["session_id"]: row for row in rows}


async def known_sms(db: Database, sms_ids: Sequence[str]) -> set[str]:
    if not sms_ids:
        return set()
    rows = await db.fetch_all(
        "SELECT sms_id FROM sms_records WHERE " + db.in_list("sms_id", "ids"),
        {"ids": db.list_param(list(sms_ids))},
    )
    return {row["sms_id"] for row in rows}


async def insert_sessions(db: Database, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await db.execute_many(
            "INSERT INTO data_sessions (session_id, iccid, apn, ip_address, rat_type, imei, mcc,"
            " mnc, started_at, updated_at, ended_at, bytes_up, bytes_down, end_cause,"
            " restriction_reason) VALUES (:session_id, :iccid, :apn, :ip_address, :rat_type,"
            " :imei, :mcc, :mnc, :started_at, :started_at, NULL, 0, 0, NULL,"
            " :restriction_reason) ON CONFLICT (session_id) DO NOTHING",
            rows,
        )


async def update_sessions(db: Database, rows: Sequence[dict[str, Any]]) -> None:
    """Totals, and for a stop its end: ``session_id, bytes_up, bytes_down, updated_at,
    ended_at, end_cause`` (the last two null for an update)."""
    if rows:
        await db.execute_many(
            "UPDATE data_sessions SET bytes_up = :bytes_up, bytes_down = :bytes_down,"
            " updated_at = :updated_at, ended_at = :ended_at, end_cause = :end_cause"
            " WHERE session_id = :session_id",
            rows,
        )


async def deliver_pending(db: Database, iccid: str, at: str) -> None:
    """A device that attaches receives the MT messages the SMSC still holds for it."""
    await db.execute(
        "UPDATE sms_records SET status = 'DELIVERED', status_at = :at, expires_at = NULL"
        " WHERE iccid = :iccid AND status = 'PENDING' AND direction = 'MT'"
        " AND expires_at > :at AND sent_at <= :at",
        {"iccid": iccid, "at": at},
    )


async def insert_sms(db: Database, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await db.execute_many(
            f"INSERT INTO sms_records ({_SMS}) VALUES (:sms_id, :iccid, :direction, :sent_at,"
            " :originator, :destination, :status, :status_at, :expires_at, :mcc, :mnc, :cost)"
            " ON CONFLICT (sms_id) DO NOTHING",
            rows,
        )


async def set_sms_status(db: Database, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await db.execute_many(
            "UPDATE sms_records SET status = :status, status_at = :status_at"
            " WHERE sms_id = :sms_id",
            rows,
        )


async def insert_voice(db: Database, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await db.execute_many(
            "INSERT INTO voice_records (call_id, iccid, direction, started_at,"
            " duration_seconds, mcc, mnc, cost) VALUES (:call_id, :iccid, :direction,"
            " :started_at, :duration_seconds, :mcc, :mnc, :cost)"
            " ON CONFLICT (call_id) DO NOTHING",
            rows,
        )


# The counters hold the month in usage_month: a later month starts them afresh, an earlier
# one (a late record) leaves them alone; SET reads the row as it was before the update.
_NEWER = "(usage_month IS NULL OR usage_month < :month)"


def _counter(column: str, delta: str) -> str:
    return (
        f"{column} = CASE WHEN usage_month = :month THEN {column} + :{delta}"
        f" WHEN {_NEWER} THEN :{delta} ELSE {column} END"
    )


async def add_usage(db: Database, rows: Sequence[dict[str, Any]]) -> None:
    """Per SIM and month: ``iccid, month, data, mo, mt, voice, sessions, last, imei,
    imei_key`` (``last``: newest session start, ``imei``: the device seen, or null)."""
    if rows:
        await db.execute_many(
            "UPDATE sims SET "
            + ", ".join(
                _counter(column, delta)
                for column, delta in (
                    ("data_bytes", "data"),
                    ("sms_mo", "mo"),
                    ("sms_mt", "mt"),
                    ("voice_seconds", "voice"),
                    ("session_count", "sessions"),
                )
            )
            + f", usage_month = CASE WHEN {_NEWER} THEN :month ELSE usage_month END,"
            " last_session_at = CASE WHEN CAST(:last AS TEXT) IS NOT NULL AND"
            " (last_session_at IS NULL OR last_session_at < CAST(:last AS TEXT))"
            " THEN CAST(:last AS TEXT) ELSE last_session_at END,"
            " imei = COALESCE(CAST(:imei AS TEXT), imei),"
            " imei_key = COALESCE(CAST(:imei_key AS TEXT), imei_key)"
            " WHERE iccid = :iccid",
            rows,
        )


async def open_sessions(db: Database, iccid: str) -> list[Row]:
    return await db.fetch_all(
        f"SELECT {_SESSION} FROM data_sessions WHERE iccid = :iccid AND ended_at IS NULL"
        " ORDER BY started_at DESC, session_id DESC",
        {"iccid": iccid},
    )


async def closed_sessions(
    db: Database, iccid: str, start: str, end: str, limit: int, offset: int
) -> tuple[list[Row], int]:
    """A page of the sessions that ended, started in ``[start, end)``, newest first."""
    where = (
        " FROM data_sessions WHERE iccid = :iccid AND started_at >= :start"
        " AND started_at < :end AND ended_at IS NOT NULL"
    )
    params = {"iccid": iccid, "start": start, "end": end}
    rows = await db.fetch_all(
        f"SELECT {_SESSION}{where} ORDER BY started_at DESC, session_id DESC"
        " LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )
    total = int(await db.fetch_val("SELECT COUNT(*)" + where, params) or 0)
    return rows, total


async def sms_page(
    db: Database, iccid: str, start: str, end: str, limit: int, offset: int
) -> tuple[list[Row], int]:
    """A page of the SIM's messages sent in ``[start, end)``, newest first."""
    where = " FROM sms_records WHERE iccid = :iccid AND sent_at >= :start AND sent_at < :end"
    params = {"iccid": iccid, "start": start, "end": end}
    rows = await db.fetch_all(
        f"SELECT {_SMS}{where} ORDER BY sent_at DESC, sms_id DESC LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )
    total = int(await db.fetch_val("SELECT COUNT(*)" + where, params) or 0)
    return rows, total


async def latest_session(db: Database, iccid: str) -> Row | None:
    return await db.fetch_one(
        f"SELECT {_SESSION} FROM data_sessions WHERE iccid = :iccid"
        " ORDER BY started_at DESC, session_id DESC LIMIT 1",
        {"iccid": iccid},
    )


async def purge_before(db: Database, cutoff: str) -> int:
    """Retention: records older than ``cutoff`` (open sessions stay, whatever their age)."""
    removed = 0
    for sql in (
        "DELETE FROM data_sessions WHERE started_at < :cutoff AND ended_at IS NOT NULL",
        "DELETE FROM sms_records WHERE sent_at < :cutoff",
        "DELETE FROM voice_records WHERE started_at < :cutoff",
        "DELETE FROM network_records WHERE recorded_at < :cutoff",
    ):
        removed += await db.execute(sql, {"cutoff": cutoff})
    return removed


async def find_sim(db: Database, column: str, value: str, partner_ids: list[int]) -> Row | None:
    """One SIM by a lookup column among the given partners, with what the network reads."""
    return await db.fetch_one(
        "SELECT iccid, partner_id, status, restriction_status, fraud_status, imsi, msisdn"
        f" FROM sims WHERE {column} = :value AND " + db.in_list("partner_id", "partner_ids"),
        {"value": value, "partner_ids": db.list_param(partner_ids)},
    )


async def has_option(db: Database, iccid: str, name: str) -> bool:
    found = await db.fetch_val(
        "SELECT 1 FROM sim_options so JOIN options o ON o.id = so.option_id"
        " WHERE so.iccid = :iccid AND o.name = :name",
        {"iccid": iccid, "name": name},
    )
    return found is not None
