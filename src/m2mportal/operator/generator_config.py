"""The operator's control of the traffic generator (CONTRACT 11: ``/simulator/config``),
kept in the database so every process (``serve``, ``m2mportal simulator``) reads it.

Routed only with ``M2MP_SIMULATION=true`` (operator/routes.py ``SIMULATION_PATHS``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from msgspec import Meta

from m2mportal.actions import backend_delays
from m2mportal.clock import iso
from m2mportal.gateway.endpoints import Call
from m2mportal.models import Model
from m2mportal.network import generator

# One simulated hour per second at most: beyond it a step's window outgrows the budget
# of a second for 10,000 SIMs.
Speed = Annotated[float, Meta(gt=0, le=3600, description="Simulated seconds per second")]
Seed = Annotated[int, Meta(ge=0, le=2**31 - 1)]
DelayMs = Annotated[int, Meta(ge=0, le=600_000)]


class SimulatorConfig(Model):
    running: bool
    speed: float
    seed: int
    action_delay_ms: int
    per_sim_delay_ms: int
    position: str | None  # generated up to this platform time


class SimulatorConfigChange(Model, forbid_unknown_fields=True):
    """The fields to change; one left out (or null) keeps its value."""

    running: bool | None = None
    speed: Speed | None = None
    seed: Seed | None = None
    action_delay_ms: DelayMs | None = None
    per_sim_delay_ms: DelayMs | None = None


def default(call: Call) -> generator.Config:
    settings = call.platform.settings
    return generator.default_config(settings.action_delay_ms, settings.per_sim_delay_ms)


def _view(config: generator.Config) -> SimulatorConfig:
    at = config.position
    return SimulatorConfig(
        running=config.running,
        speed=config.speed,
        seed=config.seed,
        action_delay_ms=config.action_delay_ms,
        per_sim_delay_ms=config.per_sim_delay_ms,
        position=None if at is None else iso(datetime.fromtimestamp(at, UTC)),
    )


async def get_config(call: Call) -> SimulatorConfig:
    return _view(await generator.read_config(call.platform.db, default(call)))


async def put_config(call: Call) -> SimulatorConfig:
    body: SimulatorConfigChange = call.body
    db = call.platform.db
    async with db.transaction():
        config = await generator.read_config(db, default(call))
        given = {
            name: value
            for name in SimulatorConfigChange.__struct_fields__
            if (value := getattr(body, name)) is not None
        }
        changed = generator.changed(config, **given)
        await generator.write_config(db, call.platform.clock, changed)
    backend_delays.forget(call.platform)
    return _view(changed)


EXAMPLE = {
    "running": True,
    "speed": 60.0,
    "seed": 7,
    "actionDelayMs": 500,
    "perSimDelayMs": 5,
    "position": "2025-08-02T09:54:13.133Z",
}
