"""Operator API handlers: thin, each one service call."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from limits import parse_many

from m2mportal.clock import iso
from m2mportal.domain.errors import ApiError, bad_request, not_found
from m2mportal.gateway.endpoints import Call
from m2mportal.models import (
    Application,
    ApplicationCredentials,
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

LIMIT_CLASSES = ("actions", "details", "history", "sms")


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
    body: dict[str, Any] = call.body
    problems = []
    for limit_class, rates in body.items():
        if limit_class not in LIMIT_CLASSES:
            problems.append(f"{limit_class}: unknown class (use {', '.join(LIMIT_CLASSES)})")
            continue
        if not isinstance(rates, list) or not 1 <= len(rates) <= 4:
            problems.append(f"{limit_class}: must be a list of 1 to 4 rate strings")
            continue
        for index, rate in enumerate(rates):
            if not isinstance(rate, str) or not 3 <= len(rate) <= 64:
                problems.append(
                    f"{limit_class}[{index}]: must be a rate string like '1000/6 minutes'"
                )
                continue
            try:
                parse_many(rate)
            except ValueError:
                problems.append(
                    f"{limit_class}[{index}]: {rate!r} is not a rate like '1000/6 minutes'"
                )
    if problems:
        raise bad_request(*problems)
    partner = await partner_store.get(call.platform.db, _pid(call))
    if partner is None:
        raise not_found(f"partner {_pid(call)} does not exist")
    if partner["parent_id"] is not None:
        raise bad_request(
            f"partnerId: {_pid(call)} is a subunit; it shares the budget of its top partner,"
            " set the limits there"
        )
    for limit_class, rates in body.items():
        await partner_store.set_limits(
            call.platform.db, _pid(call), limit_class, msgspec.json.encode(rates).decode()
        )
    call.platform.limiter.forget(_pid(call))
    stored = await partner_store.get_limits(call.platform.db, _pid(call))
    return {row["limit_class"]: msgspec.json.decode(row["rates"]) for row in stored}


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
