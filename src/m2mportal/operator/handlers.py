"""Operator API handlers: thin, each one service call."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from starlette.responses import Response

from m2mportal.clock import iso
from m2mportal.domain.errors import ApiError, not_found
from m2mportal.gateway.endpoints import Call
from m2mportal.models import (
    Application,
    ApplicationCredentials,
    ApplicationSecrets,
    CatalogItem,
    ClockState,
    ImportResult,
    Partner,
    PortalUserOut,
    PublishedEvent,
    SubscriptionBacklog,
)
from m2mportal.services import applications, catalog, events, inventory, partners
from m2mportal.store import partners as partner_store


def _pid(call: Call) -> int:
    assert call.partner_id is not None
    return call.partner_id


async def create_partner(call: Call) -> Partner:
    p = call.platform
    new_id = await partners.create(
        p.db, p.tree, p.clock, call.body.name, call.body.parent_partner_id
    )
    return await partners.view(p.db, p.tree, new_id)


async def get_partner(call: Call) -> Partner:
    return await partners.view(call.platform.db, call.platform.tree, _pid(call))


async def create_portal_user(call: Call) -> PortalUserOut:
    p = call.platform
    await partners.create_portal_user(
        p.db, p.clock, _pid(call), call.body.username, call.body.password
    )
    return PortalUserOut(username=call.body.username, partner_id=_pid(call))


async def register_application(call: Call) -> ApplicationCredentials:
    return await applications.register(call.platform, _pid(call), call.body)


async def list_applications(call: Call) -> list[Application]:
    if await partner_store.get(call.platform.db, _pid(call)) is None:
        raise not_found(f"partner {_pid(call)} does not exist")
    return await applications.list_for_partner(call.platform, _pid(call))


async def get_application(call: Call) -> Application:
    return await applications.get(call.platform, call.path["clientId"])


def _no_store(secrets: ApplicationSecrets) -> Response:
    # No cache or proxy on the way may keep a copy of a secret (RFC 9111 no-store).
    return Response(
        msgspec.json.encode(secrets),
        media_type="application/json",
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


async def get_secrets(call: Call) -> Response:
    return _no_store(await applications.secrets_of(call.platform, call.path["clientId"]))


async def rotate_secret(call: Call) -> Response:
    client_id, which = call.path["clientId"], call.body.which
    return _no_store(await applications.rotate_secret(call.platform, client_id, which))


async def change_application(call: Call) -> Application:
    return await applications.change(call.platform, call.path["clientId"], call.body)


async def delete_application(call: Call) -> Any:
    await applications.delete(call.platform, call.path["clientId"])
    return {"clientId": call.path["clientId"], "status": "Deleted"}


async def add_sims(call: Call) -> ImportResult:
    p = call.platform
    records = [(f"sims[{i}]", sim) for i, sim in enumerate(call.body.sims)]
    try:
        outcome = await inventory.add_sims(p.db, p.tree, p.clock, _pid(call), records)
    except inventory.ImportFailed as exc:
        # "sims[3]: iccid: ..." -> "sims[3].iccid: ...", the contract's way to name a field.
        errors = [re.sub(r"^(sims\[\d+\]): (?=\w+:)", r"\1.", e) for e in exc.errors]
        if exc.only_taken:  # valid records that clash with the inventory's state
            raise ApiError(409, "Conflict", errors) from exc
        raise ApiError(400, "Validation failed", errors) from exc
    return ImportResult(inserted=outcome.inserted, rejected=outcome.rejected, errors=outcome.errors)


async def create_tariff(call: Call) -> CatalogItem:
    return await catalog.create(call.platform.db, call.body)


async def create_option(call: Call) -> CatalogItem:
    return await catalog.create(call.platform.db, call.body)


async def create_material(call: Call) -> CatalogItem:
    return await catalog.create(call.platform.db, call.body)


async def create_profile(call: Call) -> CatalogItem:
    return await catalog.create(call.platform.db, call.body)


async def set_limits(call: Call) -> dict[str, list[str]]:
    p = call.platform
    return await partners.set_limits(p.db, p.limiter, _pid(call), call.body)


async def get_clock(call: Call) -> ClockState:
    clock = call.platform.clock
    return ClockState(now=iso(clock.now()), offset_seconds=clock.offset)


async def advance_clock(call: Call) -> ClockState:
    clock = call.platform.clock
    clock.advance(call.body.seconds)
    return ClockState(now=iso(clock.now()), offset_seconds=clock.offset)


async def get_subscription(call: Call) -> SubscriptionBacklog:
    return await events.backlog(call.platform, call.path["subscriptionId"])


async def publish_test_event(call: Call) -> PublishedEvent:
    return await events.publish_test(call.platform, call.body.partner_id, call.body.type)
