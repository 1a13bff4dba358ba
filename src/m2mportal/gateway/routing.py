"""Route paths that never hide one another, and what a path no route takes answers.

Starlette tries routes in order and answers 405 as soon as a route's path matches with
another method, so ``POST .../sims/actions/suspnd`` (a typo) used to match the status
route ``GET .../sims/actions/{signupId}`` and answer 405. Here a path parameter does not
take the literal names its sibling routes use at the same place (``/sims/{iccid}`` never
takes ``details`` or ``actions``), and a numeric id beside literal names takes ASCII
digits only (``{signupId}`` never takes an action's name).

Each API gets one last route for everything under its prefix that no route took: 405 with
``Allow`` listing every method of that path, or 404 naming what the path may hold at the
place it went wrong (``'suspnd' is not one of activation, block, ... or a signupId``).
It also takes paths with a trailing slash, which are not redirected (Starlette would build
the redirect's Location from the request's Host header): they answer 404 naming the path
without it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.convertors import PathConvertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route, Router, get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

from m2mportal.clock import Clock
from m2mportal.domain.errors import ApiError
from m2mportal.gateway.errors import error_response
from m2mportal.gateway.inputs import NUMERIC_PATH_PARAMS

_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _param(segment: str) -> str | None:
    return segment[1:-1] if segment.startswith("{") and segment.endswith("}") else None


def _shape(segments: Sequence[str]) -> tuple[str | None, ...]:
    """Segments with every parameter alike: paths of one shape are siblings."""
    return tuple(None if _param(s) else s for s in segments)


def _segment_pattern(segments: tuple[str, ...], index: int, every: list[tuple[str, ...]]) -> str:
    """What segment ``index`` of a path takes, given every path of the API."""
    segment = segments[index]
    name = _param(segment)
    if name is None:
        return re.escape(segment)
    shape = _shape(segments[:index])
    siblings = sorted(
        {
            other[index]
            for other in every
            if len(other) > index
            and _param(other[index]) is None
            and _shape(other[:index]) == shape
        }
    )
    if not siblings:
        return "[^/]+"
    if name in NUMERIC_PATH_PARAMS:
        return "[0-9]+"
    names = "|".join(re.escape(s) for s in siblings)
    # The end of the segment, not only of the path: the pattern also sits inside a whole
    # path's expression (RouteTable.route), where ".../sims/actions/hlr/check" must not
    # take "actions" as an ICCID either.
    return f"(?!(?:{names})(?:/|$))[^/]+"


@dataclass(frozen=True)
class _Template:
    path: str
    segments: tuple[str, ...]
    # One anchored pattern per segment: a literal, or what its parameter takes.
    patterns: tuple[re.Pattern[str], ...]
    methods: frozenset[str]


class RouteTable:
    """One API's route paths (relative to ``prefix``) and the methods each one serves."""

    def __init__(self, prefix: str, routes: Sequence[tuple[str, str]]) -> None:
        self.prefix = prefix
        methods: dict[str, set[str]] = {}
        for method, path in routes:
            methods.setdefault(path, set()).add(method)
            if method == "GET":
                methods[path].add("HEAD")
        split = {path: tuple(path.split("/")[1:]) for path in methods}
        every = list(split.values())
        self.templates = [
            _Template(
                path,
                segments,
                tuple(
                    re.compile(_segment_pattern(segments, i, every)) for i in range(len(segments))
                ),
                frozenset(methods[path]),
            )
            for path, segments in split.items()
        ]
        self._by_path = {t.path: t for t in self.templates}

    def template(self, path: str) -> _Template:
        return self._by_path[path]

    def route(self, path: str, endpoint: Callable[[Request], Awaitable[Response]] | ASGIApp,
              method: str, name: str) -> Route:  # fmt: skip
        route = Route(self.prefix + path, endpoint, methods=[method], name=name)
        template = self._by_path[path]
        groups = [
            f"(?P<{_param(s)}>{p.pattern})" if _param(s) else p.pattern
            for s, p in zip(template.segments, template.patterns, strict=True)
        ]
        # Starlette compiled "{name}" as "[^/]+"; only what the parameter takes changes.
        route.path_regex = re.compile(
            "^" + re.escape(self.prefix) + "".join("/" + g for g in groups) + "$"
        )
        return route

    def fallbacks(self, clock: Clock) -> list[Route]:
        """Routes taking every method on every path under the prefix, to come last."""
        answer = _Unmatched(self, clock)
        return [Route(self.prefix, answer), Route(self.prefix + "/{rest:path}", answer)]

    def _matches(self, template: _Template, segments: Sequence[str]) -> int:
        """How many leading ``segments`` the template takes."""
        depth = 0
        for pattern, segment in zip(template.patterns, segments, strict=False):
            if not pattern.fullmatch(segment):
                break
            depth += 1
        return depth

    def _methods(self, segments: Sequence[str]) -> set[str]:
        """Every method some route serves on exactly this path."""
        return {
            method
            for t in self.templates
            if len(t.segments) == len(segments) and self._matches(t, segments) == len(segments)
            for method in t.methods
        }

    def unmatched(self, method: str, full_path: str) -> ApiError:
        """405 for a path that exists with other methods, else 404 saying where it failed."""
        segments = full_path[len(self.prefix) :].split("/")[1:]
        allowed = self._methods(segments)
        where = f"{method} {full_path}"
        if allowed:
            allow = ", ".join(m for m in _METHOD_ORDER if m in allowed)
            return ApiError(
                405, "Method not allowed", [f"{where}: allowed {allow}"], {"Allow": allow}
            )
        return ApiError(404, "Not found", [f"{where}: {self._hint(segments)}"])

    def _hint(self, segments: list[str]) -> str:
        if len(segments) > 1 and segments[-1] == "" and self._methods(segments[:-1]):
            bare = self.prefix + "/" + "/".join(segments[:-1])
            return f"no such resource (without the trailing slash: {bare})"
        depth = max((self._matches(t, segments) for t in self.templates), default=0)
        if depth >= len(segments):
            return "no such resource"
        names: set[str] = set()
        params: set[str] = set()
        for t in self.templates:
            if len(t.segments) > depth and self._matches(t, segments) >= depth:
                segment = t.segments[depth]
                param = _param(segment)
                if param is None:
                    names.add(segment)
                else:
                    params.add(param)
        if not names and not params:
            return "no such resource"
        known = ", ".join(sorted(names))
        if params:
            known += (" or " if known else "") + "a " + " or a ".join(sorted(params))
        return f"no such resource: {segments[depth]!r} is not one of {known}"


class _Unmatched:
    """An ASGI app, not a function: Starlette gives a function route GET alone, an app
    every method."""

    def __init__(self, table: RouteTable, clock: Clock) -> None:
        self.table = table
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        error = self.table.unmatched(request.method, request.url.path)
        await error_response(self.clock, error)(scope, receive, send)


class SegmentRouter(Router):
    """Starlette's router, trying first only the routes that can take a path of this many
    segments.

    Starlette asks every route in turn, 2-3 us a route (GET SIM details came seventh; API
    endpoints now arrive through ApiDispatch, this router serves the rest: the portal,
    IAM, streams, docs and the APIs' 404/405 fallbacks). A route whose parameters take
    no ``/`` (every convertor but ``path``) takes paths of exactly its own segment count.
    The first full match among those routes, in table order, is the first full match of
    all of them (no other route can match at all), and a full match always wins over a
    partial one; without one the request goes through Starlette's whole walk (404, 405,
    mounts), as before.
    """

    _indexed: tuple[int, int] = (0, -1)
    _by_segments: dict[int, list[BaseRoute]]
    _anywhere: list[BaseRoute]

    def _candidates(self, segments: int) -> list[BaseRoute]:
        if self._indexed != (id(self.routes), len(self.routes)):
            by_segments: dict[int, list[tuple[int, BaseRoute]]] = {}
            anywhere: list[tuple[int, BaseRoute]] = []
            for order, route in enumerate(self.routes):
                if type(route) is Route and not any(
                    isinstance(c, PathConvertor) for c in route.param_convertors.values()
                ):
                    by_segments.setdefault(route.path.count("/"), []).append((order, route))
                else:
                    anywhere.append((order, route))
            self._by_segments = {
                count: [route for _, route in sorted([*routes, *anywhere], key=lambda r: r[0])]
                for count, routes in by_segments.items()
            }
            self._anywhere = [route for _, route in anywhere]
            self._indexed = (id(self.routes), len(self.routes))
        return self._by_segments.get(segments, self._anywhere)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self._candidates(get_route_path(scope).count("/")):
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self)
                    scope["route"] = route
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await super().app(scope, receive, send)


class _Entry:
    """A route path of an API, matched segment by segment: a literal by equality, a
    parameter by its pattern."""

    __slots__ = ("by_method", "literals", "parameters")

    def __init__(self, template: _Template) -> None:
        # Literals are compared before any parameter's pattern runs: a path of the same
        # length as another route's (.../sims/{iccid} and .../sims/details) is told apart
        # by a string comparison, not after matching its partnerId.
        self.literals: tuple[tuple[int, str], ...] = ()
        self.parameters: tuple[tuple[int, str, re.Pattern[str]], ...] = ()
        for index, (segment, pattern) in enumerate(
            zip(template.segments, template.patterns, strict=True)
        ):
            name = _param(segment)
            if name is None:
                self.literals += ((index, segment),)
            else:
                self.parameters += ((index, name, pattern),)
        self.by_method: dict[str, Route] = {}

    def params(self, segments: list[str]) -> dict[str, str] | None:
        """The path parameters when every segment is taken, else None (``segments`` has
        the template's length: entries are looked up by segment count)."""
        for index, literal in self.literals:
            if segments[index] != literal:
                return None
        params: dict[str, str] = {}
        for index, name, pattern in self.parameters:
            segment = segments[index]
            if pattern.fullmatch(segment) is None:
                return None
            params[name] = segment
        return params


class ApiDispatch:
    """The APIs' routes answered straight from the route table, the rest by ``other``.

    A request to an endpoint of the route tables (the customer and the operator API) goes
    to the endpoint's app at once: Starlette's way there is its exception layer and a
    regular-expression match per route with convertors (8 of the 68 us a GET SIM details
    took in process, issue 15). Endpoints answer their own errors (gateway/endpoints.py)
    and gateway/front.py a crash, so that layer has nothing to do for them. The scope gets
    what Starlette's router gives it (``route``, ``path_params``, ``router``). Anything
    else, a path no endpoint takes (404/405 from the fallback routes) included, goes to
    ``other``: Starlette's stack, as before.
    """

    def __init__(self, other: ASGIApp, router: Router) -> None:
        self.other = other
        self.router = router
        # (prefix, {segment count: entries in table order})
        self._apis: list[tuple[str, dict[int, list[_Entry]]]] = []

    def add(self, table: RouteTable, routes: Sequence[Route]) -> None:
        """An API's endpoint routes (RouteTable.route), in table order."""
        entries: dict[str, _Entry] = {}
        by_count: dict[int, list[_Entry]] = {}
        for route in routes:
            template = table.template(route.path[len(table.prefix) :])
            entry = entries.get(template.path)
            if entry is None:
                entry = entries[template.path] = _Entry(template)
                by_count.setdefault(len(template.segments), []).append(entry)
            for method in route.methods or ():
                entry.by_method.setdefault(method, route)
        self._apis.append((table.prefix, by_count))

    def find(self, scope: Scope) -> tuple[Route, dict[str, str]] | None:
        """The endpoint route taking this request and its path parameters, if any: the
        route Starlette's router would take (tests/test_routing.py checks every path)."""
        path = get_route_path(scope)
        method = scope["method"]
        for prefix, by_count in self._apis:
            if not path.startswith(prefix):
                continue
            segments = path[len(prefix) :].split("/")
            if segments[0]:  # the prefix ends inside a segment: another path
                continue
            del segments[0]
            for entry in by_count.get(len(segments), ()):
                route = entry.by_method.get(method)
                if route is not None and (params := entry.params(segments)) is not None:
                    return route, params
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.find(scope) if scope["type"] == "http" else None
        if found is None:
            await self.other(scope, receive, send)
            return
        route, params = found
        scope["router"] = self.router
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = params
        await route.app(scope, receive, send)
