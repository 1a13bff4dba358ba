"""/metrics: Prometheus counters, served only to the peers ``M2MP_METRICS_ALLOW`` names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from m2mportal.app import create_app
from m2mportal.clock import Clock
from m2mportal.platform import Platform, open_platform
from tests.conftest import test_settings
from tests.helpers import World, error_list


def _counter(metrics: str, method: str, status: str) -> float:
    prefix = f'm2mp_http_requests_total{{method="{method}",status="{status}"}} '
    for line in metrics.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix) :])
    return 0.0


def _client(platform: Platform, peer: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(platform, background=False), client=(peer, 5))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def loopback(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(platform, "127.0.0.1") as http:
        yield http


async def test_metrics_count_requests_for_a_loopback_peer(
    platform: Platform, loopback: httpx.AsyncClient
) -> None:
    world = await World.start(platform, loopback)
    before = (await loopback.get("/metrics")).text
    partner = await world.partner()
    assert (await world.op("GET", f"/partners/{partner}")).status_code == 200
    assert (await world.op("GET", "/partners/999999")).status_code == 404
    answer = await loopback.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    metrics = answer.text
    assert "# TYPE m2mp_http_requests_total counter" in metrics
    assert _counter(metrics, "GET", "200") >= _counter(before, "GET", "200") + 2
    assert _counter(metrics, "GET", "404") == _counter(before, "GET", "404") + 1
    assert _counter(metrics, "POST", "201") >= 1
    assert "m2mp_http_request_seconds_bucket" in metrics


async def test_metrics_are_not_served_to_other_peers_by_default(
    client: httpx.AsyncClient,
) -> None:
    # The fixture's peer is 198.51.100.10: not loopback, so not allowed by default.
    answer = await client.get("/metrics")
    error_list(answer, 404, "NOT_FOUND")
    assert "m2mp_http" not in answer.text


async def test_a_forwarded_for_header_does_not_open_the_metrics(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    error_list(answer, 404, "NOT_FOUND")


async def test_metrics_allow_names_networks_and_empty_turns_them_off(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    opened = await open_platform(
        test_settings(url, tmp_path, metrics_allow=["198.51.100.0/24"]), clock=Clock()
    )
    try:
        async with _client(opened, "198.51.100.10") as http:
            assert (await http.get("/metrics")).status_code == 200
        async with _client(opened, "::ffff:198.51.100.10") as http:
            assert (await http.get("/metrics")).status_code == 200
        async with _client(opened, "127.0.0.1") as http:
            error_list(await http.get("/metrics"), 404, "NOT_FOUND")
    finally:
        await opened.close()
    off = await open_platform(test_settings(url, tmp_path, metrics_allow=[]), clock=Clock())
    try:
        async with _client(off, "127.0.0.1") as http:
            error_list(await http.get("/metrics"), 404, "NOT_FOUND")
    finally:
        await off.close()
