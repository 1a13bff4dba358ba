"""The customer API's route table: behaviour and the OpenAPI document from one list."""

from __future__ import annotations

from typing import Any

from m2mportal.api import actions, network, orders, partners, pools, sims, transfers, usage
from m2mportal.api import examples as ex
from m2mportal.domain import transfers as rules_transfers
from m2mportal.domain.actions import CATALOGUE, ActionSpec
from m2mportal.domain.pools import PoolsUsage
from m2mportal.gateway.endpoints import Endpoint
from m2mportal.gateway.openapi import binding_rules, error_example, merge, ref, sims_rules
from m2mportal.models import (
    ActionAccepted,
    ActionPage,
    ActionStatus,
    DryRunResult,
    Partner,
    SimDetails,
    SimPage,
    SimSelector,
)
from m2mportal.network import examples as nex
from m2mportal.network.models import (
    HistoryQuery,
    HistoryRequest,
    HlrCheck,
    HlrReset,
    MessageAccepted,
    NetworkSelector,
    SendMessage,
    SendMessageBy,
    SessionHistory,
    SessionQuery,
    SessionRequest,
    SimSession,
    SmsHistory,
)

_ACTION_DOC = """Starts the action for 1 to 1,000 SIMs and answers **202** with a
`signupId` at once; the workflow then applies it SIM by SIM in the background, in the
order actions were accepted, and ends with a `simaction.v1` event. Follow it with
`GET .../sims/actions/{{signupId}}`.

Each entry of `sims` selects one SIM by exactly one identifier ({kinds}). A SIM whose
state does not allow the change fails alone with a reason; the others go on (the action
ends `Partially Done`).

- `?dryRun=true` validates and answers **200** with each SIM's would-be outcome; nothing is
  applied and no budget is taken.
- `Idempotency-Key`: a repeat with the same key and body within 24 h answers the first
  signupId and starts nothing; the same key with another body answers **409**.
- A read-only application answers 403."""

_ACTION_ANSWERS: dict[int, tuple[str, object, object]] = {
    202: ("Accepted: the action runs in the background", ActionAccepted, ex.ACTION_ACCEPTED),
    200: ("Dry run (`dryRun=true`): each SIM's would-be outcome, nothing applied", DryRunResult,
          ex.DRY_RUN),
    409: ("The Idempotency-Key was used with another request body in the last 24 h", None,
          error_example(409, "Conflict", ["Idempotency-Key: already used with a different"
                                          " request in the last 24 h"])),
}  # fmt: skip


# The catalogue's request checks that a schema can say (the others answer 400 by name).
_PROFILE_IDS = ("limitProfileId", "fraudProfileId", "costLimitProfileId")
_ACTION_RULES: dict[str, dict[str, Any]] = {
    "modifyprofiles": {
        "anyOf": [
            *({"required": [name], "properties": {name: {"type": "integer"}}}
              for name in _PROFILE_IDS),
            {"required": ["staticIpsPerApn"], "properties": {"staticIpsPerApn": {"minItems": 1}}},
        ],
        "properties": {"staticIpsPerApn": {"uniqueItems": True}},
    },
}  # fmt: skip


def _body_schema(spec: ActionSpec) -> dict[str, Any]:
    if spec.entries == "binding":
        return binding_rules()
    return merge(sims_rules(spec.identifiers, spec.single), _ACTION_RULES.get(spec.path, {}))


def _action(spec: ActionSpec) -> Endpoint:
    binding = spec.entries == "binding"
    kinds = ", ".join(f"`{kind}`" for kind in spec.identifiers)
    return Endpoint(
        "POST",
        f"/partners/{{partnerId}}/sims/actions/{spec.path}",
        actions.action_handler(spec),
        spec.title,
        "SIM Actions",
        response=ActionAccepted,
        body=spec.body,
        query=actions.ActionQuery,
        status=202,
        writes=True,
        rate_class=spec.rate_class,
        errors=(400, 401, 403, 404, 409),
        description=(spec.description + "\n\n" if spec.description else "")
        + _ACTION_DOC.format(kinds=kinds if not binding else "`iccid`, with the `euiccid`"),
        request_example=ex.action_request(spec.path, spec.identifiers, spec.single, binding),
        response_example=(
            {**ex.ACTION_ACCEPTED, "transactionId": 1002946614} if spec.held else ex.ACTION_ACCEPTED
        ),
        request_headers=("Idempotency-Key",),
        answers=dict(_ACTION_ANSWERS),
        body_schema=_body_schema(spec),
    )


# One endpoint per catalogue row.
ACTION_ENDPOINTS: list[Endpoint] = [_action(spec) for spec in CATALOGUE]

# Starlette tries routes in order: the reads come first, the twenty action POSTs last.
# The action list/status/cancel routes stay ahead of `/sims/{iccid}`.
ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET",
        "/partners/{partnerId}/sims/actions",
        actions.list_actions,
        "Get SIM action list",
        "SIM Actions",
        response=ActionPage,
        query=actions.ActionListQuery,
        description="The partner's actions (its subunits' included), newest first, paged;"
        " filter by `action`, `status` and creation time (`createdFrom` inclusive,"
        " `createdTo` exclusive).",
        response_example=ex.ACTION_PAGE,
    ),
    Endpoint(
        "GET",
        "/partners/{partnerId}/sims/actions/{signupId}",
        actions.get_action,
        "Get SIM action status",
        "SIM Actions",
        response=ActionStatus,
        description="An action's status (`Pending`, `In Progress`, `Done`, `Partially Done`,"
        " `Failed`, `Cancelled`), its counts and each SIM's result and error; a `cancel` link"
        " while SIMs are still pending. An action of a partner outside the caller's scope"
        " answers 404.",
        response_example=ex.ACTION_STATUS,
    ),
    Endpoint(
        "DELETE",
        "/partners/{partnerId}/sims/actions/{signupId}",
        actions.cancel_action,
        "Cancel SIM action",
        "SIM Actions",
        response=ActionStatus,
        writes=True,
        errors=(400, 401, 403, 404, 409),
        description="Cancels the SIMs of the action that are not processed yet; the ones"
        " already done stay done. Answers the action's status; 409 once it has finished.",
        response_example=ex.ACTION_CANCELLED,
        answers={
            409: (
                "The action has already finished",
                None,
                error_example(409, "Conflict", [f"signupId {ex.SIGNUP}: action is already Done"]),
            )
        },
    ),
    Endpoint(
        "GET",
        "/partners/{partnerId}",
        partners.get_partner,
        "Get partner",
        "Partner",
        response=Partner,
        description="The partner with its direct subunits and its SIM counts per status"
        " (its subunits' SIMs included) plus `total`.",
        response_example=ex.PARTNER_VIEW,
    ),
    Endpoint(
        "GET",
        "/partners/{partnerId}/apiusage",
        usage.get_api_usage,
        "Get API usage",
        "Partner",
        response=dict[str, Any],
        deprecated=True,
        description="Deprecated: read the `RateLimit-*` headers of the limited calls instead."
        " The partner's rate-limit budgets per class and window: allowed, used, remaining"
        " and seconds until reset. Subunits draw on their top partner's budget"
        " (`budgetPartnerId`).",
        response_example=ex.API_USAGE,
    ),
    Endpoint(
        "GET",
        "/partners/{partnerId}/sims",
        sims.list_sims,
        "Get SIM list",
        "SIM",
        response=SimPage,
        query=sims.SimListQuery,
        description="The partner's SIMs (its subunits' included), ordered by ICCID. Search by"
        " one identifier (exact), filter by `status`, `tariffId`, `subunitId` or a `remark`"
        " substring. Page with `page` (0-based) and `size` (at most 1,000), or page by keyset"
        " with `after=<last ICCID>`, which stays fast at millions of SIMs and leaves the"
        " totals out; the `next` and `nextKeyset` links give the following page.",
        response_example=ex.SIM_PAGE,
    ),
    Endpoint(
        "GET",
        "/partners/{partnerId}/sims/{iccid}",
        sims.get_sim,
        "Get SIM details",
        "SIM",
        response=SimDetails,
        rate_class="details",
        description="Everything about one SIM by its ICCID: identifiers, state, tariff,"
        " options, profiles, APNs, restriction, limit and fraud status, remarks and this"
        " month's aggregated usage, with links to its session, histories and actions. A SIM"
        " outside the caller's scope answers 404.",
        response_example=ex.SIM_DETAILS,
    ),
    Endpoint(
        "POST",
        "/partners/{partnerId}/sims/details",
        sims.post_sim_details,
        "Get SIM details by identifier",
        "SIM",
        response=SimDetails,
        body=SimSelector,
        rate_class="details",
        description="The same as `GET .../sims/{iccid}`, selecting the SIM by exactly one of"
        " `iccid`, `euiccid`, `imsi`, `imei` or `msisdn`. An identifier the SIM does not"
        " have in its current state (no MSISDN before activation) finds nothing: 404.",
        request_example={"imsi": ex.IDENTIFIER["imsi"]},
        response_example=ex.SIM_DETAILS,
    ),
    Endpoint(
        "GET",
        "/partners/{partnerId}/pools/usage",
        pools.get_pools_usage,
        "Get current pool usage",
        "Partner",
        response=PoolsUsage,
        description="This month's usage of each pool of the partner's top partner (pools are"
        " created by the operator): `allowance`, `used` and `percent` in the pool's `unit`"
        " (data bytes, voice seconds, SMS messages sent and received), summed over every SIM"
        " of the partner tree, and its two limit levels with whether each is reached. A"
        " subunit sees its tree's pools with the whole tree's usage.",
        response_example=pools.POOLS_USAGE,
    ),
    *ACTION_ENDPOINTS,
]


# SIM transfers (api/transfers.py; CONTRACT 7.7) and orders (api/orders.py; CONTRACT 7.8).
_TRANSFER = "/partners/{partnerId}/sims/actions/simtransfer/{transactionId}"
_TRANSFER_DOC = (
    "A SIM transfer as either side sees it: `status` (`Pending`, `Accepted`, `Rejected`,"
    " `Cancelled`, `Completed`), sender, receiver, the receiver's `subunitPartnerID` once it"
    " accepted into a subunit, the sender's message, each SIM with its status, and the"
    " times. The sender, the receiver and a subunit the SIMs went to see it; anyone else"
    " gets 404."
)
_DECIDE_DOC = (
    "The receiver accepts (`Accepted`, optionally with `subunitPartnerID`, one of its"
    " subunits: the SIMs go there) or rejects (`Rejected`); the sender cancels"
    " (`Cancelled`). Only a `Pending` transfer can be decided (409 otherwise); a status the"
    " caller's side may not set answers 403. Accepted, the SIMs are checked and change owner"
    " together when the transfer completes; both sides then get the completion event."
    " Rejected and cancelled transfers send the seed's events and nothing moves."
)
_ORDER_DOC = (
    "Orders `quantity` new SIMs of a material (the operator's catalogue, `POST"
    " /operator/v1/materials`), optionally on `tariffId`. Below the material's minimum order"
    " quantity the answer is 400 unless `overrideMoq` is true. Answers **202** with a"
    " `signupId`: the order is an action (`simorder`) in the action list; when it is"
    " delivered the new SIMs appear Inactive in the partner's inventory with fresh"
    " identifiers (eSIMs with an `activationCode` in their details) and a `simaction.v1`"
    " event says so. Read-only applications answer 403."
)
ENDPOINTS += [
    Endpoint("GET", _TRANSFER, transfers.get_transfer, "Get SIM transfer details",
             "SIM Actions", response=rules_transfers.TransferDetails,
             description=_TRANSFER_DOC, response_example=transfers.TRANSFER_DETAILS),
    Endpoint("PATCH", _TRANSFER, transfers.update_transfer, "Update SIM transfer",
             "SIM Actions", response=rules_transfers.TransferDetails,
             body=rules_transfers.TransferDecision, writes=True,
             errors=(400, 401, 403, 404, 409), description=_DECIDE_DOC,
             request_example=transfers.ACCEPT,
             # The sender's status first: the one a sender's filled request can set.
             body_schema={
                 "properties": {"status": {"enum": ["Cancelled", "Accepted", "Rejected"]}},
                 # A subunit only where the receiver accepts.
                 "anyOf": [{"properties": {"subunitPartnerID": {"type": "null"}}},
                           {"properties": {"status": {"const": "Accepted"}}}]},
             response_example={**transfers.TRANSFER_DETAILS, "status": "Accepted",
                               "subunitPartnerID": 100015, "decidedBy": "receiver",
                               "decidedAt": "2025-08-02T10:02:00.000Z", "links":
                               transfers.TRANSFER_DETAILS["links"][:2]},
             answers={409: ("The transfer is no longer Pending", None, error_example(
                 409, "Conflict", ["status: SIM transfer 1002946614 is already Cancelled"]))}),
    Endpoint("POST", "/partners/{partnerId}/sims/orders", orders.place_order, "Create SIM order",
             "SIM Actions", response=ActionAccepted, body=rules_transfers.SimOrder, status=202,
             writes=True, description=_ORDER_DOC, request_example=orders.NEW_ORDER,
             response_example=orders.ORDER_ACCEPTED),
]  # fmt: skip


# The network (api/network.py): session, histories, send message, HLR. The GETs take the
# ICCID in the path; the POSTs one identifier in the body (iccid or msisdn).
def _by_identifier(**more: dict[str, Any]) -> dict[str, Any]:
    """``body_schema``: exactly one of ``iccid`` or ``msisdn`` (the other absent or null)."""
    kinds = {"iccid": "Iccid", "msisdn": "Msisdn"}
    return {
        "properties": {
            kind: {"anyOf": [ref(name), {"type": "null"}]} for kind, name in kinds.items()
        }
        | more,
        "oneOf": [
            {
                "title": f"by {kind}",
                "required": [kind],
                "properties": {
                    other: ref(kinds[other]) if other == kind else {"type": "null"}
                    for other in kinds
                },
            }
            for kind in kinds
        ],
    }


_BY_IDENTIFIER = (
    " The SIM is selected by exactly one of `iccid` or `msisdn` in the body (an MSISDN"
    " exists from activation on); a SIM outside the caller's scope answers 404."
)
_HISTORY_DATES = (
    " `dateFrom` (inclusive) and `dateTo` (exclusive; a date alone includes that whole day)"
    " are ISO 8601 dates or date-times, UTC unless they carry an offset; the span is at most"
    " 92 days (400 naming `dateTo` otherwise). Paged with `page` (0-based) and `size` (at"
    " most 1,000), newest first."
)
_SESSION_DOC = (
    "Whether the SIM is `online` and its current data session: APN, IP address, radio"
    " access type, network (MCC, MNC, name, country), start, volumes so far (`volumeRounded`:"
    " rounded up to whole kilobytes) and any restriction. With `parallelSessions=true` also"
    ' `sessions`, every open session, which needs the option "Parallel Sessions" booked'
    " on the SIM (400 otherwise)."
)
_SESSION_HISTORY_DOC = (
    "The SIM's closed data sessions that started in the window, with their end and cause"
    " (`Normal`, `HLR reset`, ...). Without dates: the last 7 days." + _HISTORY_DATES
)
_SMS_HISTORY_DOC = (
    "The SIM's messages, sent (`MO`) and received (`MT`), with their delivery status"
    " (`PENDING`, `DELIVERED`, `FAILED`, `EXPIRED`) and network. Dates are optional: without"
    " them everything kept (the last 92 days)." + _HISTORY_DATES
)
_SEND_DOC = (
    "Sends one SMS from the platform to the SIM's device, for diagnostics of single SIMs:"
    " `message` is GSM-7 up to 160 characters, or UCS-2 up to 70 when it needs other"
    " characters. Answers **202** with the `smsId`: a device that is online receives it at"
    " once (`DELIVERED`); to a device that is off the one attempt fails (`FAILED`), unless"
    " `validityMinutes` is given: then it is held (`PENDING`) until the device attaches"
    " within that time (`DELIVERED`) and is `EXPIRED` after it. Only Active SIMs (409"
    " otherwise). Read-only applications answer 403."
)
_HLR_CHECK_DOC = (
    "Deprecated since 3.7.12 (answers carry `Deprecation: true`). The SIM's registration in"
    " the HLR: whether it is registered and online, the network of its last location update"
    " and whether data is barred."
)
_HLR_RESET_DOC = (
    "Cancels the SIM's location in the HLR: every open data session closes with cause"
    " `HLR reset`, and the device of an Active SIM re-attaches at once, opening a new session"
    " where each one was. Answers the closed and the new session ids. Read-only"
    " applications answer 403."
)
_NOT_ACTIVE = {
    409: (
        "The SIM is not Active",
        None,
        error_example(
            409, "Conflict", ["status: the SIM is Suspended; messages go to Active SIMs only"]
        ),
    )
}
_SIM = "/partners/{partnerId}/sims/{iccid}"
_SIMS = "/partners/{partnerId}/sims"

NETWORK_ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", f"{_SIM}/session", network.get_sim_session, "Get SIM session", "SIM Network",
             response=SimSession, query=SessionQuery, rate_class="history",
             description=_SESSION_DOC, response_example=nex.SESSION),
    Endpoint("POST", f"{_SIMS}/session", network.post_sim_session,
             "Get SIM session by identifier", "SIM Network", response=SimSession,
             body=SessionRequest, rate_class="history",
             description=_SESSION_DOC + _BY_IDENTIFIER,
             body_schema=_by_identifier(), request_example=nex.SESSION_REQUEST,
             response_example=nex.SESSION),
    Endpoint("GET", f"{_SIM}/sessionhistory", network.get_session_history,
             "Get SIM session history", "SIM Network", response=SessionHistory,
             query=HistoryQuery, rate_class="history", description=_SESSION_HISTORY_DOC,
             response_example=nex.SESSION_HISTORY),
    Endpoint("POST", f"{_SIMS}/sessionhistory", network.post_session_history,
             "Get SIM session history by identifier", "SIM Network", response=SessionHistory,
             body=HistoryRequest, rate_class="history",
             description=_SESSION_HISTORY_DOC + _BY_IDENTIFIER, body_schema=_by_identifier(),
             request_example=nex.HISTORY_REQUEST, response_example=nex.SESSION_HISTORY),
    Endpoint("GET", f"{_SIM}/smshistory", network.get_sms_history, "Get SMS history",
             "SIM Network", response=SmsHistory, query=HistoryQuery, rate_class="history",
             description=_SMS_HISTORY_DOC, response_example=nex.SMS_HISTORY),
    Endpoint("POST", f"{_SIMS}/smshistory", network.post_sms_history,
             "Get SMS history by identifier", "SIM Network", response=SmsHistory,
             body=HistoryRequest, rate_class="history",
             description=_SMS_HISTORY_DOC + _BY_IDENTIFIER, body_schema=_by_identifier(),
             request_example=nex.HISTORY_REQUEST, response_example=nex.SMS_HISTORY),
    Endpoint("POST", f"{_SIM}/sms", network.send_message, "Send message", "SIM Network",
             response=MessageAccepted, body=SendMessage, status=202, writes=True,
             rate_class="sms", errors=(400, 401, 403, 404, 409), answers=dict(_NOT_ACTIVE),
             description=_SEND_DOC, request_example=nex.SEND, response_example=nex.SENT),
    Endpoint("POST", f"{_SIMS}/sms", network.send_message_by_identifier,
             "Send message by identifier", "SIM Network", response=MessageAccepted,
             body=SendMessageBy, status=202, writes=True, rate_class="sms",
             errors=(400, 401, 403, 404, 409), answers=dict(_NOT_ACTIVE),
             description=_SEND_DOC + _BY_IDENTIFIER, body_schema=_by_identifier(),
             request_example=nex.SEND_BY, response_example=nex.SENT),
    Endpoint("POST", f"{_SIM}/hlr/check", network.check_hlr, "Check SIM in HLR", "SIM Network",
             response=HlrCheck, rate_class="history", deprecated=True,
             description=_HLR_CHECK_DOC, response_example=nex.HLR_CHECK),
    Endpoint("POST", f"{_SIMS}/hlr/check", network.check_hlr_by_identifier,
             "Check SIM in HLR by identifier", "SIM Network", response=HlrCheck,
             body=NetworkSelector, rate_class="history", deprecated=True,
             description=_HLR_CHECK_DOC + _BY_IDENTIFIER, body_schema=_by_identifier(),
             request_example=nex.BY_ICCID, response_example=nex.HLR_CHECK),
    Endpoint("POST", f"{_SIM}/hlr/reset", network.reset_hlr, "Reset SIM in HLR", "SIM Network",
             response=HlrReset, rate_class="history", writes=True,
             description=_HLR_RESET_DOC, response_example=nex.HLR_RESET),
    Endpoint("POST", f"{_SIMS}/hlr/reset", network.reset_hlr_by_identifier,
             "Reset SIM in HLR by identifier", "SIM Network", response=HlrReset,
             body=NetworkSelector, rate_class="history", writes=True,
             description=_HLR_RESET_DOC + _BY_IDENTIFIER, body_schema=_by_identifier(),
             request_example=nex.BY_ICCID, response_example=nex.HLR_RESET),
]  # fmt: skip
ENDPOINTS += NETWORK_ENDPOINTS
