"""What an internal error costs: the erroring request, and every other tenant meanwhile.

Issue 8: 20 requests that each end in an internal error take under 5 times 20 normal
requests, and another tenant's p99 while two connections repeat a failing request stays
within 2 times the quiet p99.

What it does, in a fresh temp folder (and for PostgreSQL a fresh database it drops at the
end), on 127.0.0.1 only:

1. a partner with 1,000 SIMs and an application (as bench/hot_path.py prepares them);
2. starts the real server, ``bench/failing_server.py serve`` (``m2mportal serve`` plus
   ``GET /bench/fail``, which fails inside the database driver), one process, default
   logging (text, info) into a file;
3. cost: ``--rounds`` rounds of 20 sequential failing requests and 20 sequential normal
   requests (authenticated GET SIM details), one keep-alive connection, after a warm-up;
4. server CPU: a separate load process keeps two connections repeating the failing
   request for ``--cpu-seconds``, then the normal one; the server's CPU time per answer;
5. isolation, ``--isolation-rounds`` times: the other tenant sends ``--requests``
   sequential GET SIM details (at most ``--seconds`` seconds) when the server is quiet,
   while the load process repeats the failing request on two connections, and for
   reference while it repeats a normal request; p50 and p99 of each, and the medians of
   the rounds' p99s;
6. reads the server's log: lines and bytes per error.

``--pin`` puts the server alone on the first CPU and the clients on the others.
``--reconnect`` sends the failing requests with ``Connection: close``, for code before
the app answered errors itself (uvicorn closed the connection after each).

Every process it starts is stopped by its PID.

    .venv/bin/python bench/errors.py --db sqlite
    .venv/bin/python bench/errors.py --db postgresql --pg-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from common import DEFAULT_PG_URL, close_scratch, free_port, open_scratch, percentile
from cryptography.fernet import Fernet
from hot_path import HUGE, prepare, stop, wait_up
from streams import _cpu_seconds

BENCH = Path(__file__).resolve().parent
API = "/iot/connectivity/management/v1"
FAIL_PATH = "/bench/fail"
# Before the app answered errors itself (gateway/errors.py AnswerCrashes), Starlette
# re-raised every error to uvicorn, which closed the connection: `--reconnect` sends the
# failing requests with this header so that code can be measured too.
CLOSE = {"Connection": "close"}
LOAD_SECONDS_MAX = 300.0


def timed(http: httpx.Client, url: str, headers: dict[str, str], code: int) -> float:
    started = time.perf_counter()
    answer = http.get(url, headers=headers)
    spent = (time.perf_counter() - started) * 1000
    if answer.status_code != code:
        raise SystemExit(f"{url}: {answer.status_code} {answer.text[:300]}")
    return spent


def latencies(
    http: httpx.Client, url: str, headers: dict[str, str], args: argparse.Namespace
) -> list[float]:
    deadline = time.monotonic() + args.seconds
    found = []
    for _ in range(args.requests):
        found.append(timed(http, url, headers, 200))
        if time.monotonic() > deadline:
            break
    return found


async def _load(url: str, connections: int) -> None:
    """The load process: ``connections`` connections repeating one request until SIGTERM
    (or LOAD_SECONDS_MAX); prints the answers' status counts. Raw HTTP/1.1 on asyncio
    streams: an HTTP client library would take several times the CPU, and the load
    process shares the machine's 2 CPUs with the server and the measuring client."""
    stop_event = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop_event.set)
    target = urlsplit(url)
    headers = {"Host": target.netloc}
    auth = os.environ.get("M2MP_BENCH_AUTH")
    headers.update(
        {"Authorization": auth} if auth else json.loads(os.environ["M2MP_BENCH_FAIL_HEADERS"])
    )
    request = (
        f"GET {target.path} HTTP/1.1\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        + "\r\n"
    ).encode()
    counts: Counter[str] = Counter()
    deadline = time.monotonic() + LOAD_SECONDS_MAX

    def running() -> bool:
        return not stop_event.is_set() and time.monotonic() < deadline

    async def repeat() -> None:
        while running():
            try:
                reader, writer = await asyncio.open_connection(target.hostname, target.port)
                try:
                    while running():
                        writer.write(request)
                        head = (await reader.readuntil(b"\r\n\r\n")).lower()
                        length = re.search(rb"content-length: *(\d+)", head)
                        await reader.readexactly(int(length.group(1)) if length else 0)
                        counts[head[9:12].decode()] += 1
                        if b"connection: close" in head:
                            break
                finally:
                    writer.close()
            except (OSError, asyncio.IncompleteReadError) as exc:
                counts[type(exc).__name__] += 1

    await asyncio.gather(*(repeat() for _ in range(connections)))
    print(json.dumps(dict(counts)), flush=True)


class Load:
    """A separate process keeping two connections busy with one request."""

    def __init__(
        self, url: str, auth: str | None, fail_headers: dict[str, str], settle: float = 1.0
    ) -> None:
        env = {**os.environ, "M2MP_BENCH_FAIL_HEADERS": json.dumps(fail_headers)}
        if auth:
            env["M2MP_BENCH_AUTH"] = auth
        # At the lowest CPU priority: the load process shares the clients' CPU with the
        # measuring client, whose latency must show waits in the server, not waits for its
        # own CPU behind the load generator.
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--load", url], env=env, stdout=subprocess.PIPE,
            preexec_fn=lambda: os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0)),
        )  # fmt: skip
        time.sleep(settle)  # let both connections reach a steady state

    def finish(self) -> dict[str, int]:
        stop(self.proc)  # type: ignore[arg-type]
        out = self.proc.stdout.read() if self.proc.stdout else b""
        return json.loads(out or b"{}")  # type: ignore[no-any-return]


def pinning(args: argparse.Namespace) -> tuple[set[int], set[int]]:
    """With ``--pin``: the server alone on the first CPU, the clients on the others, so
    that the clients' own work does not queue the server (2 CPUs here)."""
    cpus = sorted(os.sched_getaffinity(0))
    if not args.pin or len(cpus) < 2:
        return set(), set()
    return {cpus[0]}, set(cpus[1:])


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values), 2),
        "p99_ms": round(percentile(values, 0.99), 2),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    folder, db_url = open_scratch(args.db, args.pg_url, "m2mp-errors-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "M2MP_DATABASE_URL": db_url,
        "M2MP_SECRET_KEY": Fernet.generate_key().decode(),
        "M2MP_PUBLIC_URL": base,
        "M2MP_PROVISIONING_SECONDS": "0",
        "M2MP_LIMITS_DETAILS": HUGE,
    }
    env.pop("M2MP_LOG_LEVEL", None)
    env.pop("M2MP_LOG_FORMAT", None)
    log_path = folder / "server.log"
    server: subprocess.Popen[bytes] | None = None
    try:
        from m2mportal.store import migrate

        migrate.upgrade(db_url)
        partner, iccid, client_id, secret = asyncio.run(prepare(env))
        server_cpu, client_cpu = pinning(args)
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                [sys.executable, str(BENCH / "failing_server.py"), "serve", "--port", str(port)],
                env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=(lambda: os.sched_setaffinity(0, server_cpu)) if server_cpu else None,
            )  # fmt: skip
        if client_cpu:
            os.sched_setaffinity(0, client_cpu)  # this process and the load processes
        try:
            wait_up(base + "/healthz", server)
        except SystemExit:
            print(log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
            raise
        token = httpx.post(
            base + "/auth/realms/m2m/protocol/openid-connect/token",
            data={"grant_type": "client_credentials", "client_id": client_id,
                  "client_secret": secret},
        ).json()["access_token"]  # fmt: skip
        auth = f"Bearer {token}"
        headers = {"Authorization": auth}
        details = f"{base}{API}/partners/{partner}/sims/{iccid}"
        failing = base + FAIL_PATH
        fail_headers = CLOSE if args.reconnect else {}
        log_start = log_path.stat().st_size

        with httpx.Client(timeout=30) as http:
            for _ in range(10):
                timed(http, details, headers, 200)
                timed(http, failing, fail_headers, 500)
            rounds = []
            for _ in range(args.rounds):
                errors = sum(timed(http, failing, fail_headers, 500) for _ in range(20))
                normal = sum(timed(http, details, headers, 200) for _ in range(20))
                rounds.append({"errors_ms": round(errors, 1), "normal_ms": round(normal, 1),
                               "ratio": round(errors / normal, 2)})  # fmt: skip
            errors_sent = 10 + 20 * args.rounds

            # The server's CPU time per answer while only the load process calls it.
            cpu_per_answer = {}
            for name, url, token in (("error", failing, None), ("normal", details, auth)):
                before = _cpu_seconds(server.pid)
                load = Load(url, token, fail_headers, settle=0.0)
                time.sleep(args.cpu_seconds)
                answers = load.finish()
                spent = _cpu_seconds(server.pid) - before
                cpu_per_answer[name] = round(spent * 1000 / max(1, sum(answers.values())), 3)
                if name == "error":
                    errors_sent += answers.get("500", 0)

            phases: dict[str, list[dict[str, Any]]] = {"quiet": [], "errors": [], "normal": []}
            for _ in range(args.isolation_rounds):
                phases["quiet"].append(summary(latencies(http, details, headers, args)))
                for name, url, token in (("errors", failing, None), ("normal", details, auth)):
                    load = Load(url, token, fail_headers)
                    measured = summary(latencies(http, details, headers, args))
                    answers = load.finish()
                    phases[name].append({**measured, "load_answers": answers})
                    if name == "errors":
                        errors_sent += answers.get("500", 0)

        text = log_path.read_bytes()[log_start:].decode(errors="replace")
        lines = text.splitlines()
        error_lines = [line for line in lines if "unhandled error" in line]
        ratios = [r["ratio"] for r in rounds]

        def p99(name: str) -> float:
            return float(statistics.median(p["p99_ms"] for p in phases[name]))

        return {
            "db": args.db,
            "cost_rounds": rounds,
            "cost_ratio_median": statistics.median(ratios),
            "server_cpu_ms_per_answer": cpu_per_answer,
            "isolation_rounds": phases,
            "p99_ms_median": {name: p99(name) for name in phases},
            "p99_ratio_errors": round(p99("errors") / p99("quiet"), 2),
            "p99_ratio_normal_load": round(p99("normal") / p99("quiet"), 2),
            "errors_answered": errors_sent,
            "log_error_lines": len(error_lines),
            "log_lines_other": len(lines) - len(error_lines),
            "log_bytes_per_error": round(len(text.encode()) / max(1, errors_sent)),
            "log_longest_line": max((len(line) for line in lines), default=0),
            "sample_line": error_lines[0] if error_lines else "",
            "cost_ok": statistics.median(ratios) < 5,
            "isolation_ok": p99("errors") <= 2 * p99("quiet"),
        }
    finally:
        if server is not None:
            stop(server)
        close_scratch(folder, db_url, args.pg_url, keep=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--isolation-rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--cpu-seconds", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--reconnect", action="store_true", help="see CLOSE")
    parser.add_argument("--pin", action="store_true", help="see pinning()")
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        try:
            import uvloop

            uvloop.run(_load(args.load, 2))
        except ImportError:
            asyncio.run(_load(args.load, 2))
        return
    for key, value in run(args).items():
        print(f"{key}: {json.dumps(value)}")


if __name__ == "__main__":
    main()
