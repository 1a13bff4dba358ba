"""The network's customer reads and diagnostics: session, session and SMS history, send
message, HLR check and reset. Writes go through network/records.py like any traffic."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from m2mportal.clock import Clock, iso, parse_iso
from m2mportal.domain.errors import ApiError, bad_request, conflict, not_found
from m2mportal.domain.identifiers import CHECKS, lookup_value
from m2mportal.domain.sms import text_problem
from m2mportal.domain.usage import rounded, window
from m2mportal.events.bus import EventBus
from m2mportal.models import PageInfo
from m2mportal.network import records
from m2mportal.network.models import (
    AnyRecord,
    ClosedSession,
    DataSession,
    HlrCheck,
    HlrReset,
    MessageAccepted,
    SessionHistory,
    SessionStart,
    SessionStop,
    SimSession,
    SmsEntry,
    SmsHistory,
    SmsRecord,
    SmsStatus,
)
from m2mportal.network.networks import network
from m2mportal.store import network as store
from m2mportal.store.database import Database, Row
from m2mportal.store.sims import LOOKUP_COLUMN

# The seed's identifier table marks one identifier besides the ICCID for these calls; as
# for the single-mark actions (docs/api.md) that is the MSISDN.
KINDS = ("iccid", "msisdn")
PARALLEL_OPTION = "Parallel Sessions"
PLATFORM_ADDRESS = "M2MPortal"  # sender of the messages the API sends
HLR_RESET_CAUSE = "HLR reset"


def selector_of(raw: dict[str, Any]) -> tuple[str, str]:
    """The body's one identifier (``iccid`` or ``msisdn``), checked; 400 naming it."""
    given = [(k, raw[k]) for k in KINDS if raw.get(k) is not None]
    if len(given) != 1:
        raise bad_request("body: exactly one of iccid, msisdn is required")
    kind, value = given[0]
    if problem := CHECKS[kind](value):
        raise bad_request(f"{kind}: {problem}")
    return kind, value


def check_window(
    clock: Clock, date_from: str | None, date_to: str | None, default_days: int
) -> tuple[str, str]:
    found = window(clock.now(), date_from, date_to, default_days)
    if isinstance(found, list):
        raise bad_request(*found)
    return iso(found[0]), iso(found[1])


async def find(db: Database, kind: str, value: str, partner_ids: list[int]) -> Row:
    row = await store.find_sim(db, LOOKUP_COLUMN[kind], lookup_value(kind, value), partner_ids)
    if row is None:
        raise not_found(f"{kind} {value}: no SIM with this identifier")
    return row


async def check_parallel(db: Database, sim: Row) -> None:
    if not await store.has_option(db, sim["iccid"], PARALLEL_OPTION):
        raise bad_request(f'parallelSessions: the SIM has no "{PARALLEL_OPTION}" option booked')


def _open(row: Row) -> DataSession:
    return DataSession(
        session_id=row["session_id"],
        apn=row["apn"],
        ip_address=row["ip_address"],
        rat_type=row["rat_type"],
        network=network(row["mcc"], row["mnc"]),
        session_start=row["started_at"],
        volume_upload=int(row["bytes_up"]),
        volume_download=int(row["bytes_down"]),
        volume_rounded=rounded(int(row["bytes_up"]), int(row["bytes_down"])),
        restriction_reason=row["restriction_reason"],
    )


async def session(db: Database, sim: Row, parallel: bool) -> SimSession:
    rows = await store.open_sessions(db, sim["iccid"])
    sessions = [_open(row) for row in rows]
    return SimSession(
        iccid=sim["iccid"],
        online=bool(sessions),
        session=sessions[0] if sessions else None,
        sessions=sessions if parallel else None,
    )


def _closed(row: Row) -> ClosedSession:
    seconds = (parse_iso(row["ended_at"]) - parse_iso(row["started_at"])).total_seconds()
    return ClosedSession(
        session_id=row["session_id"],
        apn=row["apn"],
        ip_address=row["ip_address"],
        rat_type=row["rat_type"],
        network=network(row["mcc"], row["mnc"]),
        session_start=row["started_at"],
        session_end=row["ended_at"],
        duration_seconds=max(int(seconds), 0),
        volume_upload=int(row["bytes_up"]),
        volume_download=int(row["bytes_down"]),
        volume_rounded=rounded(int(row["bytes_up"]), int(row["bytes_down"])),
        end_cause=row["end_cause"] or "Normal",
        restriction_reason=row["restriction_reason"],
    )


def _page(size: int, page: int, total: int) -> PageInfo:
    return PageInfo(size=size, number=page, total_elements=total, total_pages=-(-total // size))


async def session_history(
    db: Database, sim: Row, start: str, end: str, page: int, size: int
) -> SessionHistory:
    rows, total = await store.closed_sessions(db, sim["iccid"], start, end, size, page * size)
    return SessionHistory(
        iccid=sim["iccid"],
        date_from=start,
        date_to=end,
        content=[_closed(row) for row in rows],
        page=_page(size, page, total),
        links=[],
    )


def _sms(row: Row, now: str) -> SmsEntry:
    status = row["status"]
    # A held message past its validity is EXPIRED from that moment, written or not.
    if status == "PENDING" and row["expires_at"] is not None and row["expires_at"] <= now:
        status = "EXPIRED"
    return SmsEntry(
        sms_id=row["sms_id"],
        direction=row["direction"],
        timestamp=row["sent_at"],
        originator=row["originator"],
        destination=row["destination"],
        status=status,
        network=network(row["mcc"], row["mnc"]) if row["mcc"] and row["mnc"] else None,
    )


async def sms_history(
    db: Database,
    clock: Clock,
    sim: Row,
    start: str,
    end: str,
    page: int,
    size: int,
) -> SmsHistory:
    rows, total = await store.sms_page(db, sim["iccid"], start, end, size, page * size)
    now = clock.iso()
    return SmsHistory(
        iccid=sim["iccid"],
        date_from=start,
        date_to=end,
        content=[_sms(row, now) for row in rows],
        page=_page(size, page, total),
        links=[],
    )


def require_active(sim: Row) -> None:
    if sim["status"] != "Active":
        raise conflict(f"status: the SIM is {sim['status']}; messages go to Active SIMs only")


def check_message(text: str) -> None:
    if problem := text_problem(text):
        raise bad_request(f"message: {problem}")


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


async def _ingest(db: Database, clock: Clock, batch: list[AnyRecord], bus: EventBus | None) -> None:
    result = await records.ingest(db, clock, batch, bus)
    if result.rejected:
        raise ApiError(500, "Internal error", result.rejected)


async def send_message(
    db: Database,
    clock: Clock,
    sim: Row,
    validity_minutes: int | None,
    bus: EventBus | None = None,
) -> MessageAccepted:
    """An MT message from the platform: DELIVERED at once to a device that is online.
    For a device that is off, one attempt fails (FAILED, "absent subscriber") unless the
    caller gave a validity: then the SMS centre holds it (PENDING) until the device
    attaches within it (DELIVERED), else it reads EXPIRED."""
    online = bool(await store.open_sessions(db, sim["iccid"]))
    latest = await store.latest_session(db, sim["iccid"]) if online else None
    now = clock.now()
    sms_id = _new_id("sms")
    held = not online and validity_minutes is not None
    status: SmsStatus = "DELIVERED" if online else "PENDING" if held else "FAILED"
    record = SmsRecord(
        record_id=_new_id("rec"),
        iccid=sim["iccid"],
        time=iso(now),
        sms_id=sms_id,
        direction="MT",
        status=status,
        originator=PLATFORM_ADDRESS,
        destination=sim["msisdn"] or sim["iccid"],
        mcc=latest["mcc"] if latest else None,
        mnc=latest["mnc"] if latest else None,
        expires_at=iso(now + timedelta(minutes=validity_minutes))
        if held and validity_minutes is not None
        else None,
    )
    await _ingest(db, clock, [record], bus)
    return MessageAccepted(sms_id=sms_id, iccid=sim["iccid"], status=status)


async def hlr_check(db: Database, sim: Row) -> HlrCheck:
    online = bool(await store.open_sessions(db, sim["iccid"]))
    latest = await store.latest_session(db, sim["iccid"])
    return HlrCheck(
        iccid=sim["iccid"],
        imsi=sim["imsi"],
        msisdn=sim["msisdn"],
        registered=sim["status"] == "Active" and latest is not None,
        online=online,
        network=network(latest["mcc"], latest["mnc"]) if latest else None,
        last_location_update=latest["started_at"] if latest else None,
        data_barred=sim["status"] != "Active"
        or sim["restriction_status"] == "Data Restricted"
        or sim["fraud_status"] != "OK",
    )


async def hlr_reset(db: Database, clock: Clock, sim: Row, bus: EventBus | None = None) -> HlrReset:
    """Cancels the location: open sessions close with cause ``HLR reset``; an Active SIM's
    device re-attaches at once, opening a new session where each one was."""
    now = clock.iso()
    batch: list[AnyRecord] = []
    closed, opened = [], []
    for row in await store.open_sessions(db, sim["iccid"]):
        closed.append(row["session_id"])
        batch.append(
            SessionStop(
                record_id=_new_id("rec"),
                iccid=sim["iccid"],
                time=now,
                session_id=row["session_id"],
                bytes_up=int(row["bytes_up"]),
                bytes_down=int(row["bytes_down"]),
                cause=HLR_RESET_CAUSE,
            )
        )
        if sim["status"] == "Active":
            session_id = _new_id("ses")
            opened.append(session_id)
            batch.append(
                SessionStart(
                    record_id=_new_id("rec"),
                    iccid=sim["iccid"],
                    time=now,
                    session_id=session_id,
                    apn=row["apn"],
                    mcc=row["mcc"],
                    mnc=row["mnc"],
                    imei=row["imei"],
                    rat_type=row["rat_type"],
                )
            )
    await _ingest(db, clock, batch, bus)
    return HlrReset(iccid=sim["iccid"], closed_sessions=closed, new_sessions=opened, reset_at=now)
