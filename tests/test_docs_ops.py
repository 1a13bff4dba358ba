"""The ops endpoints (health, readiness, Prometheus metrics) and the error body of the
framework's own 404/405. The API documents are tested in tests/test_openapi.py."""

from __future__ import annotations

import httpx

from m2mportal import API_BASE
from m2mportal.platform import Platform


async def test_healthz(client: httpx.AsyncClient) -> None:
    answer = await client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json()["status"] == "UP"


async def test_readyz_names_the_database_dialect(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    answer = await client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "UP", "database": platform.db.dialect}
    assert platform.db.dialect in ("sqlite", "postgresql")


async def test_readyz_is_503_when_the_database_is_gone(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    await platform.db.close()
    answer = await client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["status"] == "DOWN"


async def test_unknown_paths_answer_with_the_error_body(client: httpx.AsyncClient) -> None:
    answer = await client.get(API_BASE + "/nothing/here")
    assert answer.status_code == 404
    body = answer.json()
    assert set(body) == {"status", "message", "errors", "timestamp"}
    assert body["status"] == "NOT_FOUND"
    answer = await client.delete("/healthz")
    assert answer.status_code == 405
    assert answer.json()["status"] == "METHOD_NOT_ALLOWED"
