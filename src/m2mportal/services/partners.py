"""Partners: the customer tree, its SIM counts, and creating partners and portal users."""

from __future__ import annotations

from m2mportal.clock import Clock, iso
from m2mportal.domain.errors import bad_request, conflict, not_found
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
