"""The partner tree held in memory: "this partner and its descendants" without a query.

Re-read at most every few seconds (another process may add a subunit) and at once after
a change made here.
"""

from __future__ import annotations

import time

from m2mportal.store import partners as partner_store
from m2mportal.store.database import Database


class PartnerTree:
    def __init__(self, db: Database, ttl: float = 5.0) -> None:
        self._db = db
        self._ttl = ttl
        self._loaded_at = -1e18
        self._parent: dict[int, int | None] = {}
        self._children: dict[int, list[int]] = {}
        self._below: dict[int, frozenset[int]] = {}

    def invalidate(self) -> None:
        self._loaded_at = -1e18

    def _stale(self) -> bool:
        """Checked before the reload is awaited, so a read makes no coroutine while the
        tree is fresh (a GET SIM details reads it three times)."""
        return time.monotonic() - self._loaded_at >= self._ttl

    async def _reload(self) -> None:
        rows = await partner_store.all_partners(self._db)
        parent: dict[int, int | None] = {}
        children: dict[int, list[int]] = {}
        for row in rows:
            parent[row["id"]] = row["parent_id"]
            children.setdefault(row["id"], [])
            if row["parent_id"] is not None:
                children.setdefault(row["parent_id"], []).append(row["id"])
        self._parent, self._children, self._below = parent, children, {}
        self._loaded_at = time.monotonic()

    async def exists(self, partner_id: int) -> bool:
        if self._stale():
            await self._reload()
        return partner_id in self._parent

    async def descendants(self, partner_id: int) -> frozenset[int]:
        """The partner itself and every partner below it; empty if it does not exist."""
        if self._stale():
            await self._reload()
        hit = self._below.get(partner_id)
        if hit is None:
            if partner_id not in self._parent:
                return frozenset()
            found: list[int] = []
            stack = [partner_id]
            while stack:
                current = stack.pop()
                found.append(current)
                stack.extend(self._children.get(current, ()))
            hit = frozenset(found)
            self._below[partner_id] = hit
        return hit

    async def root_of(self, partner_id: int) -> int:
        """The top customer account of a partner's tree (subunits share its budgets)."""
        if self._stale():
            await self._reload()
        current = partner_id
        while (up := self._parent.get(current)) is not None:
            current = up
        return current
