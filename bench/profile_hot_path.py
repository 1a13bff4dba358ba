"""Where a hot-path request's time goes: py-spy on `m2mportal serve` while wrk loads it.

Starts the same servers as bench/hot_path.py (scratch database, 1,000 SIMs, one uvicorn
worker), loads the platform with `wrk -t2 -c50` for ``--seconds`` while `py-spy record`
samples it, then prints the share of the server's samples in each layer of the request
(a sample counts for the innermost layer its stack is in) and the hottest functions.

    .venv/bin/python bench/profile_hot_path.py [--db postgresql] [--call list|post]

Needs wrk (Debian) and py-spy (`pip install py-spy` into the venv) with ptrace allowed.
``--raw FILE`` keeps the collapsed stacks (for flamegraph.pl or speedscope).
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from hot_path import CALLS, serving, wrk

# Layers of a request, innermost first: a sample is counted for the first whose marker
# appears in its stack, read from the innermost frame out.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SQLite / asyncpg driver", ("sqlite3", "asyncpg/", "(m2mportal/store/database.py")),
    ("SIM read: SQL and rows (store/sims.py)", ("m2mportal/store/sims.py",)),
    ("SIM details and list built (services/sims.py)", ("m2mportal/services/sims.py",)),
    ("limiter (gateway/limits.py)", ("m2mportal/gateway/limits.py",)),
    ("token, client, scope (gateway/auth.py, iam/)",
     ("m2mportal/gateway/auth.py", "m2mportal/iam/")),
    ("API handler (api/sims.py)", ("m2mportal/api/",)),
    ("edge input checks (gateway/inputs.py)", ("m2mportal/gateway/inputs.py",)),
    ("response encode and send", ("msgspec", "starlette/responses.py")),
    ("route wrapper (gateway/endpoints.py)", ("m2mportal/gateway/endpoints.py",)),
    ("routing (starlette/routing.py, gateway/routing.py)",
     ("starlette/routing.py", "m2mportal/gateway/routing.py")),
    ("request log",
     ("m2mportal/gateway/request_log.py", "m2mportal/logs.py", "logging/", "structlog")),
    ("metrics", ("m2mportal/ops.py", "prometheus_client")),
    ("error layers (gateway/errors.py, starlette middleware)",
     ("m2mportal/gateway/errors.py", "starlette/middleware", "starlette/_exception_handler.py",
      "starlette/applications.py")),
    ("uvicorn and the event loop", ("uvicorn/", "uvloop", "asyncio")),
)  # fmt: skip


def layer_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, markers in LAYERS:
            if any(marker in frame for marker in markers):
                return name
    return "other"


def summarise(raw: Path, top: int) -> None:
    layers: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        # Every sample counts: py-spy samples only threads that run (no --idle), so the
        # waiting helper threads are not in them; and a stack under uvloop often comes
        # without its outer frames (the event loop's), which a filter on those frames
        # would drop, crediting uvicorn with the request's share (seventh session).
        samples = int(count)
        total += samples
        layers[layer_of(frames)] += samples
        own[frames[-1]] += samples
    if not total:
        raise SystemExit("no samples of the server")
    print(f"\n{total} samples of the server; share per layer (innermost wins):")
    for name, samples in layers.most_common():
        print(f"  {100 * samples / total:5.1f}%  {name}")
    print(f"\nhottest functions (own time), top {top}:")
    for name, samples in own.most_common(top):
        print(f"  {100 * samples / total:5.1f}%  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--call", choices=CALLS, default="details")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--raw", type=Path, help="keep the collapsed stacks in this file")
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists() or shutil.which("wrk") is None:
        raise SystemExit("needs wrk (apt-get install wrk) and py-spy (pip install py-spy)")
    folder = Path(tempfile.mkdtemp(prefix="m2mp-profile-"))
    raw = args.raw or folder / "stacks.txt"
    try:
        with serving(args.db, args.pg_url, args.call, args.log_level) as setup:
            wrk(setup.url, 2, setup.headers, setup.script)  # warm-up
            load: dict[str, tuple[float, float]] = {}
            loader = threading.Thread(
                target=lambda: load.update(
                    run=wrk(setup.url, args.seconds + 2, setup.headers, setup.script)
                )
            )
            loader.start()
            subprocess.run(
                [spy, "record", "--format", "raw", "--rate", str(args.rate), "--nonblocking",
                 "--duration", str(args.seconds), "--output", str(raw),
                 "--pid", str(setup.platform_pid)],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            loader.join()
        rps, p99 = load["run"]
        print(f"{args.call} on {args.db}: {rps:,.0f} req/s, p99 {p99:.1f} ms under py-spy")
        summarise(raw, args.top)
    finally:
        if args.raw is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
