"""What the gateway needs to know about an API client, cached for at most a few seconds,
and an application's status as everyone reads it.

The contract lets a deleted application's tokens work for up to 5 s; within that bound the
gateway answers from memory and the hot path makes no database round trip. The status is
never taken from that cache where it decides something new (the token endpoint, the
operator API): ``current_status`` reads the row.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from m2mportal.clock import iso, parse_iso
from m2mportal.store import applications as app_store
from m2mportal.store.database import Database, Row


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


async def current_status(db: Database, row: Row, now: datetime, provisioning_seconds: float) -> str:
    """The application's status at ``now``.

    Provisioning ends when its delay has passed, not when the background provisioner next
    comes round (every 0.5 s, per process). The first reader that sees it end writes
    ``Active`` before answering, so whoever is told ``Active`` (operator API, portal) can
    get a token at once, from this process or any other sharing the database, whatever
    their clocks say.
    """
    status: str = row["status"]
    if status != "In Creation":
        return status
    if parse_iso(row["created_at"]) > now - timedelta(seconds=provisioning_seconds):
        return status
    await app_store.activate(db, row["client_id"], iso(now))
    return "Active"


class ClientCache:
    def __init__(self, db: Database, ttl: float) -> None:
        self._db = db
        self._ttl = ttl
        self._entries: dict[str, tuple[float, ClientInfo | None]] = {}

    def forget(self, client_id: str) -> None:
        # Also drops the event-credential entry, which is keyed by the event client id.
        for key, (_, info) in list(self._entries.items()):
            if key == client_id or (info is not None and info.client_id == client_id):
                del self._entries[key]

    async def get(self, client_id: str, events: bool = False) -> ClientInfo | None:
        """The client by its REST client id, or with ``events`` by its event client id."""
        key = ("events:" if events else "") + client_id
        hit = self._entries.get(key)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        if events:
            row = await app_store.get_by_event_client(self._db, client_id)
        else:
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
        # An application still being provisioned is not kept: it has no token yet, and
        # its status is about to change.
        if info is None or info.status != "In Creation":
            self._entries[key] = (now, info)
        return info
