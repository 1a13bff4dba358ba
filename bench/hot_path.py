"""Authenticated SIM reads against a bare ASGI app, on this machine, in one run.

DESIGN.md budget: the whole path of GET SIM details (token check, scope, limit, database
read) reaches at least 40% of the requests/s of a bare Starlette app returning the same
JSON (SQLite), p99 under 20 ms at 50 connections; on PostgreSQL at least 25%, p99 under
30 ms. Issue 15 adds the SIM list page (keyset, 100 SIMs: at least 20% of the bare app
returning the same bytes) and POST SIM details (held to the GET's budget).

The servers run under uvicorn with one worker (uvloop, httptools) on 127.0.0.1 and are
loaded with `wrk -t2 -c50 --latency`: 3 s warm-up, 6 s measured, rounds interleaved. The
reference is the bare app on the same server as the platform: uvicorn with the protocol
`m2mportal serve` runs (m2mportal/http_server.py, an answer in one write). The bare app on
uvicorn's own protocol is measured too and its ratio printed ("stock"), as the budget was
first measured: the one-write protocol speeds the bare app as much as the platform, and
the ratio against the stock server alone would credit the platform with the server's
gain. The ratio quoted is the median of the per-round ratios, the p99 the median of the
rounds' p99s. Every server started is stopped by its PID. Needs `wrk` (Debian package). The last
line printed is the result as JSON (`make bench` reads it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from common import create_database, drop_database, free_port
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
API = "/iot/connectivity/management/v1"
# Never refuses, and like the seed's windows (at most 1,000 calls in 6 minutes) holds few
# entries: a moving window keeps one entry per call, so a 6-minute window at thousands of
# calls a second would measure a list of a million entries no real budget has.
HUGE = "1000000000/second"


def wait_up(url: str, proc: subprocess.Popen[bytes], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wrk(
    url: str, seconds: int, headers: dict[str, str], script: Path | None = None
) -> tuple[float, float]:
    """requests/s and p99 latency in ms (``script``: a wrk Lua script, for a POST)."""
    cmd = ["wrk", "-t2", "-c50", f"-d{seconds}s", "--latency", url]
    if script is not None:
        cmd += ["-s", str(script)]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99 is not None, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{non2xx.group(1)} failed responses from {url}:\n{out}")
    return rps, float(p99.group(1)) * scale


async def seed(env: dict[str, str], count: int, operator: bool = False) -> dict[str, str]:
    """A partner with ``count`` Active SIMs and an application (and, with ``operator``, an
    operator client): its ids and credentials, and the ICCID of the middle SIM."""
    os.environ.update(env)
    from m2mportal.config import Settings
    from m2mportal.models import NewApplication, NewSim
    from m2mportal.platform import open_platform
    from m2mportal.services import applications, inventory, partners
    from m2mportal.synthetic import records

    platform = await open_platform(Settings.from_env())
    try:
        pid = await partners.create(platform.db, platform.tree, platform.clock, "Bench", None)
        sims = [
            (f"r{i}", NewSim(iccid=r["iccid"], imsi=r["imsi"], status="Active",
                             msisdn=r["msisdn"], apns=["b2b.dtag.test"]))
            for i, r in enumerate(records(count))
        ]  # fmt: skip
        await inventory.add_sims(platform.db, platform.tree, platform.clock, pid, sims)
        app = await applications.register(platform, pid, NewApplication(name="bench"))
        ids = {
            "partner": str(pid),
            "iccid": sims[count // 2][1].iccid,
            "client_id": app.client_id,
            "secret": app.client_secret or "",
        }
        if operator:
            op = await applications.create_operator_client(platform, "bench-operator")
            ids |= {"operator_id": op.client_id, "operator_secret": op.client_secret or ""}
        return ids
    finally:
        await platform.close()


async def prepare(env: dict[str, str]) -> tuple[str, str, str, str]:
    """A partner with 1,000 SIMs and an application: (partner, iccid, client id, secret)."""
    ids = await seed(env, 1000)
    return ids["partner"], ids["iccid"], ids["client_id"], ids["secret"]


# GET SIM details, a keyset page of the SIM list, POST SIM details.
CALLS = ("details", "list", "post")
# Budgets (ratio to the bare app, p99 ms) per call and database; None: no p99 budget.
BUDGETS: dict[tuple[str, str], tuple[float, float | None]] = {
    ("details", "sqlite"): (0.40, 20.0),
    ("details", "postgresql"): (0.25, 30.0),
    ("post", "sqlite"): (0.40, 20.0),
    ("post", "postgresql"): (0.25, 30.0),
    ("list", "sqlite"): (0.20, None),
    ("list", "postgresql"): (0.20, None),
}


@dataclass
class Setup:
    """Both servers up and the call ready: the platform's URL and headers, the bare app's."""

    db: str
    call: str
    url: str
    ref_url: str
    stock_url: str
    headers: dict[str, str]
    script: Path | None
    body_bytes: int
    platform_pid: int


@contextlib.contextmanager
def serving(
    db: str,
    pg_url: str,
    call: str = "details",
    log_level: str = "warning",
    sims: int = 1000,
    pin: bool = False,
) -> Iterator[Setup]:
    """A scratch database with ``sims`` SIMs, `m2mportal serve` and the bare app on free
    ports; everything is stopped and removed afterwards.

    ``pin``: both servers on the first CPU, this process and so wrk on the others, so that
    the load generator's threads do not queue the server they measure (2 CPUs here; the
    bare app idles while the platform is measured, and the other way round)."""
    cpus = sorted(os.sched_getaffinity(0))
    server_cpus = {cpus[0]} if pin and len(cpus) > 1 else None

    def on_server_cpus() -> None:
        if server_cpus:
            os.sched_setaffinity(0, server_cpus)

    folder = Path(tempfile.mkdtemp(prefix="m2mp-hot-"))
    on_postgres = db == "postgresql"
    db_url = asyncio.run(create_database(pg_url)) if on_postgres else f"sqlite:///{folder}/bench.db"
    port, ref_port, stock_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "M2MP_DATABASE_URL": db_url,
        "M2MP_SECRET_KEY": Fernet.generate_key().decode(),
        "M2MP_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "M2MP_PROVISIONING_SECONDS": "0",
        "M2MP_LIMITS_DETAILS": HUGE,
        "M2MP_LOG_LEVEL": log_level,
    }
    servers: list[subprocess.Popen[bytes]] = []
    try:
        from m2mportal.store import migrate

        migrate.upgrade(db_url)
        ids = asyncio.run(seed(env, sims))
        platform_proc = subprocess.Popen(
            [sys.executable, "-m", "m2mportal.cli", "serve", "--port", str(port)],
            env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=on_server_cpus,
        )  # fmt: skip
        servers.append(platform_proc)
        base = f"http://127.0.0.1:{port}"
        wait_up(base + "/healthz", platform_proc)
        token = httpx.post(
            base + "/auth/realms/m2m/protocol/openid-connect/token",
            data={"grant_type": "client_credentials", "client_id": ids["client_id"],
                  "client_secret": ids["secret"]},
        ).json()["access_token"]  # fmt: skip
        headers = {"Authorization": f"Bearer {token}"}
        partner, iccid = ids["partner"], ids["iccid"]
        script = None
        if call == "details":
            path = f"{API}/partners/{partner}/sims/{iccid}"
            sample = httpx.get(base + path, headers=headers)
        elif call == "list":
            # A keyset page of 100 SIMs from the middle of the partner's 1,000.
            path = f"{API}/partners/{partner}/sims?after={iccid}&size=100"
            sample = httpx.get(base + path, headers=headers)
        else:
            path = f"{API}/partners/{partner}/sims/details"
            payload = json.dumps({"iccid": iccid})
            sample = httpx.post(base + path, headers=headers, content=payload.encode())
            script = folder / "post.lua"
            script.write_text(
                'wrk.method = "POST"\n'
                f"wrk.body = {json.dumps(payload)}\n"
                'wrk.headers["Content-Type"] = "application/json"\n'
            )
        assert sample.status_code == 200, sample.text
        ref_env = {**os.environ, "M2MP_BENCH_BODY": sample.text}
        for ref_port_, protocol in (
            (ref_port, "m2mportal.http_server:OneWriteHttpProtocol"),
            (stock_port, "httptools"),
        ):
            ref_proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "reference_app:app", "--host", "127.0.0.1",
                 "--port", str(ref_port_), "--log-level", "warning", "--no-access-log",
                 "--http", protocol],
                env=ref_env, cwd=ROOT / "bench", stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, preexec_fn=on_server_cpus,
            )  # fmt: skip
            servers.append(ref_proc)
            wait_up(f"http://127.0.0.1:{ref_port_}{API}/partners/{partner}/sims", ref_proc)
        ref_url = f"http://127.0.0.1:{ref_port}{path}"
        stock_url = f"http://127.0.0.1:{stock_port}{path}"
        if server_cpus:
            os.sched_setaffinity(0, set(cpus) - server_cpus)  # wrk inherits it
        yield Setup(
            db=db, call=call, url=base + path, ref_url=ref_url, stock_url=stock_url,
            headers=headers, script=script,
            body_bytes=len(sample.content), platform_pid=platform_proc.pid,
        )  # fmt: skip
    finally:
        os.sched_setaffinity(0, cpus)
        for proc in servers:
            stop(proc)
        if on_postgres:
            asyncio.run(drop_database(pg_url, db_url))
        shutil.rmtree(folder, ignore_errors=True)


def measure(setup: Setup, rounds: int, seconds: int, warmup: int) -> dict[str, object]:
    """Interleaved rounds, bare apps first; the figures and the verdict as a dict."""
    ratios, stock_ratios, rows = [], [], []
    for round_no in range(1, rounds + 1):
        wrk(setup.stock_url, warmup, {}, setup.script)
        stock_rps, _ = wrk(setup.stock_url, seconds, {}, setup.script)
        wrk(setup.ref_url, warmup, {}, setup.script)
        ref_rps, ref_p99 = wrk(setup.ref_url, seconds, {}, setup.script)
        wrk(setup.url, warmup, setup.headers, setup.script)
        rps, p99 = wrk(setup.url, seconds, setup.headers, setup.script)
        ratios.append(rps / ref_rps)
        stock_ratios.append(rps / stock_rps)
        rows.append((ref_rps, ref_p99, rps, p99, stock_rps))
        print(
            f"  round {round_no}: bare {ref_rps:8.0f} req/s p99 {ref_p99:6.2f} ms | "
            f"platform {rps:8.0f} req/s p99 {p99:6.2f} ms | ratio {rps / ref_rps:.2f}"
            f" | stock bare {stock_rps:8.0f} req/s, ratio {rps / stock_rps:.2f}",
            flush=True,
        )
    target, p99_budget = BUDGETS[(setup.call, setup.db)]
    ratio = statistics.median(ratios)
    p99 = statistics.median(r[3] for r in rows)
    return {
        "call": setup.call,
        "db": setup.db,
        "rounds": rounds,
        "body_bytes": setup.body_bytes,
        "bare_rps": round(statistics.median(r[0] for r in rows)),
        "bare_p99_ms": statistics.median(r[1] for r in rows),
        "rps": round(statistics.median(r[2] for r in rows)),
        "p99_ms": p99,
        "p99_ms_max": max(r[3] for r in rows),
        "ratio_median": round(ratio, 3),
        "stock_bare_rps": round(statistics.median(r[4] for r in rows)),
        "stock_ratio_median": round(statistics.median(stock_ratios), 3),
        "ratio_budget": target,
        "p99_budget_ms": p99_budget,
        "ratio_ok": ratio >= target,
        "p99_ok": None if p99_budget is None else p99 < p99_budget,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--call", choices=CALLS, default="details")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--log-level", default="warning",
        help="the platform's M2MP_LOG_LEVEL (info: one request line each, to /dev/null)",
    )  # fmt: skip
    parser.add_argument("--pin", action="store_true", help="see serving()")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    with serving(args.db, args.pg_url, args.call, args.log_level, pin=args.pin) as setup:
        print(
            f"{args.call} on {args.db}: body {setup.body_bytes} bytes; {args.rounds} rounds; "
            f"log level {args.log_level}; pinned {args.pin}",
            flush=True,
        )
        result = measure(setup, args.rounds, args.seconds, args.warmup)
    print(json.dumps({**result, "log_level": args.log_level, "pinned": args.pin}))


if __name__ == "__main__":
    main()
