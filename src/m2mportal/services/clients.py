"""What the gateway needs to know about an API client, cached for at most a few seconds.

The contract lets a deleted application's tokens work for up to 5 s; within that bound the
gateway answers from memory and the hot path makes no database round trip.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from m2mportal.store import applications as app_store
from m2mportal.store.database import Database


@dataclass(frozen=True)
class ClientInfo:
    client_id: str
    partner_id: int | None
    role: str
    status: str
    read_only: bool
    ip_whitelist: frozenset[str]
    user_type: str
    subunits: tuple[int, ...]
    event_client_id: str | None

    @property
    def active(self) -> bool:
        return self.status == "Active"


class ClientCache:
    def __init__(self, db: Database, ttl: float) -> None:
        self._db = db
        self._ttl = ttl
        self._entries: dict[str, tuple[float, ClientInfo | None]] = {}

    def forget(self, client_id: str) -> None:
        self._entries.pop(client_id, None)

    async def get(self, client_id: str) -> ClientInfo | None:
        hit = self._entries.get(client_id)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        row = await app_store.get(self._db, client_id)
        info = None
        if row is not None:
            info = ClientInfo(
                client_id=row["client_id"],
                partner_id=row["partner_id"],
                role=row["role"],
                status=row["status"],
                read_only=bool(row["read_only"]),
                ip_whitelist=frozenset(json.loads(row["ip_whitelist"])),
                user_type=row["user_type"],
                subunits=tuple(json.loads(row["subunits"])),
                event_client_id=row["event_client_id"],
            )
        if len(self._entries) > 50_000:
            self._entries.clear()
        self._entries[client_id] = (now, info)
        return info
