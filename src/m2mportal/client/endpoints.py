"""Every customer endpoint as a request description (``Req``): one definition that the sync
and the async client both send. Types are the server's own wire models."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from m2mportal.client.engine import Req
from m2mportal.domain.pools import PoolsUsage
from m2mportal.domain.transfers import TransferDetails
from m2mportal.models import (
    ActionAccepted,
    ActionPage,
    ActionStatus,
    DryRunResult,
    Partner,
    SimDetails,
    SimPage,
)
from m2mportal.network.models import (
    HlrCheck,
    HlrReset,
    MessageAccepted,
    SessionHistory,
    SimSession,
    SmsHistory,
)

# A SIM in a body: an ICCID, or one identifier as a mapping ({"imsi": "..."}).
SimRef = str | Mapping[str, Any]
MAX_SIMS_PER_ACTION = 1000
# SIM transfers are counted in no class (CONTRACT 5).
UNPACED_ACTIONS = frozenset({"simtransfer"})


def selector(sim: SimRef) -> dict[str, Any]:
    return {"iccid": sim} if isinstance(sim, str) else dict(sim)


def _query(**params: Any) -> dict[str, Any]:
    """Query parameters in the API's camelCase, ``None`` left out, booleans as words."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if value is None:
            continue
        head, *rest = name.split("_")
        key = head + "".join(part.title() for part in rest)
        out[key] = str(value).lower() if isinstance(value, bool) else value
    return out


def camel(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A body's fields in camelCase (``tariff_id`` -> ``tariffId``), ``None`` left out."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None:
            continue
        head, *rest = name.split("_")
        out[head + "".join(part[:1].upper() + part[1:] for part in rest)] = value
    return out


def _partner(partner_id: int) -> str:
    return f"/partners/{int(partner_id)}"


# --- partner -----------------------------------------------------------------------------


def partner(partner_id: int) -> Req[Partner]:
    return Req("GET", _partner(partner_id), Partner, partner_id=partner_id)


def api_usage(partner_id: int) -> Req[dict[str, Any]]:
    return Req("GET", _partner(partner_id) + "/apiusage", dict[str, Any], partner_id=partner_id)


def pools_usage(partner_id: int) -> Req[PoolsUsage]:
    return Req("GET", _partner(partner_id) + "/pools/usage", PoolsUsage, partner_id=partner_id)


# --- SIMs ----------------------------------------------------------------------------------


def sims(partner_id: int, **filters: Any) -> Req[SimPage]:
    """``filters``: iccid, euiccid, imsi, imei, msisdn, status, tariff_id, subunit_id,
    remark, page, size, after."""
    return Req(
        "GET", _partner(partner_id) + "/sims", SimPage, _query(**filters), partner_id=partner_id
    )


def sim(partner_id: int, iccid: str) -> Req[SimDetails]:
    return Req(
        "GET",
        f"{_partner(partner_id)}/sims/{iccid}",
        SimDetails,
        partner_id=partner_id,
        rate_class="details",
    )


def sim_by(partner_id: int, **identifier: str) -> Req[SimDetails]:
    return Req(
        "POST",
        _partner(partner_id) + "/sims/details",
        SimDetails,
        body=identifier,
        partner_id=partner_id,
        rate_class="details",
    )


# --- network: session, histories, messages, HLR ------------------------------------------


def session(partner_id: int, iccid: str, parallel_sessions: bool = False) -> Req[SimSession]:
    return Req(
        "GET",
        f"{_partner(partner_id)}/sims/{iccid}/session",
        SimSession,
        _query(parallel_sessions=parallel_sessions or None),
        partner_id=partner_id,
        rate_class="history",
    )


def session_by(
    partner_id: int, parallel_sessions: bool = False, **identifier: str
) -> Req[SimSession]:
    return Req(
        "POST",
        _partner(partner_id) + "/sims/session",
        SimSession,
        body={**identifier, "parallelSessions": parallel_sessions},
        partner_id=partner_id,
        rate_class="history",
    )


def _history(
    kind: str,
    result: Any,
    partner_id: int,
    iccid: str | None,
    identifier: Mapping[str, str],
    date_from: str | None,
    date_to: str | None,
    page: int,
    size: int,
) -> Req[Any]:
    window = _query(date_from=date_from, date_to=date_to, page=page, size=size)
    if iccid is not None:
        return Req(
            "GET",
            f"{_partner(partner_id)}/sims/{iccid}/{kind}",
            result,
            window,
            partner_id=partner_id,
            rate_class="history",
        )
    return Req("POST", f"{_partner(partner_id)}/sims/{kind}", result, body={**identifier, **window},
               partner_id=partner_id, rate_class="history")  # fmt: skip


def session_history(
    partner_id: int, iccid: str | None = None, *, date_from: str | None = None,
    date_to: str | None = None, page: int = 0, size: int = 100, **identifier: str,
) -> Req[SessionHistory]:  # fmt: skip
    """By ICCID (GET) or by one identifier in the body (``msisdn=...``, POST)."""
    return _history("sessionhistory", SessionHistory, partner_id, iccid, identifier,
                    date_from, date_to, page, size)  # fmt: skip


def sms_history(
    partner_id: int, iccid: str | None = None, *, date_from: str | None = None,
    date_to: str | None = None, page: int = 0, size: int = 100, **identifier: str,
) -> Req[SmsHistory]:  # fmt: skip
    return _history("smshistory", SmsHistory, partner_id, iccid, identifier,
                    date_from, date_to, page, size)  # fmt: skip


def send_sms(
    partner_id: int, iccid: str | None, message: str, validity_minutes: int | None = None,
    **identifier: str,
) -> Req[MessageAccepted]:  # fmt: skip
    body = camel({"message": message, "validity_minutes": validity_minutes})
    path = f"/sims/{iccid}/sms" if iccid is not None else "/sims/sms"
    if iccid is None:
        body |= identifier
    # A message sent twice reaches the device twice: never resent after a network error.
    return Req("POST", _partner(partner_id) + path, MessageAccepted, body=body,
               partner_id=partner_id, rate_class="sms", retry_safe=False)  # fmt: skip


def hlr_check(partner_id: int, iccid: str | None = None, **identifier: str) -> Req[HlrCheck]:
    if iccid is not None:
        return Req("POST", f"{_partner(partner_id)}/sims/{iccid}/hlr/check", HlrCheck,
                   partner_id=partner_id, rate_class="history")  # fmt: skip
    return Req("POST", _partner(partner_id) + "/sims/hlr/check", HlrCheck, body=identifier,
               partner_id=partner_id, rate_class="history")  # fmt: skip


def hlr_reset(partner_id: int, iccid: str | None = None, **identifier: str) -> Req[HlrReset]:
    # A reset closes the SIM's sessions: a repeat would close the new ones too.
    if iccid is not None:
        return Req("POST", f"{_partner(partner_id)}/sims/{iccid}/hlr/reset", HlrReset,
                   partner_id=partner_id, rate_class="history", retry_safe=False)  # fmt: skip
    return Req("POST", _partner(partner_id) + "/sims/hlr/reset", HlrReset, body=identifier,
               partner_id=partner_id, rate_class="history", retry_safe=False)  # fmt: skip


# --- actions -------------------------------------------------------------------------------


def action(
    partner_id: int, name: str, sims: Iterable[SimRef], params: Mapping[str, Any],
    idempotency_key: str | None = None,
) -> Req[ActionAccepted]:  # fmt: skip
    """``POST .../sims/actions/{name}``: ``params`` are the action's extra fields
    (``tariff_id=...`` or ``tariffId=...``)."""
    entries = [selector(s) for s in sims]
    return Req("POST", f"{_partner(partner_id)}/sims/actions/{name}", ActionAccepted,
               body={"sims": entries, **camel(params)}, partner_id=partner_id,
               rate_class=None if name in UNPACED_ACTIONS else "actions", cost=len(entries),
               action=True, idempotency_key=idempotency_key)  # fmt: skip


def dry_run(
    partner_id: int, name: str, sims: Iterable[SimRef], params: Mapping[str, Any]
) -> Req[DryRunResult]:
    entries = [selector(s) for s in sims]
    # A dry run takes no budget.
    return Req("POST", f"{_partner(partner_id)}/sims/actions/{name}", DryRunResult,
               params={"dryRun": "true"}, body={"sims": entries, **camel(params)},
               partner_id=partner_id)  # fmt: skip


def action_status(partner_id: int, signup_id: int) -> Req[ActionStatus]:
    return Req("GET", f"{_partner(partner_id)}/sims/actions/{int(signup_id)}", ActionStatus,
               partner_id=partner_id)  # fmt: skip


def cancel_action(partner_id: int, signup_id: int) -> Req[ActionStatus]:
    return Req("DELETE", f"{_partner(partner_id)}/sims/actions/{int(signup_id)}", ActionStatus,
               partner_id=partner_id)  # fmt: skip


def actions(partner_id: int, **filters: Any) -> Req[ActionPage]:
    """``filters``: action, status, created_from, created_to, page, size."""
    return Req("GET", _partner(partner_id) + "/sims/actions", ActionPage, _query(**filters),
               partner_id=partner_id)  # fmt: skip


# --- transfers and orders ------------------------------------------------------------------


def _transfer_path(partner_id: int, transaction_id: int) -> str:
    return f"{_partner(partner_id)}/sims/actions/simtransfer/{int(transaction_id)}"


def transfer(partner_id: int, transaction_id: int) -> Req[TransferDetails]:
    return Req("GET", _transfer_path(partner_id, transaction_id), TransferDetails,
               partner_id=partner_id)  # fmt: skip


def decide_transfer(
    partner_id: int, transaction_id: int, status: str, subunit_partner_id: int | None = None
) -> Req[TransferDetails]:
    body: dict[str, Any] = {"status": status}
    if subunit_partner_id is not None:
        body["subunitPartnerID"] = subunit_partner_id
    # Deciding twice answers 409 the second time: safe to resend, the error says so.
    return Req("PATCH", _transfer_path(partner_id, transaction_id), TransferDetails, body=body,
               partner_id=partner_id)  # fmt: skip


def order(
    partner_id: int, material_id: int, quantity: int, tariff_id: int | None = None,
    override_moq: bool = False,
) -> Req[ActionAccepted]:  # fmt: skip
    body = camel({"material_id": material_id, "quantity": quantity,
                  "override_moq": override_moq, "tariff_id": tariff_id})  # fmt: skip
    # The contract gives orders no Idempotency-Key: never resent after a network error.
    return Req("POST", _partner(partner_id) + "/sims/orders", ActionAccepted, body=body,
               partner_id=partner_id, retry_safe=False)  # fmt: skip
