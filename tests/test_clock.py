"""The injected clock: the current month follows the clock across month ends, both ways."""

from __future__ import annotations

from datetime import UTC, datetime

from m2mportal.clock import Clock


class _Frozen(Clock):
    """A clock standing still at ``offset`` seconds after the epoch, moved by advance()."""

    def time(self) -> float:
        return self.offset


def _clock_at(text: str) -> Clock:
    return _Frozen(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def test_the_month_is_the_utc_month_of_the_clock() -> None:
    assert _clock_at("2026-12-01T19:00:00").month() == "2026-12"
    assert _clock_at("2027-01-31T23:59:59").month() == "2027-01"
    assert Clock().month() in {
        datetime.now(UTC).strftime("%Y-%m"),
        Clock().now().strftime("%Y-%m"),  # the month may have turned in between
    }


def test_the_month_turns_at_the_month_end_and_back() -> None:
    clock = _clock_at("2026-12-31T23:59:58")
    assert clock.month() == "2026-12"
    clock.advance(4)
    assert clock.month() == "2027-01"  # a new year too
    clock.advance(-4)
    assert clock.month() == "2026-12"  # a clock set back is followed at once
    clock.advance(-31 * 86400)
    assert clock.month() == "2026-11"
    clock.advance(90 * 86400)
    assert clock.month() == "2027-02"


def test_a_month_begins_on_its_first_instant() -> None:
    clock = _clock_at("2027-03-01T00:00:00")
    assert clock.month() == "2027-03"
    clock.advance(-0.001)
    assert clock.month() == "2027-02"
    clock.advance(0.001)
    assert clock.month() == "2027-03"
