"""The rules engine: evaluates a batch of ingested usage inside the ingesting transaction
(network/records.py), so a level's state change, its exactly-once claim and its
notification (through the outbox) commit together with the records, or not at all.

Per SIM it keeps one counter per rule and month (store/rules.py), per pool one per month;
a batch adds what it counted to them once and judges only the levels between the old and
the new value (domain/rules.py), so the cost per record does not grow with history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from m2mportal.domain import rules
from m2mportal.domain.errors import bad_request, not_found
from m2mportal.domain.rules import Usage
from m2mportal.events import cloudevents, outbox
from m2mportal.events.bus import EventBus
from m2mportal.network.networks import network
from m2mportal.store import pools as pool_store
from m2mportal.store import rules as store
from m2mportal.store.database import Database, Row

_PROFILE_COLUMNS = ("limit_profile_id", "fraud_profile_id", "cost_limit_profile_id")


@dataclass
class _Sim:
    """A SIM's state as this batch changes it (the row was read before the batch)."""

    row: Row
    limit_status: str
    restriction: str
    apns: dict[str, str]

    @classmethod
    def of(cls, row: Row) -> _Sim:
        return cls(row, row["limit_status"], row["restriction_status"], {})


@dataclass
class _Context:
    db: Database
    bus: EventBus | None
    now: str
    profiles: dict[int, tuple[Row, rules.AnyRules | None]]
    # Notifications are written after every counter is updated: the outbox takes the
    # event sequence's row lock, and taking it last keeps one lock order (SIM rows,
    # their counters, pool counters, the sequence), so two ingesting processes on
    # PostgreSQL wait for each other instead of deadlocking.
    notifications: list[tuple[tuple[str, str], int, dict[str, Any]]] = field(default_factory=list)


def _notify(ctx: _Context, kind: tuple[str, str], partner_id: int, data: Any) -> None:
    ctx.notifications.append((kind, partner_id, data))


def _month(at: str) -> str:
    return at[:7]


async def evaluate(
    db: Database, bus: EventBus | None, now: str, sims: Mapping[str, Row], usages: Sequence[Usage]
) -> None:
    """Every rule the batch's usage touches. In the ingesting transaction."""
    if not usages:
        return
    by_sim: dict[str, list[Usage]] = defaultdict(list)
    for usage in usages:
        by_sim[usage.iccid].append(usage)
    ids = sorted({sims[i][c] for i in by_sim for c in _PROFILE_COLUMNS if sims[i][c] is not None})
    found = await store.profiles(db, ids)
    ctx = _Context(
        db,
        bus,
        now,
        {pid: (row, rules.decode_rules(row["kind"], row["rules"])) for pid, row in found.items()},
    )
    counts: list[_Count] = []
    for iccid in sorted(by_sim):  # a fixed order: processes lock SIM rows alike
        row = sims[iccid]
        if not any(row[c] is not None for c in _PROFILE_COLUMNS):
            continue
        sim = _Sim.of(row)
        items = by_sim[iccid]
        await _new_period(ctx, sim, max(u.at for u in items))
        await _fraud(ctx, sim, items)
        counts += _counts(ctx, sim, items, "limit_profile_id", rules.LimitRules)
        counts += _counts(ctx, sim, items, "cost_limit_profile_id", rules.CostRules)
    # Every SIM counter of the batch in one statement (locked in key order), then only the
    # levels between a counter's old and new total are judged.
    totals = await store.add_many(
        db, sorted((c.sim.row["iccid"], c.month, c.rule, c.total) for c in counts)
    )
    for count in counts:
        after = totals[(count.sim.row["iccid"], count.month, count.rule)]
        if isinstance(count.spec, rules.LimitRules):
            await _limit(ctx, count, after)
        else:
            await _cost(ctx, count, after)
    await _pools(ctx, sims, by_sim)
    for kind, partner_id, data in ctx.notifications:
        await outbox.publish(db, bus, kind, partner_id, now, data)


def _rules_of(ctx: _Context, profile_id: Any, kind: type[Any]) -> tuple[Row, Any] | None:
    if profile_id is None or profile_id not in ctx.profiles:
        return None
    row, parsed = ctx.profiles[profile_id]
    return (row, parsed) if isinstance(parsed, kind) else None


async def _new_period(ctx: _Context, sim: _Sim, latest: str) -> None:
    """A month's limit state ends with it: the first record of a later month resets it."""
    period = sim.row["limit_period"]
    if period is None or _month(latest) <= period or sim.limit_status == rules.LIMIT_OK:
        return
    apn = sim.row["limit_apn"] if sim.limit_status == rules.ALARM else None
    await store.new_period(ctx.db, sim.row["iccid"], apn, ctx.now)
    if sim.limit_status == rules.ALARM and apn is None:
        sim.restriction = "No Restriction"
    sim.limit_status = rules.LIMIT_OK


async def _fraud(ctx: _Context, sim: _Sim, items: list[Usage]) -> None:
    found = _rules_of(ctx, sim.row["fraud_profile_id"], rules.FraudRules)
    if found is None or sim.row["fraud_status"] != "OK":
        return
    known = sim.row["imei_key"]
    for usage in items:
        if usage.kind != "session":
            continue
        country = network(usage.mcc or "", "").country
        fraud = rules.fraud_of(found[1], usage, known, country)
        if fraud is not None:
            barring, allowed, detected = fraud
            if await store.set_fraud(
                ctx.db, sim.row["iccid"], barring, rules.FRAUD_RESTRICTION, ctx.now
            ):
                sim.restriction = rules.FRAUD_RESTRICTION
                data = rules.fraud_notification(
                    sim.row["partner_id"], sim.row["iccid"], sim.restriction, barring,
                    allowed, detected,
                )  # fmt: skip
                _notify(ctx, cloudevents.PROFILE, sim.row["partner_id"], data)
            return
        if usage.imei:
            known = usage.imei[:14]


def _by_month(items: list[Usage], amount: Any) -> dict[str, list[tuple[str, float]]]:
    steps: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for usage in items:
        value = amount(usage)
        if value:
            steps[_month(usage.at)].append((usage.at, value))
    return steps


@dataclass
class _Count:
    """What a batch adds to one SIM counter of a limit or cost-limit profile in a month."""

    sim: _Sim
    profile: Row
    spec: rules.LimitRules | rules.CostRules
    month: str
    steps: list[tuple[str, float]]  # (the record's moment, its amount), in order

    @property
    def rule(self) -> str:
        kind = "limit" if isinstance(self.spec, rules.LimitRules) else "cost"
        return f"{kind}:{self.profile['id']}"

    @property
    def total(self) -> float:
        return sum(amount for _, amount in self.steps)


def _counts(
    ctx: _Context, sim: _Sim, items: list[Usage], column: str, kind: type[Any]
) -> list[_Count]:
    found = _rules_of(ctx, sim.row[column], kind)
    if found is None:
        return []
    profile, spec = found
    if isinstance(spec, rules.LimitRules):
        by_month = _by_month(items, lambda u: rules.limit_amount(spec, u))
    else:
        by_month = _by_month(items, lambda u: rules.cost_amount(spec, u))
    return [_Count(sim, profile, spec, month, steps) for month, steps in sorted(by_month.items())]


async def _limit(ctx: _Context, count: _Count, after: float) -> None:
    sim, spec, month = count.sim, count.spec, count.month
    assert isinstance(spec, rules.LimitRules)
    iccid = sim.row["iccid"]
    current = sim.row["limit_period"] or ""
    for crossing in rules.crossings(after - count.total, count.steps, spec.levels, exceed=True):
        if not await store.fire(ctx.db, iccid, count.rule, crossing.level, month, ctx.now):
            continue
        if month >= current:  # a late record of an older month changes no state
            status = rules.limit_status_after(sim.limit_status, crossing.level)
            restriction = spec.restriction if status == rules.ALARM else None
            await store.set_limit(ctx.db, iccid, status, month, restriction, spec.apn, ctx.now)
            sim.limit_status = status
            if restriction is not None and spec.apn is None:
                sim.restriction = restriction
            elif restriction is not None and spec.apn is not None:
                sim.apns[spec.apn] = restriction
        apn_state = sim.apns.get(spec.apn or "", "No Restriction")
        data = rules.limit_notification(
            sim.row["partner_id"], iccid, sim.restriction, spec, crossing.level,
            crossing.value, apn_state,
        )  # fmt: skip
        _notify(ctx, cloudevents.PROFILE, sim.row["partner_id"], data)


async def _cost(ctx: _Context, count: _Count, after: float) -> None:
    sim, spec, profile = count.sim, count.spec, count.profile
    assert isinstance(spec, rules.CostRules)
    iccid = sim.row["iccid"]
    for crossing in rules.crossings(after - count.total, count.steps, spec.levels, exceed=False):
        if not await store.fire(ctx.db, iccid, count.rule, crossing.level, count.month, ctx.now):
            continue
        data = rules.cost_notification(
            sim.row["partner_id"], dict(sim.row), await _offering(ctx, sim.row, profile),
            spec, crossing.level, crossing.at, (profile["id"], profile["name"]),
        )  # fmt: skip
        _notify(ctx, cloudevents.COST_LIMIT, sim.row["partner_id"], data)


async def _offering(ctx: _Context, row: Row, profile: Row) -> tuple[int, str]:
    """The SIM-level service a cost notification names: the SIM's tariff, or without one
    the cost-limit profile itself."""
    tariff = row["tariff_id"]
    if tariff is not None:
        name = (await store.tariffs(ctx.db, [tariff])).get(tariff)
        if name is not None:
            return int(tariff), str(name)
    return int(profile["id"]), str(profile["name"])


async def _pools(ctx: _Context, sims: Mapping[str, Row], by_sim: dict[str, list[Usage]]) -> None:
    partners = sorted({sims[iccid]["partner_id"] for iccid in by_sim})
    rows = await store.pools_of(ctx.db, partners)
    if not rows:
        return
    members: dict[int, set[int]] = defaultdict(set)
    pools: dict[int, Row] = {}
    for row in rows:
        members[row["offering_id"]].add(row["member"])
        pools[row["offering_id"]] = row
    for offering_id in sorted(pools):
        pool = pools[offering_id]
        kind = pool["pool_type"]
        items = [
            usage
            for iccid in sorted(by_sim)
            if sims[iccid]["partner_id"] in members[offering_id]
            for usage in by_sim[iccid]
        ]
        items.sort(key=lambda u: u.at)
        levels = [int(pool["level1"]), int(pool["level2"])]
        thresholds = rules.pool_thresholds(int(pool["allowance"]), levels)
        counted = _by_month(items, lambda u, kind=kind: rules.pool_amount(kind, u))
        for month, steps in sorted(counted.items()):
            total = sum(amount for _, amount in steps)
            after = await store.add_pool(
                ctx.db, offering_id, pool["partner_id"], month, total, pool_store.COUNTERS[kind]
            )
            for crossing in rules.crossings(after - total, steps, thresholds, exceed=False):
                subject = f"pool:{offering_id}"
                if not await store.fire(ctx.db, subject, "pool", crossing.level, month, ctx.now):
                    continue
                data = rules.pool_notification(
                    pool["partner_id"], pool["name"], pool["offering_name"], offering_id, kind,
                    crossing.level, levels[crossing.level - 1], crossing.at,
                )  # fmt: skip
                _notify(ctx, cloudevents.POOL_LIMIT, pool["partner_id"], data)


# --- the operator's direct setting of a SIM's state ----------------------------------------

_COLUMNS = {
    "limit_status": "limitStatus",
    "fraud_status": "fraudStatus",
    "restriction_status": "restrictionStatus",
}


async def set_state(db: Database, iccid: str, changes: dict[str, str], now: str) -> Row:
    """Sets any of limitStatus, fraudStatus, restrictionStatus as given (no rule runs, no
    notification); a limit status other than OK belongs to this month."""
    if not changes:
        raise bad_request("body: give at least one of limitStatus, fraudStatus, restrictionStatus")
    async with db.transaction():
        if await store.sim(db, iccid) is None:
            raise not_found(f"iccid {iccid}: no SIM with this identifier")
        columns: dict[str, Any] = {**changes, "updated_at": now}
        if "limit_status" in changes:
            columns["limit_period"] = now[:7] if changes["limit_status"] != "OK" else None
            columns["limit_before_override"] = None
            columns["limit_apn"] = None
        await store.set_state(db, iccid, columns)
        row = await store.sim(db, iccid)
    assert row is not None
    return row
