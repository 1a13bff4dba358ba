"""Protective measures: per-customer budgets counted in SIMs over rolling windows.

A partner and all its subunits draw on one budget (the top partner's). Each class has one
or more moving windows (``"1000/6 minutes"``, ``"10000/hour"``); a call passes only if
every window has room for its cost, and a refused call consumes nothing. Testing every
window and then hitting them happens under a per-partner lock (an asyncio lock in the
embedded default, a Redis lock when budgets are shared between processes), so two windows
act as one and concurrent calls cannot both take the last SIMs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from m2mportal.config import Settings
from m2mportal.domain.errors import ApiError
from m2mportal.services.partner_tree import PartnerTree
from m2mportal.store import partners as partner_store
from m2mportal.store.database import Database

CLASSES = ("actions", "details", "history", "sms")
EXCEEDED = "Too Many Concurrent Requests on Platform."


@dataclass(frozen=True)
class Budget:
    """The tighter window's state after a call: what the RateLimit-* headers say."""

    limit: int
    remaining: int
    reset: int  # seconds until the window has room again

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }


def default_limits(settings: Settings) -> dict[str, list[RateLimitItem]]:
    return {name: parse_many(";".join(getattr(settings, f"limits_{name}"))) for name in CLASSES}


class RateLimiter:
    def __init__(self, settings: Settings, db: Database, tree: PartnerTree) -> None:
        self._db = db
        self._tree = tree
        self._defaults = default_limits(settings)
        self._redis: Any = None
        self._prefix = settings.redis_prefix
        if settings.redis_url:
            import redis.asyncio

            url = settings.redis_url
            self._storage = storage_from_string(
                "async+" + url, implementation="redispy", key_prefix=settings.redis_prefix
            )
            self._redis = redis.asyncio.from_url(url)
        else:
            self._storage = storage_from_string("async+memory://")
        self._strategy = MovingWindowRateLimiter(self._storage)
        self._locks: dict[int, asyncio.Lock] = {}
        self._custom: dict[int, tuple[float, dict[str, list[RateLimitItem]]]] = {}

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    def forget(self, partner_id: int) -> None:
        self._custom.pop(partner_id, None)

    async def windows(self, root: int, limit_class: str) -> list[RateLimitItem]:
        """The operator's limits for this partner, else the settings' (re-read every 5 s)."""
        hit = self._custom.get(root)
        if hit is None or time.monotonic() - hit[0] > 5.0:
            rows = await partner_store.get_limits(self._db, root)
            custom = {row["limit_class"]: parse_many(";".join(json.loads(row["rates"])))
                      for row in rows}  # fmt: skip
            hit = (time.monotonic(), custom)
            self._custom[root] = hit
        return hit[1].get(limit_class) or self._defaults[limit_class]

    @contextlib.asynccontextmanager
    async def _locked(self, root: int) -> AsyncIterator[None]:
        if self._redis is not None:
            name = f"{self._prefix}:limits-lock:{root}"
            async with self._redis.lock(name, timeout=5, blocking_timeout=5):
                yield
            return
        lock = self._locks.get(root)
        if lock is None:
            lock = self._locks[root] = asyncio.Lock()
        async with lock:
            yield

    async def _budget(self, root: int, windows: list[RateLimitItem]) -> Budget:
        tightest: Budget | None = None
        now = time.time()
        for item in windows:
            stats = await self._strategy.get_window_stats(item, str(root))
            budget = Budget(
                limit=item.amount,
                remaining=max(0, stats.remaining),
                reset=max(0, math.ceil(stats.reset_time - now)),
            )
            if tightest is None or budget.remaining < tightest.remaining:
                tightest = budget
        assert tightest is not None
        return tightest

    async def charge(self, partner_id: int, limit_class: str, cost: int) -> Budget:
        """Take ``cost`` SIMs from the partner's budget, or raise the seed's 403."""
        root = await self._tree.root_of(partner_id)
        windows = await self.windows(root, limit_class)
        key = str(root)
        async with self._locked(root):
            for item in windows:
                if cost > item.amount or not await self._strategy.test(item, key, cost=cost):
                    budget = await self._budget(root, windows)
                    retry = max(1, budget.reset)
                    raise ApiError(
                        403,
                        "Limit exceeded",
                        [EXCEEDED],
                        {**budget.headers(), "Retry-After": str(retry)},
                    )
            for item in windows:
                await self._strategy.hit(item, key, cost=cost)
            return await self._budget(root, windows)

    async def peek(self, partner_id: int, limit_class: str) -> Budget:
        """The budget without taking from it (dry runs, the API usage resource)."""
        root = await self._tree.root_of(partner_id)
        return await self._budget(root, await self.windows(root, limit_class))

    async def usage(self, partner_id: int) -> dict[str, list[dict[str, Any]]]:
        root = await self._tree.root_of(partner_id)
        now = time.time()
        answer: dict[str, list[dict[str, Any]]] = {}
        for limit_class in CLASSES:
            rows = []
            for item in await self.windows(root, limit_class):
                stats = await self._strategy.get_window_stats(item, str(root))
                remaining = max(0, stats.remaining)
                rows.append(
                    {
                        "limit": str(item),
                        "allowed": item.amount,
                        "used": item.amount - remaining,
                        "remaining": remaining,
                        "resetSeconds": max(0, math.ceil(stats.reset_time - now)),
                    }
                )
            answer[limit_class] = rows
        return answer
