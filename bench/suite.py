"""`make bench`: every benchmark in one run, then one table of figures against their
references measured in the same run and against the budgets (DESIGN.md, issue 15).

Runs, one after the other (never two at once: they would share the 2 CPUs):

- bench/hot_path.py: GET SIM details, the SIM list page (keyset, 100 SIMs) and POST SIM
  details, each on SQLite and PostgreSQL, against a bare Starlette app returning the same
  bytes (the reference, interleaved in the same run);
- bench/inventory.py: 1,000,000 SIMs imported, keyset pages and remark searches;
- bench/actions.py: a 1,000-SIM action with the backend delays at 0;
- bench/streams.py: 2,000 open streams, event latency;
- bench/limiter.py: what the limiter adds to GET SIM details (the same call with the
  limiter bypassed is the reference), in memory and on Redis.

Each script's whole output goes to ``--out`` (a folder, default a new temp one); the table
is printed at the end, with the machine, the date and the load average before and after.
``--only hot,limiter`` runs a subset; ``--quick`` shortens every run (a try, not a
figure to quote).

    .venv/bin/python bench/suite.py [--pg-url URL] [--redis-url URL] [--only NAMES]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from common import DEFAULT_PG_URL

BENCH = Path(__file__).resolve().parent
NAMES = ("hot", "inventory", "actions", "streams", "limiter")


@dataclass
class Row:
    """One line of the table."""

    what: str
    db: str
    figure: str
    reference: str
    ratio: str
    budget: str
    verdict: str


def _run(out: Path, name: str, args: list[str]) -> str:
    """Run one script, its output into ``out/name.log``; returns the output."""
    log = out / f"{name}.log"
    print(f"-- {name}: {' '.join(args)}", flush=True)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, *args], cwd=BENCH.parent, capture_output=True, text=True, check=False
    )
    log.write_text(done.stdout + ("\n--- stderr\n" + done.stderr if done.stderr else ""))
    print(f"   {time.monotonic() - started:.0f} s, exit {done.returncode}, log {log}", flush=True)
    return done.stdout


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "MISSED")


def hot(out: Path, pg_url: str, quick: bool) -> list[Row]:
    rows = []
    timing = ["--rounds", "1", "--seconds", "3", "--warmup", "1"] if quick else ["--rounds", "3"]
    labels = {"details": "GET SIM details", "list": "SIM list page (100)", "post": "POST details"}
    for call in ("details", "list", "post"):
        for db in ("sqlite", "postgresql"):
            text = _run(
                out,
                f"hot-{call}-{db}",
                [
                    str(BENCH / "hot_path.py"),
                    "--db",
                    db,
                    "--pg-url",
                    pg_url,
                    "--call",
                    call,
                    *timing,
                ],
            )
            try:
                result = json.loads(text.strip().splitlines()[-1])
            except (IndexError, json.JSONDecodeError):
                rows.append(Row(labels[call], db, "failed", "", "", "", "FAILED"))
                continue
            p99_budget = result["p99_budget_ms"]
            budget = f">= {result['ratio_budget']:.2f}" + (
                f", p99 < {p99_budget:.0f} ms" if p99_budget else ""
            )
            ok = result["ratio_ok"] and result["p99_ok"] is not False
            rows.append(
                Row(
                    labels[call],
                    db,
                    f"{result['rps']:,} req/s, p99 {result['p99_ms']:.1f} ms",
                    f"bare app {result['bare_rps']:,} req/s, p99 {result['bare_p99_ms']:.1f} ms"
                    f" (on uvicorn's own protocol {result['stock_bare_rps']:,} req/s)",
                    f"{result['ratio_median']:.2f} ({result['stock_ratio_median']:.2f})",
                    budget,
                    _verdict(ok),
                )
            )
    return rows


_P99 = re.compile(r"^\s+(\S.*?)\s+p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms", re.MULTILINE)


def inventory(out: Path, pg_url: str, quick: bool) -> list[Row]:
    rows = []
    count = ["--count", "50000", "--requests", "100"] if quick else []
    for db in ("sqlite", "postgresql"):
        text = _run(
            out,
            f"inventory-{db}",
            [str(BENCH / "inventory.py"), "--db", db, "--pg-url", pg_url, *count],
        )
        wall = re.search(r"wall ([\d.]+) s \(", text)
        if wall is None:
            rows.append(Row("inventory import", db, "failed", "", "", "", "FAILED"))
            continue
        seconds = float(wall.group(1))
        rows.append(
            Row("import 1,000,000 SIMs", db, f"{seconds:.1f} s", "", "", "< 60 s",
                _verdict(seconds < 60 if not quick else None))
        )  # fmt: skip
        cases = [(m.group(1), float(m.group(3))) for m in _P99.finditer(text)]
        keyset = [p99 for name, p99 in cases if not name.startswith("remark")]
        remark = [p99 for name, p99 in cases if name.startswith("remark")]
        if keyset:
            rows.append(
                Row("keyset pages, worst p99", db, f"{max(keyset):.1f} ms", "", "", "< 25 ms",
                    _verdict(max(keyset) < 25))
            )  # fmt: skip
        if remark:
            rows.append(
                Row("remark search, worst p99", db, f"{max(remark):.1f} ms", "", "", "< 250 ms",
                    _verdict(max(remark) < 250))
            )  # fmt: skip
    return rows


_SUMMARY = re.compile(r"^\s+(send -> \S+).*?median\s+([\d.]+) ms\s+max\s+([\d.]+) ms", re.M)


def actions(out: Path, pg_url: str, quick: bool) -> list[Row]:
    rows = []
    rounds = ["--rounds", "3"] if quick else []
    for db in ("sqlite", "postgresql"):
        text = _run(
            out,
            f"actions-{db}",
            [str(BENCH / "actions.py"), "--db", db, "--pg-url", pg_url, *rounds],
        )
        found = {
            m.group(1): (float(m.group(2)), float(m.group(3))) for m in _SUMMARY.finditer(text)
        }
        for key, label, budget in (
            ("send -> 202", "1,000-SIM action: 202", 100.0),
            ("send -> finished", "1,000-SIM action: finished", 2000.0),
        ):
            if key not in found:
                rows.append(Row(label, db, "failed", "", "", "", "FAILED"))
                continue
            median, worst = found[key]
            rows.append(
                Row(label, db, f"median {median:,.0f} ms, max {worst:,.0f} ms", "", "",
                    f"< {budget:,.0f} ms", _verdict(worst < budget))
            )  # fmt: skip
    return rows


def streams(out: Path, pg_url: str, quick: bool) -> list[Row]:
    rows = []
    size = ["--streams", "200", "--events", "5"] if quick else []
    for db in ("sqlite", "postgresql"):
        text = _run(
            out,
            f"streams-{db}",
            [str(BENCH / "streams.py"), "--db", db, "--pg-url", pg_url, *size],
        )
        found = re.search(
            r"from commit to client with (\d+) streams: \S+ \(p99 ([\d.]+) ms\)", text
        )
        if found is None:
            rows.append(Row("event latency", db, "failed", "", "", "", "FAILED"))
            continue
        p99 = float(found.group(2))
        rows.append(
            Row(f"{int(found.group(1)):,} streams: commit -> line", db, f"p99 {p99:.1f} ms", "",
                "", "p99 < 100 ms", _verdict(p99 < 100))
        )  # fmt: skip
    return rows


_ADDS = re.compile(r"limiter adds \((\w+)\)\s+p50\s+([+-][\d.]+) ms\s+p99\s+([+-][\d.]+) ms")
_BYPASSED = re.compile(r"^\s+(.*bypass.*?)\s+n\s+\d+\s+p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms", re.M)


def limiter(out: Path, redis_url: str, quick: bool) -> list[Row]:
    size = ["--calls", "2000", "--requests", "200", "--rounds", "2"] if quick else []
    redis = ["--redis-url", redis_url] if redis_url else ["--no-redis"]
    text = _run(out, "limiter", [str(BENCH / "limiter.py"), *redis, *size])
    bypassed = [(float(m.group(2)), float(m.group(3))) for m in _BYPASSED.finditer(text)]
    rows = []
    for index, found in enumerate(_ADDS.finditer(text)):
        storage, p50, p99 = found.group(1), float(found.group(2)), float(found.group(3))
        reference = ""
        if index < len(bypassed):
            reference = (
                f"bypassed call p50 {bypassed[index][0]:.3f}, p99 {bypassed[index][1]:.3f} ms"
            )
        rows.append(
            Row(f"limiter adds to GET details ({storage})", "sqlite",
                f"p50 {p50:+.3f} ms, p99 {p99:+.3f} ms", reference, "", "p99 < +1 ms",
                _verdict(p99 < 1.0))
        )  # fmt: skip
    if not rows:
        rows.append(Row("limiter", "sqlite", "failed", "", "", "", "FAILED"))
    return rows


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _machine() -> str:
    cpu = "?"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def table(rows: list[Row]) -> str:
    head = ("benchmark", "db", "figure", "reference (same run)", "ratio", "budget", "verdict")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append(
            f"| {r.what} | {r.db} | {r.figure} | {r.reference} | {r.ratio} | {r.budget} "
            f"| {r.verdict} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pg-url", default=os.environ.get("M2MP_BENCH_PG_URL", DEFAULT_PG_URL))
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("M2MP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
        help="Redis for the limiter's shared storage ('' leaves Redis out)",
    )
    parser.add_argument("--only", default=",".join(NAMES), help=f"a subset of {','.join(NAMES)}")
    parser.add_argument("--quick", action="store_true", help="short runs: a try, not figures")
    parser.add_argument("--out", type=Path, help="folder for each script's output")
    args = parser.parse_args()
    chosen = [name for name in args.only.split(",") if name]
    unknown = set(chosen) - set(NAMES)
    if unknown:
        raise SystemExit(f"unknown: {', '.join(sorted(unknown))} (choose from {', '.join(NAMES)})")
    out = args.out or Path(tempfile.mkdtemp(prefix="m2mp-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    load_before = _load()
    runners: dict[str, Callable[[], list[Row]]] = {
        "hot": lambda: hot(out, args.pg_url, args.quick),
        "inventory": lambda: inventory(out, args.pg_url, args.quick),
        "actions": lambda: actions(out, args.pg_url, args.quick),
        "streams": lambda: streams(out, args.pg_url, args.quick),
        "limiter": lambda: limiter(out, args.redis_url, args.quick),
    }
    rows: list[Row] = []
    for name in NAMES:
        if name in chosen:
            rows += runners[name]()
    finished = datetime.now(UTC)
    report = (
        f"\n{started:%Y-%m-%d %H:%M}-{finished:%H:%M} UTC; {_machine()}; load average "
        f"(1, 5, 15 min) {load_before} before, {_load()} after"
        + ("; --quick (not figures to quote)" if args.quick else "")
        + f"\n\n{table(rows)}\n"
    )
    print(report)
    (out / "table.md").write_text(report)
    if any(r.verdict in ("MISSED", "FAILED") for r in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
