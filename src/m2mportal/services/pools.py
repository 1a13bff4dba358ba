"""Pools: created by the operator for a top partner; read by the partner tree's
applications with this month's usage of every SIM of the tree (CONTRACT 7.8)."""

from __future__ import annotations

from typing import Any

from m2mportal.clock import Clock
from m2mportal.domain import pools
from m2mportal.domain.errors import bad_request, not_found
from m2mportal.services.partner_tree import PartnerTree
from m2mportal.store import pools as store
from m2mportal.store.database import Database
from m2mportal.store.sequences import next_id


async def create(
    db: Database, tree: PartnerTree, clock: Clock, partner_id: int, spec: pools.NewPool
) -> pools.Pool:
    if not await tree.exists(partner_id):
        raise not_found(f"partner {partner_id} does not exist")
    root = await tree.root_of(partner_id)
    if root != partner_id:
        raise bad_request(
            f"partnerId: {partner_id} is a subunit; pools belong to its top partner {root}"
        )
    if problem := pools.levels_problem(spec.levels):
        raise bad_request(f"levels: {problem}")
    offering_name = spec.offering_name or spec.name
    async with db.transaction():
        offering_id = await next_id(db, "offering")
        await store.insert(
            db,
            {
                "offering_id": offering_id,
                "partner_id": partner_id,
                "name": spec.name,
                "offering_name": offering_name,
                "pool_type": spec.type,
                "allowance": spec.allowance,
                "level1": spec.levels[0],
                "level2": spec.levels[1],
                "created_at": clock.iso(),
            },
        )
    return pools.Pool(
        offering_id=offering_id,
        partner_id=partner_id,
        name=spec.name,
        offering_name=offering_name,
        type=spec.type,
        allowance=spec.allowance,
        unit=pools.UNITS[spec.type],
        levels=list(spec.levels),
    )


def _used(row: Any) -> int:
    return int(row[f"used_{row['pool_type'].lower()}"])


async def usage(db: Database, tree: PartnerTree, clock: Clock, partner_id: int) -> pools.PoolsUsage:
    """The pools of the partner's top partner: a pool is shared by the whole tree, so a
    subunit sees the tree's pools and their whole usage, which is what their levels judge."""
    owner = await tree.root_of(partner_id)
    month = clock.month()
    rows = await store.with_usage(db, owner, sorted(await tree.descendants(owner)), month)
    return pools.PoolsUsage(
        partner_id=owner,
        period=month,
        pools=[
            pools.usage(
                offering_id=int(row["offering_id"]),
                name=row["name"],
                offering_name=row["offering_name"],
                kind=row["pool_type"],
                allowance=int(row["allowance"]),
                levels=[int(row["level1"]), int(row["level2"])],
                used=_used(row),
            )
            for row in rows
        ],
    )
