"""Wire types of the customer and operator APIs (msgspec Structs, camelCase on the wire).

Shared by the server (encoding, OpenAPI) and the client SDK (decoding).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from m2mportal.domain.identifiers import IPV4_PATTERN, MAX_ID
from m2mportal.domain.instants import INSTANT_PATTERN

# Every integer a caller sends is bounded: the database stores signed 64-bit integers.
Id = Annotated[int, Meta(ge=1, le=MAX_ID, description="Numeric id")]
PartnerId = Annotated[int, Meta(ge=1, le=MAX_ID, description="Numeric partner id, e.g. 100013")]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Description = Annotated[str, Meta(max_length=2000)]
Remark = Annotated[str, Meta(max_length=200)]
ApnName = Annotated[str, Meta(min_length=1, max_length=100)]
RateString = Annotated[str, Meta(min_length=3, max_length=64, examples=["1000/6 minutes"])]
IPv4 = Annotated[str, Meta(pattern=IPV4_PATTERN, examples=["203.0.113.7"])]

SimStatus = Literal["Inactive", "Active", "Suspended", "Blocked", "Terminated"]
EventType = Literal[
    "simaction.v1", "profilenotification.v1", "poollimitnotification.v1", "costlimitnotification.v1"
]
EVENT_TYPES: tuple[EventType, ...] = (
    "simaction.v1",
    "profilenotification.v1",
    "poollimitnotification.v1",
    "costlimitnotification.v1",
)


class Model(Struct, rename="camel", omit_defaults=False):
    pass


class ErrorBody(Struct):
    status: str
    message: str
    errors: list[str]
    timestamp: str


class Link(Struct):
    rel: str
    href: str
    type: str = "GET"
    name: str = ""


# --- partners ---------------------------------------------------------------------------


class SubunitRef(Model):
    partner_id: int
    name: str


class Partner(Model):
    partner_id: int
    name: str
    parent_partner_id: int | None
    subunits: list[SubunitRef]
    sim_counts: dict[str, int]


# --- SIMs -------------------------------------------------------------------------------


class TariffRef(Model):
    id: int
    name: str


class SimListEntry(Model):
    iccid: str
    euiccid: str | None
    imsi: str | None
    msisdn: str | None
    imei: str | None
    status: str
    productive: bool
    partner_id: int
    tariff: TariffRef | None
    activation_date: str | None
    data_consumption: int


class PageInfo(Model, omit_defaults=True):
    """Keyset pages (``after=``) leave the totals out (CONTRACT 7.2)."""

    size: int
    number: int | None = None
    total_elements: int | None = None
    total_pages: int | None = None


class SimPage(Model):
    content: list[SimListEntry]
    page: PageInfo
    links: list[Link]


class BindingPeriod(Model):
    months: int
    end_date: str | None


class OptionRef(Model):
    id: int
    name: str
    booked_at: str


class ProfileRef(Model):
    id: int
    name: str


class Profiles(Model):
    limit_profile: ProfileRef | None
    fraud_profile: ProfileRef | None
    cost_limit_profile: ProfileRef | None


class Apn(Model):
    name: str
    static_ip: str | None
    restriction_status: str


class Remarks(Model):
    remark1: Remark | None = None
    remark2: Remark | None = None
    remark3: Remark | None = None
    remark4: Remark | None = None
    remark5: Remark | None = None


class SimAggregatedData(Model):
    data_bytes: int
    sms_mo: int
    sms_mt: int
    voice_seconds: int
    sessions: int
    last_session_at: str | None


class SimDetails(Model):
    iccid: str
    euiccid: str | None
    imsi: str | None
    msisdn: str | None
    imei: str | None
    partner_id: int
    sim_type: str
    material: str | None
    status: str
    productive: bool
    activation_date: str | None
    termination_date: str | None
    binding_period: BindingPeriod
    tariff: TariffRef | None
    options: list[OptionRef]
    profiles: Profiles
    apns: list[Apn]
    restriction_status: str
    limit_status: str
    fraud_status: str
    remarks: Remarks
    activation_code: str | None
    eid_profile_status: str | None
    sim_aggregated_data: SimAggregatedData
    links: list[Link]


class SimSelector(Struct, forbid_unknown_fields=True):
    """Exactly one identifier selects a SIM."""

    iccid: str | None = None
    euiccid: str | None = None
    imsi: str | None = None
    imei: str | None = None
    msisdn: str | None = None


# --- operator: partners, applications, catalogue -----------------------------------------


class NewPartner(Model, forbid_unknown_fields=True):
    name: Name
    parent_partner_id: PartnerId | None = None


class NewPortalUser(Model, forbid_unknown_fields=True):
    username: Annotated[str, Meta(min_length=3, max_length=200)]
    password: Annotated[str, Meta(min_length=8, max_length=200)]


class PortalUserOut(Model):
    username: str
    partner_id: int


class NewApplication(Model, forbid_unknown_fields=True):
    name: Name
    read_only: bool = False
    ip_whitelist: Annotated[list[IPv4], Meta(max_length=10)] = []
    user_type: Literal["Standard", "Subunit"] = "Standard"
    subunits: list[PartnerId] = []
    event_types: list[EventType] = msgspec.field(default_factory=lambda: list(EVENT_TYPES))


class ApplicationChange(Model, forbid_unknown_fields=True):
    ip_whitelist: Annotated[list[IPv4], Meta(max_length=10)] | None = None
    read_only: bool | None = None
    name: Name | None = None


class Subscription(Model):
    event_type: str
    subscription_id: str
    url: str


class Application(Model):
    client_id: str
    partner_id: int | None
    name: str
    status: str
    read_only: bool
    ip_whitelist: list[str]
    user_type: str
    subunits: list[int]
    event_client_id: str | None
    subscriptions: list[Subscription]
    created_at: str


class ApplicationCredentials(Model):
    client_id: str
    client_secret: str
    event_client_id: str | None
    event_client_secret: str | None
    status: str
    partner_id: int | None
    name: str
    read_only: bool
    ip_whitelist: list[str]
    user_type: str
    subunits: list[int]
    subscriptions: list[Subscription]


class NewOperatorClient(Model, forbid_unknown_fields=True):
    name: Name


class NewTariff(Model, forbid_unknown_fields=True):
    name: Name
    description: Description = ""
    binding_months: Annotated[int, Meta(ge=0, le=120)] = 0


class NewOption(Model, forbid_unknown_fields=True):
    name: Name
    description: Description = ""


class NewMaterial(Model, forbid_unknown_fields=True):
    name: Name
    sim_type: Literal["physical", "eSIM"] = "physical"
    min_order_quantity: Annotated[int, Meta(ge=1, le=1_000_000)] = 1


class NewProfile(Model, forbid_unknown_fields=True):
    kind: Literal["limit", "fraud", "costLimit"]
    name: Name
    rules: dict[str, msgspec.Raw] = {}


class CatalogItem(Model):
    id: int
    name: str


class NewSim(Model, forbid_unknown_fields=True):
    """One SIM record for the operator's bulk insert (and one CSV row)."""

    iccid: str
    euiccid: str | None = None
    imsi: str | None = None
    msisdn: str | None = None
    imei: str | None = None
    sim_type: Literal["physical", "eSIM"] = "physical"
    material_id: Id | None = None
    status: SimStatus = "Inactive"
    productive: bool = False
    # Checked by services/inventory.py with a message a person can read.
    activation_date: (
        Annotated[str, Meta(max_length=64, extra_json_schema={"pattern": INSTANT_PATTERN})] | None
    ) = None
    tariff_id: Id | None = None
    binding_months: Annotated[int, Meta(ge=0, le=120)] = 0
    limit_profile_id: Id | None = None
    fraud_profile_id: Id | None = None
    cost_limit_profile_id: Id | None = None
    remarks: Remarks | None = None
    apns: Annotated[list[ApnName], Meta(max_length=20)] = []
    activation_code: Annotated[str, Meta(max_length=200)] | None = None
    subunit_id: Id | None = None


class NewSims(Model, forbid_unknown_fields=True):
    sims: Annotated[list[NewSim], Meta(min_length=1, max_length=10_000)]


class ImportResult(Model):
    inserted: int
    rejected: int
    errors: list[str]


# Checked in the handler, so each problem names its class ("sms: ...").
LimitsBody = dict[str, Any]


class ClockState(Model):
    now: str
    offset_seconds: float


class ClockAdvance(Model, forbid_unknown_fields=True):
    seconds: Annotated[float, Meta(ge=0, le=10 * 365 * 86400)]


# --- SIM actions ---------------------------------------------------------------------------


class ActionAccepted(Model):
    signup_id: int
    status: str
    links: list[Link]
    transaction_id: int | None = None


class ActionCounts(Model):
    total: int
    pending: int
    done: int
    failed: int
    cancelled: int


class ActionSimResult(Model):
    index: int
    request: dict[str, str]
    iccid: str | None
    status: str
    error: str | None
    processed_at: str | None


class ActionStatus(Model):
    signup_id: int
    action: str
    status: str
    partner_id: int
    requested_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    counts: ActionCounts
    parameters: dict[str, msgspec.Raw]
    sims: list[ActionSimResult]
    links: list[Link]


class ActionSummary(Model):
    signup_id: int
    action: str
    status: str
    requested_by: str
    created_at: str
    finished_at: str | None
    counts: ActionCounts
    links: list[Link]


class ActionPage(Model):
    content: list[ActionSummary]
    page: PageInfo
    links: list[Link]


class DryRunSim(Model):
    index: int
    request: dict[str, str]
    iccid: str | None
    status: str  # the status the SIM would end with: Done or Failed
    error: str | None


class DryRunResult(Model):
    action: str
    dry_run: bool
    would_succeed: int
    would_fail: int
    sims: list[DryRunSim]


# --- events ------------------------------------------------------------------------------


class SubscriptionBacklog(Model):
    subscription_id: str
    client_id: str
    event_type: str
    url: str
    undelivered: int
    oldest_undelivered: str | None
    last_delivered: str | None
    stream_open: bool


class NewTestEvent(Model, forbid_unknown_fields=True):
    partner_id: PartnerId
    type: EventType = "simaction.v1"


class PublishedEvent(Model):
    id: str
    type: str
    partner_id: int


# --- application secrets (operator API: show and rotate) ----------------------------------


class ApplicationSecrets(Model):
    """An application's secrets, whole (the seed portal's "Show IRIS Client Secrets")."""

    client_id: str
    client_secret: str
    event_client_id: str | None  # operator clients have no event credentials
    event_client_secret: str | None


class SecretRotation(Model, forbid_unknown_fields=True):
    which: Literal["client", "event"]


class RotatedSecret(ApplicationSecrets):
    """Both secrets after a rotation; ``rotated`` says which one is new."""

    rotated: Literal["client", "event"]
