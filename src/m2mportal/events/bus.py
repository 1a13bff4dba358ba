"""Wake-ups for streams: which subscriptions got events, and which streams were replaced.

In one process this is a set of asyncio events. With several processes on PostgreSQL the
same news travels by LISTEN/NOTIFY (sent at commit), and each process wakes its own streams.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from m2mportal.store import events as event_store
from m2mportal.store.database import Database

EVENTS_CHANNEL = "m2mp_events"
STREAMS_CHANNEL = "m2mp_streams"
# A NOTIFY payload must stay under 8,000 bytes; past this many ids, wake everyone.
_MAX_IDS = 200


@dataclass(eq=False)
class StreamHandle:
    subscription_id: str
    stream_id: str = field(default_factory=lambda: secrets.token_hex(8))
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stopped: bool = False
    reason: str = ""

    def stop(self, reason: str) -> None:
        self.stopped = True
        self.reason = reason
        self.wake.set()


class EventBus:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._streams: dict[str, StreamHandle] = {}

    async def start(self) -> None:
        await self._db.listen(EVENTS_CHANNEL, self._on_events)
        await self._db.listen(STREAMS_CHANNEL, self._on_stream)

    # --- events -------------------------------------------------------------------------

    async def announce(self, subscription_ids: list[str]) -> None:
        """Call inside the transaction that wrote deliveries: wakes after it commits."""
        self._db.on_commit(lambda: self.wake(subscription_ids))
        payload = "*" if len(subscription_ids) > _MAX_IDS else ",".join(subscription_ids)
        await event_store.notify(self._db, EVENTS_CHANNEL, payload)

    def wake(self, subscription_ids: Iterable[str]) -> None:
        for sub in subscription_ids:
            handle = self._streams.get(sub)
            if handle is not None:
                handle.wake.set()

    def _on_events(self, payload: str) -> None:
        if payload == "*":
            self.wake(list(self._streams))
        else:
            self.wake(payload.split(","))

    # --- streams ------------------------------------------------------------------------

    async def open(self, subscription_id: str) -> StreamHandle:
        """Register a new stream; an older one of the same subscription ends, here or in
        any other process."""
        handle = StreamHandle(subscription_id)
        self._replace(handle)
        await event_store.notify(self._db, STREAMS_CHANNEL, f"{subscription_id} {handle.stream_id}")
        return handle

    def _replace(self, handle: StreamHandle) -> None:
        old = self._streams.get(handle.subscription_id)
        if old is not None and old is not handle:
            old.stop("replaced by a newer connection")
        self._streams[handle.subscription_id] = handle

    def _on_stream(self, payload: str) -> None:
        subscription_id, _, stream_id = payload.partition(" ")
        current = self._streams.get(subscription_id)
        if current is not None and current.stream_id != stream_id:
            current.stop("replaced by a newer connection")
            del self._streams[subscription_id]

    def close(self, handle: StreamHandle) -> None:
        if self._streams.get(handle.subscription_id) is handle:
            del self._streams[handle.subscription_id]

    async def terminate(self, subscription_id: str) -> bool:
        """End the open stream of a subscription (``POST .../terminate``)."""
        handle = self._streams.get(subscription_id)
        found = handle is not None
        if handle is not None:
            handle.stop("terminated")
            del self._streams[subscription_id]
        # Other processes end theirs: a stream id that matches nothing replaces everything.
        await event_store.notify(self._db, STREAMS_CHANNEL, f"{subscription_id} terminate")
        return found

    @property
    def open_streams(self) -> int:
        return len(self._streams)

    def is_open(self, subscription_id: str) -> bool:
        """Whether this process serves a stream of the subscription."""
        return subscription_id in self._streams
