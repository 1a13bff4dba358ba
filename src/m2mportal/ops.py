"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from m2mportal.domain.errors import ApiError
from m2mportal.gateway.client_address import in_networks
from m2mportal.platform import Platform


class Metrics:
    """Every answer counted by method and status, and its time to the response head.

    Counted in a dict and a list of bucket counts, and handed to prometheus_client as
    metric families when /metrics is read (a custom collector, the library's way for
    figures kept elsewhere): its Counter and Histogram take a lock and walk their
    buckets on each answer, 3 us of a GET SIM details. One event loop counts, so the
    figures need no lock."""

    BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

    def __init__(self) -> None:
        self._answers: dict[tuple[str, int], int] = {}
        # Answers per bucket (not cumulative), the last for those over the largest bound.
        self._buckets = [0] * (len(self.BUCKETS) + 1)
        self._seconds = 0.0
        self.registry = CollectorRegistry()
        self.registry.register(self)

    def count(self, method: str, status: int, seconds: float) -> None:
        """One answer: its method and status, and the time to its head."""
        key = (method, status)
        self._answers[key] = self._answers.get(key, 0) + 1
        self._buckets[bisect_left(self.BUCKETS, seconds)] += 1
        self._seconds += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "m2mp_http_requests", "HTTP requests answered", labels=["method", "status"]
        )
        for (method, status), answers in sorted(self._answers.items()):
            requests.add_metric([method, str(status)], answers)
        yield requests
        latency = HistogramMetricFamily("m2mp_http_request_seconds", "Time to the response head")
        buckets, total = [], 0
        for bound, answers in zip([*self.BUCKETS, float("inf")], self._buckets, strict=True):
            total += answers
            buckets.append((floatToGoString(bound), total))
        latency.add_metric([], buckets, self._seconds)
        yield latency


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
