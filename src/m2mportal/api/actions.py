"""SIM actions: one handler serves all twenty (the catalogue says what differs)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta
from starlette.responses import Response

from m2mportal.actions import accept, views
from m2mportal.domain.actions import CATALOGUE, ActionSpec
from m2mportal.domain.errors import bad_request
from m2mportal.domain.instants import INSTANT_PATTERN
from m2mportal.gateway.endpoints import Call, Handler
from m2mportal.gateway.inputs import instant
from m2mportal.models import ActionAccepted, ActionPage, ActionStatus
from m2mportal.services import transfers

# Catalogue actions with a life of their own beyond their SIMs.
WORKFLOWS: dict[str, accept.Workflow] = {"simtransfer": transfers.WORKFLOW}
# Actions that are not catalogue rows but list with them (services/orders.py).
OTHER_ACTIONS = ("simorder",)

ActionStatusName = Literal[
    "Pending", "In Progress", "Done", "Partially Done", "Failed", "Cancelled"
]


class ActionQuery(msgspec.Struct):
    dryRun: bool = False


class _Unmetered:
    """The budget of an action outside every rate-limit class (SIM transfer)."""

    async def charge(self, cost: int) -> None:
        return None

    async def peek(self) -> None:
        return None


Instant = Annotated[
    str,
    # The pattern documents the form; instant() checks it with a message a person can read.
    Meta(
        extra_json_schema={"pattern": INSTANT_PATTERN},
        description="ISO-8601 date or date-time (UTC unless an offset is given)",
        examples=["2025-08-28", "2025-08-28T10:15:00Z"],
    ),
]


class ActionListQuery(msgspec.Struct):
    action: Literal[tuple(spec.path for spec in CATALOGUE) + OTHER_ACTIONS] | None = None  # type: ignore[valid-type]
    status: ActionStatusName | None = None
    # createdFrom is inclusive, createdTo exclusive; a date alone as createdTo counts the
    # whole day.
    createdFrom: Instant | None = None
    createdTo: Instant | None = None
    page: Annotated[int, Meta(ge=0, le=10_000_000)] = 0
    size: Annotated[int, Meta(ge=1, le=1000)] = 100


def _signup_id(call: Call) -> int:
    return call.ids["signupId"]


def action_handler(spec: ActionSpec) -> Handler:
    async def handle(call: Call) -> ActionAccepted | Response:
        assert call.partner_id is not None and call.principal is not None
        result = await accept.accept(
            call.platform,
            spec,
            call.body,
            call.raw_body,
            call.partner_id,
            call.principal.client_id,
            call.headers.get("Idempotency-Key"),
            call.query.dryRun,
            call if spec.rate_class is not None else _Unmetered(),
            WORKFLOWS.get(spec.path),
        )
        if isinstance(result, ActionAccepted):
            return result
        return Response(msgspec.json.encode(result), media_type="application/json")

    handle.__name__ = f"action_{spec.path}"
    return handle


async def get_action(call: Call) -> ActionStatus:
    assert call.partner_id is not None
    scope = await call.platform.tree.descendants(call.partner_id)
    return await views.status(call.platform, _signup_id(call), scope)


async def list_actions(call: Call) -> ActionPage:
    assert call.partner_id is not None
    q: ActionListQuery = call.query
    # An empty value is not an absent one: instant() refuses it.
    created_from = None if q.createdFrom is None else instant("createdFrom", q.createdFrom)
    created_to = None if q.createdTo is None else instant("createdTo", q.createdTo, True)
    if created_from and created_to and created_to < created_from:
        raise bad_request("createdTo: must not be before createdFrom")
    scope = await call.platform.tree.descendants(call.partner_id)
    return await views.page(
        call.platform, scope, q.action, q.status, created_from, created_to, q.size, q.page
    )


async def cancel_action(call: Call) -> ActionStatus:
    assert call.partner_id is not None
    scope = await call.platform.tree.descendants(call.partner_id)
    return await views.cancel(call.platform, _signup_id(call), scope)
