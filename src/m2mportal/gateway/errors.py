"""The contract's error body for every error, the framework's own 404/405 included."""

from __future__ import annotations

import logging
from http import HTTPStatus

import msgspec
import structlog
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from m2mportal import logs
from m2mportal.clock import Clock
from m2mportal.domain.errors import ApiError
from m2mportal.models import ErrorBody

log = structlog.get_logger("m2mportal.gateway")
_std = logging.getLogger("m2mportal.gateway")
_UNHANDLED = logs.Known("unhandled error")
_METHODS = {m: logs.Known(m) for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")}

_MESSAGES = {
    404: "Not found",
    405: "Method not allowed",
    413: "Payload too large",
    415: "Unsupported media type",
}


def error_response(clock: Clock, error: ApiError) -> Response:
    body = ErrorBody(
        status=error.status_name,
        message=error.message,
        errors=error.errors,
        timestamp=clock.stamp(),
    )
    return Response(
        msgspec.json.encode(body),
        status_code=error.status_code,
        media_type="application/json",
        headers=error.headers or None,
    )


def validation_problem(exc: msgspec.ValidationError | msgspec.DecodeError, where: str) -> str:
    """``Expected `int`, got `str` - at `$.sims[3].iccid``` -> ``sims[3].iccid: Expected ...``."""
    text = str(exc)
    if " - at `$" in text:
        message, _, path = text.partition(" - at `$")
        path = path.rstrip("`").lstrip(".")
        return f"{path or where}: {message}"
    # ValidationError subclasses DecodeError: only a real decode error is "malformed".
    if not isinstance(exc, msgspec.ValidationError):
        return f"{where}: malformed JSON ({text})"
    return f"{where}: {text}"


def crash_response(
    clock: Clock, scope: Scope, exc: BaseException, repeats: logs.Repeats | None = None
) -> Response:
    """Log an unhandled error and answer 500 with the error body.

    One short line (m2mportal.logs): the exception and the route, never the query string,
    the form or the headers, which can carry credentials. With ``repeats``, an error of a
    kind already logged whole in the last minute gets the line without its traceback and
    with ``repeat=N`` (its number in that minute): the same line at a third of the cost."""
    repeat = repeats.count(exc, clock.time()) if repeats is not None else 0
    if repeat:
        # describe() redacts the message as it makes it: the line need not redact it again.
        logs.emit(
            _std,
            logging.ERROR,
            _UNHANDLED,
            method=_METHODS.get(scope["method"], scope["method"]),
            path=scope.get("path"),
            error=logs.Known(logs.describe(exc)),
            repeat=repeat,
        )
    else:
        log.error(
            "unhandled error", method=scope.get("method"), path=scope.get("path"), exc_info=exc
        )
    logs.note_logged(exc)
    return error_response(
        clock, ApiError(500, "Internal server error", ["an unexpected error occurred"])
    )


class AnswerCrashes:
    """Answers an unhandled error inside the app, where the metrics count the 500.

    Left to Starlette, the error handler answers and then re-raises to the server, which
    logs the error a second time and closes the connection: the client reconnects, and
    under load some clients read a reset instead of the 500 (bench/errors.py). An error
    after the answer started cannot be answered; it goes on to the server as before.
    """

    def __init__(self, app: ASGIApp, clock: Clock, repeats: logs.Repeats) -> None:
        self.app = app
        self.clock = clock
        self.repeats = repeats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:
                raise
            await crash_response(self.clock, scope, exc, self.repeats)(scope, receive, send)


def install(app: Starlette, clock: Clock, answer_crashes: bool = True) -> None:
    """Register handlers so framework errors and crashes answer with the error body.

    ``answer_crashes``: add AnswerCrashes as the app's innermost middleware (an app with
    gateway/front.py in front has its crashes answered there)."""
    repeats = logs.Repeats()

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = exc.status_code
        reason = _MESSAGES.get(code, HTTPStatus(code).phrase)
        detail = exc.detail if exc.detail and exc.detail != HTTPStatus(code).phrase else None
        what = detail or f"{request.method} {request.url.path}"
        return error_response(clock, ApiError(code, reason, [str(what)], dict(exc.headers or {})))

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(clock, exc)

    async def crash(request: Request, exc: Exception) -> Response:
        # What AnswerCrashes did not answer: an error in a middleware outside it, or one
        # after the answer started (Starlette then sends nothing and re-raises).
        return crash_response(clock, request.scope, exc, repeats)

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(Exception, crash)
    if answer_crashes:
        # Innermost of the app's middleware, before the stack is built.
        app.user_middleware.append(Middleware(AnswerCrashes, clock=clock, repeats=repeats))
