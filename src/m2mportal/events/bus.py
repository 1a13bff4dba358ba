"""Wake-ups for streams: which subscriptions got events, and which streams were replaced.

In one process this is a set of asyncio events. With several processes on PostgreSQL the
same news travels by LISTEN/NOTIFY (sent at commit), and each process wakes its own streams.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from m2mportal.clock import Clock, iso
from m2mportal.store import events as event_store
from m2mportal.store.database import Database, Row

EVENTS_CHANNEL = "m2mp_events"
STREAMS_CHANNEL = "m2mp_streams"
# A NOTIFY payload must stay under 8,000 bytes; past this many ids, wake everyone.
_MAX_IDS = 200
# How much later than the first due write the confirmer looks, as a share of the confirm
# window: one commit wakes 2,000 streams, whose writes spread over tens of milliseconds;
# their marks go in one transaction (later is safe, earlier would not be).
_CONFIRM_SLACK = 0.05
# Loop turns the confirmer lets pass before it decides (see _confirm_due).
_NEWS_TURNS = 10
# Time the confirming transaction may take (2,000 marks: tens of milliseconds).
_COMMIT_MARGIN = 0.25

log = logging.getLogger(__name__)


def settle_seconds(confirm_seconds: float) -> float:
    """How long after a write its delivery mark is committed, at the latest (normally)."""
    return confirm_seconds * (1 + _CONFIRM_SLACK) + _COMMIT_MARGIN


@dataclass(eq=False)
class StreamHandle:
    subscription_id: str
    stream_id: str = field(default_factory=lambda: secrets.token_hex(8))
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stopped: bool = False
    reason: str = ""
    # Set when this stream's own NOTIFY comes back: from then on every other stream
    # notification of the subscription is newer (PostgreSQL delivers NOTIFYs to every
    # listener in commit order), and ends this stream.
    confirmed: bool = False
    # The outbox rows of events this process committed for the subscription since the
    # stream last looked, and whether the stream must read the database instead (it just
    # opened, its poll came round, or another process committed something for it).
    hints: list[Row] = field(default_factory=list)
    must_read: bool = True
    # Seqs written to the connection and not yet DELIVERED (see EventBus.written); a read
    # of undelivered events leaves them out. ``settled`` is set whenever it is empty or the
    # client has gone.
    unconfirmed: set[int] = field(default_factory=set)
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    # The client closed the connection (or the stream ended before confirming): what it
    # wrote and had not confirmed stays PROCESSED and goes out again on the next stream.
    gone: bool = False

    def __post_init__(self) -> None:
        self.settled.set()

    def stop(self, reason: str) -> None:
        self.stopped = True
        self.reason = reason
        self.wake.set()

    def leave(self) -> None:
        """The client has gone: nothing written is confirmed from now on."""
        self.gone = True
        self.settled.set()
        self.stop("the client closed the connection")

    def hint(self, event: Row) -> None:
        self.hints.append(event)
        self.wake.set()

    def alert(self) -> None:
        self.must_read = True
        self.wake.set()

    def take(self) -> tuple[list[Row], bool]:
        """The hints and the must-read flag gathered since the last call."""
        hints, must_read = self.hints, self.must_read
        self.hints, self.must_read = [], False
        return hints, must_read


class EventBus:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self._db = db
        self._clock = clock or Clock()
        self._streams: dict[str, StreamHandle] = {}
        # Tells this process's own stream notifications from other processes'.
        self._origin = secrets.token_hex(8)
        # What streams wrote, oldest first: (when it is due, when to look, stream, seqs).
        self._written: deque[tuple[float, float, StreamHandle, Sequence[int]]] = deque()
        self._confirmer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._db.listen(EVENTS_CHANNEL, self._on_events)
        await self._db.listen(STREAMS_CHANNEL, self._on_stream)

    # --- events -------------------------------------------------------------------------

    async def announce(self, subscription_ids: list[str], event: Row | None = None) -> None:
        """Call inside the transaction that wrote deliveries: wakes after it commits.

        With the event's outbox row, this process's streams of those subscriptions get it
        as a hint and, when they know they have sent everything before it, write it
        without reading the database (one commit can wake 2,000 streams)."""
        if event is None:
            self._db.on_commit(lambda: self.wake(subscription_ids))
        else:
            self._db.on_commit(lambda: self._hint(subscription_ids, event))
        ids = "*" if len(subscription_ids) > _MAX_IDS else ",".join(subscription_ids)
        await event_store.notify(self._db, EVENTS_CHANNEL, f"{self._origin}:{ids}")

    def wake(self, subscription_ids: Iterable[str]) -> None:
        """Streams of these subscriptions read the database: they may have new events."""
        for sub in subscription_ids:
            handle = self._streams.get(sub)
            if handle is not None:
                handle.alert()

    def _hint(self, subscription_ids: Iterable[str], event: Row) -> None:
        for sub in subscription_ids:
            handle = self._streams.get(sub)
            if handle is not None:
                handle.hint(event)

    def _on_events(self, payload: str) -> None:
        origin, _, ids = payload.rpartition(":")
        if origin == self._origin:
            return  # this process's own commit: its streams were told at commit
        if ids == "*":
            self.wake(list(self._streams))
        else:
            self.wake(ids.split(","))

    # --- deliveries ---------------------------------------------------------------------

    def written(self, handle: StreamHandle, seqs: Sequence[int], confirm_seconds: float) -> None:
        """A stream wrote these events to its connection; they become DELIVERED once the
        connection was still open ``confirm_seconds`` later.

        A successful write proves little: with the client gone, the bytes still land in the
        socket buffer, and the news of the close (its FIN, or the RST its kernel answers the
        bytes with) arrives later, a round trip later across a network. By then the stream
        has ``left`` (the response saw ``http.disconnect``) and these stay PROCESSED for
        the next stream: at least once, never lost. One task confirms for every stream, in
        one transaction per wave of writes, instead of 2,000 timers and 2,000 commits."""
        handle.unconfirmed.update(seqs)
        handle.settled.clear()
        due = time.monotonic() + confirm_seconds
        self._written.append((due, due + confirm_seconds * _CONFIRM_SLACK, handle, seqs))
        if self._confirmer is None or self._confirmer.done():
            self._confirmer = asyncio.create_task(self._confirm_due())

    async def _confirm_due(self) -> None:
        while self._written:
            wait = self._written[0][1] - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            # News of a close that came while the loop was busy (a long collection, a slow
            # callback) is still on its way to the stream when this timer fires: the
            # socket's end is read, the server sets the disconnect, the stream's listener
            # wakes and leaves, a loop turn each. Deciding first would confirm writes to a
            # client that left during the stall (seen once in 2,000 hang-ups under load,
            # tests/e2e/test_streams_live.py).
            for _ in range(_NEWS_TURNS):
                await asyncio.sleep(0)
            now = time.monotonic()
            due: list[tuple[StreamHandle, Sequence[int]]] = []
            while self._written and self._written[0][0] <= now:
                _, _, handle, seqs = self._written.popleft()
                if not handle.gone:
                    due.append((handle, seqs))
            if due:
                await self._confirm(due)

    async def _confirm(self, due: list[tuple[StreamHandle, Sequence[int]]]) -> None:
        try:
            await event_store.mark_delivered_many(
                self._db, [(h.subscription_id, seqs) for h, seqs in due], iso(self._clock.now())
            )
        except Exception:
            # Not marked: the events stay PROCESSED and go out again. The streams end
            # rather than wait for marks that will not come.
            log.exception("event delivery marks failed; %d streams end", len(due))
            for handle, _ in due:
                handle.leave()
            return
        for handle, seqs in due:
            handle.unconfirmed.difference_update(seqs)
            if not handle.unconfirmed:
                handle.settled.set()

    # --- streams ------------------------------------------------------------------------

    async def open(self, subscription_id: str) -> StreamHandle:
        """Register a new stream; an older one of the same subscription ends, here or in
        any other process."""
        handle = StreamHandle(subscription_id)
        self._replace(handle)
        await event_store.notify(
            self._db, STREAMS_CHANNEL, f"{subscription_id} {handle.stream_id} {self._origin}"
        )
        return handle

    def _replace(self, handle: StreamHandle) -> None:
        old = self._streams.get(handle.subscription_id)
        if old is not None and old is not handle:
            old.stop("replaced by a newer connection")
        self._streams[handle.subscription_id] = handle

    def _on_stream(self, payload: str) -> None:
        subscription_id, stream_id, origin = [*payload.split(" "), "", ""][:3]
        current = self._streams.get(subscription_id)
        if current is None:
            return
        if stream_id == current.stream_id:
            current.confirmed = True
        elif origin != self._origin and current.confirmed:
            # Another process opened (or terminated) the subscription's stream after ours.
            current.stop("replaced by a newer connection")
            del self._streams[subscription_id]
        # Otherwise the notification is older than the current stream: this process's own
        # earlier stream or terminate (already handled here), or another process's that
        # committed before ours. Ending the current stream for it would end the newest.

    def close(self, handle: StreamHandle) -> None:
        """The stream's response has ended; what it has not confirmed by now, never is."""
        if handle.unconfirmed:
            handle.gone = True
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
        await event_store.notify(
            self._db, STREAMS_CHANNEL, f"{subscription_id} terminate {self._origin}"
        )
        return found

    @property
    def open_streams(self) -> int:
        return len(self._streams)

    def is_open(self, subscription_id: str) -> bool:
        """Whether this process serves a stream of the subscription."""
        return subscription_id in self._streams
