"""Inventory benchmark: import 1,000,000 SIMs from CSV, then time SIM-list keyset pages.

Budgets (DESIGN.md, "Performance budgets"): the import of 1,000,000 SIMs under 60 s;
SIM-list keyset pages (no filter, identifier search, status, tariff, subunit) p99 under
25 ms; remark substring search p99 under 250 ms.

What it does, all on 127.0.0.1 and in a fresh temp folder:

1. creates a partner with 2 subunits and 2 tariffs with the real CLI
   (``m2mportal partners create``, ``m2mportal catalog tariff``), which also migrates;
2. writes a CSV of ``--count`` SIMs from ``m2mportal.synthetic.records``;
3. runs ``m2mportal sims import FILE --partner ID`` as a subprocess and prints its wall
   time, CPU time and peak memory (``ru_maxrss`` of the children);
4. opens the same database in this process, registers an application, takes a token from
   the token endpoint and times ``GET /partners/{id}/sims?after=<deep iccid>&size=100``
   through the whole ASGI app (httpx.ASGITransport) for each filter, p50 and p99.

Results and the machine they were measured on: docs/benchmarks.md.

    .venv/bin/python bench/inventory.py --count 50000
    .venv/bin/python bench/inventory.py --db postgresql --pg-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from common import bearer, cli_command, close_scratch, open_scratch

from m2mportal import API_BASE, synthetic
from m2mportal.app import create_app
from m2mportal.config import Settings
from m2mportal.models import NewApplication
from m2mportal.platform import open_platform
from m2mportal.services import applications

CSV_COLUMNS = (
    "iccid", "imsi", "msisdn", "imei", "euiccid", "sim_type", "status", "productive",
    "tariff_id", "subunit_id", "remark1", "remark2",
)  # fmt: skip
TOKEN_PATH = "/auth/realms/m2m/protocol/openid-connect/token"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
IMPORT_BUDGET_S = 60.0
KEYSET_BUDGET_MS = 25.0
REMARK_BUDGET_MS = 250.0


@dataclass
class Tree:
    partner: int
    subunits: tuple[int, int]
    tariffs: tuple[int, int]


@dataclass
class Sample:
    """Identifiers kept while writing the CSV, to search for later."""

    imsis: list[str] = field(default_factory=list)
    msisdns: list[str] = field(default_factory=list)


@dataclass
class CaseResult:
    name: str
    budget_ms: float
    timings_ms: list[float]
    rows: int

    def percentile(self, share: float) -> float:
        ordered = sorted(self.timings_ms)
        index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
        return ordered[index]

    @property
    def p50(self) -> float:
        return statistics.median(self.timings_ms)

    @property
    def p99(self) -> float:
        return self.percentile(0.99)


def _run_cli(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run(
        [*cli_command(), *args, "--json"], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"m2mportal {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout)


def make_tree(env: dict[str, str]) -> Tree:
    partner = int(_run_cli(env, "partners", "create", "Bench Partner")["partnerId"])
    subunits = tuple(
        int(_run_cli(env, "partners", "create", name, "--parent", str(partner))["partnerId"])
        for name in ("Bench Subunit North", "Bench Subunit South")
    )
    tariffs = tuple(
        int(_run_cli(env, "catalog", "tariff", name)["id"])
        for name in ("Bench IoT Basic", "Bench IoT Plus")
    )
    return Tree(partner, (subunits[0], subunits[1]), (tariffs[0], tariffs[1]))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_csv(path: Path, count: int, tree: Tree) -> Sample:
    sample = Sample()
    records: Iterator[dict[str, Any]] = synthetic.records(
        count, tariff_ids=tree.tariffs, subunits=(None, *tree.subunits)
    )
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for serial, record in enumerate(records, start=1):
            writer.writerow([_cell(record[column]) for column in CSV_COLUMNS])
            if serial % 97 == 0:
                sample.imsis.append(record["imsi"])
                if record["msisdn"]:
                    sample.msisdns.append(record["msisdn"])
    return sample


@dataclass
class ImportRun:
    wall_s: float
    cpu_s: float  # user + system time of the import process
    peak_mib: float  # ru_maxrss of the children: the import is the largest


def run_import(env: dict[str, str], path: Path, partner: int) -> ImportRun:
    """The real CLI import as a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [*cli_command(), "sims", "import", str(path), "--partner", str(partner)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    tail = (done.stderr.strip().splitlines() or [""])[-1]
    print(f"  progress: {tail}")
    print(f"  {done.stdout.strip()}")
    if done.returncode != 0:
        raise SystemExit(f"import failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return ImportRun(wall, cpu, after.ru_maxrss / 1024)


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} CPUs"


async def measure_reads(
    env: dict[str, str], tree: Tree, count: int, sample: Sample, requests: int, seed: int
) -> list[CaseResult]:
    settings = Settings.from_env(env, provisioning_seconds=0.0, public_url="http://bench")
    platform = await open_platform(settings, run_migrations=False)
    try:
        app = create_app(platform, background=False)
        creds = await applications.register(platform, tree.partner, NewApplication(name="bench"))
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            rng = random.Random(seed)
            # "Deep": an ICCID between the middle and 95% of the list, new for each request.
            low, high = max(1, count // 2), max(1, count * 95 // 100)

            def deep() -> str:
                return synthetic.iccid(rng.randint(low, high))

            cases: list[tuple[str, float, Callable[[], dict[str, Any]]]] = [
                ("no filter", KEYSET_BUDGET_MS, lambda: {}),
                ("imsi=", KEYSET_BUDGET_MS, lambda: {"imsi": rng.choice(sample.imsis)}),
                ("msisdn=", KEYSET_BUDGET_MS, lambda: {"msisdn": rng.choice(sample.msisdns)}),
                ("status=Suspended", KEYSET_BUDGET_MS, lambda: {"status": "Suspended"}),
                ("tariffId=", KEYSET_BUDGET_MS, lambda: {"tariffId": tree.tariffs[0]}),
                ("subunitId=", KEYSET_BUDGET_MS, lambda: {"subunitId": tree.subunits[0]}),
                ("remark=truck 12", REMARK_BUDGET_MS, lambda: {"remark": "truck 12"}),
                ("remark=site-7", REMARK_BUDGET_MS, lambda: {"remark": "site-7"}),
            ]
            path = f"{API_BASE}/partners/{tree.partner}/sims"
            results = []
            for name, budget, params_of in cases:
                # A fresh token per case: a slow case must not outlive the token.
                headers = await bearer(http, creds.client_id, creds.client_secret)
                timings: list[float] = []
                rows = 0
                for index in range(requests + 10):
                    params = {**params_of(), "after": deep(), "size": 100}
                    started = time.perf_counter()
                    answer = await http.get(path, params=params, headers=headers)
                    elapsed = (time.perf_counter() - started) * 1000
                    if answer.status_code != 200:
                        raise SystemExit(f"{name}: {answer.status_code} {answer.text[:500]}")
                    if index >= 10:  # the first 10 warm up caches and prepared statements
                        timings.append(elapsed)
                        rows += len(answer.json()["content"])
                result = CaseResult(name, budget, timings, rows)
                print(
                    f"  {name:<18} p50 {result.p50:7.2f} ms  p99 {result.p99:7.2f} ms"
                    f"  max {max(timings):7.2f} ms  rows/page {rows / len(timings):6.1f}"
                    f"  budget {budget:.0f} ms  {'ok' if result.p99 < budget else 'MISSED'}"
                )
                results.append(result)
            return results
    finally:
        await platform.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="an admin connection URL")
    parser.add_argument("--count", type=int, default=1_000_000, help="SIMs to import")
    parser.add_argument("--requests", type=int, default=300, help="measured requests per case")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--keep", action="store_true", help="keep the temp folder (and the PostgreSQL database)"
    )
    args = parser.parse_args()

    folder, url = open_scratch(args.db, args.pg_url, "m2mp-bench-")
    env = {
        **os.environ,
        "M2MP_DATABASE_URL": url,
        "M2MP_SECRET_KEY_FILE": str(folder / "secret.key"),
        "M2MP_LOG_LEVEL": "warning",
    }
    env.pop("M2MP_SECRET_KEY", None)
    print(f"inventory benchmark: {args.count:,} SIMs on {args.db} ({url}), folder {folder}")
    try:
        tree = make_tree(env)
        print(f"partner {tree.partner}, subunits {tree.subunits}, tariffs {tree.tariffs}")

        started = time.perf_counter()
        csv_path = folder / "sims.csv"
        sample = write_csv(csv_path, args.count, tree)
        size_mib = csv_path.stat().st_size / 2**20
        print(f"CSV written: {size_mib:.1f} MiB in {time.perf_counter() - started:.1f} s")

        print(f"import: m2mportal sims import {csv_path.name} --partner {tree.partner}")
        print(f"  before: {_load()}")
        run = run_import(env, csv_path, tree.partner)
        print(f"  after:  {_load()}")
        if args.count < 1_000_000:
            verdict = "not judged below 1,000,000 SIMs"
        else:
            verdict = "ok" if run.wall_s < IMPORT_BUDGET_S else "MISSED"
        print(
            f"  wall {run.wall_s:.1f} s ({args.count / run.wall_s:,.0f} SIMs/s),"
            f" CPU {run.cpu_s:.1f} s, peak RSS {run.peak_mib:.0f} MiB,"
            f" budget {IMPORT_BUDGET_S:.0f} s for 1,000,000: {verdict}"
        )

        print(f"keyset pages (size=100, after=<iccid at 50-95%>), {args.requests} requests each:")
        print(f"  {_load()}")
        asyncio.run(measure_reads(env, tree, args.count, sample, args.requests, args.seed))
    finally:
        close_scratch(folder, url, args.pg_url, args.keep)


if __name__ == "__main__":
    main()
