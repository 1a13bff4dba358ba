"""The customer API's route table: behaviour and the OpenAPI document from one list."""

from __future__ import annotations

from typing import Any

from m2mportal.api import actions, partners, sims, usage
from m2mportal.domain.actions import CATALOGUE
from m2mportal.gateway.endpoints import Endpoint
from m2mportal.models import (
    ActionAccepted,
    ActionPage,
    ActionStatus,
    Partner,
    SimDetails,
    SimPage,
    SimSelector,
)

_ACTION_DOC = (
    "Answers 202 with a signupId; the workflow runs in the background and ends with a"
    " simaction.v1 event. `dryRun=true` answers 200 with each SIM's would-be outcome and"
    " applies nothing. An `Idempotency-Key` header makes a repeat return the first signupId."
)

# One endpoint per catalogue row.
ACTION_ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "POST",
        f"/partners/{{partnerId}}/sims/actions/{spec.path}",
        actions.action_handler(spec),
        f"{spec.title} (identifiers: {', '.join(spec.identifiers)})",
        "SIM Actions",
        response=ActionAccepted,
        body=spec.body,
        query=actions.ActionQuery,
        status=202,
        writes=True,
        rate_class="actions",
        errors=(400, 401, 403, 404, 409),
        description=_ACTION_DOC,
    )
    for spec in CATALOGUE
]

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
    ),
    Endpoint(
        "GET",
        "/partners/{partnerId}/sims/actions/{signupId}",
        actions.get_action,
        "Get SIM action status with per-SIM results",
        "SIM Actions",
        response=ActionStatus,
    ),
    Endpoint(
        "DELETE",
        "/partners/{partnerId}/sims/actions/{signupId}",
        actions.cancel_action,
        "Cancel the SIMs of an action not yet processed",
        "SIM Actions",
        response=ActionStatus,
        writes=True,
        errors=(400, 401, 403, 404, 409),
    ),
    Endpoint(
        "GET",
        "/partners/{partnerId}",
        partners.get_partner,
        "Get partner: subunits and SIM counts per status",
        "Partner",
        response=Partner,
    ),
    Endpoint(
        "GET",
        "/partners/{partnerId}/apiusage",
        usage.get_api_usage,
        "Get API usage: the partner's rate-limit budgets, used and left (deprecated)",
        "Partner",
        response=dict[str, Any],
        deprecated=True,
    ),
    Endpoint(
        "GET",
        "/partners/{partnerId}/sims",
        sims.list_sims,
        "Get SIM list (search, filters, page/size or keyset after=<iccid>)",
        "SIM",
        response=SimPage,
        query=sims.SimListQuery,
    ),
    Endpoint(
        "GET",
        "/partners/{partnerId}/sims/{iccid}",
        sims.get_sim,
        "Get SIM details by ICCID",
        "SIM",
        response=SimDetails,
        rate_class="details",
    ),
    Endpoint(
        "POST",
        "/partners/{partnerId}/sims/details",
        sims.post_sim_details,
        "Get SIM details by any identifier (iccid, euiccid, imsi, imei, msisdn)",
        "SIM",
        response=SimDetails,
        body=SimSelector,
        rate_class="details",
    ),
    *ACTION_ENDPOINTS,
]
