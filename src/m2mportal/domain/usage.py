"""Rules of the usage reads: history windows, dates as callers write them, rounding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from m2mportal.domain.instants import INSTANT_RULE, parse_instant

HISTORY_DEFAULT_DAYS = 7  # seed 3.5.1: the session history's default time span
HISTORY_MAX_DAYS = 92
ROUNDING_BYTES = 1024  # volumeRounded: each session rounded up to whole kilobytes

MOMENT_RULE = f"must be {INSTANT_RULE}"


def parse_moment(text: str, end_of_day: bool = False) -> datetime | None:
    """The UTC moment ``text`` names, or ``None`` when it is not one (domain/instants.py:
    the documents' pattern and this check are one rule)."""
    moment = parse_instant(text, end_of_day)
    return None if moment is None else moment.astimezone(UTC)


def window(
    now: datetime,
    date_from: str | None,
    date_to: str | None,
    default_days: int = HISTORY_DEFAULT_DAYS,
) -> tuple[datetime, datetime] | list[str]:
    """``[start, end)`` of a history read, or the problems naming the fields.

    ``dateFrom`` is inclusive; ``dateTo`` is exclusive, a date alone includes that whole
    day. Without ``dateTo`` the window ends now, or 92 days after ``dateFrom`` if that is
    earlier; without ``dateFrom`` it starts ``default_days`` before its end. At most 92
    days; equal ends make an empty window.

    "Now" as an exclusive end is the end of the current millisecond: records are stamped
    to the millisecond, and a message sent in the same millisecond as the read must show.
    """
    problems: list[str] = []
    start = end = None
    if date_from is not None and (start := parse_moment(date_from)) is None:
        problems.append(f"dateFrom: {MOMENT_RULE}")
    if date_to is not None and (end := parse_moment(date_to, end_of_day=True)) is None:
        problems.append(f"dateTo: {MOMENT_RULE}")
    if problems:
        return problems
    if end is None:  # up to now, at most the longest span after dateFrom
        now = now.replace(microsecond=now.microsecond // 1000 * 1000) + timedelta(milliseconds=1)
        end = (
            now if start is None else max(start, min(now, start + timedelta(days=HISTORY_MAX_DAYS)))
        )
    start = start or end - timedelta(days=default_days)
    if end < start:  # an empty window (equal ends) is an empty answer
        return ["dateTo: must not be before dateFrom"]
    if end - start > timedelta(days=HISTORY_MAX_DAYS):
        return [f"dateTo: the span from dateFrom may be at most {HISTORY_MAX_DAYS} days"]
    return start, end


def rounded(bytes_up: int, bytes_down: int) -> int:
    total = bytes_up + bytes_down
    return -(-total // ROUNDING_BYTES) * ROUNDING_BYTES
