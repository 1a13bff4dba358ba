"""The traffic generator at speed 60 for 10,000 Active SIMs inside one `serve` process:
records/s ingested, the process's CPU share, and GET SIM details p99 with and without it.

Issue 11 budget: with the generator on, the API's GET details p99 stays within 25% of its
figure without it.

One `m2mportal serve` (M2MP_SIMULATION=true: the generator runs as its background task)
on 127.0.0.1 over a scratch database with 10,000 Active SIMs. Phases of ``--seconds``
each, after a warm-up: the generator alone, then ``--rounds`` interleaved pairs of wrk on
GET details with the generator off and on; the p99 ratio is the median of the rounds'.
Records/s come from the ledger (``network_records``) counted before and after a phase,
the CPU share from /proc/<pid>/stat (100% = one core).
The server is stopped by its PID. Needs `wrk` (Debian package).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from common import close_scratch, free_port, open_scratch
from cryptography.fernet import Fernet
from hot_path import API, HUGE, seed, stop, wait_up, wrk

from m2mportal.network.generator import STEP_SECONDS

SIMS = 10_000


async def count_records(env: dict[str, str]) -> int:
    os.environ.update(env)
    from m2mportal.config import Settings
    from m2mportal.platform import open_platform

    platform = await open_platform(Settings.from_env(), run_migrations=False)
    try:
        return int(await platform.db.fetch_val("SELECT COUNT(*) FROM network_records") or 0)
    finally:
        await platform.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def token(base: str, client_id: str, secret: str) -> dict[str, str]:
    answer = httpx.post(
        base + "/auth/realms/m2m/protocol/openid-connect/token",
        data={"grant_type": "client_credentials", "client_id": client_id,
              "client_secret": secret},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def phase(
    env: dict[str, str], pid: int, seconds: int, load: tuple[str, dict[str, str]] | None
) -> dict[str, Any]:
    before, cpu, start = asyncio.run(count_records(env)), cpu_seconds(pid), time.monotonic()
    if load:
        rps, p99 = wrk(load[0], seconds, load[1])
    else:
        time.sleep(seconds)
    elapsed = time.monotonic() - start
    used, after = cpu_seconds(pid) - cpu, asyncio.run(count_records(env))
    out: dict[str, Any] = {
        "records_per_s": round((after - before) / elapsed, 1),
        "cpu_share": round(used / elapsed, 3),
    }
    if load:
        out |= {"details_rps": round(rps), "details_p99_ms": p99}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--pin",
        action="store_true",
        help="the server (API and generator) alone on the first CPU, wrk on the others, so"
        " the tail measures the server rather than how wrk and the server share CPUs",
    )
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    folder, db_url = open_scratch(args.db, args.pg_url, "m2mp-gen-")
    port = free_port()
    env = {
        **os.environ,
        "M2MP_DATABASE_URL": db_url,
        "M2MP_SECRET_KEY": Fernet.generate_key().decode(),
        "M2MP_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "M2MP_PROVISIONING_SECONDS": "0",
        "M2MP_LIMITS_DETAILS": HUGE,
        "M2MP_LOG_LEVEL": "warning",
        "M2MP_SIMULATION": "true",
    }
    server: subprocess.Popen[bytes] | None = None
    try:
        from m2mportal.store import migrate

        migrate.upgrade(db_url)
        ids = asyncio.run(seed(env, SIMS, operator=True))
        cpus = sorted(os.sched_getaffinity(0))
        pinned = args.pin and len(cpus) > 1
        server = subprocess.Popen(
            [sys.executable, "-m", "m2mportal.cli", "serve", "--port", str(port)],
            env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=(lambda: os.sched_setaffinity(0, {cpus[0]})) if pinned else None,
        )  # fmt: skip
        if pinned:
            os.sched_setaffinity(0, set(cpus[1:]))  # this process and the wrk it starts
        base = f"http://127.0.0.1:{port}"
        wait_up(base + "/healthz", server)
        headers = token(base, ids["client_id"], ids["secret"])
        operator = token(base, ids["operator_id"], ids["operator_secret"])
        url = f"{base}{API}/partners/{ids['partner']}/sims/{ids['iccid']}"
        assert httpx.get(url, headers=headers).status_code == 200
        config = f"{base}/operator/v1/simulator/config"

        def switch(running: bool) -> None:
            body = {"running": running, "speed": args.speed}
            operator = token(base, ids["operator_id"], ids["operator_secret"])
            answer = httpx.put(config, headers=operator, json=body)
            assert answer.status_code == 200, answer.text
            if running:
                # The first step after switching on only sets the position; the next, one
                # step interval later, generates: wait for both, and the profiles made.
                time.sleep(max(args.warmup, 2 * STEP_SECONDS + 1))
            else:
                # A phase "without" must be without: wait until the ledger stops growing
                # (a step under way stops at its next slice; at most 30 s).
                count, deadline = asyncio.run(count_records(env)), time.monotonic() + 30
                while time.monotonic() < deadline:
                    time.sleep(1.0)
                    count, before = asyncio.run(count_records(env)), count
                    if count == before:
                        break

        wrk(url, args.warmup, headers)
        switch(True)
        generator_only = phase(env, server.pid, args.seconds, None)
        switch(False)
        # Interleaved rounds (DESIGN.md: ratios hold on a noisy machine when both sides
        # are measured close together): without, then with the generator.
        rounds = []
        for _ in range(args.rounds):
            # Tokens last 5 minutes; a run lasts longer.
            headers = token(base, ids["client_id"], ids["secret"])
            operator = token(base, ids["operator_id"], ids["operator_secret"])
            off = phase(env, server.pid, args.seconds, (url, headers))
            switch(True)
            on = phase(env, server.pid, args.seconds, (url, headers))
            on["position_at_end"] = httpx.get(config, headers=operator).json()["position"]
            switch(False)
            ratio = round(on["details_p99_ms"] / off["details_p99_ms"], 2)
            rounds.append({"api_only": off, "api_and_generator": on, "p99_ratio": ratio})
        median = statistics.median(r["p99_ratio"] for r in rounds)
        print(json.dumps({
            "db": args.db, "sims": SIMS, "speed": args.speed, "pinned": pinned,
            "load_average": os.getloadavg(), "generator_only": generator_only,
            "rounds": rounds, "p99_ratio_median": median,
            "p99_within_25_percent": median <= 1.25,
        }, indent=1))  # fmt: skip
    finally:
        if server is not None:
            stop(server)
        close_scratch(folder, db_url, args.pg_url, args.keep)


if __name__ == "__main__":
    main()
