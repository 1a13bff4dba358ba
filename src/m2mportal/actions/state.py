"""Loading SIM states for the state machine, and the one step every action shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from m2mportal.domain.actions import ActionBody, ActionSpec, StepContext
from m2mportal.domain.sim_state import Change, Refused, SimState
from m2mportal.store import sims as sim_store
from m2mportal.store.database import Database, Row


def _state(row: Row, options: set[int], apns: dict[str, str]) -> SimState:
    return SimState(
        iccid=row["iccid"],
        partner_id=row["partner_id"],
        status=row["status"],
        productive=bool(row["productive"]),
        sim_type=row["sim_type"],
        euiccid=row["euiccid"],
        imsi=row["imsi"],
        msisdn=row["msisdn"],
        tariff_id=row["tariff_id"],
        binding_end=row["binding_end"],
        restriction_status=row["restriction_status"],
        limit_status=row["limit_status"],
        fraud_status=row["fraud_status"],
        status_before_block=row["status_before_block"],
        limit_before_override=row["limit_before_override"],
        eid_profile_status=row["eid_profile_status"],
        options=options,
        apns=apns,
        limit_apn=row["limit_apn"],
    )


async def load(db: Database, iccids: Sequence[str]) -> dict[str, tuple[SimState, list[Any]]]:
    """``iccid -> (state, [remark1..remark5])`` for the SIMs that exist."""
    if not iccids:
        return {}
    sims, options, apns = await sim_store.states(db, iccids)
    booked: dict[str, set[int]] = {}
    for row in options:
        booked.setdefault(row["iccid"], set()).add(row["option_id"])
    named: dict[str, dict[str, str]] = {}
    for row in apns:
        named.setdefault(row["iccid"], {})[row["name"]] = row["restriction_status"]
    return {
        row["iccid"]: (
            _state(row, booked.get(row["iccid"], set()), named.get(row["iccid"], {})),
            [row[f"remark{i}"] for i in range(1, 6)],
        )
        for row in sims
    }


def msisdn_for(sim: SimState) -> str | None:
    """The MSISDN activation assigns: the national prefix and the IMSI's subscriber digits."""
    if sim.imsi is None:
        return None
    return "49151" + sim.imsi[-8:]


async def free_msisdn(db: Database, sim: SimState) -> str | None:
    candidate = msisdn_for(sim)
    if candidate is None or await sim_store.msisdn_taken(db, candidate):
        return None
    return candidate


def step(
    spec: ActionSpec,
    body: ActionBody,
    sim: SimState,
    scope: frozenset[int],
    ctx: StepContext,
) -> tuple[Change | None, str | None]:
    """One SIM's outcome: ``(change, None)`` when allowed, ``(None, reason)`` when refused."""
    if sim.partner_id not in scope:
        return None, "SIM is no longer in this partner's inventory"
    try:
        return spec.step(sim, body, ctx), None
    except Refused as refused:
        return None, str(refused)
