"""The one ingestion path for usage records, whoever produces them: the operator's
injection, the traffic generator, or a real mediation feed (format: docs/api.md "Network",
types: network/models.py).

``ingest`` takes a batch in one transaction. Each record id takes effect once: the ledger
(``network_records``) is written first and only the ids that were new are applied, so a
feed may resend a batch after a crash or a timeout without counting anything twice.
Records are applied in the order given; an update or stop needs its session started
earlier (in this batch or before).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from m2mportal.clock import Clock, iso
from m2mportal.domain.identifiers import check_iccid, check_imei, imei_key
from m2mportal.domain.rules import Usage
from m2mportal.domain.usage import parse_moment
from m2mportal.events.bus import EventBus
from m2mportal.network.models import (
    AnyRecord,
    IngestResult,
    SessionStart,
    SessionStop,
    SessionUpdate,
    SmsRecord,
    VoiceRecord,
)
from m2mportal.services import rules
from m2mportal.store import network as store
from m2mportal.store.database import Database

_KIND = {
    SessionStart: "session.start",
    SessionUpdate: "session.update",
    SessionStop: "session.stop",
    SmsRecord: "sms",
    VoiceRecord: "voice",
}


_SESSION_RECORDS = (SessionStart, SessionUpdate, SessionStop)


@dataclass
class _Usage:
    """What a batch adds to one SIM's counters of one month."""

    data: int = 0
    mo: int = 0
    mt: int = 0
    voice: int = 0
    sessions: int = 0
    last: str | None = None
    imei: str | None = None

    def row(self, iccid: str, month: str) -> dict[str, Any]:
        return {
            "iccid": iccid,
            "month": month,
            "data": self.data,
            "mo": self.mo,
            "mt": self.mt,
            "voice": self.voice,
            "sessions": self.sessions,
            "last": self.last,
            "imei": self.imei,
            "imei_key": imei_key(self.imei) if self.imei else None,
        }


@dataclass
class _Batch:
    usage: dict[tuple[str, str], _Usage] = field(default_factory=dict)
    starts: list[dict[str, Any]] = field(default_factory=list)
    session_changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    attached: list[tuple[str, str]] = field(default_factory=list)
    sms_new: list[dict[str, Any]] = field(default_factory=list)
    sms_status: list[dict[str, Any]] = field(default_factory=list)
    voice: list[dict[str, Any]] = field(default_factory=list)
    rules: list[Usage] = field(default_factory=list)  # what the rules engine judges

    def of(self, iccid: str, moment: str) -> _Usage:
        return self.usage.setdefault((iccid, moment[:7]), _Usage())


def ip_address(session_id: str) -> str:
    """An address from the private 10/8 range, the same for a session every time."""
    digest = hashlib.blake2b(session_id.encode(), digest_size=3).digest()
    return f"10.{digest[0]}.{digest[1]}.{max(digest[2], 1)}"


def _problem(record: AnyRecord) -> str | None:
    if problem := check_iccid(record.iccid):
        return f"iccid: {problem}"
    if parse_moment(record.time) is None:
        return "time: must be an ISO 8601 date-time"
    if isinstance(record, SessionStart) and record.imei and (problem := check_imei(record.imei)):
        return f"imei: {problem}"
    if isinstance(record, SmsRecord) and record.expires_at and not parse_moment(record.expires_at):
        return "expiresAt: must be an ISO 8601 date-time"
    return None


# The form _moment writes. A time _problem accepted that already has it is written as it is:
# a feed (and the traffic generator) sends it so, and parsing and formatting each record's
# time again was a tenth of an ingested record's cost.
_CANONICAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def _moment(text: str) -> str:
    if _CANONICAL.fullmatch(text):
        return text
    moment = parse_moment(text)
    assert moment is not None  # checked by _problem
    return iso(moment)


async def ingest(
    db: Database, clock: Clock, records: Sequence[AnyRecord], bus: EventBus | None = None
) -> IngestResult:
    """Applies the records not seen before; answers how many were taken, how many were
    repeats, and why any were refused (``records[i] (<recordId>): ...``). The rules
    (services/rules.py) judge the new records in the same transaction; ``bus`` wakes the
    streams their notifications go to."""
    rejected: list[str] = []
    candidates: list[tuple[int, AnyRecord]] = []
    for index, record in enumerate(records):
        if problem := _problem(record):
            rejected.append(f"records[{index}] ({record.record_id}): {problem}")
        else:
            candidates.append((index, record))
    taken = 0
    async with db.transaction():
        sims = await store.sims_of(db, sorted({r.iccid for _, r in candidates}))
        session_records = [r for _, r in candidates if isinstance(r, _SESSION_RECORDS)]
        sessions = await store.sessions_by_id(db, sorted({r.session_id for r in session_records}))
        started = {r.session_id: r.iccid for r in session_records if isinstance(r, SessionStart)}
        usable: list[AnyRecord] = []
        for index, record in candidates:
            owner = None
            if isinstance(record, SessionUpdate | SessionStop):
                known = sessions.get(record.session_id)
                owner = known["iccid"] if known else started.get(record.session_id)
            if record.iccid not in sims:
                rejected.append(f"records[{index}] ({record.record_id}): iccid: no such SIM")
            elif isinstance(record, SessionUpdate | SessionStop) and owner != record.iccid:
                rejected.append(
                    f"records[{index}] ({record.record_id}): sessionId: no session of this SIM"
                )
            else:
                usable.append(record)
        fresh = await store.claim(
            db,
            [(r.record_id, _KIND[type(r)], r.iccid, _moment(r.time)) for r in usable],
            clock.iso(),
        )
        known_sms = await store.known_sms(
            db, sorted({r.sms_id for r in usable if isinstance(r, SmsRecord)})
        )
        batch = _Batch()
        state = {sid: dict(row) for sid, row in sessions.items()}
        for record in usable:
            if record.record_id not in fresh:
                continue
            fresh.discard(record.record_id)  # the same id twice in one batch: once
            taken += 1
            _apply(batch, record, sims, state, known_sms)
        await _write(db, batch)
        await rules.evaluate(db, bus, clock.iso(), sims, batch.rules)
    return IngestResult(
        accepted=taken, duplicates=len(records) - taken - len(rejected), rejected=rejected
    )


def _apply(
    batch: _Batch,
    record: AnyRecord,
    sims: dict[str, Any],
    state: dict[str, dict[str, Any]],
    known_sms: set[str],
) -> None:
    at = _moment(record.time)
    iccid = record.iccid
    if isinstance(record, SessionStart):
        if record.session_id in state:
            return  # the session was started by another record already
        restriction = sims[iccid]["restriction_status"]
        row = {
            "session_id": record.session_id,
            "iccid": iccid,
            "apn": record.apn,
            "ip_address": record.ip_address or ip_address(record.session_id),
            "rat_type": record.rat_type,
            "imei": record.imei,
            "mcc": record.mcc,
            "mnc": record.mnc,
            "started_at": at,
            "restriction_reason": None if restriction == "No Restriction" else restriction,
        }
        batch.starts.append(row)
        state[record.session_id] = {**row, "bytes_up": 0, "bytes_down": 0, "ended_at": None}
        usage = batch.of(iccid, at)
        usage.sessions += 1
        usage.last = max(usage.last or at, at)
        usage.imei = record.imei or usage.imei
        batch.attached.append((iccid, at))
        batch.rules.append(
            Usage(iccid, at, "session", 1, record.apn, record.mcc, None, record.imei)
        )
    elif isinstance(record, SessionUpdate | SessionStop):
        session = state[record.session_id]
        if session["ended_at"] is not None:
            return  # after its stop a session takes nothing more
        up = max(record.bytes_up, session["bytes_up"])
        down = max(record.bytes_down, session["bytes_down"])
        added = up - session["bytes_up"] + down - session["bytes_down"]
        batch.of(iccid, at).data += added
        if added:
            batch.rules.append(Usage(iccid, at, "data", added, session["apn"], session["mcc"]))
        stop = isinstance(record, SessionStop)
        session.update(bytes_up=up, bytes_down=down, ended_at=at if stop else None)
        batch.session_changes[record.session_id] = {
            "session_id": record.session_id,
            "bytes_up": up,
            "bytes_down": down,
            "updated_at": at,
            "ended_at": at if stop else None,
            "end_cause": record.cause if isinstance(record, SessionStop) else None,
        }
    elif isinstance(record, SmsRecord):
        if record.sms_id in known_sms:
            batch.sms_status.append(
                {"sms_id": record.sms_id, "status": record.status, "status_at": at}
            )
            return
        known_sms.add(record.sms_id)
        batch.sms_new.append(
            {
                "sms_id": record.sms_id,
                "iccid": iccid,
                "direction": record.direction,
                "sent_at": at,
                "originator": record.originator,
                "destination": record.destination,
                "status": record.status,
                "status_at": at,
                "expires_at": _moment(record.expires_at) if record.expires_at else None,
                "mcc": record.mcc,
                "mnc": record.mnc,
                "cost": record.cost,
            }
        )
        usage = batch.of(iccid, at)
        if record.direction == "MO":
            usage.mo += 1
        else:
            usage.mt += 1
        batch.rules.append(Usage(iccid, at, "sms", 1, None, record.mcc, record.cost))
    elif isinstance(record, VoiceRecord):
        batch.voice.append(
            {
                "call_id": record.call_id,
                "iccid": iccid,
                "direction": record.direction,
                "started_at": at,
                "duration_seconds": record.duration_seconds,
                "mcc": record.mcc,
                "mnc": record.mnc,
                "cost": record.cost,
            }
        )
        batch.of(iccid, at).voice += record.duration_seconds
        batch.rules.append(
            Usage(iccid, at, "voice", record.duration_seconds, None, record.mcc, record.cost)
        )


async def _write(db: Database, batch: _Batch) -> None:
    # Messages first: a device attaching in this batch receives the ones held for it.
    await store.insert_sms(db, batch.sms_new)
    await store.set_sms_status(db, batch.sms_status)
    await store.insert_sessions(db, batch.starts)
    await store.update_sessions(db, list(batch.session_changes.values()))
    await store.insert_voice(db, batch.voice)
    for iccid, at in batch.attached:
        await store.deliver_pending(db, iccid, at)
    await store.add_usage(
        db, [usage.row(iccid, month) for (iccid, month), usage in sorted(batch.usage.items())]
    )
