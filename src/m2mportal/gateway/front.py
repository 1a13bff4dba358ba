"""The one layer every HTTP request passes on its way in and its answer on its way out.

It gives the request its id (``X-Request-ID``, and ``request_id`` on every log line it
writes), counts the answer in the metrics, answers an unhandled error with the error body
(a 500 that is counted, carries the id and is logged once), and writes the request line
when the answer is complete (gateway/request_log.py). These were three middlewares, each a
call and a wrapper around ``send`` on every request: one layer does the same at a tenth
of a GET SIM details' time less (docs/benchmarks.md, issue 15).

It is the app's outermost layer (app.py): an error after the answer started cannot be
answered, and goes on to the server, which closes the connection and logs it. Pure ASGI:
BaseHTTPMiddleware would cost a task per request.
"""

from __future__ import annotations

import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from m2mportal import logs
from m2mportal.clock import Clock
from m2mportal.gateway import errors, request_log
from m2mportal.ops import Metrics


class Front:
    def __init__(self, app: ASGIApp, metrics: Metrics, clock: Clock) -> None:
        self.app = app
        self.metrics = metrics
        self.clock = clock
        self.repeats = logs.Repeats()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_log.begin(scope)
        id_header = (request_log.HEADER, rid.encode("ascii"))
        metrics = self.metrics
        status = 500
        answered = False

        async def answer(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                answered = True
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
                metrics.count(scope["method"], status, time.perf_counter() - started)
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(**{request_log.CONTEXT_FIELD: rid})
        try:
            try:
                await self.app(scope, receive, answer)
            except Exception as exc:
                if answered:
                    raise
                crash = errors.crash_response(self.clock, scope, exc, self.repeats)
                await crash(scope, receive, answer)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
            request_log.write_line(scope, status, started, rid)
