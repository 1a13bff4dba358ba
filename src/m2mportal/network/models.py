"""Wire types of the network: the usage-record format, the customer API's session and
history answers, send message and HLR, and the operator's injection bodies.

Integers are bounded (the database holds signed 64-bit integers; volumes at most 1 PB a
record so a month's sum cannot overflow), strings have maximum lengths.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

from m2mportal.domain.instants import INSTANT_PATTERN
from m2mportal.models import ApnName, IPv4, Link, Model, PageInfo

Mcc = Annotated[
    str, Meta(pattern=r"^[0-9]{3}$", examples=["262"], description="Mobile country code")
]
Mnc = Annotated[
    str, Meta(pattern=r"^[0-9]{2,3}$", examples=["01"], description="Mobile network code")
]
Bytes = Annotated[int, Meta(ge=0, le=10**15, description="Bytes")]
Seconds = Annotated[int, Meta(ge=0, le=31 * 86400, description="Seconds")]
Cost = Annotated[float, Meta(ge=0, le=1e9, description="Cost, in the operator's unit")]
# Printable ASCII without spaces: ids a mediation system makes (UUIDs, CDR numbers).
RecordKey = Annotated[
    str, Meta(min_length=1, max_length=64, pattern=r"^[!-~]+$", examples=["cdr-0001"])
]
Moment = Annotated[
    str,
    Meta(
        max_length=35,
        extra_json_schema={"pattern": INSTANT_PATTERN},
        examples=["2025-08-02T09:54:13.133Z"],
        description="ISO 8601 date or date-time; without an offset it is read as UTC",
    ),
]
IccidText = Annotated[
    str, Meta(pattern=r"^89[0-9]{17,18}$", examples=["89882806660004909182"], description="ICCID")
]
ImeiText = Annotated[str, Meta(pattern=r"^[0-9]{15,16}$", examples=["352099001761481"])]
Address = Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[!-~]+$")]
RatType = Literal["GSM", "UMTS", "LTE", "LTE-M", "NB-IoT", "5G"]
Direction = Literal["MO", "MT"]
SmsStatus = Literal["PENDING", "DELIVERED", "FAILED", "EXPIRED"]
Cause = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[ -~]+$")]


# --- usage records (network/records.py ingests them; docs/api.md "Network") ------------


class Record(Struct, rename="camel", forbid_unknown_fields=True, tag_field="type"):
    """One usage record: ``recordId`` is unique per record (a repeat is ignored)."""

    record_id: RecordKey
    iccid: IccidText
    time: Moment


class SessionStart(Record, tag="session.start"):
    session_id: RecordKey
    apn: ApnName
    mcc: Mcc
    mnc: Mnc
    imei: ImeiText | None = None
    ip_address: IPv4 | None = None
    rat_type: RatType = "LTE"


class SessionUpdate(Record, tag="session.update"):
    """The session's totals so far (as RADIUS interim accounting): a lost update loses
    nothing, the next one carries it."""

    session_id: RecordKey
    bytes_up: Bytes
    bytes_down: Bytes


class SessionStop(Record, tag="session.stop"):
    session_id: RecordKey
    bytes_up: Bytes
    bytes_down: Bytes
    cause: Cause = "Normal"


class SmsRecord(Record, tag="sms"):
    """A message, or a later status of the same ``smsId`` (which then only changes it)."""

    sms_id: RecordKey
    direction: Direction
    status: SmsStatus
    originator: Address
    destination: Address
    mcc: Mcc | None = None
    mnc: Mnc | None = None
    cost: Cost | None = None
    expires_at: Moment | None = None


class VoiceRecord(Record, tag="voice"):
    call_id: RecordKey
    direction: Direction
    duration_seconds: Seconds
    mcc: Mcc
    mnc: Mnc
    cost: Cost | None = None


AnyRecord = SessionStart | SessionUpdate | SessionStop | SmsRecord | VoiceRecord


class IngestResult(Model):
    accepted: int
    duplicates: int
    rejected: list[str]


# --- customer API: session, histories -------------------------------------------------


class Network(Model):
    mcc: str
    mnc: str
    name: str
    country: str


class DataSession(Model):
    session_id: str
    apn: str
    ip_address: str | None
    rat_type: str
    network: Network
    session_start: str
    volume_upload: int
    volume_download: int
    volume_rounded: int
    restriction_reason: str | None


class SimSession(Model, omit_defaults=True):
    """``session``: the newest open session (null when offline); ``sessions`` (with
    ``parallelSessions=true`` only): every open one, newest first."""

    iccid: str
    online: bool
    session: DataSession | None
    sessions: list[DataSession] | None = None


class ClosedSession(Model):
    session_id: str
    apn: str
    ip_address: str | None
    rat_type: str
    network: Network
    session_start: str
    session_end: str
    duration_seconds: int
    volume_upload: int
    volume_download: int
    volume_rounded: int
    end_cause: str
    restriction_reason: str | None


class SessionHistory(Model):
    iccid: str
    date_from: str
    date_to: str
    content: list[ClosedSession]
    page: PageInfo
    links: list[Link]


class SmsEntry(Model):
    sms_id: str
    direction: str
    timestamp: str
    originator: str
    destination: str
    status: str
    network: Network | None


class SmsHistory(Model):
    iccid: str
    date_from: str
    date_to: str
    content: list[SmsEntry]
    page: PageInfo
    links: list[Link]


# --- customer API: requests -------------------------------------------------------------

Page = Annotated[int, Meta(ge=0, le=10_000_000)]
Size = Annotated[int, Meta(ge=1, le=1000)]


class SessionQuery(Struct, forbid_unknown_fields=False):
    parallelSessions: bool = False


class HistoryQuery(Struct, forbid_unknown_fields=False):
    dateFrom: Moment | None = None
    dateTo: Moment | None = None
    page: Page = 0
    size: Size = 100


class NetworkSelector(Model, forbid_unknown_fields=True, kw_only=True):
    """Exactly one of ``iccid`` or ``msisdn`` selects the SIM."""

    iccid: str | None = None
    msisdn: str | None = None


class SessionRequest(NetworkSelector, forbid_unknown_fields=True, kw_only=True):
    parallel_sessions: bool = False


class HistoryRequest(NetworkSelector, forbid_unknown_fields=True, kw_only=True):
    date_from: Moment | None = None
    date_to: Moment | None = None
    page: Page = 0
    size: Size = 100


MessageText = Annotated[str, Meta(min_length=1, max_length=160, examples=["PING status"])]
Validity = Annotated[
    int,
    Meta(
        ge=1,
        le=10080,
        description="Minutes the SMS centre holds the message for a device that is off,"
        " at most 7 days; without it one delivery attempt is made",
    ),
]


class SendMessage(Model, forbid_unknown_fields=True, kw_only=True):
    message: MessageText
    validity_minutes: Validity | None = None


class SendMessageBy(NetworkSelector, forbid_unknown_fields=True, kw_only=True):
    message: MessageText
    validity_minutes: Validity | None = None


class MessageAccepted(Model):
    sms_id: str
    iccid: str
    status: str


class HlrCheck(Model):
    iccid: str
    imsi: str | None
    msisdn: str | None
    registered: bool
    online: bool
    network: Network | None
    last_location_update: str | None
    data_barred: bool


class HlrReset(Model):
    iccid: str
    closed_sessions: list[str]
    new_sessions: list[str]
    reset_at: str


# --- operator injection (CONTRACT 11.1) ------------------------------------------------


class InjectSession(Model, forbid_unknown_fields=True):
    iccid: IccidText
    apn: ApnName
    mcc: Mcc
    mnc: Mnc
    bytes_up: Bytes
    bytes_down: Bytes
    duration_seconds: Seconds
    open: bool
    imei: ImeiText | None = None
    started_at: Moment | None = None


class InjectSms(Model, forbid_unknown_fields=True):
    iccid: IccidText
    direction: Direction
    text: Annotated[str, Meta(min_length=1, max_length=160, examples=["temp=21.5"])]
    mcc: Mcc
    mnc: Mnc
    cost: Cost | None = None


class InjectVoice(Model, forbid_unknown_fields=True):
    iccid: IccidText
    direction: Direction
    duration_seconds: Seconds
    mcc: Mcc
    mnc: Mnc
    cost: Cost | None = None


class Injected(Model):
    iccid: str
    id: str
    record_ids: list[str]
