"""Server-Sent Event streams (the seed's "Detailed Implementation Guideline").

``GET /events/v1/sse/{subscriptionId}`` answers 200 at once, sends the subscription's
undelivered events oldest first, then new ones as they commit. An event becomes DELIVERED
once the connection it was written to was still open ``sse_confirm_seconds`` later (see
``EventBus.written``). The stream ends ``sse_lifetime_seconds`` after it opened, busy or
idle, when a newer stream of the same subscription opens, on ``terminate``, or at the
caller's bounds; it stops writing a moment before, so what it wrote is confirmed by then.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Send

from m2mportal.domain.errors import ApiError, bad_request, forbidden, not_found, unauthorized
from m2mportal.events.bus import StreamHandle, settle_seconds
from m2mportal.events.cloudevents import envelope
from m2mportal.gateway.auth import bearer_token, check_address
from m2mportal.gateway.errors import error_response
from m2mportal.gateway.request_log import note_caller
from m2mportal.platform import Platform
from m2mportal.services.clients import ClientInfo
from m2mportal.store import applications as app_store
from m2mportal.store import events as event_store
from m2mportal.store.database import Row

BATCH = 200
# Encoded events kept for the next streams that send them (events never change).
CHUNK_CACHE = 1024
JSON_STREAM = "application/stream+json"
EVENT_STREAM = "text/event-stream"
# Bounds are 32-bit: nothing larger means more than "unbounded" (a stream lives 60 s).
MAX_BOUND = 2**31 - 1
# Subscription and event ids are short printable ASCII (``sub-`` + 20 hex digits, the
# seed's UUID-shaped event ids); anything else is refused before it reaches the database.
MAX_ID_CHARS = 64


def _printable_id(value: str) -> bool:
    return 0 < len(value) <= MAX_ID_CHARS and value.isascii() and value.isprintable()


def _checked_id(value: str, name: str) -> str:
    if not _printable_id(value):
        raise bad_request(f"{name}: must be 1 to {MAX_ID_CHARS} printable ASCII characters")
    return value


@dataclass(frozen=True)
class Bounds:
    max_number: int | None
    max_seconds: float | None
    max_bytes: int | None


def _positive(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    # isdigit() alone admits '²' and other Unicode digits that int() refuses (a 500); the
    # length check keeps int() from parsing a megabyte of digits.
    if (
        not (raw.isascii() and raw.isdigit())
        or len(raw) > len(str(MAX_BOUND))
        or not 1 <= int(raw) <= MAX_BOUND
    ):
        raise bad_request(f"{name}: must be a whole number from 1 to {MAX_BOUND}")
    return int(raw)


def _bounds(request: Request) -> Bounds:
    minutes = _positive(request, "maxMinutes")
    return Bounds(
        max_number=_positive(request, "maxNumber"),
        max_seconds=None if minutes is None else minutes * 60.0,
        max_bytes=_positive(request, "maxBytes"),
    )


async def _client(platform: Platform, request: Request) -> ClientInfo:
    claims = await platform.event_verifier.verify(bearer_token(request))
    client = await platform.clients.get(claims.client_id, events=True)
    if client is None or not client.active:
        raise unauthorized("the application of this event token does not exist or is not active")
    check_address(platform, request, client)
    note_caller(request.scope, client.client_id, client.partner_id)
    return client


async def _subscription(platform: Platform, request: Request) -> tuple[ClientInfo, str]:
    client = await _client(platform, request)
    subscription_id = _checked_id(request.path_params["subscriptionId"], "subscriptionId")
    row = await app_store.get_subscription(platform.db, subscription_id)
    if row is None:
        raise not_found(f"subscription {subscription_id} does not exist")
    if row["client_id"] != client.client_id:
        raise forbidden(f"subscription {subscription_id} belongs to another application")
    return client, subscription_id


async def _replay_from(platform: Platform, request: Request, subscription_id: str) -> int | None:
    """The seq after which a replay starts (``Last-Event-ID`` or ``lastEventId``), or None.
    An id of another subscription's event, another tenant's included, is refused exactly
    as an id that names no event: same status, same message, one query either way."""
    name, last_id = "Last-Event-ID", request.headers.get("last-event-id")
    if not last_id:
        name, last_id = "lastEventId", request.query_params.get("lastEventId")
    if not last_id:
        return None
    seq = await event_store.seq_in(platform.db, subscription_id, _checked_id(last_id, name))
    if seq is None:
        raise bad_request(f"{name}: no event {last_id} in this subscription")
    return seq


def _encode(event: dict[str, Any], sse: bool) -> bytes:
    body = msgspec.json.encode(event)
    if sse:
        return b"id: " + event["id"].encode() + b"\ndata: " + body + b"\n\n"
    return body + b"\n"


class Chunks:
    """Each event encoded once per format for all the streams that send it (one commit
    can wake 2,000 streams), by event id: SQLite may reuse a purged event's seq."""

    def __init__(self, size: int = CHUNK_CACHE) -> None:
        self._size = size
        self._cache: dict[tuple[str, bool], bytes] = {}

    def of(self, row: Row, sse: bool) -> bytes:
        key = (row["id"], sse)
        chunk = self._cache.get(key)
        if chunk is None:
            chunk = _encode(envelope(row), sse)
            if len(self._cache) >= self._size:
                del self._cache[next(iter(self._cache))]  # the oldest
            self._cache[key] = chunk
        return chunk


def _seq(row: Row) -> int:
    seq: int = row["seq"]
    return seq


async def _events(
    platform: Platform,
    handle: StreamHandle,
    sse: bool,
    bounds: Bounds,
    replay_from: int | None,
    encoded: Chunks,
) -> AsyncIterator[bytes]:
    db, bus, settings = platform.db, platform.bus, platform.settings
    loop = asyncio.get_running_loop()
    confirm = settings.sse_confirm_seconds
    lifetime = settings.sse_lifetime_seconds
    if bounds.max_seconds is not None:
        lifetime = min(lifetime, bounds.max_seconds)
    started = time.monotonic()
    end = started + lifetime
    # The stream takes no new event in its last moment, so that what it wrote is confirmed
    # before it closes; an event of that moment waits for the next stream.
    writes_end = end - min(settle_seconds(confirm), lifetime / 2)
    sent = 0
    written = 0
    cursor = replay_from
    # Whether the last read returned every undelivered event, and the highest seq read
    # or sent. When nothing but this process's commits happened since (no poll, no
    # NOTIFY), their hints are exactly what a read would return, if all are newer: an
    # older one may be an event a read already returned, on PostgreSQL, where a commit's
    # wake-up can come after a read saw it. No hint at all (the turn after a write) means
    # nothing new: the stream waits without reading.
    caught_up = False
    highest = 0
    # Ended by its lifetime (or maxMinutes), not by a bound, a newer stream or the client.
    expired = False
    try:
        while not handle.stopped:
            handle.wake.clear()
            hints, must_read = handle.take()
            if (
                cursor is None
                and caught_up
                and not must_read
                and len(hints) <= BATCH
                and all(_seq(hint) > highest for hint in hints)
            ):
                rows = sorted(hints, key=_seq)
            elif cursor is not None:
                rows = await event_store.after(db, handle.subscription_id, cursor, BATCH)
            else:
                # Not what this stream wrote and has yet to confirm: it is PROCESSED still.
                rows = await event_store.undelivered(
                    db, handle.subscription_id, BATCH, handle.unconfirmed
                )
                caught_up = len(rows) < BATCH
            if rows:
                highest = max(highest, _seq(rows[-1]))
            if bounds.max_number is not None:
                rows = rows[: bounds.max_number - sent]
            chunks: list[bytes] = []
            seqs: list[int] = []
            for row in rows:
                chunk = encoded.of(row, sse)
                if bounds.max_bytes is not None and written + len(chunk) > bounds.max_bytes:
                    if not chunks and not sent:
                        chunks.append(chunk)  # one event always goes, however large
                        seqs.append(row["seq"])
                    handle.stop("maxBytes reached")
                    break
                chunks.append(chunk)
                seqs.append(row["seq"])
                written += len(chunk)
            if chunks:
                yield b"".join(chunks)
                # Written (the send returned); delivered once the connection outlives it.
                bus.written(handle, seqs, confirm)
                sent += len(seqs)
                if cursor is not None:
                    cursor = seqs[-1]
                if bounds.max_number is not None and sent >= bounds.max_number:
                    break
                # The lifetime bounds a busy stream too, not only an idle one.
                if time.monotonic() >= writes_end:
                    expired = True
                    break
                continue
            now = time.monotonic()
            if now >= writes_end:
                expired = True
                break
            # Woken by a commit here or a NOTIFY from elsewhere; the poll catches the rest
            # (a plain timer that makes the stream read: lighter than a timeout, which
            # cancels and uncancels the task, with 2,000 streams waiting).
            poll = loop.call_later(min(writes_end - now, settings.sse_poll_seconds), handle.alert)
            try:
                await handle.wake.wait()
            finally:
                poll.cancel()
        # Keep the connection open until what was written is confirmed (or the client
        # leaves), at most until the end: the next stream must not send it again. An
        # expired stream closes at its end exactly (the client has just left otherwise:
        # the server cancels this wait).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, end - time.monotonic())):
                await handle.settled.wait()
                if expired:
                    await asyncio.sleep(end - time.monotonic())
    finally:
        bus.close(handle)


class EventStreamResponse(StreamingResponse):
    """A stream that tells its handle the moment the client has gone, so nothing written
    from then on (or not yet confirmed) counts as delivered: uvicorn's ``send`` after a
    close returns without error, so only ``http.disconnect`` says so (ASGI spec < 2.4);
    servers of spec 2.4 raise ``OSError`` from ``send`` instead."""

    def __init__(self, content: AsyncIterator[bytes], handle: StreamHandle, media: str) -> None:
        super().__init__(
            content,
            media_type=media,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self.handle = handle

    async def listen_for_disconnect(self, receive: Receive) -> None:
        await super().listen_for_disconnect(receive)
        self.handle.leave()

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        except OSError:
            self.handle.leave()
            raise


def routes(platform: Platform) -> list[Route]:
    clock = platform.clock
    encoded = Chunks()

    async def stream(request: Request) -> Response:
        try:
            _, subscription_id = await _subscription(platform, request)
            bounds = _bounds(request)
            replay_from = await _replay_from(platform, request, subscription_id)
        except ApiError as error:
            return error_response(clock, error)
        sse = EVENT_STREAM in request.headers.get("accept", "")
        handle = await platform.bus.open(subscription_id)
        media = f"{EVENT_STREAM};charset=UTF-8" if sse else JSON_STREAM
        return EventStreamResponse(
            _events(platform, handle, sse, bounds, replay_from, encoded), handle, media
        )

    async def terminate(request: Request) -> Response:
        try:
            _, subscription_id = await _subscription(platform, request)
        except ApiError as error:
            return error_response(clock, error)
        found = await platform.bus.terminate(subscription_id)
        return Response(
            msgspec.json.encode({"subscriptionId": subscription_id, "terminated": found}),
            media_type="application/json",
        )

    async def health(request: Request) -> Response:
        return Response(status_code=204)

    return [
        Route("/events/v1/sse", health, methods=["HEAD", "GET"]),
        Route("/events/v1/sse/{subscriptionId}", stream, methods=["GET"]),
        Route("/events/v1/sse/{subscriptionId}/terminate", terminate, methods=["POST"]),
    ]
