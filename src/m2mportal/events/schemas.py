"""The four event types' shapes (the seed's "Event Documentation" tables) as msgspec types:
the AsyncAPI document is generated from them and tests validate real events against it."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct


class ActionLink(Struct, forbid_unknown_fields=True):
    rel: str
    href: str
    type: str
    name: str


class SimActionData(Struct, forbid_unknown_fields=True):
    partnerID: str
    signupID: str
    message: str
    actionLink: ActionLink | None = None
    transactionID: str | None = None
    actionLinks: dict[str, ActionLink] | None = None


class SimRef(Struct, forbid_unknown_fields=True):
    iccid: str
    restrictionStatus: Literal["No Restriction", "Speed Step-down", "Data Restricted"]


class ApnStatus(Struct, forbid_unknown_fields=True):
    apnName: str
    restrictionStatus: str


class ProfileStatus(Struct, forbid_unknown_fields=True):
    barring: Literal["Session Limit", "Usage Limit", "Device Fraud", "Location Fraud"]
    barringType: Literal["Limit", "Fraud"]
    barringLevel: Literal[1, 2]
    allowed: str
    detected: str
    note: str
    apn: ApnStatus | None = None


class ProfileNotificationData(Struct, forbid_unknown_fields=True):
    partnerID: str
    sim: SimRef
    profileStatus: ProfileStatus


class PoolLimit(Struct, forbid_unknown_fields=True):
    poolName: str
    offeringName: str
    offeringID: int
    typeOfThreshold: str
    limit: float
    date: str


class PoolLimitNotificationData(Struct, forbid_unknown_fields=True):
    partnerID: str
    poolLimitNotification: PoolLimit


class CostLimit(Struct, forbid_unknown_fields=True):
    iccid: str
    offeringName: str
    offeringID: int
    typeOfThreshold: str
    limit: float
    date: str
    profileName: str
    profileID: int
    euiccid: str | None = None
    imsi: str | None = None
    msisdn: str | None = None


class CostLimitNotificationData(Struct, forbid_unknown_fields=True):
    partnerID: str
    costLimitNotification: CostLimit


class CloudEvent(Struct, kw_only=True, forbid_unknown_fields=True):
    time: str
    id: str
    source: str
    type: str
    specversion: Literal["1.0"] = "1.0"
    datacontenttype: Literal["application/json"] = "application/json"


class SimActionEvent(CloudEvent):
    type: Literal["simaction.v1"]
    source: Literal["/v1/partners/simaction"]
    data: SimActionData


class ProfileNotificationEvent(CloudEvent):
    type: Literal["profilenotification.v1"]
    source: Literal["/notification/limit"]
    data: ProfileNotificationData


class PoolLimitNotificationEvent(CloudEvent):
    type: Literal["poollimitnotification.v1"]
    source: Literal["/notification/poollimit"]
    data: PoolLimitNotificationData


class CostLimitNotificationEvent(CloudEvent):
    type: Literal["costlimitnotification.v1"]
    source: Literal["/notification/costlimit"]
    data: CostLimitNotificationData


# event type -> (source, the whole event's type)
EVENTS: dict[str, tuple[str, type[CloudEvent]]] = {
    "simaction.v1": ("/v1/partners/simaction", SimActionEvent),
    "profilenotification.v1": ("/notification/limit", ProfileNotificationEvent),
    "poollimitnotification.v1": ("/notification/poollimit", PoolLimitNotificationEvent),
    "costlimitnotification.v1": ("/notification/costlimit", CostLimitNotificationEvent),
}
