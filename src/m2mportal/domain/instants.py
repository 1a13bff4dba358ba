"""Dates and times a caller writes (filters, activation dates): ISO-8601, one rule.

The calendar is in the pattern (leap years included), so the documents' pattern and the
server's check are one rule: a value the pattern takes is a real date and time, and one
it refuses is refused. Years 1900 to 2999: nothing the platform stores is older or later,
and the ends of datetime's range would overflow (with an offset, or at a date's end of day).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_YEAR_LEAP = r"(?:(?:19|2[0-9])(?:0[48]|[2468][048]|[13579][26])|2[048]00)"
_DATE = (
    r"(?:(?:19|2[0-9])[0-9]{2}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    rf"|{_YEAR_LEAP}-02-29)"
)
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
_OFFSET = r"Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]"
_INSTANT = re.compile(rf"({_DATE})(?:[T ]({_TIME})({_OFFSET})?)?")
# For the OpenAPI documents (ECMA-262 reads it alike).
INSTANT_PATTERN = "^" + _INSTANT.pattern + "$"
INSTANT_RULE = (
    "a real ISO-8601 date or date-time of the years 1900 to 2999, e.g. 2025-08-28 or"
    " 2025-08-28T10:15:00Z"
)


def parse_instant(text: str, end_of_day: bool = False) -> datetime | None:
    """The moment ``text`` names (UTC when it has no offset), or None if it names none.

    A date alone is that day's start, or with ``end_of_day`` the next day's start.
    """
    match = _INSTANT.fullmatch(text)
    if match is None:
        return None
    moment = datetime.fromisoformat(text.replace(" ", "T"))  # the pattern took a real one
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if match.group(2) is None and end_of_day:
        moment += timedelta(days=1)
    return moment
