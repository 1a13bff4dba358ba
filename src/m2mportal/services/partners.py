"""Partners: the customer tree, its SIM counts, creating partners and portal users, and the
rate limits the operator sets for a partner."""

from __future__ import annotations

from typing import Any

import msgspec

from m2mportal.clock import Clock, iso
from m2mportal.domain.errors import bad_request, conflict, not_found
from m2mportal.gateway.limits import RateLimiter, check_rates
from m2mportal.models import Partner, SubunitRef
from m2mportal.services.partner_tree import PartnerTree
from m2mportal.store import partners as partner_store
from m2mportal.store.database import Database
from m2mportal.store.sequences import next_id
from m2mportal.vault import hash_password

SIM_STATUSES = ("Inactive", "Active", "Suspended", "Blocked", "Terminated")


async def view(db: Database, tree: PartnerTree, partner_id: int) -> Partner:
    row = await partner_store.get(db, partner_id)
    if row is None:
        raise not_found(f"partner {partner_id} does not exist")
    subunits = await partner_store.children(db, partner_id)
    ids = sorted(await tree.descendants(partner_id))
    counts = {status: 0 for status in SIM_STATUSES}
    for count_row in await partner_store.sim_counts(db, ids):
        counts[count_row["status"]] = int(count_row["n"])
    counts["total"] = sum(counts.values())
    return Partner(
        partner_id=row["id"],
        name=row["name"],
        parent_partner_id=row["parent_id"],
        subunits=[SubunitRef(partner_id=s["id"], name=s["name"]) for s in subunits],
        sim_counts=counts,
    )


async def create(
    db: Database, tree: PartnerTree, clock: Clock, name: str, parent_id: int | None
) -> int:
    name = name.strip()
    if not name:
        raise bad_request("name: must not be blank")
    async with db.transaction():
        path = "/"
        if parent_id is not None:
            parent = await partner_store.get(db, parent_id)
            if parent is None:
                raise bad_request(f"parentPartnerId: partner {parent_id} does not exist")
            path = parent["path"]
        partner_id = await next_id(db, "partner")
        await partner_store.insert(
            db, partner_id, name, parent_id, f"{path}{partner_id}/", iso(clock.now())
        )
    tree.invalidate()
    return partner_id


async def create_portal_user(
    db: Database, clock: Clock, partner_id: int, username: str, password: str
) -> None:
    if await partner_store.get(db, partner_id) is None:
        raise not_found(f"partner {partner_id} does not exist")
    if await partner_store.get_portal_user(db, username) is not None:
        raise conflict(f"username: {username!r} is taken")
    await partner_store.insert_portal_user(
        db, partner_id, username, hash_password(password), iso(clock.now())
    )


async def set_limits(
    db: Database, limiter: RateLimiter, partner_id: int, classes: dict[str, Any]
) -> dict[str, list[str]]:
    """Replace the partner's rates of each class given (the others keep theirs); answers
    every class the partner has its own rates for. All or nothing: one bad value stores none."""
    problems = [p for name, rates in classes.items() for p in check_rates(name, rates)]
    if not classes:
        problems.append("body: name at least one class (actions, details, history, sms)")
    if problems:
        raise bad_request(*problems)
    partner = await partner_store.get(db, partner_id)
    if partner is None:
        raise not_found(f"partner {partner_id} does not exist")
    if partner["parent_id"] is not None:
        raise bad_request(
            f"partnerId: {partner_id} is a subunit; it shares the budget of its top partner,"
            " set the limits there"
        )
    for limit_class, rates in classes.items():
        await partner_store.set_limits(
            db, partner_id, limit_class, msgspec.json.encode([r.strip() for r in rates]).decode()
        )
    limiter.forget(partner_id)
    stored = await partner_store.get_limits(db, partner_id)
    return {row["limit_class"]: msgspec.json.decode(row["rates"]) for row in stored}
