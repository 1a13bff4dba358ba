"""Pools: a partner-level allowance of data, voice or SMS that every SIM of the partner
tree draws from, with two limit levels in percent (CONTRACT 7.8, 11.1)."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from m2mportal.models import Model, Name

PoolType = Literal["Data", "Voice", "SMS"]
# What the allowance counts: data bytes, voice seconds, SMS messages (MO and MT).
UNITS: dict[str, str] = {"Data": "bytes", "Voice": "seconds", "SMS": "messages"}
MAX_ALLOWANCE = 10**18  # fits a BIGINT on both databases
Percent = Annotated[int, Meta(ge=1, le=100)]


class NewPool(Model, forbid_unknown_fields=True):
    name: Name
    type: PoolType
    allowance: Annotated[int, Meta(ge=1, le=MAX_ALLOWANCE)]
    levels: Annotated[list[Percent], Meta(min_length=2, max_length=2)]
    offering_name: Name | None = None


class Pool(Model):
    offering_id: int
    partner_id: int
    name: str
    offering_name: str
    type: PoolType
    allowance: int
    unit: str
    levels: list[int]


class LimitLevel(Model):
    level: int
    limit: float  # percent, as the poollimitnotification's ``limit``
    type_of_threshold: str  # "SMS Limit 1", as the event names it
    reached: bool


class PoolUsage(Model):
    pool_name: str
    offering_id: int
    offering_name: str
    type: PoolType
    allowance: int
    unit: str
    used: int
    percent: float
    limit_levels: list[LimitLevel]
    level_reached: int  # 0: none, else the highest level reached


class PoolsUsage(Model):
    partner_id: int  # the pools' owner: the top partner of the caller's tree
    period: str  # the month counted, "2025-08"
    pools: list[PoolUsage]


def levels_problem(levels: list[int]) -> str | None:
    if levels[0] >= levels[1]:
        return "must be two ascending percentages (level 1 below level 2), e.g. [50, 80]"
    return None


def percent_of(used: int, allowance: int) -> float:
    """The share used, in percent with two decimals; above 100 once the pool is exceeded."""
    return round(used * 100 / allowance, 2)


def usage(
    offering_id: int,
    name: str,
    offering_name: str,
    kind: PoolType,
    allowance: int,
    levels: list[int],
    used: int,
) -> PoolUsage:
    percent = percent_of(used, allowance)
    # A level is reached once the usage is at its share of the allowance (exact integers).
    reached = [used * 100 >= allowance * level for level in levels]
    return PoolUsage(
        pool_name=name,
        offering_id=offering_id,
        offering_name=offering_name,
        type=kind,
        allowance=allowance,
        unit=UNITS[kind],
        used=used,
        percent=percent,
        limit_levels=[
            LimitLevel(
                level=n,
                limit=float(level),
                type_of_threshold=f"{kind} Limit {n}",
                reached=hit,
            )
            for n, (level, hit) in enumerate(zip(levels, reached, strict=True), start=1)
        ],
        level_reached=sum(reached),
    )
