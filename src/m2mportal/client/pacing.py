"""Client-side pacing within a partner's SIM budgets (CONTRACT 5), pure: time is passed in.

The server counts each class in moving windows (``"1000/6 minutes"``): a call's SIMs stay in
a window for its whole length after the call. The pacer keeps the same ledger for the
calls this client made (and, as one entry, what the server says others used), so it knows
how long to wait before ``cost`` SIMs fit and never sends a call it knows will be refused.
What it learns comes from the deprecated ``apiusage`` resource (every window with its
length), the ``RateLimit-*`` headers of each limited answer, and ``Retry-After`` on the
seed's 403 "Limit exceeded".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Answer times are taken after the answer arrived, a little after the server counted the
# call; this margin covers clocks read by two processes and the server's own rounding.
MARGIN_S = 0.05
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "month": 30 * 86400}
_UNITS["year"] = 365 * 86400
_RATE = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(\d+)?\s*([a-z]+?)s?\s*$")


@dataclass(frozen=True)
class Window:
    amount: int
    seconds: float


def parse_rate(text: str) -> Window | None:
    """``"100 per 2 second"`` (what ``apiusage`` answers) or ``"1000/6 minutes"``."""
    found = _RATE.match(text.lower())
    if found is None or found.group(3) not in _UNITS:
        return None
    multiple = int(found.group(2) or 1)
    return Window(int(found.group(1)), float(multiple * _UNITS[found.group(3)]))


@dataclass
class Charge:
    """SIMs in the budget since ``at`` (a call of ours, or others' use the server reported)."""

    at: float
    cost: int


@dataclass
class ClassBudget:
    windows: list[Window] | None = None  # None: not learnt yet
    charges: list[Charge] = field(default_factory=list)
    blocked_until: float = 0.0
    stale: bool = True  # learn the windows again (from apiusage) before the next call

    def used(self, window: Window, now: float) -> int:
        return sum(c.cost for c in self.charges if c.at + window.seconds > now)

    def forget_old(self, now: float) -> None:
        longest = max((w.seconds for w in self.windows or ()), default=0.0)
        self.charges = [c for c in self.charges if c.at + longest > now]


class Pacer:
    """Budgets per rate class. A client acts for one partner tree, whose subunits share
    the top partner's budget, so the class alone is the key."""

    def __init__(self) -> None:
        self.classes: dict[str, ClassBudget] = {}

    def budget(self, rate_class: str) -> ClassBudget:
        return self.classes.setdefault(rate_class, ClassBudget())

    def largest_call(self, rate_class: str) -> int | None:
        """The most SIMs one call may carry (the smallest window), if known."""
        windows = self.budget(rate_class).windows
        return min(w.amount for w in windows) if windows else None

    def delay(self, rate_class: str, cost: int, now: float) -> float:
        """Seconds until a call of ``cost`` SIMs fits every window (``inf``: never)."""
        budget = self.budget(rate_class)
        wait = max(0.0, budget.blocked_until - now)
        for window in budget.windows or ():
            if cost > window.amount:
                return math.inf
            live = sorted(
                (c for c in budget.charges if c.at + window.seconds > now), key=lambda c: c.at
            )
            excess = sum(c.cost for c in live) + cost - window.amount
            for charge in live:
                if excess <= 0:
                    break
                excess -= charge.cost
                wait = max(wait, charge.at + window.seconds - now + MARGIN_S)
        return wait

    def reserve(self, rate_class: str, cost: int, now: float) -> Charge:
        """Counts a call about to go out (concurrent calls see it at once)."""
        charge = Charge(now, cost)
        budget = self.budget(rate_class)
        budget.forget_old(now)
        budget.charges.append(charge)
        return charge

    def release(self, rate_class: str, charge: Charge) -> None:
        """The call took nothing (refused, failed, or never reached the server)."""
        budget = self.budget(rate_class)
        budget.charges = [c for c in budget.charges if c is not charge]

    def charged(
        self, rate_class: str, charge: Charge, headers: Mapping[str, str], now: float
    ) -> None:
        """The call went through: its SIMs count from now (the server counted them a
        little earlier, so they leave its windows a little before ours). If the server
        reports less room than our own ledger, other callers share the budget: their use
        is counted as one charge from now."""
        charge.at = now
        budget = self.budget(rate_class)
        limit, remaining = _int(headers, "ratelimit-limit"), _int(headers, "ratelimit-remaining")
        if limit is None or remaining is None:
            return
        if budget.windows is None:
            self._window_from(budget, headers)
        for window in budget.windows or ():
            if window.amount == limit:
                ours = window.amount - self.budget(rate_class).used(window, now)
                if remaining < ours:
                    budget.charges.append(Charge(now, ours - remaining))
                break

    def refused(
        self,
        rate_class: str,
        charge: Charge,
        retry_after: float,
        now: float,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """The seed's 403 "Limit exceeded": nothing was taken; wait ``Retry-After`` and
        learn the budget again before the next call."""
        self.release(rate_class, charge)
        budget = self.budget(rate_class)
        budget.blocked_until = max(budget.blocked_until, now + retry_after)
        budget.stale = True
        if budget.windows is None:
            self._window_from(budget, headers or {})

    @staticmethod
    def _window_from(budget: ClassBudget, headers: Mapping[str, str]) -> None:
        """No window lengths known (the deployment has no apiusage): the tighter window's
        limit, and its reset as a lower bound of its length; 403s correct the rest."""
        limit, reset = _int(headers, "ratelimit-limit"), _int(headers, "ratelimit-reset")
        if limit is not None and reset is not None:
            budget.windows = [Window(limit, float(max(reset, 1)))]

    def learn(self, usage: Mapping[str, Any], now: float) -> None:
        """From ``GET .../apiusage``: ``{"limits": {class: [{limit, used, resetSeconds}]}}``."""
        for rate_class, rows in (usage.get("limits") or {}).items():
            budget = self.budget(rate_class)
            windows: list[Window] = []
            others: list[Charge] = []
            for row in rows:
                window = parse_rate(str(row.get("limit", "")))
                if window is None:
                    continue
                window = Window(int(row.get("allowed", window.amount)), window.seconds)
                windows.append(window)
                extra = int(row.get("used", 0)) - budget.used(window, now)
                if extra > 0:
                    # Used by others (or before this client started): all of it counted
                    # from the window's oldest call, the moment the server frees room.
                    oldest = now + float(row.get("resetSeconds", 0)) - window.seconds
                    others.append(Charge(oldest if not budget.charges else now, extra))
            if windows:
                budget.windows = windows
                budget.charges.extend(others)
            budget.stale = False

    def no_usage_resource(self) -> None:
        """The deployment has no apiusage: learn from headers only."""
        for budget in self.classes.values():
            budget.stale = False


def _int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
