"""Limiter benchmark: what the protective measures add to a call (budget: under 1 ms p99).

Issue "Protective measures", point 5: "the limiter adds under 1 ms p99 to a call".

What it does, all in this process and on 127.0.0.1, in a fresh temp folder (SQLite):

1. ``RateLimiter.charge`` directly, ``--calls`` times with cost 1 (one SIM: details) and
   with cost 1000 (a 1,000-SIM action), on the embedded default (memory) and on Redis
   (``--redis-url``, else ``M2MP_TEST_REDIS_URL``, else redis://127.0.0.1:6379/15, under a
   unique key prefix whose keys are deleted at the end). The limits are generous
   (``1000000/6 minutes`` and ``1000000/hour``, two windows like the defaults) so nothing
   is refused. So that the windows hold what a real budget holds rather than millions of
   entries, they are emptied (untimed) whenever ``--fill`` SIMs (default 10,000, the seed's
   hourly budget) have been taken: every call meets a window holding 0 to ``--fill`` SIMs.
   Printed: p50, p99 and max in ms.
2. The whole authenticated ``GET /partners/{id}/sims/{iccid}`` through the ASGI app
   (httpx.ASGITransport, ``background=False``), with the details rate class charged; with
   ``platform.limiter.charge`` replaced by a no-op returning a constant budget (the same
   headers are still written); and, on Redis, with a no-op that only sends one ``PING``
   (one bare round trip: what any budget kept exactly in Redis costs at least).
   ``--requests`` x ``--rounds`` groups of one call of each, the first rotating, for both
   storages. Printed: p50 and p99 of each, and the differences of the medians and p99s
   from the bypassed calls.
3. For Redis, a bare ``PING`` in a loop, the round trip the charges above are made of.

    .venv/bin/python bench/limiter.py
    .venv/bin/python bench/limiter.py --calls 5000 --requests 500 --rounds 4 --no-redis
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform as host
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
from common import bearer, percentile
from cryptography.fernet import Fernet

from m2mportal import API_BASE, synthetic
from m2mportal.app import create_app
from m2mportal.config import Settings
from m2mportal.gateway.limits import Budget
from m2mportal.models import NewApplication
from m2mportal.platform import Platform, open_platform
from m2mportal.services import applications, partners

TOKEN_PATH = "/auth/realms/m2m/protocol/openid-connect/token"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
GENEROUS_AMOUNT = 1_000_000
GENEROUS = [f"{GENEROUS_AMOUNT}/6 minutes", f"{GENEROUS_AMOUNT}/hour"]
BUDGET_MS = 1.0
WARMUP = 200


@dataclass
class Figures:
    label: str
    timings: list[float]  # ms

    @property
    def p50(self) -> float:
        return statistics.median(self.timings)

    @property
    def p99(self) -> float:
        return percentile(self.timings, 0.99)

    @property
    def worst(self) -> float:
        return max(self.timings)

    def line(self) -> str:
        return (
            f"  {self.label:<34} n {len(self.timings):6d}  p50 {self.p50:7.3f} ms"
            f"  p99 {self.p99:7.3f} ms  max {self.worst:8.3f} ms"
        )


# --- the platform ----------------------------------------------------------------------------


async def open_bench_platform(folder: Path, key: str, redis_url: str, prefix: str) -> Platform:
    settings = Settings(
        database_url=f"sqlite:///{folder / 'bench.db'}",
        secret_key=key,
        secret_key_file=str(folder / "secret.key"),
        public_url="http://bench",
        provisioning_seconds=0.0,
        action_delay_ms=0,
        per_sim_delay_ms=0,
        redis_url=redis_url,
        redis_prefix=prefix,
        limits_actions=GENEROUS,
        limits_details=GENEROUS,
    )
    return await open_platform(settings)


async def clear_windows(platform: Platform, partner: int, limit_class: str) -> None:
    """Empty the partner's windows of one class (between timed calls, never inside one)."""
    await platform.limiter.clear(partner, limit_class)


async def delete_redis_keys(url: str, prefix: str) -> int:
    import redis.asyncio

    client = redis.asyncio.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
        return len(keys)
    finally:
        await client.aclose()


async def time_ping(url: str, calls: int) -> Figures:
    """The floor: one round trip to the same Redis with the same client library."""
    import redis.asyncio

    client = redis.asyncio.from_url(url)
    try:
        timings: list[float] = []
        for index in range(WARMUP + calls):
            started = time.perf_counter_ns()
            await client.ping()
            if index >= WARMUP:
                timings.append((time.perf_counter_ns() - started) / 1e6)
        return Figures("redis PING (one round trip)", timings)
    finally:
        await client.aclose()


async def redis_version(url: str) -> str:
    import redis.asyncio

    client = redis.asyncio.from_url(url)
    try:
        info = await client.info("server")
        return str(info.get("redis_version", "?"))
    finally:
        await client.aclose()


# --- 1. RateLimiter.charge -------------------------------------------------------------------


async def time_charge(
    platform: Platform, partner: int, cost: int, calls: int, fill: int, label: str
) -> Figures:
    limiter = platform.limiter
    per_fill = max(1, fill // cost)
    await clear_windows(platform, partner, "details")
    timings: list[float] = []
    for index in range(WARMUP + calls):
        if index % per_fill == 0:
            await clear_windows(platform, partner, "details")
        started = time.perf_counter_ns()
        await limiter.charge(partner, "details", cost)
        elapsed = (time.perf_counter_ns() - started) / 1e6
        if index >= WARMUP:
            timings.append(elapsed)
    await clear_windows(platform, partner, "details")
    return Figures(label, timings)


# --- 2. GET SIM details through the ASGI app, limited and bypassed ----------------------------


async def time_details(
    platform: Platform, partner: int, requests: int, rounds: int, fill: int, name: str
) -> list[Figures]:
    """GET SIM details with the limiter, bypassed, and (Redis) bypassed but paying one bare
    round trip (``PING``) instead: the floor for any budget shared exactly through Redis."""
    app = create_app(platform, background=False)
    operator = await applications.create_operator_client(platform, f"bench-{name}")
    creds = await applications.register(platform, partner, NewApplication(name=f"bench-{name}"))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    limiter = platform.limiter
    real_charge = limiter.charge
    constant = Budget(limit=GENEROUS_AMOUNT, remaining=GENEROUS_AMOUNT - 1, reset=360)

    async def bypass(partner_id: int, limit_class: str, cost: int) -> Budget:
        return constant

    variants: list[tuple[str, Callable[..., Awaitable[Budget]]]] = [
        (f"GET details, limiter ({name})", real_charge),
        (f"GET details, bypassed ({name})", bypass),
    ]
    pinger: Any = None
    if platform.settings.redis_url:
        import redis.asyncio

        pinger = redis.asyncio.from_url(platform.settings.redis_url)

        async def round_trip(partner_id: int, limit_class: str, cost: int) -> Budget:
            await pinger.ping()
            return constant

        variants.append((f"GET details, PING only ({name})", round_trip))
    timings: list[list[float]] = [[] for _ in variants]

    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        op = await bearer(http, operator.client_id, operator.client_secret)
        sims = [{"iccid": synthetic.iccid(n), "status": "Active"} for n in range(1, 101)]
        answer = await http.post(f"/operator/v1/partners/{partner}/sims", json={"sims": sims},
                                 headers=op)  # fmt: skip
        if answer.status_code != 201:
            raise SystemExit(f"adding SIMs: {answer.status_code} {answer.text[:500]}")
        headers = await bearer(http, creds.client_id, creds.client_secret)
        paths = [f"{API_BASE}/partners/{partner}/sims/{s['iccid']}" for s in sims]
        taken = 0

        async def one(index: int, charge: Callable[..., Awaitable[Budget]]) -> float:
            nonlocal taken
            if taken >= fill:
                await clear_windows(platform, partner, "details")
                taken = 0
            path = paths[index % len(paths)]
            with mock.patch.object(limiter, "charge", charge):
                started = time.perf_counter_ns()
                answer = await http.get(path, headers=headers)
                elapsed = (time.perf_counter_ns() - started) / 1e6
            if answer.status_code != 200:
                raise SystemExit(f"{path}: {answer.status_code} {answer.text[:500]}")
            if "RateLimit-Remaining" not in answer.headers:
                raise SystemExit(f"{path}: no RateLimit headers")
            taken += 1
            return elapsed

        try:
            await clear_windows(platform, partner, "details")
            for index in range(WARMUP):  # caches, prepared statements, the app's routes
                await one(index, real_charge)
            # Groups of one call of each variant, the first one rotating, so that all see
            # the same moments of a noisy machine (a difference of two separate runs would
            # mostly measure the noise).
            for index in range(requests * rounds):
                for turn in range(len(variants)):
                    which = (index + turn) % len(variants)
                    timings[which].append(await one(index, variants[which][1]))
            await clear_windows(platform, partner, "details")
        finally:
            if pinger is not None:
                await pinger.aclose()
    return [Figures(label, found) for (label, _), found in zip(variants, timings, strict=True)]


# --- main ------------------------------------------------------------------------------------


def machine() -> list[str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    try:
        import limits

        limits_version = limits.__version__
    except (ImportError, AttributeError):
        limits_version = "?"
    load = "?"
    with contextlib.suppress(OSError):
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return [
        f"nproc {os.cpu_count()}, CPU {cpu}, RAM {ram}, load average {load}",
        f"Python {host.python_version()} ({sys.executable}), limits {limits_version}",
    ]


async def run(args: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix="m2mp-bench-limiter-"))
    key = Fernet.generate_key().decode()
    storages: list[tuple[str, str]] = [("memory", "")]
    if args.redis_url:
        storages.append(("redis", args.redis_url))
    for line in machine():
        print(line)
    if args.redis_url:
        print(f"Redis {await redis_version(args.redis_url)} at {args.redis_url}")
    print(f"calls {args.calls} per case, windows emptied every {args.fill} SIMs, limits {GENEROUS}")
    charge_results: list[Figures] = []
    http_results: list[tuple[Figures, Figures]] = []
    try:
        for name, url in storages:
            prefix = "bench-limiter-" + uuid.uuid4().hex[:10]
            platform = await open_bench_platform(folder / name, key, url, prefix)
            try:
                if url:
                    print((await time_ping(url, args.calls)).line(), flush=True)
                partner = await partners.create(
                    platform.db, platform.tree, platform.clock, f"Bench {name}", None
                )
                for cost in (1, 1000):
                    figures = await time_charge(
                        platform,
                        partner,
                        cost,
                        args.calls,
                        args.fill,
                        f"charge cost {cost} ({name})",
                    )
                    print(figures.line(), flush=True)
                    charge_results.append(figures)
                found = await time_details(
                    platform, partner, args.requests, args.rounds, args.fill, name
                )
                for figures in found:
                    print(figures.line(), flush=True)
                limited, bypassed = found[0], found[1]
                compared = [("limiter", limited)] + [("PING only", f) for f in found[2:]]
                for what, figures in compared:
                    label = f"{what} adds ({name})"
                    print(
                        f"  {label:<34} p50 {figures.p50 - bypassed.p50:+7.3f} ms"
                        f"  p99 {figures.p99 - bypassed.p99:+7.3f} ms",
                        flush=True,
                    )
                http_results.append((limited, bypassed))
            finally:
                await platform.close()
                if url:
                    deleted = await delete_redis_keys(url, prefix)
                    print(f"  deleted {deleted} Redis keys under {prefix}:")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    missed = [f.label for f in charge_results if f.p99 >= BUDGET_MS]
    missed += [
        limited.label for limited, bypassed in http_results
        if limited.p99 - bypassed.p99 >= BUDGET_MS
    ]  # fmt: skip
    verdict = "ok" if not missed else "MISSED: " + ", ".join(missed)
    print(f"budget: the limiter adds under {BUDGET_MS:.0f} ms p99 -> {verdict}")
    return 0 if not missed else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=20_000, help="charges per case")
    parser.add_argument("--fill", type=int, default=10_000, help="SIMs a window holds at most")
    parser.add_argument("--requests", type=int, default=1_000, help="HTTP call groups per round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of --requests groups")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("M2MP_TEST_REDIS_URL") or DEFAULT_REDIS_URL,
        help="Redis for the shared storage (loopback; a unique key prefix, removed after)",
    )
    parser.add_argument("--no-redis", action="store_true", help="only the embedded default")
    args = parser.parse_args()
    if args.no_redis:
        args.redis_url = ""
    try:
        import uvloop

        code = uvloop.run(run(args))
    except ImportError:
        code = asyncio.run(run(args))
    raise SystemExit(code)


if __name__ == "__main__":
    main()
