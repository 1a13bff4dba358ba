"""Test fixtures: every API test runs on SQLite and, when M2MP_TEST_DATABASE_URL is set,
again on PostgreSQL (a fresh database per session, emptied between tests)."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from m2mportal.app import create_app
from m2mportal.clock import Clock
from m2mportal.config import Settings
from m2mportal.platform import Platform, open_platform
from m2mportal.store import migrate
from tests.helpers import World

# The log scan (no secret the tests made in any log line) and pytester for its own test.
pytest_plugins = ["tests.log_guard", "pytester"]

PG_URL = os.environ.get("M2MP_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("M2MP_TEST_REDIS_URL", "")
FERNET_KEY = Fernet.generate_key().decode()
# Kept between tests: generating an RSA key per test would dominate the suite's time.
KEEP_TABLES = {"alembic_version", "signing_keys"}


def test_settings(url: str, tmp: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": url,
        "secret_key": FERNET_KEY,
        "secret_key_file": str(tmp / "secret.key"),
        "public_url": "http://testserver",
        "provisioning_seconds": 0.0,
        "action_delay_ms": 0,
        "per_sim_delay_ms": 0,
        # Tests move the clock (the operator's clock endpoints); a test of the default
        # turns it off.
        "simulation": True,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


test_settings.__test__ = False  # type: ignore[attr-defined]  # a factory, not a test


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with a signing key, copied for each test."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.db"
    url = f"sqlite:///{path}"

    async def prepare() -> None:
        platform = await open_platform(test_settings(url, folder))
        await platform.close()

    asyncio.run(prepare())
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("PostgreSQL tests need M2MP_TEST_DATABASE_URL (set by .ci/run)")
    import asyncpg

    name = "m2mp_test_" + uuid.uuid4().hex[:10]
    admin = PG_URL

    async def admin_sql(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
    url = admin.rsplit("/", 1)[0] + "/" + name
    migrate.upgrade(url)
    try:
        yield url
    finally:
        asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _empty_postgres(platform: Platform) -> None:
    rows = await platform.db.fetch_all(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    )
    tables = [r["tablename"] for r in rows if r["tablename"] not in KEEP_TABLES]
    if tables:
        await platform.db.execute(
            "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
        )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        target = tmp_path / "m2mportal.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return test_settings(database_url, tmp_path)


@pytest.fixture
async def platform(settings: Settings, clock: Clock) -> AsyncIterator[Platform]:
    platform = await open_platform(settings, clock=clock, run_migrations=False)
    if platform.db.dialect == "postgresql":
        await _empty_postgres(platform)
    try:
        yield platform
    finally:
        await platform.close()


@pytest.fixture
async def client(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(platform, background=False)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def world(platform: Platform, client: httpx.AsyncClient) -> World:
    """An operator token and helpers to build partners, applications and SIMs via HTTP."""
    return await World.start(platform, client)
