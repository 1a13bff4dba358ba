"""Action benchmark: a 1,000-SIM action through the real HTTP path, 202 and finish times.

Budget (docs/DESIGN.md "Performance budgets"): a 1,000-SIM action answers 202 in under
100 ms and is finished within 2 s with backend delay 0.

What it does, all on 127.0.0.1 and in a fresh temp folder (and, on PostgreSQL, a fresh
database that is dropped at the end):

1. with the real CLI (which also migrates): ``m2mportal partners create``, ``m2mportal
   sims import`` of ``--sims`` Active SIMs from a CSV, ``m2mportal apps create``;
2. starts ``m2mportal serve`` on a free port as a subprocess, with the embedded worker and
   ``M2MP_ACTION_DELAY_MS=0``, ``M2MP_PER_SIM_DELAY_MS=0`` (and an actions budget large
   enough for all rounds, so the rate limit never answers instead of the action);
3. takes a token from the token endpoint, then for each round sends a suspend (odd rounds:
   unsuspend) of all the SIMs with httpx and times the 202, then polls
   ``GET /partners/{id}/sims/actions/{signupId}`` with a ``--poll-ms`` pause between polls
   until the action is finished, and times that from the moment the request was sent
   (``--poll list`` polls the lighter ``GET .../sims/actions?size=1`` instead: the status
   answer carries all 1,000 per-SIM results, and on one process its cost is taken from the
   worker that applies the SIMs);
4. prints median and max of both, with the server's own ``finishedAt - createdAt``;
5. stops the server by its PID.

    .venv/bin/python bench/actions.py
    .venv/bin/python bench/actions.py --db postgresql --pg-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from common import bearer, cli_command, close_scratch, free_port, open_scratch
from cryptography.fernet import Fernet

from m2mportal import API_BASE, synthetic

TOKEN_PATH = "/auth/realms/m2m/protocol/openid-connect/token"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ACCEPT_BUDGET_MS = 100.0
FINISH_BUDGET_MS = 2000.0
FINAL = {"Done", "Partially Done", "Failed", "Cancelled"}
ROUND_TIMEOUT_S = 60.0


@dataclass
class Round:
    action: str
    accepted_ms: float
    finished_ms: float
    server_ms: float  # finishedAt - createdAt as the server recorded them
    polls: int
    poll_ms: float  # mean time of one poll request
    status: str


def _run_cli(env: dict[str, str], *args: str, json_out: bool = True) -> Any:
    command = [*cli_command(), *args, *(["--json"] if json_out else [])]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"m2mportal {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout) if json_out else done.stdout


def write_csv(path: Path, count: int) -> list[str]:
    iccids = []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("iccid", "imsi", "msisdn", "status"))
        for n in range(1, count + 1):
            iccid = synthetic.iccid(n)
            writer.writerow((iccid, synthetic.imsi(n), synthetic.msisdn(n), "Active"))
            iccids.append(iccid)
    return iccids


async def postgres_version(url: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        version: str = await conn.fetchval("SHOW server_version")
        return version
    finally:
        await conn.close()


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        ram = f"{kib / 2**20:.1f} GiB"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs ({cpu}), RAM {ram}, load average {load},"
        f" Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


class Server:
    """``m2mportal serve`` as a child process; stopped by its PID."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.port = port
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [*cli_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self, http: httpx.AsyncClient, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited:\n{self.log.read_text()[-4000:]}")
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
        raise SystemExit(f"server not ready after {timeout:.0f} s:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, 15)  # SIGTERM to this PID only
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def _ms_between(start: str, end: str) -> float:
    parse = datetime.fromisoformat
    return (
        parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))
    ).total_seconds() * 1000


async def one_round(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    partner: int,
    action: str,
    iccids: list[str],
    poll_s: float,
    poll: str,
) -> Round:
    base = f"{API_BASE}/partners/{partner}/sims/actions"
    body = {"sims": [{"iccid": i} for i in iccids]}
    started = time.perf_counter()
    answer = await http.post(f"{base}/{action}", json=body, headers=headers)
    accepted = time.perf_counter() - started
    if answer.status_code != 202:
        raise SystemExit(f"{action}: {answer.status_code} {answer.text[:500]}")
    signup_id = answer.json()["signupId"]
    polls = 0
    polling = 0.0
    deadline = started + ROUND_TIMEOUT_S
    while True:
        await asyncio.sleep(poll_s)
        sent = time.perf_counter()
        if poll == "status":
            status = await http.get(f"{base}/{signup_id}", headers=headers)
        else:  # the newest action's summary: status and counts, no per-SIM results
            status = await http.get(base, params={"size": 1}, headers=headers)
        polling += time.perf_counter() - sent
        polls += 1
        if status.status_code != 200:
            raise SystemExit(f"status {signup_id}: {status.status_code} {status.text[:500]}")
        found = status.json() if poll == "status" else status.json()["content"][0]
        if found["signupId"] != signup_id:
            raise SystemExit(f"polled signupId {found['signupId']}, expected {signup_id}")
        if found["status"] in FINAL:
            finished = time.perf_counter() - started
            break
        if time.perf_counter() > deadline:
            raise SystemExit(f"action {signup_id} not finished after {ROUND_TIMEOUT_S:.0f} s")
    return Round(
        action=action,
        accepted_ms=accepted * 1000,
        finished_ms=finished * 1000,
        server_ms=_ms_between(found["createdAt"], found["finishedAt"]),
        polls=polls,
        poll_ms=polling / polls * 1000,
        status=found["status"],
    )


def summary(name: str, values: list[float], budget: float) -> str:
    median, worst = statistics.median(values), max(values)
    verdict = "ok" if worst < budget else ("median ok, max MISSED" if median < budget else "MISSED")
    return (
        f"  {name:<28} median {median:8.1f} ms   max {worst:8.1f} ms"
        f"   budget {budget:.0f} ms: {verdict}"
    )


async def measure(
    server: Server, tree: dict[str, Any], iccids: list[str], rounds: int, warmup: int,
    poll_s: float, poll: str,
) -> list[Round]:  # fmt: skip
    limits = httpx.Timeout(30.0)
    async with httpx.AsyncClient(base_url=server.base, timeout=limits) as http:
        await server.ready(http)
        headers = await bearer(http, tree["client_id"], tree["client_secret"])
        results: list[Round] = []
        for index in range(warmup + rounds):
            action = "suspend" if index % 2 == 0 else "unsuspend"
            done = await one_round(http, headers, tree["partner"], action, iccids, poll_s, poll)
            if done.status != "Done":
                raise SystemExit(f"round {index}: action ended {done.status}")
            label = "warm-up" if index < warmup else f"round {index - warmup + 1}"
            print(
                f"  {label:<9} {action:<9} 202 {done.accepted_ms:7.1f} ms"
                f"   finished {done.finished_ms:7.1f} ms"
                f"   (server {done.server_ms:7.1f} ms; {done.polls} polls of"
                f" {done.poll_ms:5.1f} ms)"
            )
            if index >= warmup:
                results.append(done)
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="an admin connection URL")
    parser.add_argument("--sims", type=int, default=1000, help="SIMs per action (1 to 1,000)")
    parser.add_argument("--rounds", type=int, default=10, help="measured rounds")
    parser.add_argument("--warmup", type=int, default=1, help="rounds run first, not counted")
    parser.add_argument("--poll-ms", type=float, default=10.0, help="pause between polls")
    parser.add_argument(
        "--poll",
        choices=("status", "list"),
        default="status",
        help="poll GET .../actions/{signupId} (with the 1,000 per-SIM results) or the lighter"
        " GET .../actions?size=1 (status and counts only)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder and database")
    args = parser.parse_args()
    if not 1 <= args.sims <= 1000:
        parser.error("--sims: 1 to 1,000 (the API's limit per action)")

    folder, url = open_scratch(args.db, args.pg_url, "m2mp-bench-actions-")
    versions = machine()
    if args.db == "postgresql":
        versions += f", PostgreSQL {asyncio.run(postgres_version(args.pg_url))}"
    port = free_port()
    env = {
        **os.environ,
        "M2MP_DATABASE_URL": url,
        "M2MP_SECRET_KEY": Fernet.generate_key().decode(),
        "M2MP_SECRET_KEY_FILE": str(folder / "secret.key"),
        "M2MP_HOST": "127.0.0.1",
        "M2MP_PORT": str(port),
        "M2MP_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "M2MP_ACTION_DELAY_MS": "0",
        "M2MP_PER_SIM_DELAY_MS": "0",
        "M2MP_PROVISIONING_SECONDS": "0",
        "M2MP_EMBEDDED_WORKER": "true",
        # Room for every round: this measures the action path, not the protective limit.
        "M2MP_LIMITS_ACTIONS": "10000000/hour",
        "M2MP_LOG_LEVEL": "warning",
    }
    print(f"action benchmark on {args.db} ({url}), folder {folder}")
    print(f"machine: {versions}")
    server: Server | None = None
    try:
        partner = int(_run_cli(env, "partners", "create", "Bench Actions Partner")["partnerId"])
        iccids = write_csv(folder / "sims.csv", args.sims)
        print(
            _run_cli(
                env, "sims", "import", str(folder / "sims.csv"), "--partner", str(partner),
                json_out=False,
            ).strip()
        )  # fmt: skip
        app = _run_cli(env, "apps", "create", "--partner", str(partner), "--name", "bench")
        tree = {
            "partner": partner,
            "client_id": app["clientId"],
            "client_secret": app["clientSecret"],
        }
        server = Server(env, port, folder / "server.log")
        print(
            f"server pid {server.process.pid} on {server.base}; {args.sims}-SIM actions,"
            f" {args.warmup} warm-up + {args.rounds} rounds, polling {args.poll} with"
            f" {args.poll_ms:g} ms pauses"
        )
        results = asyncio.run(
            measure(server, tree, iccids, args.rounds, args.warmup, args.poll_ms / 1000, args.poll)
        )
        print(f"{args.db}, {len(results)} rounds of {args.sims} SIMs:")
        print(summary("send -> 202", [r.accepted_ms for r in results], ACCEPT_BUDGET_MS))
        print(
            summary("send -> finished (polled)", [r.finished_ms for r in results], FINISH_BUDGET_MS)
        )
        print(
            summary(
                "server createdAt->finishedAt", [r.server_ms for r in results], FINISH_BUDGET_MS
            )
        )
    finally:
        if server is not None:
            server.stop()
            print(f"server pid {server.process.pid} stopped (exit {server.process.returncode})")
        close_scratch(folder, url, args.pg_url, args.keep)


if __name__ == "__main__":
    main()
