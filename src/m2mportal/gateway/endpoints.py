"""One declarative route table: it builds the Starlette routes and the OpenAPI document.

Each ``Endpoint`` says what the call takes and answers and which gateway rules apply
(who may call, whether it writes, its rate class). The wrapper applies them in one place,
so a handler only parses nothing, checks nothing and does its work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from m2mportal.domain.errors import ApiError, bad_request, forbidden
from m2mportal.gateway import inputs
from m2mportal.gateway.auth import Principal, authenticate
from m2mportal.gateway.errors import error_response, validation_problem
from m2mportal.gateway.limits import Budget
from m2mportal.gateway.request_log import note_caller
from m2mportal.gateway.routing import RouteTable
from m2mportal.platform import Platform

_JSON = "application/json"


@dataclass
class Call:
    """What a handler gets: the request, who called, and the decoded inputs."""

    request: Request
    platform: Platform
    principal: Principal | None
    partner_id: int | None
    path: dict[str, str]
    query: Any
    body: Any
    raw_body: bytes = b""
    rate_class: str | None = None
    budget: Budget | None = None
    # The path's numeric ids (partnerId, signupId), checked at the edge.
    ids: dict[str, int] = field(default_factory=dict)
    # The documented request headers given (Endpoint.request_headers), checked at the edge.
    headers: dict[str, str] = field(default_factory=dict)

    async def charge(self, cost: int) -> None:
        """Take ``cost`` SIMs from the caller's budget (403 when exceeded). Handlers call
        it once the request is known to be valid: a call that fails validation is free."""
        assert self.rate_class is not None and self.partner_id is not None
        self.budget = await self.platform.limiter.charge(self.partner_id, self.rate_class, cost)

    async def peek(self) -> None:
        """Report the budget without taking from it (a dry run)."""
        assert self.rate_class is not None and self.partner_id is not None
        self.budget = await self.platform.limiter.peek(self.partner_id, self.rate_class)


Handler = Callable[[Call], Awaitable[Any]]


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    response: Any = None
    body: Any = None
    query: Any = None
    status: int = 200
    # "partner": customer API token; "operator": operator client; None: public.
    role: str | None = "partner"
    # Changes data: read-only applications get 403.
    writes: bool = False
    rate_class: str | None = None
    deprecated: bool = False
    description: str = ""
    errors: tuple[int, ...] = (400, 401, 403, 404)
    path_docs: dict[str, str] = field(default_factory=dict)
    # OpenAPI only (gateway/openapi.py): examples, documented request headers, answers
    # beyond `status` and `errors` {code: (description, type, example)}, and JSON-schema
    # keywords the body's type cannot say (merged into its schema, "properties" per field).
    request_example: Any = None
    response_example: Any = None
    request_headers: tuple[str, ...] = ()
    answers: dict[int, tuple[str, Any, Any]] = field(default_factory=dict)
    body_schema: dict[str, Any] = field(default_factory=dict)


class _JsonAnswer:
    """An endpoint's JSON answer as its two ASGI messages, the headers already in the
    server's form. Starlette's Response builds them from a dict and a media type, and
    rescans them for each header set afterwards (4 of a GET SIM details' 68 us)."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, body: bytes, status: int, extra: list[tuple[bytes, bytes]]) -> None:
        self.body = body
        self.status = status
        self.headers = [
            (b"content-length", str(len(body)).encode("ascii")),
            (b"content-type", b"application/json"),
            *extra,
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


_DEPRECATED = (b"deprecation", b"true")


def _encode(result: Any, status: int, budget: Budget | None, deprecated: bool) -> ASGIApp:
    if isinstance(result, Response):
        if budget is not None:
            result.headers.update(budget.headers())
        if deprecated:
            result.headers["Deprecation"] = "true"
        return result
    extra = budget.raw_headers() if budget is not None else []
    if deprecated:
        extra.append(_DEPRECATED)
    return _JsonAnswer(msgspec.json.encode(result), status, extra)


MAX_BODY_BYTES = 16 * 1024 * 1024  # 10,000 SIM records of the operator's bulk insert fit


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refusing (413) one larger than ``limit`` before reading it all.

    Read from the ASGI messages as Starlette's ``Request.stream`` reads them, without its
    async generator and parsed headers (a third of a POST SIM details' body handling)."""
    declared = inputs.header(request.scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "Payload too large", [f"body: at most {limit} bytes"])
    chunks: list[bytes] = []
    size = 0
    receive = request.receive
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        if message["type"] != "http.request":
            continue
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "Payload too large", [f"body: at most {limit} bytes"])
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _decode_body(request: Request, body_type: Any) -> tuple[bytes, Any]:
    if body_type is None:
        return b"", None
    raw = await read_body(request)
    if not raw.strip():
        raise bad_request("body: a JSON request body is required")
    content_type = inputs.header(request.scope, b"content-type")
    content_type = (content_type or _JSON).split(";")[0].strip().lower()
    if content_type and not (content_type == _JSON or content_type.endswith("+json")):
        raise ApiError(415, "Unsupported media type", ["Content-Type must be application/json"])
    try:
        body = msgspec.json.decode(raw, type=body_type)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise bad_request(validation_problem(exc, "body")) from exc
    except RecursionError as exc:  # [[[[...]]]] a thousand deep
        raise bad_request(inputs.TOO_DEEP) from exc
    problems = inputs.body_problems(raw)
    if problems:
        raise bad_request(*problems)
    return raw, body


class _Route:
    """An endpoint as an ASGI app. Starlette wraps a function endpoint in a layer of its
    own that catches exceptions with the app's handlers, the same ones the exception
    middleware applies one layer out; the wrapper here answers ApiError itself."""

    __slots__ = ("handle",)

    def __init__(self, handle: Callable[[Request], Awaitable[ASGIApp]]) -> None:
        self.handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handle(Request(scope, receive, send))
        await response(scope, receive, send)


def _wrap(endpoint: Endpoint, platform: Platform) -> Callable[[Request], Awaitable[ASGIApp]]:
    clock = platform.clock
    role = endpoint.role
    query_reader = inputs.QueryReader(endpoint.query)

    async def handle(request: Request) -> ASGIApp:
        try:
            principal = None
            if role is not None:
                principal = await authenticate(platform, request, role)
                note_caller(request.scope, principal.client_id, principal.partner_id)
            params = request.path_params
            ids = inputs.path_ids(params)
            partner_id = ids.get("partnerId")
            if principal is not None and role == "partner":
                if partner_id is not None and partner_id not in principal.scope_ids:
                    raise forbidden(f"partner {partner_id} is outside this application's scope")
                if endpoint.writes and principal.read_only:
                    raise forbidden("this application is read-only")
            query = query_reader.read(request)
            headers = inputs.header_values(request, endpoint.request_headers)
            raw_body, body = await _decode_body(request, endpoint.body)
            call = Call(
                request=request,
                platform=platform,
                principal=principal,
                partner_id=partner_id,
                path=params,
                query=query,
                body=body,
                raw_body=raw_body,
                rate_class=endpoint.rate_class,
                ids=ids,
                headers=headers,
            )
            try:
                result = await endpoint.handler(call)
            except ApiError as error:
                if call.budget is not None:
                    error.headers = {**call.budget.headers(), **error.headers}
                raise
            return _encode(result, endpoint.status, call.budget, endpoint.deprecated)
        except ApiError as error:
            return error_response(clock, error)

    return handle


@dataclass
class ApiRoutes:
    """An API's routes: one per endpoint in table order, then the 404/405 fallbacks."""

    table: RouteTable
    endpoints: list[Route]
    fallbacks: list[Route]

    @property
    def all(self) -> list[Route]:
        return [*self.endpoints, *self.fallbacks]


def api_routes(endpoints: Sequence[Endpoint], prefix: str, platform: Platform) -> ApiRoutes:
    table = RouteTable(prefix, [(e.method, e.path) for e in endpoints])
    routes = [
        table.route(e.path, _Route(_wrap(e, platform)), e.method, e.handler.__name__)
        for e in endpoints
    ]
    return ApiRoutes(table, routes, table.fallbacks(platform.clock))


def build_routes(endpoints: Sequence[Endpoint], prefix: str, platform: Platform) -> list[Route]:
    """The endpoints' routes, then one route answering 404/405 for the rest of ``prefix``."""
    return api_routes(endpoints, prefix, platform).all
