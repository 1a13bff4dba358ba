"""The SIM state machine: every allowed and refused transition, named, without I/O.

An action's per-SIM step reads a ``SimState`` and returns a ``Change`` (what to write) or
raises ``Refused`` with the reason the caller sees in that SIM's result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACTIVE, INACTIVE, SUSPENDED, BLOCKED, TERMINATED = (
    "Active",
    "Inactive",
    "Suspended",
    "Blocked",
    "Terminated",
)
NO_RESTRICTION = "No Restriction"
RESTRICTIONS = ("Speed Step-down", "Data Restricted")
LIMIT_OK, LIMIT_OVERRIDDEN = "OK", "Overridden"
FRAUD_OK = "OK"


class Refused(Exception):
    """The transition is not allowed from this SIM's state; the text says why."""


@dataclass
class SimState:
    iccid: str
    partner_id: int
    status: str
    productive: bool
    sim_type: str
    euiccid: str | None
    imsi: str | None
    msisdn: str | None
    tariff_id: int | None
    binding_end: str | None
    restriction_status: str
    limit_status: str
    fraud_status: str
    status_before_block: str | None
    limit_before_override: str | None
    eid_profile_status: str | None
    options: set[int] = field(default_factory=set)
    apns: dict[str, str] = field(default_factory=dict)  # name -> restriction status
    limit_apn: str | None = None  # the APN a limit rule restricted (None: the SIM)


@dataclass
class Change:
    """What one SIM's step writes: column updates and side-table edits."""

    columns: dict[str, Any] = field(default_factory=dict)
    book_options: list[int] = field(default_factory=list)
    drop_options: list[int] = field(default_factory=list)
    apn_restrictions: dict[str, str] = field(default_factory=dict)
    apn_static_ips: dict[str, str | None] = field(default_factory=dict)
    forget_limits: bool = False  # the limit rules' counters and fired levels start over


def require_status(sim: SimState, *allowed: str, doing: str) -> None:
    if sim.status not in allowed:
        need = " or ".join(allowed)
        raise Refused(f"cannot {doing}: SIM is {sim.status}, must be {need}")


def not_terminated(sim: SimState, doing: str) -> None:
    if sim.status == TERMINATED:
        raise Refused(f"cannot {doing}: SIM is Terminated")


def activate(sim: SimState, now: str, msisdn: str | None) -> Change:
    require_status(sim, INACTIVE, doing="activate")
    columns: dict[str, Any] = {"status": ACTIVE, "activation_date": now}
    if sim.msisdn is None:
        if msisdn is None:
            raise Refused("cannot activate: no MSISDN available for this SIM")
        columns["msisdn"] = msisdn
    return Change(columns)


def suspend(sim: SimState) -> Change:
    require_status(sim, ACTIVE, doing="suspend")
    return Change({"status": SUSPENDED})


def unsuspend(sim: SimState) -> Change:
    require_status(sim, SUSPENDED, doing="unsuspend")
    return Change({"status": ACTIVE})


def block(sim: SimState) -> Change:
    require_status(sim, ACTIVE, SUSPENDED, doing="block")
    return Change({"status": BLOCKED, "status_before_block": sim.status})


def unblock(sim: SimState) -> Change:
    require_status(sim, BLOCKED, doing="unblock")
    return Change({"status": sim.status_before_block or ACTIVE, "status_before_block": None})


def terminate(sim: SimState, now: str, force: bool) -> Change:
    not_terminated(sim, "terminate")
    if sim.binding_end is not None and sim.binding_end > now and not force:
        raise Refused(f"cannot terminate: binding period runs until {sim.binding_end} (use force)")
    return Change({"status": TERMINATED, "termination_date": now})


def restrict(sim: SimState, restriction: str, apn: str | None) -> Change:
    require_status(sim, ACTIVE, SUSPENDED, doing="restrict")
    if apn is not None:
        if apn not in sim.apns:
            raise Refused(f"cannot restrict: SIM has no APN {apn!r}")
        if sim.apns[apn] == restriction:
            raise Refused(f"cannot restrict: APN {apn!r} is already {restriction}")
        return Change(apn_restrictions={apn: restriction})
    if sim.restriction_status == restriction:
        raise Refused(f"cannot restrict: SIM is already {restriction}")
    return Change({"restriction_status": restriction})


def unrestrict(sim: SimState, apn: str | None) -> Change:
    not_terminated(sim, "unrestrict")
    if apn is not None:
        if apn not in sim.apns:
            raise Refused(f"cannot unrestrict: SIM has no APN {apn!r}")
        if sim.apns[apn] == NO_RESTRICTION:
            raise Refused(f"cannot unrestrict: APN {apn!r} is not restricted")
        return Change(apn_restrictions={apn: NO_RESTRICTION})
    if sim.restriction_status == NO_RESTRICTION:
        raise Refused("cannot unrestrict: SIM is not restricted")
    return Change({"restriction_status": NO_RESTRICTION})


def move(sim: SimState, target: int) -> Change:
    not_terminated(sim, "move")
    if sim.partner_id == target:
        raise Refused(f"cannot move: SIM already belongs to partner {target}")
    return Change({"partner_id": target})


def change_tariff(sim: SimState, tariff_id: int) -> Change:
    not_terminated(sim, "change tariff")
    if sim.tariff_id == tariff_id:
        raise Refused(f"cannot change tariff: SIM already has tariff {tariff_id}")
    return Change({"tariff_id": tariff_id})


def change_option(sim: SimState, from_option: int, to_option: int) -> Change:
    not_terminated(sim, "change option")
    if from_option not in sim.options:
        raise Refused(f"cannot change option: option {from_option} is not booked")
    if to_option in sim.options:
        raise Refused(f"cannot change option: option {to_option} is already booked")
    return Change(book_options=[to_option], drop_options=[from_option])


def book_option(sim: SimState, option_id: int) -> Change:
    not_terminated(sim, "book option")
    if option_id in sim.options:
        raise Refused(f"cannot book option: option {option_id} is already booked")
    return Change(book_options=[option_id])


def terminate_option(sim: SimState, option_id: int) -> Change:
    not_terminated(sim, "terminate option")
    if option_id not in sim.options:
        raise Refused(f"cannot terminate option: option {option_id} is not booked")
    return Change(drop_options=[option_id])


def modify_profiles(
    sim: SimState, profiles: dict[str, int], static_ips: dict[str, str | None]
) -> Change:
    not_terminated(sim, "modify profiles")
    missing = [apn for apn in static_ips if apn not in sim.apns]
    if missing:
        raise Refused(f"cannot modify profiles: SIM has no APN {missing[0]!r}")
    return Change(dict(profiles), apn_static_ips=dict(static_ips))


def modify_remarks(
    sim: SimState, remarks: dict[str, str | None], current: list[str | None]
) -> Change:
    not_terminated(sim, "modify remarks")
    merged = list(current)
    for key, value in remarks.items():
        merged[int(key[-1]) - 1] = value
    columns: dict[str, Any] = dict(remarks)
    columns["remarks_search"] = "\n".join(t.lower() for t in merged if t)
    return Change(columns)


def bind_euiccid(sim: SimState, euiccid: str) -> Change:
    not_terminated(sim, "bind eUICCID")
    if sim.sim_type != "eSIM":
        raise Refused("cannot bind eUICCID: SIM is not an eSIM")
    if sim.euiccid is not None:
        raise Refused(f"cannot bind eUICCID: SIM is already bound to {sim.euiccid}")
    return Change({"euiccid": euiccid, "eid_profile_status": "Enabled"})


def unbind_euiccid(sim: SimState) -> Change:
    not_terminated(sim, "unbind eUICCID")
    if sim.euiccid is None:
        raise Refused("cannot unbind eUICCID: SIM has no bound eUICCID")
    return Change({"euiccid": None, "eid_profile_status": "Not bound"})


def reset_fraud_status(sim: SimState) -> Change:
    not_terminated(sim, "reset fraud status")
    if sim.fraud_status == FRAUD_OK:
        raise Refused("cannot reset fraud status: fraud status is already OK")
    # Fraud barring is lifted with the status.
    return Change({"fraud_status": FRAUD_OK, "restriction_status": NO_RESTRICTION})


LIMIT_ALARM = "Alarm"


def _limit_barring(sim: SimState, restriction: str) -> Change:
    """Sets the restriction a limit rule put on the SIM, or on its APN."""
    if sim.limit_apn is not None:
        return Change(apn_restrictions={sim.limit_apn: restriction})
    return Change({"restriction_status": restriction})


def _limit_restriction(sim: SimState) -> str:
    if sim.limit_apn is not None:
        return sim.apns.get(sim.limit_apn, NO_RESTRICTION)
    return sim.restriction_status


def override_limit_status(sim: SimState) -> Change:
    """Lifts the limit barring until the period ends (services/rules.py starts the next
    period at OK); a Warning has no barring, so only the status changes."""
    not_terminated(sim, "override limit status")
    if sim.limit_status in (LIMIT_OK, LIMIT_OVERRIDDEN):
        raise Refused(f"cannot override limit status: limit status is {sim.limit_status}")
    barred = sim.limit_status == LIMIT_ALARM
    change = _limit_barring(sim, NO_RESTRICTION) if barred else Change()
    before = _limit_restriction(sim) if barred else ""
    change.columns.update(
        {"limit_status": LIMIT_OVERRIDDEN, "limit_before_override": f"{sim.limit_status}|{before}"}
    )
    return change


def restore_limit_status(sim: SimState) -> Change:
    """Undoes an override: the status and the barring it lifted come back."""
    not_terminated(sim, "restore limit status")
    if sim.limit_status != LIMIT_OVERRIDDEN or not sim.limit_before_override:
        raise Refused("cannot restore limit status: limit status is not Overridden")
    status, _, restriction = sim.limit_before_override.partition("|")
    change = _limit_barring(sim, restriction) if restriction else Change()
    change.columns.update({"limit_status": status, "limit_before_override": None})
    return change


def reset_limit_status(sim: SimState) -> Change:
    """Counters, fired levels and status start over; a limit barring is lifted."""
    not_terminated(sim, "reset limit status")
    if sim.limit_status == LIMIT_OK:
        raise Refused("cannot reset limit status: limit status is already OK")
    barred = sim.limit_status == LIMIT_ALARM
    change = _limit_barring(sim, NO_RESTRICTION) if barred else Change()
    change.columns.update(
        {
            "limit_status": LIMIT_OK,
            "limit_before_override": None,
            "limit_period": None,
            "limit_apn": None,
        }
    )
    change.forget_limits = True
    return change


def enter_productive_state(sim: SimState) -> Change:
    not_terminated(sim, "enter productive state")
    if sim.productive:
        raise Refused("cannot enter productive state: SIM is already productive")
    return Change({"productive": True})
