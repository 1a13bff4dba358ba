"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from m2mportal.domain.errors import ApiError
from m2mportal.gateway.client_address import in_networks
from m2mportal.platform import Platform


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "m2mp_http_requests",
            "HTTP requests answered",
            ["method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "m2mp_http_request_seconds",
            "Time to the response head",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
        # Each (method, status)'s counter, found once: labels() checks and locks per call.
        self._counters: dict[tuple[str, int], Any] = {}

    def count(self, method: str, status: int, seconds: float) -> None:
        """One answer: its method and status, and the time to its head."""
        key = (method, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self.requests.labels(method, str(status))
        counter.inc()
        self.latency.observe(seconds)


def routes(platform: Platform, metrics: Metrics) -> list[Route]:
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "UP"})

    async def readyz(request: Request) -> Response:
        try:
            await platform.db.fetch_val("SELECT 1")
        except Exception as exc:  # any driver error means "not ready", never a 500
            body: dict[str, Any] = {"status": "DOWN", "database": type(exc).__name__}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"status": "UP", "database": platform.db.dialect})

    allowed = tuple(platform.settings.metrics_allow)

    async def prometheus(request: Request) -> Response:
        # The socket peer, not X-Forwarded-For: a header must not open the metrics. A
        # refused caller learns nothing, not even that the endpoint exists.
        if not in_networks(request.client.host if request.client else "", allowed):
            raise ApiError(404, "Not found", [f"GET {request.url.path}"])
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]
