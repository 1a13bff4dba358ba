"""The rules engine's rules, without I/O (CONTRACT 10, 11.1): profile rule shapes, which
usage a rule counts, which levels a period's counter crosses, and the notification bodies
in the seed's shapes (profilenotification.v1, poollimitnotification.v1,
costlimitnotification.v1).

Everything here works on counters the ingestion keeps anyway (one running value per SIM,
rule and month; one per pool and month): a record moves a counter from ``before`` to
``after`` and only the levels between the two can fire, so no history is read again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from m2mportal.domain.sim_state import NO_RESTRICTION

WARNING, ALARM, OVERRIDDEN, LIMIT_OK = "Warning", "Alarm", "Overridden", "OK"
DEVICE_FRAUD, LOCATION_FRAUD = "Device Fraud", "Location Fraud"
FRAUD_RESTRICTION = "Data Restricted"  # fraud bars data until resetfraudstatus

Amount = Annotated[float, Meta(ge=0, le=1e15)]
Country = Annotated[str, Meta(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
ApnText = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[!-~]+$")]
MccText = Annotated[str, Meta(pattern=r"^[0-9]{3}$")]


class LimitRules(Struct, forbid_unknown_fields=True):
    """Sessions or data volume per month; a level is reached when the count exceeds it."""

    type: Literal["sessions", "volume"]
    levels: Annotated[list[Amount], Meta(min_length=2, max_length=2)]
    restriction: Literal["Speed Step-down", "Data Restricted"] = "Speed Step-down"
    period: Literal["month"] = "month"
    apn: ApnText | None = None
    mccs: Annotated[list[MccText], Meta(min_length=1, max_length=100)] | None = None


class FraudRules(Struct, forbid_unknown_fields=True, rename="camel"):
    device_fraud: bool = False
    allowed_countries: Annotated[list[Country], Meta(max_length=250)] | None = None


class CostRules(Struct, forbid_unknown_fields=True):
    """SMS or voice cost per month; a level is reached when the cost reaches it."""

    type: Literal["SMS", "Voice"]
    levels: Annotated[list[Amount], Meta(min_length=2, max_length=2)]


AnyRules = LimitRules | FraudRules | CostRules
_SHAPES: dict[str, type[AnyRules]] = {
    "limit": LimitRules,
    "fraud": FraudRules,
    "costLimit": CostRules,
}


def parse_rules(kind: str, rules: dict[str, Any]) -> AnyRules | list[str] | None:
    """The rules of a profile of ``kind``, ``None`` for a profile without rules (it never
    fires), or the problems naming the fields (``rules.levels[0]: ...``)."""
    if not rules:
        return None
    try:
        parsed = msgspec.convert(rules, _SHAPES[kind])
    except msgspec.ValidationError as error:
        text = str(error)
        message, _, where = text.partition(" - at `$")
        path = where.rstrip("`")
        if message.startswith("Object contains unknown field"):
            field = message.split("`")[1]
            return [f"rules.{field}: unknown field for a {kind} profile"]
        if message.startswith("Object missing required field"):
            field = message.split("`")[1]
            return [f"rules{path}.{field}: required for a {kind} profile"]
        return [f"rules{path}: {message}"]
    if isinstance(parsed, LimitRules | CostRules) and parsed.levels[0] >= parsed.levels[1]:
        return ["rules.levels: must be two ascending values (level 1 below level 2)"]
    return parsed


def decode_rules(kind: str, text: str) -> AnyRules | None:
    """A stored profile's rules (checked when it was created; an old profile whose rules
    do not fit today's shape never fires rather than failing ingestion)."""
    found = parse_rules(kind, msgspec.json.decode(text))
    return None if isinstance(found, list) else found


# --- what a rule counts ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Usage:
    """One record's effect as the rules see it. ``kind``: ``session`` (a session start,
    amount 1), ``data`` (bytes), ``sms`` (one new message), ``voice`` (seconds)."""

    iccid: str
    at: str
    kind: str
    amount: float
    apn: str | None = None
    mcc: str | None = None
    cost: float | None = None
    imei: str | None = None


def limit_amount(rules: LimitRules, usage: Usage) -> float:
    wanted = "session" if rules.type == "sessions" else "data"
    if usage.kind != wanted:
        return 0
    if rules.apn is not None and usage.apn != rules.apn:
        return 0
    if rules.mccs is not None and usage.mcc not in rules.mccs:
        return 0
    return usage.amount


def cost_amount(rules: CostRules, usage: Usage) -> float:
    if usage.kind != rules.type.lower() or usage.cost is None:
        return 0
    return usage.cost


# Pools count data bytes, voice seconds, SMS messages (domain/pools.py UNITS).
_POOL_KIND = {"Data": "data", "Voice": "voice", "SMS": "sms"}


def pool_amount(pool_type: str, usage: Usage) -> float:
    return usage.amount if usage.kind == _POOL_KIND[pool_type] else 0


# --- levels ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Crossing:
    level: int  # 1 or 2
    at: str  # the moment of the record that crossed it
    value: float  # the counter after that record


def crossings(
    before: float,
    steps: Iterable[tuple[str, float]],
    thresholds: Sequence[float],
    exceed: bool,
) -> list[Crossing]:
    """The levels the counter crosses going from ``before`` through ``steps`` (each a
    record's moment and amount, in order). ``exceed``: a level is reached above its value
    (limit profiles: "Allowed 5, Detected 6"); else at it (pools, cost limits)."""

    def reached(value: float, threshold: float) -> bool:
        return value > threshold if exceed else value >= threshold

    found: list[Crossing] = []
    value = before
    for at, amount in steps:
        if not amount:
            continue
        after = value + amount
        for level, threshold in enumerate(thresholds, start=1):
            if reached(after, threshold) and not reached(value, threshold):
                found.append(Crossing(level, at, after))
        value = after
    return found


def pool_thresholds(allowance: int, levels: Sequence[int]) -> list[float]:
    """A pool level is reached at its share of the allowance (as GET pools/usage says)."""
    return [allowance * level / 100 for level in levels]


# --- fraud -------------------------------------------------------------------------------


def fraud_of(
    rules: FraudRules, usage: Usage, known_imei_key: str | None, country: str
) -> tuple[str, str, str] | None:
    """``(barring, allowed, detected)`` when this session start is fraud, else ``None``.
    Device fraud: a device other than the one seen before (IMEI and IMEISV compare by their
    first 14 digits); location fraud: a network in a country not allowed (a network whose
    country is unknown is not allowed)."""
    if usage.kind != "session":
        return None
    if rules.device_fraud and usage.imei and known_imei_key and usage.imei[:14] != known_imei_key:
        return DEVICE_FRAUD, known_imei_key, usage.imei[:14]
    allowed = rules.allowed_countries
    if allowed is not None and country not in allowed:
        return LOCATION_FRAUD, ", ".join(allowed), country or f"MCC {usage.mcc}"
    return None


# --- limit state -------------------------------------------------------------------------


def limit_status_after(current: str, level: int) -> str:
    """Level 1 warns, level 2 alarms; an override holds until the period ends."""
    if current == OVERRIDDEN:
        return OVERRIDDEN
    if level >= 2:
        return ALARM
    return current if current == ALARM else WARNING


# --- notification bodies (the seed's shapes, field by field) ------------------------------


def _number(value: float) -> float | int:
    """A whole number as an integer (the seed writes ``"limit": 25``), else as given."""
    return int(value) if float(value).is_integer() else value


def _text(value: float) -> str:
    return str(_number(value))


def limit_notification(
    partner_id: int,
    iccid: str,
    sim_restriction: str,
    rules: LimitRules,
    level: int,
    detected: float,
    apn_restriction: str | None,
) -> dict[str, Any]:
    unit = "sessions" if rules.type == "sessions" else "bytes"
    allowed = rules.levels[level - 1]
    status: dict[str, Any] = {
        "barring": "Session Limit" if rules.type == "sessions" else "Usage Limit",
        "barringType": "Limit",
        "barringLevel": level,
        "allowed": _text(allowed),
        "detected": _text(detected),
        "note": f"Reached: Limit {level} Allowed ({unit}): {_text(allowed)}"
        f" Detected ({unit}): {_text(detected)}",
    }
    if rules.apn is not None:
        status["apn"] = {
            "apnName": rules.apn,
            "restrictionStatus": apn_restriction or NO_RESTRICTION,
        }
    return {
        "partnerID": str(partner_id),
        "sim": {"iccid": iccid, "restrictionStatus": sim_restriction},
        "profileStatus": status,
    }


def fraud_notification(
    partner_id: int, iccid: str, sim_restriction: str, barring: str, allowed: str, detected: str
) -> dict[str, Any]:
    what = "IMEI" if barring == DEVICE_FRAUD else "country"
    return {
        "partnerID": str(partner_id),
        "sim": {"iccid": iccid, "restrictionStatus": sim_restriction},
        "profileStatus": {
            "barring": barring,
            "barringType": "Fraud",
            "barringLevel": 2,
            "allowed": allowed,
            "detected": detected,
            "note": f"Reached: {barring} Allowed ({what}): {allowed} Detected ({what}): {detected}",
        },
    }


def pool_notification(
    partner_id: int,
    pool_name: str,
    offering_name: str,
    offering_id: int,
    pool_type: str,
    level: int,
    percent: int,
    date: str,
) -> dict[str, Any]:
    return {
        "partnerID": str(partner_id),
        "poolLimitNotification": {
            "poolName": pool_name,
            "offeringName": offering_name,
            "offeringID": offering_id,
            "typeOfThreshold": f"{pool_type} Limit {level}",
            "limit": float(percent),
            "date": date,
        },
    }


def cost_notification(
    partner_id: int,
    sim: dict[str, Any],
    offering: tuple[int, str],
    rules: CostRules,
    level: int,
    date: str,
    profile: tuple[int, str],
) -> dict[str, Any]:
    return {
        "partnerID": str(partner_id),
        "costLimitNotification": {
            "iccid": sim["iccid"],
            "euiccid": sim["euiccid"],
            "imsi": sim["imsi"],
            "msisdn": sim["msisdn"],
            "offeringName": offering[1],
            "offeringID": offering[0],
            "typeOfThreshold": f"{rules.type} Limit {level}",
            "limit": _number(rules.levels[level - 1]),
            "date": date,
            "profileName": profile[1],
            "profileID": profile[0],
        },
    }
