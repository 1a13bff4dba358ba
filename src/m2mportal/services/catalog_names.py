"""The names of the operator's catalogue entries, held in memory for SIM reads.

SIM details name a SIM's tariff, profiles, material and options, and the SIM list its
tariff. Joining the four catalogue tables into every SIM read cost PostgreSQL a third of
a GET SIM details' query (85 to 50 us of the server's CPU without the five joins and the
options' join; docs/benchmarks.md, issue 15). The names are looked up here instead.

This is never stale: catalogue entries are only ever inserted (store/catalog.py has no
UPDATE or DELETE, and an id is never reused), so a name once read stays right for good.
The only change is a new entry, made by this process or another one: an id not known
here makes one read of the catalogue, before the answer is built. An id that is still
unknown after that read names nothing (a dangling reference): the SIM is shown as the
joins showed it, without that name, and each such read reads the catalogue again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from m2mportal.store import catalog as catalog_store
from m2mportal.store.database import Database


class CatalogNames:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = asyncio.Lock()
        self._reads = 0
        # Table -> id -> name; the tables of store/catalog.py.
        self.tariffs: dict[int, str] = {}
        self.options: dict[int, str] = {}
        self.materials: dict[int, str] = {}
        self.profiles: dict[int, str] = {}

    @property
    def reads(self) -> int:
        """How often the catalogue was read (for tests)."""
        return self._reads

    def missing(
        self,
        tariffs: Iterable[int | None] = (),
        options: Iterable[int] = (),
        materials: Iterable[int | None] = (),
        profiles: Iterable[int | None] = (),
    ) -> bool:
        """Whether one of these ids (None: no reference) is not known here. Synchronous,
        so a read whose names are all known makes no coroutine."""
        for known, ids in (
            (self.tariffs, tariffs),
            (self.options, options),
            (self.materials, materials),
            (self.profiles, profiles),
        ):
            for item_id in ids:
                if item_id is not None and item_id not in known:
                    return True
        return False

    async def refresh(self) -> None:
        """Read the catalogue's names anew (one statement). Concurrent callers share one
        read: whoever waited for the lock finds the names another caller just read."""
        reads = self._reads
        async with self._lock:
            if self._reads != reads:
                return
            tables = await catalog_store.names(self._db)
            self.tariffs = tables["tariffs"]
            self.options = tables["options"]
            self.materials = tables["materials"]
            self.profiles = tables["profiles"]
            self._reads += 1
