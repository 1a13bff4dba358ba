"""The traffic generator: devices behind every Active SIM attach, move data and send SMS,
as usage records through the one ingestion path (network/records.py).

Time. The generator has a position P, the platform time (clock.py, moved by the operator
in a simulation) up to which it generated traffic, kept in ``simulator_config``. A step at
platform time T covers the window [P, T) (at most ``WINDOW_DEVICE_SECONDS`` of device time
per step; ``catch_up`` repeats steps until P reaches T) and then moves P to its end. Inside
the window the devices live ``speed`` times faster than the platform clock: with speed 60
one simulated minute of device behaviour (sessions, bytes, SMS) happens in each second of
platform time. Device time is D = platform time x speed; the behaviour is a pure function
of (seed, ICCID, D), so a window generated twice gives the same records with the same ids.

Exactly once. Record ids are made of the seed, the ICCID and the device tick (a session's
cycle, its 15-minute interim tick, the SMS's hour and number); the ledger ignores repeats.
P moves after the window's records are committed: a restart in between re-sends the window
and nothing is counted twice, nothing is lost. A position further behind than
``MAX_LAG_DEVICE_SECONDS`` of device time (the generator was stopped for long, or the clock
jumped) restarts at T: the devices were off meanwhile.

Behaviour per SIM, drawn from ``random.Random(f"{seed}:{iccid}")``: a cycle of 30 minutes
to 4 hours of device time with one data session in each (20-80 % online), bytes per minute
(1 kB to 1 MB), an upload share, an SMS rate (0 to 2 an hour), an APN of the SIM (or
``internet.m2m``) and a network of ``NETWORKS``. Only Active SIMs produce traffic; data only
when not barred (fraud status OK, restriction not ``Data Restricted``); ``Speed Step-down``
moves ``STEP_DOWN_SHARE`` of the volume. Generated sessions whose SIM may no longer attach
(or whose behaviour changed with the seed or speed) are stopped at the window's start.
"""

from __future__ import annotations

import asyncio
import functools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog

from m2mportal.clock import Clock, iso
from m2mportal.network import records
from m2mportal.network.models import (
    AnyRecord,
    SessionStart,
    SessionStop,
    SessionUpdate,
    SmsRecord,
)
from m2mportal.store import generator as store
from m2mportal.store.database import Database, Row

if TYPE_CHECKING:
    from m2mportal.events.bus import EventBus
    from m2mportal.platform import Platform

log = structlog.get_logger("m2mportal.generator")

# (mcc, mnc, radio) of the networks devices roam in (names: network/networks.py).
NETWORKS = (
    ("262", "01", "LTE"),
    ("262", "02", "LTE-M"),
    ("232", "03", "LTE"),
    ("204", "16", "NB-IoT"),
    ("230", "01", "UMTS"),
    ("208", "01", "LTE"),
    ("234", "15", "5G"),
    ("310", "260", "LTE"),
)
DEFAULT_APN = "internet.m2m"
INTERIM_SECONDS = 900  # device time between a session's interim updates (RADIUS-like)
WINDOW_DEVICE_SECONDS = 3600  # at most one device hour per step
MAX_LAG_DEVICE_SECONDS = 86400  # further behind: restart at the present
STEP_DOWN_SHARE = 0.125  # the volume a Speed Step-down lets through
# Records per ingestion transaction and Active SIMs read and turned into records at a time:
# each is one slice of the event loop's time, and every request queued behind a slice
# waits for it, so the API's p99 grows by about the slice's length. Batches of 5 records
# and pages of 20 SIMs take about 0.4-0.6 ms each; batches of 25 and pages of 50 took
# 1.4 ms (up to 5): at 10,000 SIMs the slices over 1 ms went from 601 to 16 in 30 s
# (docs/benchmarks.md). The smaller transactions cost about 15% more ingestion time.
BATCH = 5
SIM_PAGE = 20
# Real seconds between steps: each step reads every Active SIM and works out its cycles,
# so fewer, longer windows cost less (at 10,000 SIMs that was 40% of the generator's time
# with a step every 5 s); records show up at most this late.
STEP_SECONDS = 10.0
PLATFORM_ADDRESS = "M2MPortal"  # as operator/simulator.py: the platform's side of an SMS


@dataclass(frozen=True)
class Config:
    running: bool
    speed: float
    seed: int
    action_delay_ms: int
    per_sim_delay_ms: int
    position: float | None


def default_config(action_delay_ms: int, per_sim_delay_ms: int) -> Config:
    return Config(False, 60.0, 1, action_delay_ms, per_sim_delay_ms, None)


def changed(config: Config, **given: object) -> Config:
    """The config with the given fields; switched on, traffic starts at the present (the
    time it was off stays quiet)."""
    new = replace(config, **given)  # type: ignore[arg-type]
    return replace(new, position=None) if new.running and not config.running else new


async def read_config(db: Database, default: Config) -> Config:
    row = await store.config(db)
    if row is None:
        return default
    return Config(
        running=bool(row["running"]),
        speed=float(row["speed"]),
        seed=int(row["seed"]),
        action_delay_ms=int(row["action_delay_ms"]),
        per_sim_delay_ms=int(row["per_sim_delay_ms"]),
        position=None if row["position"] is None else float(row["position"]),
    )


async def write_config(db: Database, clock: Clock, config: Config) -> None:
    values = {**config.__dict__, "updated_at": clock.iso()}
    await store.save_config(db, values)


@dataclass(frozen=True)
class Profile:
    cycle: float
    phase: float
    duty: float
    bytes_per_minute: float
    up_share: float
    sms_per_hour: float
    apn: str
    mcc: str
    mnc: str
    rat: str


def profile(seed: int, iccid: str, apns: list[str]) -> Profile:
    rng = random.Random(f"{seed}:{iccid}")
    cycle = rng.uniform(1800, 4 * 3600)
    mcc, mnc, rat = rng.choice(NETWORKS)
    return Profile(
        cycle=cycle,
        phase=rng.uniform(0, cycle),
        duty=rng.uniform(0.2, 0.8),
        bytes_per_minute=10 ** rng.uniform(3, 6),
        up_share=rng.uniform(0.1, 0.5),
        sms_per_hour=rng.choice((0.0, 0.2, 0.5, 1.0, 2.0)),
        apn=rng.choice(apns) if apns else DEFAULT_APN,
        mcc=mcc,
        mnc=mnc,
        rat=rat,
    )


def _moment(device: float, speed: float) -> str:
    return iso(datetime.fromtimestamp(device / speed, UTC))


SESSION_PREFIX = "g"  # every generated session id: g<seed>-<iccid>-<cycle>


def session_prefix(seed: int) -> str:
    return f"{SESSION_PREFIX}{seed}-"


@dataclass(frozen=True)
class _Session:
    session_id: str
    start: float  # device time
    end: float


def _sessions(seed: int, iccid: str, p: Profile, d0: float, d1: float) -> Iterator[_Session]:
    """The sessions of the cycles that may overlap [d0, d1) (a session ends in its cycle)."""
    first = math.floor((d0 + p.phase) / p.cycle) - 1
    last = math.floor((d1 + p.phase) / p.cycle)
    for c in range(first, last + 1):
        start, end = _cycle(seed, iccid, c, p.cycle, p.phase, p.duty)
        yield _Session(f"{session_prefix(seed)}{iccid}-{c}", start, end)


# Steps a second apart ask for the same cycles and hours again: seeding a Random per SIM
# and step was most of a step's time (bench/generator.py).
@functools.lru_cache(maxsize=1 << 17)
def _cycle(
    seed: int, iccid: str, c: int, cycle: float, phase: float, duty: float
) -> tuple[float, float]:
    rng = random.Random(f"{seed}:{iccid}:{c}")
    start = c * cycle - phase + rng.uniform(0, cycle * (1 - duty))
    return start, start + cycle * duty * rng.uniform(0.5, 1.0)


@functools.lru_cache(maxsize=1 << 17)
def _messages(seed: int, iccid: str, hour: int, per_hour: float) -> tuple[tuple[float, bool], ...]:
    """The hour's messages: (device time, mobile-originated)."""
    rng = random.Random(f"{seed}:{iccid}:sms:{hour}")
    count = int(per_hour) + (rng.random() < per_hour % 1)
    return tuple((hour * 3600 + rng.uniform(0, 3600), rng.random() < 0.5) for _ in range(count))


def _totals(p: Profile, share: float, seconds: float) -> tuple[int, int]:
    volume = p.bytes_per_minute * share * seconds / 60
    return int(volume * p.up_share), int(volume * (1 - p.up_share))


def sim_records(
    config: Config, sim: Row, p: Profile, d0: float, d1: float, opened: set[str], known: set[str]
) -> list[tuple[float, int, AnyRecord]]:
    """The SIM's records with device time in [d0, d1), as (device time, order, record).
    A session that started before d0 goes on only if it is open (``opened``): not if the
    generator was off at its start, nor after an HLR reset closed it. ``known`` receives
    the ids of the sessions that go on or start in the window."""
    seed, speed, iccid = config.seed, config.speed, sim["iccid"]
    out: list[tuple[float, int, AnyRecord]] = []
    restriction = sim["restriction_status"]
    if sim["fraud_status"] == "OK" and restriction != "Data Restricted":
        share = STEP_DOWN_SHARE if restriction == "Speed Step-down" else 1.0
        for s in _sessions(seed, iccid, p, d0, d1):
            if s.start >= d1 or s.end < d0 or (s.start < d0 and s.session_id not in opened):
                continue
            known.add(s.session_id)
            if s.start >= d0:
                out.append((s.start, 0, SessionStart(
                    record_id=f"{s.session_id}:s", iccid=iccid, time=_moment(s.start, speed),
                    session_id=s.session_id, apn=p.apn, mcc=p.mcc, mnc=p.mnc,
                    imei=sim["imei"], rat_type=p.rat,  # type: ignore[arg-type]
                )))  # fmt: skip
            tick = max(math.floor(s.start / INTERIM_SECONDS) + 1, math.ceil(d0 / INTERIM_SECONDS))
            while tick * INTERIM_SECONDS < min(s.end, d1):
                at = tick * INTERIM_SECONDS
                up, down = _totals(p, share, at - s.start)
                out.append((at, 1, SessionUpdate(
                    record_id=f"{s.session_id}:u{tick}", iccid=iccid, time=_moment(at, speed),
                    session_id=s.session_id, bytes_up=up, bytes_down=down,
                )))  # fmt: skip
                tick += 1
            if d0 <= s.end < d1:
                up, down = _totals(p, share, s.end - s.start)
                out.append((s.end, 2, SessionStop(
                    record_id=f"{s.session_id}:e", iccid=iccid, time=_moment(s.end, speed),
                    session_id=s.session_id, bytes_up=up, bytes_down=down,
                )))  # fmt: skip
    if p.sms_per_hour:
        device = sim["msisdn"] or iccid
        for hour in range(math.floor(d0 / 3600), math.floor(d1 / 3600) + 1):
            for n, (sent, mo) in enumerate(_messages(seed, iccid, hour, p.sms_per_hour)):
                if not d0 <= sent < d1:
                    continue
                sms_id = f"{session_prefix(seed)}{iccid}-h{hour}-{n}"
                out.append((sent, 3, SmsRecord(
                    record_id=sms_id, iccid=iccid, time=_moment(sent, speed), sms_id=sms_id,
                    direction="MO" if mo else "MT", status="DELIVERED",
                    originator=device if mo else PLATFORM_ADDRESS,
                    destination=PLATFORM_ADDRESS if mo else device, mcc=p.mcc, mnc=p.mnc,
                )))  # fmt: skip
    return out


@dataclass
class StepResult:
    start: float | None  # the platform window covered, epoch seconds (None: not running)
    end: float | None
    behind: bool = False  # the window ended before the platform clock: step again
    accepted: int = 0
    duplicates: int = 0


class Generator:
    """Generates traffic for the windows the platform clock opens. Any number of objects
    (in any processes) over one database may run: the position and the record ids keep
    every record once."""

    def __init__(
        self, db: Database, clock: Clock, default: Config, bus: EventBus | None = None
    ) -> None:
        self.db = db
        self.clock = clock
        self.bus = bus  # wakes the streams the rules' notifications go to
        self.default = default
        self._profiles: dict[tuple[int, str, str | None], Profile] = {}

    def _profile(self, seed: int, sim: Row) -> Profile:
        key = (seed, sim["iccid"], sim["apns"])
        found = self._profiles.get(key)
        if found is None:
            apns = sorted(sim["apns"].split(",")) if sim["apns"] else []
            found = self._profiles[key] = profile(seed, sim["iccid"], apns)
        return found

    async def step(self) -> StepResult:
        """Generates one window [position, min(now, position + an hour of device time))."""
        config = await read_config(self.db, self.default)
        now = self.clock.time()
        if not config.running:
            return StepResult(None, None)
        start = config.position
        if start is None or (now - start) * config.speed > MAX_LAG_DEVICE_SECONDS:
            await store.move_position(self.db, start, now)
            return StepResult(now, now)
        end = min(now, start + WINDOW_DEVICE_SECONDS / config.speed)
        if end <= start:
            return StepResult(start, start)
        d0, d1 = start * config.speed, end * config.speed
        out: list[tuple[float, int, AnyRecord]] = []
        opened = await store.open_generated_sessions(self.db, SESSION_PREFIX)
        opened_ids = {row["session_id"] for row in opened}
        known: set[str] = set()
        after = ""
        # Pages of SIMs, and a yield after each: requests go on in between.
        while page := await store.active_sims(self.db, after, SIM_PAGE):
            for sim in page:
                profile = self._profile(config.seed, sim)
                out += sim_records(config, sim, profile, d0, d1, opened_ids, known)
            after = page[-1]["iccid"]
            await asyncio.sleep(0)
            if not await self._running():
                return StepResult(start, start)
        out.sort(key=lambda item: (item[0], item[1], item[2].record_id))
        # Generated sessions that no longer go on (the SIM left Active or lost data, the
        # seed or speed changed) stop where the window starts.
        stopped = [self._stopped(row, start) for row in opened if row["session_id"] not in known]
        batch = stopped + [record for _, _, record in out]
        result = StepResult(start, end, behind=end < now)
        for first in range(0, len(batch), BATCH):
            if first:
                await asyncio.sleep(0)  # the inline SQLite driver never yields by itself
                if not await self._running():
                    # Switched off: the rest of the window is not generated, and the
                    # position stays (switching on again starts at the present).
                    result.end, result.behind = start, False
                    return result
            answer = await records.ingest(
                self.db, self.clock, batch[first : first + BATCH], self.bus
            )
            result.accepted += answer.accepted
            result.duplicates += answer.duplicates
            if answer.rejected:
                log.warning("generated records refused", count=len(answer.rejected),
                            first=answer.rejected[0])  # fmt: skip
        await store.move_position(self.db, start, end)
        return result

    async def _running(self) -> bool:
        """Still switched on: a step stops between two slices once it is switched off."""
        return (await read_config(self.db, self.default)).running

    @staticmethod
    def _stopped(row: Row, start: float) -> SessionStop:
        moment = datetime.fromtimestamp(start, UTC)
        return SessionStop(
            record_id=f"{row['session_id']}:x",
            iccid=row["iccid"],
            time=max(iso(moment), row["started_at"]),
            session_id=row["session_id"],
            bytes_up=row["bytes_up"],
            bytes_down=row["bytes_down"],
        )

    async def catch_up(self, max_steps: int = 1000) -> StepResult:
        """Steps until the position reaches the platform clock; the totals."""
        total = StepResult(None, None)
        for _ in range(max_steps):
            result = await self.step()
            total.start = total.start if total.start is not None else result.start
            total.end, total.behind = result.end, result.behind
            total.accepted += result.accepted
            total.duplicates += result.duplicates
            if not result.behind:
                break
        return total


def for_platform(platform: Platform) -> Generator:
    settings = platform.settings
    default = default_config(settings.action_delay_ms, settings.per_sim_delay_ms)
    return Generator(platform.db, platform.clock, default, platform.bus)


async def run(generator: Generator, interval: float = STEP_SECONDS) -> None:
    """Background: a step every ``interval`` real seconds, at once while behind."""
    while True:
        try:
            result = await generator.step()
        except Exception:
            log.exception("generator step failed")
            result = StepResult(None, None)
        if not result.behind:
            await asyncio.sleep(interval)
