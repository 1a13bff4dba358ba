"""Server-Sent Event streams (the seed's "Detailed Implementation Guideline").

``GET /events/v1/sse/{subscriptionId}`` answers 200 at once, sends the subscription's
undelivered events oldest first, then new ones as they commit. Each event is marked
DELIVERED once written to the stream. The stream ends after an idle period, when a
newer stream of the same subscription opens, on ``terminate``, or at the caller's bounds.
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

from m2mportal.clock import iso
from m2mportal.domain.errors import ApiError, bad_request, forbidden, not_found, unauthorized
from m2mportal.events.bus import StreamHandle
from m2mportal.events.cloudevents import envelope
from m2mportal.gateway.auth import bearer_token, check_address
from m2mportal.gateway.errors import error_response
from m2mportal.platform import Platform
from m2mportal.services.clients import ClientInfo
from m2mportal.store import applications as app_store
from m2mportal.store import events as event_store

BATCH = 200
JSON_STREAM = "application/stream+json"
EVENT_STREAM = "text/event-stream"


@dataclass(frozen=True)
class Bounds:
    max_number: int | None
    max_seconds: float | None
    max_bytes: int | None


def _positive(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise bad_request(f"{name}: must be a whole number of at least 1")
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
    return client


async def _subscription(platform: Platform, request: Request) -> tuple[ClientInfo, str]:
    client = await _client(platform, request)
    subscription_id = request.path_params["subscriptionId"]
    row = await app_store.get_subscription(platform.db, subscription_id)
    if row is None:
        raise not_found(f"subscription {subscription_id} does not exist")
    if row["client_id"] != client.client_id:
        raise forbidden(f"subscription {subscription_id} belongs to another application")
    return client, subscription_id


def _encode(event: dict[str, Any], sse: bool) -> bytes:
    body = msgspec.json.encode(event)
    if sse:
        return b"id: " + event["id"].encode() + b"\ndata: " + body + b"\n\n"
    return body + b"\n"


async def _events(
    platform: Platform,
    handle: StreamHandle,
    sse: bool,
    bounds: Bounds,
    replay_from: int | None,
) -> AsyncIterator[bytes]:
    db, bus, settings = platform.db, platform.bus, platform.settings
    started = time.monotonic()
    last_event = started
    sent = 0
    written = 0
    cursor = replay_from
    try:
        while not handle.stopped:
            handle.wake.clear()
            if cursor is not None:
                rows = await event_store.after(db, handle.subscription_id, cursor, BATCH)
            else:
                rows = await event_store.undelivered(db, handle.subscription_id, BATCH)
            if bounds.max_number is not None:
                rows = rows[: bounds.max_number - sent]
            chunks: list[bytes] = []
            seqs: list[int] = []
            for row in rows:
                chunk = _encode(envelope(row), sse)
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
                # Written to the connection: now it counts as delivered.
                await event_store.mark_delivered(
                    db, handle.subscription_id, seqs, iso(platform.clock.now())
                )
                sent += len(seqs)
                last_event = time.monotonic()
                if cursor is not None:
                    cursor = seqs[-1]
                if bounds.max_number is not None and sent >= bounds.max_number:
                    break
                continue
            now = time.monotonic()
            deadline = last_event + settings.sse_idle_seconds
            if bounds.max_seconds is not None:
                deadline = min(deadline, started + bounds.max_seconds)
            if now >= deadline:
                break
            # Woken by a commit here or a NOTIFY from elsewhere; the poll catches the rest.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    handle.wake.wait(), min(deadline - now, settings.sse_poll_seconds)
                )
    finally:
        bus.close(handle)


def routes(platform: Platform) -> list[Route]:
    clock = platform.clock

    async def stream(request: Request) -> Response:
        try:
            _, subscription_id = await _subscription(platform, request)
            bounds = _bounds(request)
            last_id = request.headers.get("last-event-id") or request.query_params.get(
                "lastEventId"
            )
            replay_from = None
            if last_id:
                replay_from = await event_store.seq_of(platform.db, last_id)
                if replay_from is None:
                    raise bad_request(f"lastEventId: no event {last_id}")
        except ApiError as error:
            return error_response(clock, error)
        sse = EVENT_STREAM in request.headers.get("accept", "")
        handle = await platform.bus.open(subscription_id)
        media = f"{EVENT_STREAM};charset=UTF-8" if sse else JSON_STREAM
        return StreamingResponse(
            _events(platform, handle, sse, bounds, replay_from),
            media_type=media,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
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
