"""Two ``m2mportal serve`` processes on one PostgreSQL database agree about applications.

Issue 9.5 and 9.6 across processes: the moment process A's operator API reports a new
application ``Active``, its token request on process B succeeds; a secret rotated through
A is refused by B's token endpoint at once, and the new one accepted (neither process
caches a status or a secret where it decides something new).

Skipped on SQLite (several processes on one SQLite file is not the scaled setup). The
processes are ended in the fixture's ``finally``; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from m2mportal.config import Settings
from tests.conftest import REDIS_URL
from tests.e2e.test_limits_processes import Servers, delete_redis_keys, wait_healthy
from tests.helpers import OP, TOKEN_PATH, World

pytestmark = pytest.mark.slow

PROVISIONING_SECONDS = 1.0
ACTIVE_TIMEOUT_S = PROVISIONING_SECONDS + 10.0


@pytest.fixture
def servers(settings: Settings, tmp_path: Path) -> Iterator[Servers]:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("several API processes on one SQLite file is not the scaled setup")
    started = Servers(settings, tmp_path, "t" + uuid.uuid4().hex[:12])
    try:
        yield started
    finally:
        started.stop_all()
        if REDIS_URL:  # the processes get it (Servers.start), whether they use it or not
            delete_redis_keys(started.prefix)


@pytest.fixture
async def pair(servers: Servers) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    running = servers.start(2, {"M2MP_PROVISIONING_SECONDS": str(PROVISIONING_SECONDS)})
    clients = [httpx.AsyncClient(base_url=s.url, trust_env=False, timeout=30.0) for s in running]
    try:
        await wait_healthy(servers, clients)
        yield clients[0], clients[1]
    finally:
        for client in clients:
            await client.aclose()


async def _token(http: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await http.post(
        TOKEN_PATH,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


async def test_a_status_and_a_rotation_seen_on_one_process_hold_on_the_other(
    world: World, pair: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    a, b = pair
    partner = await world.partner("Two Processes Company")
    created = await a.post(
        OP + f"/partners/{partner}/applications", json={"name": "fleet"}, headers=world.operator
    )
    assert created.status_code == 201, created.text
    app = created.json()
    assert app["status"] == "In Creation"
    refused = await _token(b, app["clientId"], app["clientSecret"])
    assert refused.status_code == 401 and "In Creation" in refused.text

    # Poll A's operator API (the provisioning delay is the only wait), then ask B at once.
    deadline = time.monotonic() + ACTIVE_TIMEOUT_S
    while True:
        shown = await a.get(OP + f"/applications/{app['clientId']}", headers=world.operator)
        assert shown.status_code == 200, shown.text
        if shown.json()["status"] == "Active":
            break
        assert time.monotonic() < deadline, "never Active"
        await asyncio.sleep(0.02)
    for client_id, secret in (
        (app["clientId"], app["clientSecret"]),
        (app["eventClientId"], app["eventClientSecret"]),
    ):
        answer = await _token(b, client_id, secret)
        assert answer.status_code == 200, answer.text

    for which, client_id, key in (
        ("client", app["clientId"], "clientSecret"),
        ("event", app["eventClientId"], "eventClientSecret"),
    ):
        rotated = await a.post(
            OP + f"/applications/{app['clientId']}/secrets/rotate",
            json={"which": which},
            headers=world.operator,
        )
        assert rotated.status_code == 200, rotated.text
        assert (await _token(b, client_id, app[key])).status_code == 401
        assert (await _token(b, client_id, rotated.json()[key])).status_code == 200
        shown = await b.get(OP + f"/applications/{app['clientId']}/secrets", headers=world.operator)
        assert shown.json()[key] == rotated.json()[key]
