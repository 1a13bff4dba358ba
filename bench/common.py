"""What the benchmark scripts share: a scratch PostgreSQL database, a free port, the CLI,
a bearer token, percentiles. Benchmarks run as ``python bench/<name>.py``, so this module
is imported as ``common``."""

from __future__ import annotations

import asyncio
import math
import shutil
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TOKEN_PATH = "/auth/realms/m2m/protocol/openid-connect/token"


def cli_command() -> list[str]:
    """How to run `m2mportal` with this interpreter."""
    script = Path(sys.executable).with_name("m2mportal")
    return [str(script)] if script.exists() else [sys.executable, "-m", "m2mportal.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def create_database(pg_url: str) -> str:
    """A fresh database `m2mp_bench_<random>` beside ``pg_url``'s; returns its URL."""
    import asyncpg

    name = "m2mp_bench_" + uuid.uuid4().hex[:10]
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return pg_url.rsplit("/", 1)[0] + "/" + name


async def drop_database(pg_url: str, url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def bearer(
    http: httpx.AsyncClient, client_id: str, secret: str, wait: float = 30.0
) -> dict[str, str]:
    """Authorization headers with a fresh token; a new application may still be
    'In Creation' for a moment, so this retries for up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        answer = await http.post(
            TOKEN_PATH,
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "scope": "openid profile",
            },
        )
        if answer.status_code == 200:
            return {"Authorization": f"Bearer {answer.json()['access_token']}"}
        if time.monotonic() > deadline:
            raise SystemExit(f"no token: {answer.status_code} {answer.text[:500]}")
        await asyncio.sleep(0.2)


def percentile(values: list[float], share: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def open_scratch(db: str, pg_url: str, prefix: str) -> tuple[Path, str]:
    """A temp folder and a fresh database: a SQLite file in the folder, or a new
    PostgreSQL database beside ``pg_url``'s. ``close_scratch`` removes both."""
    from m2mportal.store import migrate

    folder = Path(tempfile.mkdtemp(prefix=prefix))
    url = (
        f"sqlite:///{folder / 'bench.db'}"
        if db == "sqlite"
        else asyncio.run(create_database(pg_url))
    )
    # The CLI refuses a SQLite file that does not exist yet (a mistyped path must not
    # become an empty database): the schema is made here, as `serve` would.
    migrate.upgrade(url)
    return folder, url


def close_scratch(folder: Path, url: str, pg_url: str, keep: bool) -> None:
    if keep:
        print(f"kept {folder}" + (f" and {url}" if url.startswith("postgres") else ""))
        return
    if url.startswith("postgres"):
        asyncio.run(drop_database(pg_url, url))
    shutil.rmtree(folder, ignore_errors=True)
