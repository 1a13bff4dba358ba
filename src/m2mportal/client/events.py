"""Reading a subscription's event stream for as long as the caller wants.

A stream ends 60 s after it opened (configurable on the server), when another stream of
the same subscription opens, or on any network fault; the consumer opens the next one at
once after a normal end and after a growing, jittered pause after a fault, each time with
``Last-Event-ID`` set to the last event it yielded, so the server replays from there.
Delivery is at least once: an event the server sent again is recognised by its id and
skipped. Each line of the default ``application/stream+json`` format is one CloudEvent,
decoded into the seed's type for its ``type`` (``SimActionEvent``, ...), or into
``GenericEvent`` when a deployment sends a type or field this version does not know.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from typing import Any

import httpx
import msgspec

from m2mportal.events.schemas import (
    CloudEvent,
    CostLimitNotificationEvent,
    PoolLimitNotificationEvent,
    ProfileNotificationEvent,
    SimActionEvent,
)

__all__ = [
    "CloudEvent",
    "CostLimitNotificationEvent",
    "EventState",
    "GenericEvent",
    "PoolLimitNotificationEvent",
    "ProfileNotificationEvent",
    "SimActionEvent",
]

STREAM_PATH = "/events/v1/sse"
JSON_LINES = "application/stream+json"
# A stream may stay silent until the server ends it (60 s by default): waiting longer than
# that for the next line is what tells a dead connection from a quiet one.
STREAM_TIMEOUT = httpx.Timeout(30.0, read=90.0)
TYPES: dict[str, type[CloudEvent]] = {
    "simaction.v1": SimActionEvent,
    "profilenotification.v1": ProfileNotificationEvent,
    "poollimitnotification.v1": PoolLimitNotificationEvent,
    "costlimitnotification.v1": CostLimitNotificationEvent,
}


class GenericEvent(msgspec.Struct, kw_only=True):
    """A CloudEvent of a type (or shape) this client version does not know."""

    id: str
    type: str
    source: str = ""
    time: str = ""
    specversion: str = "1.0"
    datacontenttype: str = "application/json"
    data: Any = None


class _Head(msgspec.Struct):
    id: str
    type: str


Event = CloudEvent | GenericEvent


def reconnect_pause(failures: int) -> float:
    """Seconds before the next attempt: none after a normal end, then 0.5 s doubling up to
    30 s, with jitter so that many consumers do not come back at the same instant."""
    if failures <= 0:
        return 0.0
    return min(30.0, 0.5 * 2 ** (failures - 1)) * random.uniform(0.5, 1.0)


class EventState:
    """Where a consumer stands: the last event id (to resume from) and the ids seen lately
    (to drop repeats)."""

    def __init__(self, last_event_id: str | None = None, remember: int = 100_000) -> None:
        self.last_event_id = last_event_id
        self.remember = remember
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.repeats = 0

    def accept(self, line: str | bytes) -> Event | None:
        """The event on a stream line, or None (blank line, or an id seen before)."""
        if isinstance(line, str):
            line = line.strip()
            if not line:
                return None
            raw = line.encode()
        else:
            raw = line.strip()
            if not raw:
                return None
        head = msgspec.json.decode(raw, type=_Head)
        self.last_event_id = head.id
        if head.id in self.seen:
            self.repeats += 1
            return None
        self.seen[head.id] = None
        if len(self.seen) > self.remember:
            self.seen.popitem(last=False)
        kind = TYPES.get(head.type)
        if kind is not None:
            try:
                return msgspec.json.decode(raw, type=kind)
            except msgspec.ValidationError:
                pass
        return msgspec.json.decode(raw, type=GenericEvent)
