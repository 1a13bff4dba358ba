"""Wake-ups for streams: which subscriptions got events, and which streams were replaced.

In one process this is a set of asyncio events. With several processes on PostgreSQL the
same news travels by LISTEN/NOTIFY (sent at commit), and each process wakes its own streams.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from m2mportal.clock import Clock, iso
from m2mportal.store import events as event_store
from m2mportal.store.database import Database, Row

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
    # Set when this stream's own NOTIFY comes back: from then on every other stream
    # notification of the subscription is newer (PostgreSQL delivers NOTIFYs to every
    # listener in commit order), and ends this stream.
    confirmed: bool = False
    # The outbox rows of events this process committed for the subscription since the
    # stream last looked, and whether the stream must read the database instead (it just
    # opened, its poll came round, or another process committed something for it).
    hints: list[Row] = field(default_factory=list)
    must_read: bool = True

    def stop(self, reason: str) -> None:
        self.stopped = True
        self.reason = reason
        self.wake.set()

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
        # Delivery marks waiting for the next batch write, each with its stream's future.
        self._marks: list[tuple[str, Sequence[int], asyncio.Future[None]]] = []
        self._writers: set[asyncio.Task[None]] = set()

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

    def delivered(self, subscription_id: str, seqs: Sequence[int]) -> asyncio.Future[None]:
        """Mark events DELIVERED once a stream wrote them; the future is done when that is
        committed.

        One commit wakes every stream of its subscriptions at once: each reads and writes its
        events and hands its marks here; all of them go to the database in one transaction
        (not one commit per stream, which with 2,000 streams delays the last one by the
        time of 2,000 commits), stamped with the time of that write."""
        # Its own future: a stream cancelled while waiting (its client left) cancels
        # neither the write nor the other streams' waits.
        done = asyncio.get_running_loop().create_future()
        if not self._marks:
            # Runs after the streams already woken: they add their marks to this batch.
            task = asyncio.create_task(self._write_marks())
            self._writers.add(task)
            task.add_done_callback(self._writers.discard)
        self._marks.append((subscription_id, seqs, done))
        return done

    async def _write_marks(self) -> None:
        marks, self._marks = self._marks, []
        outcome: BaseException | None = None
        try:
            await event_store.mark_delivered_many(
                self._db, [(sub, seqs) for sub, seqs, _ in marks], iso(self._clock.now())
            )
        except BaseException as exc:
            outcome = exc
            if not isinstance(exc, Exception):
                raise
        finally:
            for _, _, done in marks:
                if done.done():
                    continue
                if outcome is None:
                    done.set_result(None)
                elif isinstance(outcome, Exception):
                    # Each stream fails as its own mark_delivered would have.
                    done.set_exception(outcome)
                    done.exception()  # retrieved here too: a stream may have ended
                else:
                    done.cancel()

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
