"""Real and simulated time: one clock object is injected everywhere.

Periods, retention, idle timeouts and the simulator read this clock, so tests move it
instead of sleeping. Rate-limit windows deliberately do not: they protect real capacity.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time, optionally shifted by a movable offset (the simulated clock)."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset
        # The month ``month`` answered last and the instants it spans, [start, end).
        self._month = ("", 0.0, 0.0)

    def time(self) -> float:
        return time.time() + self.offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float) -> datetime:
        self.offset += seconds
        return self.now()

    def month(self) -> str:
        """The current UTC month, ``2026-12`` (usage counters are kept per month).

        Remembered with the instants its month spans: a datetime per call was a twentieth
        of a GET SIM details in process. The clock moved (either way) past a bound
        makes it anew."""
        now = self.time()
        text, start, end = self._month
        if start <= now < end:
            return text
        moment = datetime.fromtimestamp(now, UTC)
        first = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        following = (first + timedelta(days=32)).replace(day=1)
        text = f"{first.year:04d}-{first.month:02d}"
        self._month = (text, first.timestamp(), following.timestamp())
        return text

    def iso(self) -> str:
        return iso(self.now())

    def stamp(self) -> str:
        """The error body's timestamp form: ``2025-08-28 11:25:49``."""
        return self.now().strftime("%Y-%m-%d %H:%M:%S")


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with milliseconds, as the seed's events write time (sortable as text).

    ``isoformat`` rather than ``strftime``: 2 instead of 3.4 us, and it is on every record
    the traffic generator makes (a tenth of its time)."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
