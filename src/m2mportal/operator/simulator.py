"""The operator's traffic injection (CONTRACT 11.1): exact records for one SIM, fed
through the same ingestion path as any other producer (network/records.py).

Routed only with ``M2MP_SIMULATION=true`` (operator/routes.py ``SIMULATION_PATHS``).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from m2mportal.clock import iso
from m2mportal.domain.errors import ApiError, bad_request, not_found
from m2mportal.domain.identifiers import check_iccid, check_imei
from m2mportal.domain.sms import text_problem
from m2mportal.domain.usage import MOMENT_RULE, parse_moment
from m2mportal.gateway.endpoints import Call
from m2mportal.network import records
from m2mportal.network.models import (
    AnyRecord,
    Injected,
    InjectSession,
    InjectSms,
    InjectVoice,
    SessionStart,
    SessionStop,
    SessionUpdate,
    SmsRecord,
    VoiceRecord,
)
from m2mportal.store import network as network_store

# The platform's side of an SMS: the sender of MT messages, the receiver of MO ones.
PLATFORM_ADDRESS = "M2MPortal"


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


async def _sim(call: Call, iccid: str, imei: str | None = None) -> dict[str, str | None]:
    problems = [f"iccid: {p}"] if (p := check_iccid(iccid)) else []
    if imei is not None and (p := check_imei(imei)):
        problems.append(f"imei: {p}")
    if problems:
        raise bad_request(*problems)
    found = await network_store.sims_of(call.platform.db, [iccid])
    if iccid not in found:
        raise not_found(f"iccid {iccid}: no SIM with this identifier")
    return dict(found[iccid])


async def _ingest(call: Call, batch: list[AnyRecord]) -> list[str]:
    result = await records.ingest(call.platform.db, call.platform.clock, batch, call.platform.bus)
    if result.rejected:  # the checks above make this a fault, not the caller's
        raise ApiError(500, "Internal error", result.rejected)
    return [record.record_id for record in batch]


async def inject_session(call: Call) -> Injected:
    body: InjectSession = call.body
    await _sim(call, body.iccid, body.imei)
    now = call.platform.clock.now()
    length = timedelta(seconds=body.duration_seconds)
    start = now - length
    if body.started_at is not None:
        given = parse_moment(body.started_at)
        if given is None:
            raise bad_request(f"startedAt: {MOMENT_RULE}")
        start = given
    if start > now:
        raise bad_request("startedAt: must not be in the future")
    if not body.open and start + length > now:
        raise bad_request(
            "durationSeconds: a closed session must have ended by now (startedAt + durationSeconds)"
        )
    session_id = _new_id("ses")
    batch: list[AnyRecord] = [
        SessionStart(
            record_id=_new_id("rec"),
            time=iso(start),
            apn=body.apn,
            mcc=body.mcc,
            mnc=body.mnc,
            imei=body.imei,
            iccid=body.iccid,
            session_id=session_id,
        )
    ]
    until = iso(min(start + length, now))
    if not body.open:
        batch.append(
            SessionStop(
                record_id=_new_id("rec"),
                time=until,
                bytes_up=body.bytes_up,
                bytes_down=body.bytes_down,
                iccid=body.iccid,
                session_id=session_id,
            )
        )
    elif body.bytes_up or body.bytes_down:
        batch.append(
            SessionUpdate(
                record_id=_new_id("rec"),
                time=until,
                bytes_up=body.bytes_up,
                bytes_down=body.bytes_down,
                iccid=body.iccid,
                session_id=session_id,
            )
        )
    return Injected(iccid=body.iccid, id=session_id, record_ids=await _ingest(call, batch))


async def inject_sms(call: Call) -> Injected:
    body: InjectSms = call.body
    if problem := text_problem(body.text):
        raise bad_request(f"text: {problem}")
    sim = await _sim(call, body.iccid)
    device = sim["msisdn"] or body.iccid
    mo = body.direction == "MO"
    sms_id = _new_id("sms")
    record = SmsRecord(
        record_id=_new_id("rec"),
        iccid=body.iccid,
        time=call.platform.clock.iso(),
        sms_id=sms_id,
        direction=body.direction,
        status="DELIVERED",
        originator=device if mo else PLATFORM_ADDRESS,
        destination=PLATFORM_ADDRESS if mo else device,
        mcc=body.mcc,
        mnc=body.mnc,
        cost=body.cost,
    )
    return Injected(iccid=body.iccid, id=sms_id, record_ids=await _ingest(call, [record]))


async def inject_voice(call: Call) -> Injected:
    body: InjectVoice = call.body
    await _sim(call, body.iccid)
    call_id = _new_id("call")
    start = call.platform.clock.now() - timedelta(seconds=body.duration_seconds)
    record = VoiceRecord(
        record_id=_new_id("rec"),
        iccid=body.iccid,
        time=iso(start),
        call_id=call_id,
        direction=body.direction,
        duration_seconds=body.duration_seconds,
        mcc=body.mcc,
        mnc=body.mnc,
        cost=body.cost,
    )
    return Injected(iccid=body.iccid, id=call_id, record_ids=await _ingest(call, [record]))
