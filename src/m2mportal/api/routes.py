"""The customer API's route table: behaviour and the OpenAPI document from one list."""

from __future__ import annotations

from typing import Any

from m2mportal.api import actions, partners, sims, usage
from m2mportal.api import examples as ex
from m2mportal.domain.actions import CATALOGUE, ActionSpec
from m2mportal.gateway.endpoints import Endpoint
from m2mportal.gateway.openapi import binding_rules, error_example, merge, sims_rules
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
        rate_class="actions",
        errors=(400, 401, 403, 404, 409),
        description=(spec.description + "\n\n" if spec.description else "")
        + _ACTION_DOC.format(kinds=kinds if not binding else "`iccid`, with the `euiccid`"),
        request_example=ex.action_request(spec.path, spec.identifiers, spec.single, binding),
        response_example=ex.ACTION_ACCEPTED,
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
    *ACTION_ENDPOINTS,
]
