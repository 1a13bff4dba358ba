"""Rules of the usage reads: history windows, dates as callers write them, rounding."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

HISTORY_DEFAULT_DAYS = 7  # seed 3.5.1: the session history's default time span
HISTORY_MAX_DAYS = 92
ROUNDING_BYTES = 1024  # volumeRounded: each session rounded up to whole kilobytes

# A date, or a date-time with an optional offset (none: UTC). [0-9], not \d.
_MOMENT = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?$"
)
MOMENT_RULE = "must be an ISO 8601 date (2025-08-02) or date-time (2025-08-02T09:54:13Z)"


def parse_moment(text: str) -> datetime | None:
    """The UTC moment ``text`` names, or ``None`` when it is not one."""
    if not _MOMENT.fullmatch(text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def is_date(text: str) -> bool:
    return len(text) == 10


def window(
    now: datetime,
    date_from: str | None,
    date_to: str | None,
    default_days: int = HISTORY_DEFAULT_DAYS,
) -> tuple[datetime, datetime] | list[str]:
    """``[start, end)`` of a history read, or the problems naming the fields.

    ``dateFrom`` is inclusive; ``dateTo`` is exclusive, a date alone includes that whole
    day. Without ``dateTo`` the window ends now; without ``dateFrom`` it starts
    ``default_days`` before its end. At most 92 days.
    """
    problems: list[str] = []
    start = end = None
    if date_from is not None and (start := parse_moment(date_from)) is None:
        problems.append(f"dateFrom: {MOMENT_RULE}")
    if date_to is not None:
        end = parse_moment(date_to)
        if end is None:
            problems.append(f"dateTo: {MOMENT_RULE}")
        elif is_date(date_to):
            end += timedelta(days=1)
    if problems:
        return problems
    end = end or now
    start = start or end - timedelta(days=default_days)
    if end <= start:
        return ["dateTo: must be after dateFrom"]
    if end - start > timedelta(days=HISTORY_MAX_DAYS):
        return [f"dateTo: the span from dateFrom may be at most {HISTORY_MAX_DAYS} days"]
    return start, end


def rounded(bytes_up: int, bytes_down: int) -> int:
    total = bytes_up + bytes_down
    return -(-total // ROUNDING_BYTES) * ROUNDING_BYTES
