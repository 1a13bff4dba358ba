"""The simulated backend's delays: how long an action waits before it starts and between
its SIMs. The operator sets them with ``PUT /operator/v1/simulator/config``; until then
the settings (M2MP_ACTION_DELAY_MS, M2MP_PER_SIM_DELAY_MS) apply.

They are re-read at most once a second, so a change reaches every process (API and
workers) within a second without a database read per accepted action.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from m2mportal.network import generator
from m2mportal.platform import Platform

REFRESH_SECONDS = 1.0
_KEY = "backend_delays"


@dataclass(frozen=True, slots=True)
class Delays:
    action_ms: int
    per_sim_ms: int
    read_at: float


async def current(platform: Platform) -> Delays:
    cached: Delays | None = platform.extras.get(_KEY)
    now = time.monotonic()
    if cached is not None and now - cached.read_at < REFRESH_SECONDS:
        return cached
    settings = platform.settings
    default = generator.default_config(settings.action_delay_ms, settings.per_sim_delay_ms)
    config = await generator.read_config(platform.db, default)
    delays = Delays(config.action_delay_ms, config.per_sim_delay_ms, now)
    platform.extras[_KEY] = delays
    return delays


def forget(platform: Platform) -> None:
    """After this process changed them: the next read sees the change at once."""
    platform.extras.pop(_KEY, None)
