"""Protective measures: per-customer budgets counted in SIMs over rolling windows.

A partner and all its subunits draw on one budget (the top partner's), one per class: an
action's SIMs never count against SIM details, even where both classes have the same
windows (the defaults). Each class has one or more moving windows (``"1000/6 minutes"``,
``"10000/hour"``); a call passes only if every window has room for its cost, and a refused
call consumes nothing. Testing every window and then taking from them is one indivisible
step, so two windows act as one and concurrent calls cannot both take the last SIMs:

- embedded default (budgets in process memory): ``MemoryWindows``, the same layout as in
  Redis (a list of calls per window, not of SIMs), read and taken in one synchronous step
  on the event loop;
- Redis (budgets shared between processes): one Lua script (``_CHARGE``) tests every
  window, takes the cost from all of them and returns what the ``RateLimit-*`` headers
  need, in one round trip. Redis runs a script alone, so no lock is needed and no process
  can slip in between the test and the take, and the work per call does not grow with its
  cost: a window is a list of calls, not of SIMs (see ``_CHARGE``).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import deque
from typing import Any, NamedTuple

from limits import RateLimitItem, parse_many

from m2mportal.config import Settings
from m2mportal.domain.errors import ApiError
from m2mportal.services.partner_tree import PartnerTree
from m2mportal.store import partners as partner_store
from m2mportal.store.database import Database

CLASSES = ("actions", "details", "history", "sms")
EXCEEDED = "Too Many Concurrent Requests on Platform."

# What the operator may set (docs/operations.md): beyond these a budget is either no limit
# at all or one that outlives anything the platform keeps (a window is held in memory or
# in Redis for its whole length).
MAX_WINDOWS = 4
MAX_AMOUNT = 10_000_000
MAX_WINDOW_SECONDS = 86_400
_RATE_TEXT = 64
# "10/0 hours": the library reads a zero multiple as one; refused instead of guessed.
_ZERO_MULTIPLE = re.compile(r"(?:/|per)\s*0+\s*[a-z]", re.IGNORECASE)

# A window in Redis: a list of the calls it holds, newest first, one entry per call:
# "<timestamp> <total before> <total after>", the totals counting every SIM the list has
# taken, so the SIMs in the window are the newest entry's "after" minus the oldest one's
# "before", and the work does not grow with the cost. Entries that left the window are
# trimmed, and the key expires one window after its newest entry.
#
# KEYS: one list per window. ARGV: now (a float as text), cost (0: only report), then each
# window's limit and its length in seconds. Returns {1 if the cost fits in every window (and
# was taken) else 0, then per window: the SIMs in it after the call, and the oldest entry's
# timestamp ("" when empty)}.
_CHARGE = """
local now = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local function field(entry, n)
  local ts, before, after = string.match(entry, '^(%S+) (%S+) (%S+)$')
  if n == 1 then return ts end
  if n == 2 then return tonumber(before) end
  return tonumber(after)
end
local counts, oldest, heads = {}, {}, {}
local fits = 1
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i + 1])
  local cutoff = now - tonumber(ARGV[2 * i + 2])
  local size = redis.call('llen', key)
  -- The first entry outside the window (size when none is): entries are sorted newest
  -- first, and expired ones are trimmed on every call, so the oldest is usually inside.
  local low, high, tail = 0, size, nil
  if size > 0 then
    tail = redis.call('lindex', key, -1)
    if tonumber(field(tail, 1)) >= cutoff then low = size end
  end
  while low < high do
    local mid = math.floor((low + high) / 2)
    if tonumber(field(redis.call('lindex', key, mid), 1)) >= cutoff then
      low = mid + 1
    else
      high = mid
    end
  end
  if low < size then
    if low == 0 then redis.call('del', key) else redis.call('ltrim', key, 0, low - 1) end
    size = low
    tail = size > 0 and redis.call('lindex', key, -1) or nil
  end
  counts[i], oldest[i], heads[i] = 0, '', nil
  if size > 0 then
    local head = redis.call('lindex', key, 0)
    heads[i] = head
    counts[i] = field(head, 3) - field(tail, 2)
    oldest[i] = field(tail, 1)
  end
  if cost > limit - counts[i] then fits = 0 end
end
if fits == 1 and cost > 0 then
  for i, key in ipairs(KEYS) do
    local stamp, total = ARGV[1], 0
    if heads[i] then
      total = field(heads[i], 3)
      -- Never older than the newest entry (another process's clock may run a little
      -- ahead): the list stays sorted, so the search above stays exact.
      if tonumber(field(heads[i], 1)) > now then stamp = field(heads[i], 1) end
    end
    redis.call('lpush', key,
      stamp .. ' ' .. string.format('%d', total) .. ' ' .. string.format('%d', total + cost))
    redis.call('expire', key, math.ceil(tonumber(ARGV[2 * i + 2])))
    if counts[i] == 0 then oldest[i] = stamp end
    counts[i] = counts[i] + cost
  end
end
local reply = {fits}
for i = 1, #KEYS do
  reply[2 * i] = counts[i]
  reply[2 * i + 1] = oldest[i]
end
return reply
"""


class Rate(NamedTuple):
    """A window of a class as the limiter reads it on every call: the parsed rate, its
    length in seconds and its name, worked out once when the windows are read."""

    item: RateLimitItem
    seconds: int
    name: str


def _rate(item: RateLimitItem) -> Rate:
    return Rate(item, item.get_expiry(), f"{item.amount}/{item.multiples}/{item.GRANULARITY.name}")


class WindowState(NamedTuple):
    """One window of a partner's budget: its limit, the SIMs in it, seconds until it
    has room again. (Named tuples: a frozen dataclass sets each field through
    object.__setattr__, a microsecond for the three objects a call makes.)"""

    item: RateLimitItem
    used: int
    reset: int

    @property
    def remaining(self) -> int:
        return max(0, self.item.amount - self.used)


class Budget(NamedTuple):
    """The tighter window's state after a call: what the RateLimit-* headers say."""

    limit: int
    remaining: int
    reset: int  # seconds until the window has room again

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The same headers in the ASGI server's form (lower-case names, bytes)."""
        return [
            (b"ratelimit-limit", b"%d" % self.limit),
            (b"ratelimit-remaining", b"%d" % self.remaining),
            (b"ratelimit-reset", b"%d" % self.reset),
        ]


def windows_of(rates: list[str]) -> list[Rate]:
    """One class's windows; two spellings of one window ("3/hour", "3/1 hours") count once.

    Windows of the same length with different limits all apply (the tightest binds); an
    equal window twice would share its counter and take every call's cost twice. A
    window's name says its limit and length, so equal windows are those of one name.
    """
    found: dict[str, Rate] = {}
    for item in parse_many(";".join(rates)):
        rate = _rate(item)
        found.setdefault(rate.name, rate)
    return list(found.values())


def default_limits(settings: Settings) -> dict[str, list[Rate]]:
    return {name: windows_of(getattr(settings, f"limits_{name}")) for name in CLASSES}


def check_rates(limit_class: str, rates: Any) -> list[str]:
    """Problems of one class's rates as the operator sent them, each naming the class and
    the value (an empty list: the rates are fine)."""
    if limit_class not in CLASSES:
        # Named as sent, unless it holds what an error line must not (NUL, newlines).
        label = limit_class if limit_class.isascii() and limit_class.isprintable() else None
        label = (label or repr(limit_class))[:_RATE_TEXT]
        return [f"{label}: unknown class (use {', '.join(CLASSES)})"]
    if not isinstance(rates, list) or not 1 <= len(rates) <= MAX_WINDOWS:
        return [f"{limit_class}: must be a list of 1 to {MAX_WINDOWS} rate strings"]
    problems: list[str] = []
    for index, rate in enumerate(rates):
        name = f"{limit_class}[{index}]"
        if rate in rates[:index]:
            problems.append(f"{name}: repeats {limit_class}[{rates.index(rate)}]")
            continue
        if not isinstance(rate, str) or not 3 <= len(rate) <= _RATE_TEXT:
            problems.append(f"{name}: must be a rate string like '1000/6 minutes'")
            continue
        try:
            if not rate.isascii() or not rate.isprintable() or _ZERO_MULTIPLE.search(rate):
                raise ValueError(rate)
            items = parse_many(rate)
        except ValueError:
            problems.append(f"{name}: {rate!r} is not a rate like '1000/6 minutes'")
            continue
        if len(items) != 1:
            problems.append(f"{name}: {rate!r} holds {len(items)} rates; give one per entry")
            continue
        item = items[0]
        seconds = item.get_expiry()
        if not 1 <= item.amount <= MAX_AMOUNT:
            problems.append(f"{name}: {rate!r} must allow 1 to {MAX_AMOUNT:,} SIMs per window")
        elif seconds > MAX_WINDOW_SECONDS:
            problems.append(f"{name}: {rate!r} has a window longer than a day")
    return problems


def _tightest(states: list[WindowState]) -> Budget:
    """The window with the least room (the first of equals) is what the headers report."""
    tightest = states[0]
    room = tightest.remaining
    for state in states[1:]:
        if state.remaining < room:
            tightest, room = state, state.remaining
    return Budget(tightest.item.amount, room, tightest.reset)


class _Window:
    """One window's calls, oldest first, as (time, SIMs), and the SIMs they hold."""

    __slots__ = ("calls", "seconds", "used")

    def __init__(self, seconds: int) -> None:
        self.calls: deque[tuple[float, int]] = deque()
        self.seconds = seconds
        self.used = 0


class MemoryWindows:
    """Moving windows in process memory, exact: a call is inside a window of ``seconds``
    while its time is after ``now - seconds`` (as the ``limits`` library's moving window
    counted it). One entry per call whatever its cost, trimmed as it leaves the window,
    so a call costs the same for 1 SIM or 1,000 (the library kept an entry per SIM, and
    started a timer thread to expire them: a third of the limiter's time per call)."""

    # Windows nobody called for this long are dropped whole (their calls have expired).
    SWEEP_SECONDS = 60.0

    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], _Window] = {}
        self._swept = time.time()

    def take(
        self, key: str, rates: list[Rate], cost: int, now: float
    ) -> tuple[bool, list[WindowState]]:
        """Synchronous on purpose: nothing else runs on the event loop between reading the
        windows and taking from them, so the read is the test and no lock is needed."""
        windows = self._windows
        found: list[tuple[_Window | None, int, int]] = []
        fits = True
        for item, seconds, name in rates:
            window = windows.get((key, name))
            used, oldest = 0, now
            if window is not None:
                calls, cutoff = window.calls, now - seconds
                while calls and calls[0][0] <= cutoff:
                    window.used -= calls.popleft()[1]
                used = window.used
                if calls:
                    oldest = calls[0][0]
            # (oldest - now) first: exact for a call made now, so a fresh window reports
            # its whole length, never a second more from rounding.
            found.append((window, used, max(0, math.ceil(oldest - now + seconds))))
            if used + cost > item.amount:
                fits = False
        if cost == 0 or not fits:
            return cost == 0, [
                WindowState(rate.item, used, reset)
                for rate, (_, used, reset) in zip(rates, found, strict=True)
            ]
        states = []
        for rate, (window, used, reset) in zip(rates, found, strict=True):
            if window is None:
                window = windows[(key, rate.name)] = _Window(rate.seconds)
            window.calls.append((now, cost))
            window.used += cost
            states.append(WindowState(rate.item, used + cost, reset))
        # On the calls' own clock (a wall clock set back sweeps at once, not an hour late).
        if abs(now - self._swept) >= self.SWEEP_SECONDS:
            self._sweep(now)
        return True, states

    def clear(self, key: str, rates: list[Rate]) -> None:
        for rate in rates:
            self._windows.pop((key, rate.name), None)

    def _sweep(self, now: float) -> None:
        self._swept = now
        for name, window in list(self._windows.items()):
            if not window.calls or window.calls[-1][0] <= now - window.seconds:
                del self._windows[name]


class RateLimiter:
    def __init__(self, settings: Settings, db: Database, tree: PartnerTree) -> None:
        self._db = db
        self._tree = tree
        self._defaults = default_limits(settings)
        self._redis: Any = None
        self._prefix = settings.redis_prefix
        if settings.redis_url:
            import redis.asyncio

            self._redis = redis.asyncio.from_url(settings.redis_url)
            self._charge_script = self._redis.register_script(_CHARGE)
        else:
            self._memory = MemoryWindows()
        self._custom: dict[int, tuple[float, dict[str, list[Rate]]]] = {}

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    def forget(self, partner_id: int) -> None:
        self._custom.pop(partner_id, None)

    async def windows(self, root: int, limit_class: str) -> list[Rate]:
        """The operator's limits for this partner, else the settings' (re-read every 5 s)."""
        hit = self._custom.get(root)
        if hit is None or time.monotonic() - hit[0] > 5.0:
            rows = await partner_store.get_limits(self._db, root)
            custom = {row["limit_class"]: windows_of(json.loads(row["rates"])) for row in rows}
            hit = (time.monotonic(), custom)
            self._custom[root] = hit
        return hit[1].get(limit_class) or self._defaults[limit_class]

    def _key(self, root: int, limit_class: str, rate: Rate) -> str:
        # The partner in braces: a Redis Cluster would keep a budget's windows together.
        return f"{self._prefix}:budget:{{{root}}}:{limit_class}:{rate.name}"

    async def _take_in_redis(
        self, root: int, limit_class: str, rates: list[Rate], cost: int
    ) -> tuple[bool, list[WindowState]]:
        now = time.time()
        args: list[Any] = [repr(now), cost]
        for rate in rates:
            args += [rate.item.amount, rate.seconds]
        keys = [self._key(root, limit_class, rate) for rate in rates]
        reply = await self._charge_script(keys=keys, args=args)
        found = []
        for index, (item, seconds, _) in enumerate(rates):
            used, oldest = int(reply[2 * index + 1]), reply[2 * index + 2]
            # An empty window has room again a whole window from now (as the library says).
            start = float(oldest) if oldest else now
            reset = max(0, math.ceil(start - now + seconds))
            found.append(WindowState(item, used, reset))
        return int(reply[0]) == 1, found

    async def _take(
        self, partner_id: int, limit_class: str, cost: int
    ) -> tuple[bool, list[WindowState]]:
        """Take ``cost`` SIMs from every window of the class, or none if one has no room
        (``cost`` 0 only reports), and say how the windows stand afterwards."""
        root = await self._tree.root_of(partner_id)
        windows = await self.windows(root, limit_class)
        if self._redis is not None:
            return await self._take_in_redis(root, limit_class, windows, cost)
        # A window is keyed by its rate too, so the class keeps equal rates apart.
        return self._memory.take(f"{root}:{limit_class}", windows, cost, time.time())

    async def charge(self, partner_id: int, limit_class: str, cost: int) -> Budget:
        """Take ``cost`` SIMs from the partner's budget, or raise the seed's 403."""
        taken, states = await self._take(partner_id, limit_class, cost)
        budget = _tightest(states)
        if not taken:
            raise ApiError(
                403,
                "Limit exceeded",
                [EXCEEDED],
                {**budget.headers(), "Retry-After": str(max(1, budget.reset))},
            )
        return budget

    async def peek(self, partner_id: int, limit_class: str) -> Budget:
        """The budget without taking from it (dry runs, the API usage resource)."""
        return _tightest((await self._take(partner_id, limit_class, 0))[1])

    async def clear(self, partner_id: int, limit_class: str) -> None:
        """Empty the partner's windows of a class (operations and benchmarks)."""
        root = await self._tree.root_of(partner_id)
        windows = await self.windows(root, limit_class)
        if self._redis is not None:
            await self._redis.delete(*(self._key(root, limit_class, rate) for rate in windows))
            return
        self._memory.clear(f"{root}:{limit_class}", windows)

    async def usage(self, partner_id: int) -> dict[str, list[dict[str, Any]]]:
        answer: dict[str, list[dict[str, Any]]] = {}
        for limit_class in CLASSES:
            _, states = await self._take(partner_id, limit_class, 0)
            answer[limit_class] = [
                {
                    "limit": str(state.item),
                    "allowed": state.item.amount,
                    "used": state.item.amount - state.remaining,
                    "remaining": state.remaining,
                    "resetSeconds": state.reset,
                }
                for state in states
            ]
        return answer
