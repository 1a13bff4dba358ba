"""The action catalogue: one table row per SIM action, read by one mechanism.

A row says the action's path, its request body, which identifiers select its SIMs (the
seed's identifier table), the request-level checks, and the per-SIM step (a transition of
the SIM state machine). Routes, OpenAPI, dry runs and the workflow all read this table.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from m2mportal.domain import sim_state as sm
from m2mportal.domain import transfers
from m2mportal.domain.identifiers import IPV4_PATTERN, MAX_ID, check_euiccid, selector_errors
from m2mportal.domain.sim_state import Change, SimState

MAX_SIMS = 1000
Sims = Annotated[
    list[dict[str, Any]],
    Meta(min_length=1, max_length=MAX_SIMS, description="1 to 1,000 SIM selectors"),
]
Remark = Annotated[str, Meta(max_length=200)]


class ActionBody(Struct, rename="camel", forbid_unknown_fields=True):
    sims: Sims


class ActivationBody(ActionBody):
    tariff_id: int | None = None


class BlockBody(ActionBody):
    reason: Annotated[str, Meta(min_length=1, max_length=200)] = "Blocked by customer"


class TerminationBody(ActionBody):
    force: bool = False


class RestrictBody(ActionBody):
    restriction: Literal["Speed Step-down", "Data Restricted"] = "Data Restricted"
    apn: Annotated[str, Meta(min_length=1, max_length=100)] | None = None


class UnrestrictBody(ActionBody):
    apn: Annotated[str, Meta(min_length=1, max_length=100)] | None = None


class MoveBody(ActionBody):
    target_partner_id: int


class ChangeTariffBody(ActionBody):
    tariff_id: int


class ChangeOptionBody(ActionBody):
    from_option_id: int
    to_option_id: int


class OptionBody(ActionBody):
    option_id: int


class StaticIp(Struct, rename="camel", forbid_unknown_fields=True):
    apn: Annotated[str, Meta(min_length=1, max_length=100)]
    # IPv4, like the whitelist: one spelling per address, one rule in the document too.
    static_ip: Annotated[str, Meta(pattern=IPV4_PATTERN, examples=["10.10.0.7"])] | None = None


class ModifyProfilesBody(ActionBody):
    limit_profile_id: int | None = None
    fraud_profile_id: int | None = None
    cost_limit_profile_id: int | None = None
    static_ips_per_apn: list[StaticIp] = []


class Remarks(Struct, forbid_unknown_fields=True):
    remark1: Remark | None = None
    remark2: Remark | None = None
    remark3: Remark | None = None
    remark4: Remark | None = None
    remark5: Remark | None = None


class ModifyRemarksBody(ActionBody):
    remarks: Remarks


class BindEuiccidBody(ActionBody):
    unbind: bool = False


class SimTransferBody(ActionBody):
    target_partner_id: Annotated[int, Meta(ge=1, le=MAX_ID, description="Numeric partner id")]
    message: Annotated[str, Meta(max_length=500)] = ""


@dataclass(frozen=True)
class References:
    """What request-level checks may consult, loaded by the service before validating."""

    tariffs: dict[int, int]  # id -> binding months
    options: set[int]
    profiles: dict[int, str]  # id -> kind
    # Partners a SIM may move to: the caller's scope within the caller's partner tree.
    move_targets: frozenset[int]


@dataclass(frozen=True)
class StepContext:
    now: str
    # The SIM's own entry in the request (bindeuiccid carries the eUICCID there).
    entry: dict[str, Any]
    remarks: list[str | None]
    msisdn: str | None = None


Step = Callable[[SimState, Any, StepContext], Change]
Check = Callable[[Any, References], list[str]]


def _no_checks(body: Any, refs: References) -> list[str]:
    return []


@dataclass(frozen=True)
class ActionSpec:
    path: str
    title: str
    body: type[ActionBody]
    identifiers: tuple[str, ...]
    step: Step
    check: Check = _no_checks
    single: bool = False
    # "selector": each entry is one identifier; "binding": {"iccid", "euiccid"} pairs.
    entries: str = "selector"
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # Held: the SIMs wait for a decision (a transfer's receiver) before the workers apply
    # them; each SIM's step is checked at acceptance too, so only SIMs that can go wait.
    held: bool = False
    # The rate-limit class the request is charged to (None: outside every budget).
    rate_class: str | None = "actions"


# --- request-level checks ----------------------------------------------------------------


def _tariff(field_name: str) -> Check:
    def check(body: Any, refs: References) -> list[str]:
        value = getattr(body, field_name)
        if value is not None and value not in refs.tariffs:
            return [f"tariffId: tariff {value} does not exist"]
        return []

    return check


def _options(*names: str) -> Check:
    def check(body: Any, refs: References) -> list[str]:
        problems = []
        for name in names:
            value = getattr(body, name)
            if value not in refs.options:
                camel = name.split("_")[0] + "".join(p.title() for p in name.split("_")[1:])
                problems.append(f"{camel}: option {value} does not exist")
        return problems

    return check


def _check_change_option(body: ChangeOptionBody, refs: References) -> list[str]:
    problems = _options("from_option_id", "to_option_id")(body, refs)
    if body.from_option_id == body.to_option_id:
        problems.append("toOptionId: must differ from fromOptionId")
    return problems


def _check_move(body: MoveBody, refs: References) -> list[str]:
    if body.target_partner_id not in refs.move_targets:
        return [
            f"targetPartnerId: partner {body.target_partner_id} is not a unit of this "
            "partner tree in the application's scope"
        ]
    return []


_PROFILE_FIELDS = (
    ("limit_profile_id", "limitProfileId", "limit"),
    ("fraud_profile_id", "fraudProfileId", "fraud"),
    ("cost_limit_profile_id", "costLimitProfileId", "costLimit"),
)


def _check_profiles(body: ModifyProfilesBody, refs: References) -> list[str]:
    problems = []
    given = False
    for attr, name, kind in _PROFILE_FIELDS:
        value = getattr(body, attr)
        if value is None:
            continue
        given = True
        if refs.profiles.get(value) != kind:
            problems.append(f"{name}: no {kind} profile {value}")
    for index, item in enumerate(body.static_ips_per_apn):
        given = True
        if item.static_ip is not None:
            # The type's pattern took it; Python's "$" also matches before a final newline.
            try:
                ipaddress.IPv4Address(item.static_ip)
            except ValueError:
                problems.append(f"staticIpsPerApn[{index}].staticIp: not an IPv4 address")
    if len({item.apn for item in body.static_ips_per_apn}) != len(body.static_ips_per_apn):
        problems.append("staticIpsPerApn: each APN at most once")
    if not given:
        problems.append(
            "body: give at least one of limitProfileId, fraudProfileId, costLimitProfileId,"
            " staticIpsPerApn"
        )
    return problems


def _check_remarks(body: ModifyRemarksBody, refs: References) -> list[str]:
    if not any(getattr(body.remarks, f"remark{i}") is not None for i in range(1, 6)):
        return ["remarks: give at least one of remark1..remark5"]
    return []


def _check_bind(body: BindEuiccidBody, refs: References) -> list[str]:
    problems = []
    for index, entry in enumerate(body.sims):
        if not isinstance(entry, dict):
            continue
        euiccid = entry.get("euiccid")
        if body.unbind:
            if euiccid is not None:
                problems.append(f"sims[{index}].euiccid: not allowed with unbind")
        elif euiccid is None:
            problems.append(f"sims[{index}].euiccid: required to bind")
        elif not isinstance(euiccid, str):
            problems.append(f"sims[{index}].euiccid: must be a string of digits")
        elif problem := check_euiccid(euiccid):
            problems.append(f"sims[{index}].euiccid: {problem}")
    return problems


def entry_errors(spec: ActionSpec, entry: Any, path: str) -> list[str]:
    """Errors in one ``sims[i]`` entry: the selector, or for bindeuiccid its ICCID part."""
    if spec.entries == "binding":
        if not isinstance(entry, dict):
            return [f"{path}: must be an object with iccid (and euiccid to bind)"]
        unknown = [k for k in entry if k not in ("iccid", "euiccid")]
        if unknown:
            return [f"{path}.{unknown[0]}: unknown field"]
        return selector_errors({"iccid": entry.get("iccid")}, path, ("iccid",))
    return selector_errors(entry, path, spec.identifiers)


# --- per-SIM steps -----------------------------------------------------------------------


def _profiles(body: ModifyProfilesBody) -> dict[str, int]:
    return {attr: getattr(body, attr) for attr, _, _ in _PROFILE_FIELDS if getattr(body, attr)}


def _remarks(body: ModifyRemarksBody) -> dict[str, str | None]:
    given = {f"remark{i}": getattr(body.remarks, f"remark{i}") for i in range(1, 6)}
    return {key: (value or None) for key, value in given.items() if value is not None}


def _activation(sim: SimState, body: ActivationBody, ctx: StepContext) -> Change:
    change = sm.activate(sim, ctx.now, ctx.msisdn)
    if body.tariff_id is not None:
        change.columns["tariff_id"] = body.tariff_id
    return change


ICCID_ONLY = ("iccid",)
WITH_MSISDN = ("iccid", "msisdn")
ACTIVATION_IDS = ("iccid", "euiccid", "imsi")
BROAD_IDS = ("iccid", "euiccid", "imsi", "msisdn")

CATALOGUE: tuple[ActionSpec, ...] = (
    ActionSpec("activation", "SIM Activation", ActivationBody, ACTIVATION_IDS,
               _activation, _tariff("tariff_id")),
    ActionSpec("suspend", "SIM Suspend", ActionBody, WITH_MSISDN,
               lambda s, b, c: sm.suspend(s)),
    ActionSpec("unsuspend", "SIM Unsuspend", ActionBody, WITH_MSISDN,
               lambda s, b, c: sm.unsuspend(s)),
    ActionSpec("block", "SIM Block", BlockBody, WITH_MSISDN, lambda s, b, c: sm.block(s)),
    ActionSpec("unblock", "SIM Unblock", BlockBody, WITH_MSISDN,
               lambda s, b, c: sm.unblock(s)),
    ActionSpec("termination", "SIM Termination", TerminationBody, WITH_MSISDN,
               lambda s, b, c: sm.terminate(s, c.now, b.force)),
    ActionSpec("restrict", "SIM Restrict", RestrictBody, WITH_MSISDN,
               lambda s, b, c: sm.restrict(s, b.restriction, b.apn)),
    ActionSpec("unrestrict", "SIM Unrestrict", UnrestrictBody, WITH_MSISDN,
               lambda s, b, c: sm.unrestrict(s, b.apn)),
    ActionSpec("move", "SIM Move", MoveBody, BROAD_IDS,
               lambda s, b, c: sm.move(s, b.target_partner_id), _check_move),
    ActionSpec("changetariff", "SIM Change Tariff", ChangeTariffBody, WITH_MSISDN,
               lambda s, b, c: sm.change_tariff(s, b.tariff_id), _tariff("tariff_id")),
    ActionSpec("changeoption", "SIM Change Option", ChangeOptionBody, WITH_MSISDN,
               lambda s, b, c: sm.change_option(s, b.from_option_id, b.to_option_id),
               _check_change_option, single=True),
    ActionSpec("bookoption", "SIM Book Option", OptionBody, WITH_MSISDN,
               lambda s, b, c: sm.book_option(s, b.option_id), _options("option_id")),
    ActionSpec("terminateoption", "SIM Terminate Option", OptionBody, WITH_MSISDN,
               lambda s, b, c: sm.terminate_option(s, b.option_id), _options("option_id")),
    ActionSpec("modifyprofiles", "SIM Modify Profiles", ModifyProfilesBody, WITH_MSISDN,
               lambda s, b, c: sm.modify_profiles(
                   s, _profiles(b), {i.apn: i.static_ip for i in b.static_ips_per_apn}),
               _check_profiles),
    ActionSpec("modifyremarks", "SIM Modify Remarks", ModifyRemarksBody, BROAD_IDS,
               lambda s, b, c: sm.modify_remarks(s, _remarks(b), c.remarks),
               _check_remarks),
    ActionSpec("bindeuiccid", "Bind eUICCID", BindEuiccidBody, ICCID_ONLY,
               lambda s, b, c: sm.unbind_euiccid(s) if b.unbind
               else sm.bind_euiccid(s, c.entry["euiccid"]),
               _check_bind, entries="binding"),
    ActionSpec("resetfraudstatus", "Reset Fraud Status", ActionBody, WITH_MSISDN,
               lambda s, b, c: sm.reset_fraud_status(s)),
    ActionSpec("overridelimitstatus", "Override Limit Status", ActionBody, WITH_MSISDN,
               lambda s, b, c: sm.override_limit_status(s)),
    ActionSpec("resetlimitstatus", "Reset Limit Status", ActionBody, WITH_MSISDN,
               lambda s, b, c: sm.reset_limit_status(s)),
    ActionSpec("restorelimitstatus", "Restore Limit Status", ActionBody, WITH_MSISDN,
               lambda s, b, c: sm.restore_limit_status(s)),
    ActionSpec("enterproductivestate", "Enter Productive State", ActionBody, WITH_MSISDN,
               lambda s, b, c: sm.enter_productive_state(s)),
    # Seed: "standard methods w/o SIM Transfer" share the actions budget; this is outside.
    ActionSpec("simtransfer", "Create SIM Transfer", SimTransferBody, BROAD_IDS,
               lambda s, b, c: transfers.movable(s), held=True, rate_class=None,
               description="Offers the SIMs to another partner (`targetPartnerId`), with a"
               " `message` for it; the answer carries the `transactionId` as well. The"
               " receiver gets a `simaction.v1` event with `accept`, `reject` and `sims`"
               " links and decides with `PATCH .../sims/actions/simtransfer/{transactionId}`."
               " Until the transfer ends its SIMs stay the sender's, and the sender's other"
               " actions on them fail with a reason; they change owner together when it"
               " completes. SIMs that cannot move (Terminated, or already in an open"
               " transfer) fail at once; when none can, nothing is offered: the action"
               " fails at once and `transactionId` is null."
               " Not charged to the actions budget."),
)  # fmt: skip

BY_PATH: dict[str, ActionSpec] = {spec.path: spec for spec in CATALOGUE}


def request_errors(spec: ActionSpec, body: ActionBody, refs: References) -> list[str]:
    """Every problem of the request as a whole (400), each naming its field."""
    problems = []
    for index, entry in enumerate(body.sims):
        problems += entry_errors(spec, entry, f"sims[{index}]")
    if spec.single and len(body.sims) != 1:
        problems.append(f"sims: {spec.title} takes exactly one SIM")
    problems += spec.check(body, refs)
    return problems
