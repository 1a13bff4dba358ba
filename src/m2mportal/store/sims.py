"""SQL for the SIM inventory: reads by identifier, the filtered list, bulk insert."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from m2mportal.store.database import Database, Row

# Columns a bulk insert writes, in order (the CSV import and the operator API share them).
INSERT_COLUMNS: tuple[str, ...] = (
    "iccid", "partner_id", "euiccid", "imsi", "msisdn", "imei", "imei_key", "sim_type",
    "material_id", "status", "productive", "activation_date", "termination_date",
    "binding_months", "binding_end", "tariff_id", "limit_profile_id", "fraud_profile_id",
    "cost_limit_profile_id", "restriction_status", "limit_status", "fraud_status",
    "remark1", "remark2", "remark3", "remark4", "remark5", "remarks_search",
    "activation_code", "eid_profile_status", "usage_month", "data_bytes", "sms_mo", "sms_mt",
    "voice_seconds", "session_count", "last_session_at", "created_at", "updated_at",
    "list_entry",
)  # fmt: skip

# The SIM list reads each SIM's entry as the database keeps it (sims.list_entry, migration
# 0009: the entry with "dataConsumption":0}) and puts in the month's data volume where the
# counters hold one for the month read in (``:month``; an older month's reads as zero): a
# SIM without is read as it is kept (SQLite built each entry anew in a third of a page's
# read, 44 against 30 us). A page comes back as one value, the entries joined by commas,
# with their count: Python's sqlite3 module takes ~70 ns for each value it reads (1,200
# for a page of twelve columns), asyncpg ~0.5 us for each row.
_ENTRY = (
    "s.iccid, CASE WHEN s.usage_month = :month AND s.data_bytes <> 0"
    " THEN rtrim(s.list_entry, '0}') || s.data_bytes || '}' ELSE s.list_entry END AS entry"
)
# The aggregate takes the rows in the order the ordered subquery gives them, on both
# databases (PostgreSQL's documentation: "supplying the input values from a sorted subquery
# will usually work", failing where the outer query joins or groups, which this one does
# not; the list's tests walk every order). ``string_agg(... ORDER BY iccid)`` sorted the
# page again: pgbench ran the statement 14,000 times a second against 24,000 without.
_JOINED = {
    "sqlite": "SELECT group_concat(entry, ','), count(*) FROM ({rows})",
    "postgresql": "SELECT string_agg(entry, ','), count(*) FROM ({rows}) AS page",
}
# Where the last entry of a page starts: '{"iccid":"' can stand nowhere else in the text,
# as a JSON string holds a quotation mark escaped.
_ENTRY_START = '{"iccid":"'


@dataclass(frozen=True)
class ListPage:
    """A page of the SIM list: its entries as JSON text joined by commas, and how many."""

    entries: str
    count: int

    def without_last(self) -> ListPage:
        cut = self.entries.rindex("," + _ENTRY_START) if self.count > 1 else 0
        return ListPage(self.entries[:cut], self.count - 1)

    def last_iccid(self) -> str:
        start = self.entries.rindex(_ENTRY_START) + len(_ENTRY_START)
        return self.entries[start : self.entries.index('"', start)]


async def _page(db: Database, rows: str, params: dict[str, Any]) -> ListPage:
    found = await db.fetch_values(_joined(db.dialect, rows), params)
    entries, count = found[0]
    return ListPage(entries or "", int(count))


@functools.lru_cache(maxsize=512)
def _joined(dialect: str, rows: str) -> str:
    # The same text for the same statement, made once (the driver's statement cache hashes
    # and compares it each call); filters and subunit trees make a few hundred at most.
    return _JOINED[dialect].format(rows=rows)


# What SIM details show, in the order ``find`` answers them (by position: sqlite3.Row looks
# a name up by comparing it with every column name, 25 us for the forty a details read).
_DETAIL_NAMES: tuple[str, ...] = (
    "iccid", "euiccid", "imsi", "msisdn", "imei", "partner_id", "sim_type", "status",
    "productive", "activation_date", "termination_date", "binding_months", "binding_end",
    "tariff_id", "limit_profile_id", "fraud_profile_id", "cost_limit_profile_id",
    "restriction_status", "limit_status", "fraud_status", "remark1", "remark2", "remark3",
    "remark4", "remark5", "activation_code", "eid_profile_status", "usage_month",
    "data_bytes", "sms_mo", "sms_mt", "voice_seconds", "session_count", "last_session_at",
)  # fmt: skip
DETAIL_FIELDS = (*_DETAIL_NAMES, "material_id", "options", "apns")
_DETAIL_PARTNER = DETAIL_FIELDS.index("partner_id")
# A SIM's booked options ([option id, booked at]) and APNs ([name, static IP, restriction])
# ride along in the order the details list them, so one round trip reads everything:
# SQLite gives them as JSON text (an array of arrays, or None), PostgreSQL as arrays of
# records (asyncpg makes lists of tuples; an ARRAY subquery reads the rows in index order
# with no aggregate and no sort, 73 -> 63 us of the server's CPU for the statement against
# json_agg with ORDER BY). The catalogue's names (tariff, profiles, material, options) are
# not joined in: five joins and the options' one were a third of PostgreSQL's work for
# the statement, and services/catalog_names.py holds the names. Options come in the order
# of the index (iccid, booked_at, option_id): SQLite sorted them on every read before (a
# tenth of the read with the CPU's caches as a loaded server has them); SQLite aggregates
# an ordered subquery (an aggregate keeps the order it reads).
_EXTRAS = {
    "sqlite": (
        "(SELECT json_group_array(json_array(option_id, booked_at)) FROM (SELECT option_id,"
        " booked_at FROM sim_options WHERE iccid = s.iccid ORDER BY booked_at, option_id))"
        " AS options,"
        " (SELECT json_group_array(json_array(name, static_ip, restriction_status))"
        " FROM (SELECT name, static_ip, restriction_status FROM sim_apns"
        " WHERE iccid = s.iccid ORDER BY name)) AS apns"
    ),
    "postgresql": (
        "ARRAY(SELECT ROW(option_id, booked_at) FROM sim_options WHERE iccid = s.iccid"
        " ORDER BY booked_at, option_id) AS options,"
        " ARRAY(SELECT ROW(name, static_ip, restriction_status) FROM sim_apns"
        " WHERE iccid = s.iccid ORDER BY name) AS apns"
    ),
}


def _detail_select(dialect: str) -> str:
    return (
        "SELECT "
        + ", ".join(f"s.{name}" for name in _DETAIL_NAMES)
        + ", s.material_id, "
        + _EXTRAS[dialect]
        + " FROM sims s"
    )


_DETAIL_SELECT = {dialect: _detail_select(dialect) for dialect in _EXTRAS}
# The one text per dialect: the driver's statement cache hashes and compares it each call.
_DETAIL_BY_ICCID = {
    dialect: select + " WHERE s.iccid = :value" for dialect, select in _DETAIL_SELECT.items()
}

# Selector kind -> the column it is looked up in.
LOOKUP_COLUMN = {
    "iccid": "iccid",
    "euiccid": "euiccid",
    "imsi": "imsi",
    "msisdn": "msisdn",
    "imei": "imei_key",
}


@dataclass
class SimFilter:
    partner_ids: list[int]
    iccid: str | None = None
    euiccid: str | None = None
    imsi: str | None = None
    imei_key: str | None = None
    msisdn: str | None = None
    status: str | None = None
    tariff_id: int | None = None
    remark: str | None = None


def _where(db: Database, flt: SimFilter) -> tuple[str, dict[str, Any]]:
    if len(flt.partner_ids) == 1:
        # One partner (no subunits): an equality lets the (partner_id, iccid) index give
        # ICCID order, so a page stops after its rows; with a list of one PostgreSQL read
        # and sorted every SIM after the cursor.
        clauses = ["s.partner_id = :partner_id"]
        params: dict[str, Any] = {"partner_id": flt.partner_ids[0]}
    else:
        clauses = [db.in_list("s.partner_id", "partner_ids")]
        params = {"partner_ids": db.list_param(flt.partner_ids)}
    for column in ("iccid", "euiccid", "imsi", "imei_key", "msisdn", "status", "tariff_id"):
        value = getattr(flt, column)
        if value is not None:
            clauses.append(f"s.{column} = :{column}")
            params[column] = value
    if flt.remark:
        clauses.append("s.remarks_search LIKE :remark ESCAPE '\\'")
        params["remark"] = _like_pattern(flt.remark)
    return " AND ".join(clauses), params


def _like_pattern(remark: str) -> str:
    """``%text%`` for a case-insensitive substring match on the folded remarks."""
    escaped = remark.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# SQLite walks at most this many partners' ICCID ranges side by side (below its limit of
# 500 terms in a compound SELECT); a larger tree takes the plain query.
_MAX_ARMS = 200
# The remark search reads remarks_search from this index, not from the table (schema.py).
_REMARKS_INDEX = "ix_sims_partner_id_iccid_remarks_search"


async def list_page(
    db: Database,
    flt: SimFilter,
    month: str,
    limit: int,
    offset: int = 0,
    after: str | None = None,
) -> ListPage:
    """A page of SIMs in ICCID order; ``month`` is the current month ("2026-12"), whose
    data volume the entries show."""
    if db.dialect == "sqlite" and _by_partner(flt):
        return await _list_by_partner(db, flt, month, limit, offset, after)
    where, params = _where(db, flt)
    params["month"] = month
    if after is not None:
        where += " AND s.iccid > :after"
        params["after"] = after
    params["limit"] = limit
    params["offset"] = offset
    return await _page(
        db,
        f"SELECT {_ENTRY} FROM sims s WHERE {where} ORDER BY s.iccid LIMIT :limit OFFSET :offset",
        params,
    )


def _by_partner(flt: SimFilter) -> bool:
    """Whether the list is the partners' SIMs in ICCID order, at most filtered by remark.

    SQLite reads ``partner_id IN (...) ORDER BY iccid`` partner by partner and then sorts
    every row after the cursor: at 1,000,000 SIMs a page took 200-500 ms. An identifier,
    status or tariff filter has an index of its own that gives ICCID order; the plain list
    and the remark search instead walk each partner's range of (partner_id, iccid) and
    merge the first rows of each. PostgreSQL picks such plans from its statistics.
    """
    if not 0 < len(flt.partner_ids) <= _MAX_ARMS:
        return False
    return all(
        getattr(flt, column) is None
        for column in ("iccid", "euiccid", "imsi", "imei_key", "msisdn", "status", "tariff_id")
    )


@functools.cache
def _one_partner_page(index: str, tail: str) -> str:
    """The statement for one partner's page (a handful of texts, each made once: the
    driver's statement cache hashes and compares the text on every call)."""
    return (
        f"SELECT {_ENTRY} FROM sims s INDEXED BY {index}"
        f" WHERE s.partner_id = :p0{tail} ORDER BY s.iccid LIMIT :limit OFFSET :offset"
    )


async def _list_by_partner(
    db: Database, flt: SimFilter, month: str, limit: int, offset: int, after: str | None
) -> ListPage:
    params: dict[str, Any] = {
        "limit": limit, "offset": offset, "arm_limit": limit + offset, "month": month
    }  # fmt: skip
    tail = ""
    index = "ix_sims_partner_id_iccid"
    if after is not None:
        tail += " AND s.iccid > :after"
        params["after"] = after
    if flt.remark:
        tail += " AND s.remarks_search LIKE :remark ESCAPE '\\'"
        params["remark"] = _like_pattern(flt.remark)
        index = _REMARKS_INDEX  # LIKE is checked on the index entry, before the table read
    if len(flt.partner_ids) == 1:
        # One range, already in ICCID order: a third of the merge's time (22 against 67 us
        # for a page of 100), which sorts the arms' rows and then joins them back.
        params["p0"] = flt.partner_ids[0]
        return await _page(db, _one_partner_page(index, tail), params)
    arms = []
    for i, partner_id in enumerate(flt.partner_ids):
        params[f"p{i}"] = partner_id
        arms.append(
            f"SELECT * FROM (SELECT s.rowid AS rid, s.iccid FROM sims s INDEXED BY {index}"
            f" WHERE s.partner_id = :p{i}{tail} ORDER BY s.iccid LIMIT :arm_limit)"
        )
    # Each arm holds its partner's first rows, so the page is among them; only the page's
    # rows are then read from the table.
    return await _page(
        db,
        f"SELECT {_ENTRY} FROM (SELECT rid, iccid FROM ({' UNION ALL '.join(arms)})"
        " ORDER BY iccid LIMIT :limit OFFSET :offset) AS page"
        " JOIN sims s ON s.rowid = page.rid ORDER BY page.iccid",
        params,
    )


async def count(db: Database, flt: SimFilter) -> int:
    where, params = _where(db, flt)
    return int(await db.fetch_val(f"SELECT COUNT(*) FROM sims s WHERE {where}", params) or 0)


async def find(
    db: Database, column: str, value: str, partner_ids: frozenset[int]
) -> Sequence[Any] | None:
    """One SIM by a lookup column, only among the given partners, with its options and
    APNs (``options``, ``apns``: see _EXTRAS): one statement, one round
    trip. The catalogue's names come from services/catalog_names.py. The row holds
    DETAIL_FIELDS in that order, read by position (a dict of its 41 values cost more than
    a tenth of a GET SIM details' read).

    An ICCID is the primary key: the SIM is read by it alone and its partner checked
    against the scope here (a set lookup instead of a partner list in the query). Other
    identifiers may repeat across partners, so the scope stays in the query."""
    select = _DETAIL_SELECT[db.dialect]
    if column == "iccid":
        rows = await db.fetch_values(_DETAIL_BY_ICCID[db.dialect], {"value": value})
        if not rows or rows[0][_DETAIL_PARTNER] not in partner_ids:
            return None
    else:
        rows = await db.fetch_values(
            f"{select} WHERE s.{column} = :value AND " + db.in_list("s.partner_id", "partner_ids"),
            {"value": value, "partner_ids": db.list_param(sorted(partner_ids))},
        )
        if not rows:
            return None
    return rows[0]


async def options_of(db: Database, iccid: str) -> list[Row]:
    return await db.fetch_all(
        "SELECT o.id, o.name, so.booked_at FROM sim_options so"
        " JOIN options o ON o.id = so.option_id"
        " WHERE so.iccid = :iccid ORDER BY so.booked_at, so.option_id",
        {"iccid": iccid},
    )


async def apns_of(db: Database, iccid: str) -> list[Row]:
    return await db.fetch_all(
        "SELECT name, static_ip, restriction_status FROM sim_apns"
        " WHERE iccid = :iccid ORDER BY name",
        {"iccid": iccid},
    )


async def existing_iccids(db: Database, iccids: Sequence[str]) -> set[str]:
    rows = await db.fetch_all(
        "SELECT iccid FROM sims WHERE " + db.in_list("iccid", "iccids"),
        {"iccids": db.list_param(list(iccids))},
    )
    return {row["iccid"] for row in rows}


async def existing_values(db: Database, column: str, values: Sequence[str]) -> set[str]:
    if not values:
        return set()
    rows = await db.fetch_all(
        f"SELECT {column} AS v FROM sims WHERE " + db.in_list(column, "vals"),
        {"vals": db.list_param(list(values))},
    )
    return {row["v"] for row in rows}


async def insert_many(db: Database, rows: Iterable[Sequence[Any]]) -> None:
    await db.copy_rows("sims", INSERT_COLUMNS, rows)


async def refresh_statistics(db: Database) -> None:
    """After a bulk insert. PostgreSQL plans the SIM list from the table's statistics, which
    autovacuum renews only a minute or more later: until then a keyset page of a freshly
    imported 1,000,000 SIMs took 100-500 ms instead of 1 ms. SQLite plans by the query's
    form (no sqlite_stat1 is kept, so plans stay as list_page shapes them)."""
    if db.dialect == "postgresql":
        await db.execute("ANALYZE sims")


async def insert_apns(db: Database, rows: Iterable[Sequence[Any]]) -> None:
    await db.copy_rows("sim_apns", ("iccid", "name", "static_ip", "restriction_status"), rows)


async def insert_options(db: Database, rows: Iterable[Sequence[Any]]) -> None:
    await db.copy_rows("sim_options", ("iccid", "option_id", "booked_at"), rows)


_STATE_COLUMNS = (
    "iccid, partner_id, status, productive, sim_type, euiccid, imsi, msisdn, tariff_id,"
    " binding_end, restriction_status, limit_status, fraud_status, status_before_block,"
    " limit_before_override, limit_apn, eid_profile_status, remark1, remark2, remark3,"
    " remark4, remark5"
)


async def states(db: Database, iccids: Sequence[str]) -> tuple[list[Row], list[Row], list[Row]]:
    """SIM rows, their booked options and APNs, for the state machine."""
    params = {"iccids": db.list_param(list(iccids))}
    sims = await db.fetch_all(
        f"SELECT {_STATE_COLUMNS} FROM sims WHERE " + db.in_list("iccid", "iccids"), params
    )
    options = await db.fetch_all(
        "SELECT iccid, option_id FROM sim_options WHERE " + db.in_list("iccid", "iccids"), params
    )
    apns = await db.fetch_all(
        "SELECT iccid, name, restriction_status FROM sim_apns WHERE "
        + db.in_list("iccid", "iccids"),
        params,
    )
    return sims, options, apns


async def lookup(db: Database, column: str, values: Sequence[str]) -> list[Row]:
    """``(value, iccid, partner_id)`` for SIMs whose ``column`` is one of ``values``."""
    return await db.fetch_all(
        f"SELECT {column} AS value, iccid, partner_id FROM sims WHERE "
        + db.in_list(column, "vals"),
        {"vals": db.list_param(list(values))},
    )


async def update(db: Database, iccid: str, columns: dict[str, Any]) -> None:
    sets = ", ".join(f"{name} = :{name}" for name in columns)
    await db.execute(f"UPDATE sims SET {sets} WHERE iccid = :iccid", {**columns, "iccid": iccid})


async def update_many(db: Database, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """The same columns set on several SIMs: each row holds ``iccid`` and those columns."""
    sets = ", ".join(f"{name} = :{name}" for name in columns)
    await db.execute_many(f"UPDATE sims SET {sets} WHERE iccid = :iccid", rows)


async def book_option(db: Database, iccid: str, option_id: int, now: str) -> None:
    await db.execute(
        "INSERT INTO sim_options (iccid, option_id, booked_at) VALUES (:iccid, :o, :now)",
        {"iccid": iccid, "o": option_id, "now": now},
    )


async def drop_option(db: Database, iccid: str, option_id: int) -> None:
    await db.execute(
        "DELETE FROM sim_options WHERE iccid = :iccid AND option_id = :o",
        {"iccid": iccid, "o": option_id},
    )


async def update_apn(db: Database, iccid: str, name: str, column: str, value: Any) -> None:
    assert column in ("restriction_status", "static_ip")
    await db.execute(
        f"UPDATE sim_apns SET {column} = :v WHERE iccid = :iccid AND name = :name",
        {"v": value, "iccid": iccid, "name": name},
    )


async def msisdn_taken(db: Database, msisdn: str) -> bool:
    return await db.fetch_val("SELECT 1 FROM sims WHERE msisdn = :m", {"m": msisdn}) is not None
