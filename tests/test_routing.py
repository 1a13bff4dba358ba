"""What every route answers to an unknown subpath and a wrong method (issue 9 point 4).

A typo in an action's name (``POST .../sims/actions/suspnd``) used to reach the status
route ``GET .../sims/actions/{signupId}`` and answer 405. Now a path that names nothing is
404 naming what may stand there, and 405 (with ``Allow``) is kept for paths that exist
with other methods. Trailing slashes are not redirected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from m2mportal import API_BASE
from m2mportal.api.routes import ENDPOINTS as API_ENDPOINTS
from m2mportal.app import OPERATOR_BASE
from m2mportal.domain.actions import CATALOGUE
from m2mportal.gateway.endpoints import Endpoint
from m2mportal.operator.routes import ENDPOINTS as OPERATOR_ENDPOINTS
from tests.helpers import TOKEN_PATH, World, assert_error_mentions, error_list

ACTION_NAMES = [spec.path for spec in CATALOGUE]
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass
class Scene:
    world: World
    partner: int
    headers: dict[str, str]
    iccid: str

    def fill(self, path: str) -> str:
        """A route path with plausible values for its parameters."""
        values = {
            "partnerId": str(self.partner),
            "signupId": "708855306",
            "iccid": self.iccid,
            "clientId": "m2m-0123456789abcdef",
            "subscriptionId": "sub-0123456789abcdef0123",
        }
        return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x1"), path)

    async def call(self, method: str, url: str, **kw: Any) -> httpx.Response:
        headers = self.headers if url.startswith(API_BASE) else self.world.operator
        return await self.world.http.request(method, url, headers=headers, **kw)


@pytest.fixture
async def scene(world: World) -> Scene:
    partner = await world.partner()
    sims = await world.synthetic_sims(partner, 1)
    app = await world.app(partner)
    return Scene(world, partner, await world.headers_for(app), sims[0]["iccid"])


def methods_by_path(endpoints: list[Endpoint]) -> dict[str, set[str]]:
    table: dict[str, set[str]] = {}
    for e in endpoints:
        table.setdefault(e.path, set()).add(e.method)
        if e.method == "GET":
            table[e.path].add("HEAD")
    return table


def template_of(table: dict[str, set[str]], path: str) -> str | None:
    """The route path whose parameters take ``path``: each takes one segment, and a
    signupId (beside the actions' names) only digits."""
    for template in table:
        pattern = re.escape(template).replace(r"\{signupId\}", "[0-9]+")
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", pattern)
        if re.fullmatch(pattern, path):
            return template
    return None


def allow_of(answer: httpx.Response) -> set[str]:
    return {m.strip() for m in answer.headers["allow"].split(",")}


@pytest.mark.parametrize("api", ["customer", "operator"])
async def test_every_route_answers_unknown_subpaths_and_wrong_methods(
    scene: Scene, api: str
) -> None:
    """For each path of the route table: every method it does not serve is 405 with an
    Allow header listing exactly the methods it serves; ``<path>/no-such-thing`` is 404,
    unless a sibling route's parameter takes ``no-such-thing`` (``/sims/{iccid}``): then
    it is that route's 400 naming the parameter, or its 405. Each with the error body;
    the listing printed is what the server answered."""
    endpoints, base = (
        (API_ENDPOINTS, API_BASE) if api == "customer" else (OPERATOR_ENDPOINTS, OPERATOR_BASE)
    )
    listing: list[str] = []
    wrong: list[str] = []
    table = methods_by_path(endpoints)
    for path, served in table.items():
        url = base + scene.fill(path)
        for method in METHODS:
            if method in served:
                continue
            answer = await scene.call(method, url)
            allow = answer.headers.get("allow")
            listing.append(f"{method} {path}: {answer.status_code} Allow: {allow}")
            if answer.status_code != 405 or allow_of(answer) != served:
                wrong.append(listing[-1])
            else:
                error_list(answer, 405, "METHOD_NOT_ALLOWED")
        sibling = template_of(table, path + "/no-such-thing")
        for method in sorted(served - {"HEAD"}):
            answer = await scene.call(method, url + "/no-such-thing")
            listing.append(f"{method} {path}/no-such-thing: {answer.status_code}")
            if sibling is None:
                expected, status, named = 404, "NOT_FOUND", "/no-such-thing"
            elif method in table[sibling]:
                expected, status, named = 400, "BAD_REQUEST", sibling.rsplit("{", 1)[1][:-1]
            else:
                expected, status, named = 405, "METHOD_NOT_ALLOWED", method
            if answer.status_code != expected:
                wrong.append(f"{listing[-1]}, expected {expected}")
            else:
                assert_error_mentions(answer, expected, status, named)
    print("\n".join(listing))
    assert not wrong, wrong


async def test_an_unknown_action_is_404_naming_the_known_actions(scene: Scene) -> None:
    base = f"{API_BASE}/partners/{scene.partner}/sims/actions/"
    body = {"sims": [{"iccid": scene.iccid}]}
    for method in METHODS:
        answer = await scene.call(method, base + "suspnd", json=body)
        errors = assert_error_mentions(answer, 404, "NOT_FOUND", "suspnd", *ACTION_NAMES)
        assert "signupId" in errors[0]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        # An action's name is not a signupId: the action exists for POST only.
        ("GET", "/sims/actions/suspend", {"POST"}),
        ("DELETE", "/sims/actions/activation", {"POST"}),
        # A signupId is not an action: its status and cancel exist, no POST.
        ("POST", "/sims/actions/708855306", {"GET", "HEAD", "DELETE"}),
        ("PUT", "/sims/actions/708855306", {"GET", "HEAD", "DELETE"}),
        # "details" and "actions" are not ICCIDs.
        ("GET", "/sims/details", {"POST"}),
        ("POST", "/sims/actions", {"GET", "HEAD"}),
        ("POST", "/sims/{iccid}", {"GET", "HEAD"}),
        ("POST", "/sims", {"GET", "HEAD"}),
        ("POST", "", {"GET", "HEAD"}),
        ("POST", "/apiusage", {"GET", "HEAD"}),
    ],
)
async def test_neighbouring_routes_do_not_shadow_each_other(
    scene: Scene, method: str, path: str, allowed: set[str]
) -> None:
    url = f"{API_BASE}/partners/{scene.partner}" + path.replace("{iccid}", scene.iccid)
    answer = await scene.call(method, url, json={"sims": [{"iccid": scene.iccid}]})
    error_list(answer, 405, "METHOD_NOT_ALLOWED")
    assert allow_of(answer) == allowed


async def test_paths_that_name_nothing_say_what_may_stand_there(scene: Scene) -> None:
    answer = await scene.call("GET", f"{API_BASE}/partners/{scene.partner}/simz")
    assert_error_mentions(answer, 404, "NOT_FOUND", "'simz' is not one of", "apiusage", "sims")
    answer = await scene.call("GET", f"{OPERATOR_BASE}/tarifs")
    assert_error_mentions(answer, 404, "NOT_FOUND", "'tarifs'", "tariffs", "partners")
    for url in (API_BASE, API_BASE + "/", OPERATOR_BASE, "/nowhere"):
        assert_error_mentions(await scene.call("GET", url), 404, "NOT_FOUND")
    # A sibling's literal name is no ICCID further down the path either (the literal in
    # the middle of the path was taken as one: 400 about the ICCID instead of 404).
    answer = await scene.call("POST", f"{API_BASE}/partners/{scene.partner}/sims/actions/hlr/check")
    assert_error_mentions(answer, 404, "NOT_FOUND", "'hlr' is not one of")


async def test_trailing_slash_is_404_without_a_redirect(scene: Scene) -> None:
    """Starlette's redirect wrote its Location from the request's Host header."""
    hostile = {**scene.headers, "Host": "attacker.example"}
    for url in (
        f"{API_BASE}/partners/{scene.partner}/",
        f"{API_BASE}/partners/{scene.partner}/sims/",
        f"{OPERATOR_BASE}/partners/{scene.partner}/",
    ):
        answer = await scene.world.http.get(url, headers=hostile)
        assert "location" not in answer.headers
        assert_error_mentions(answer, 404, "NOT_FOUND", "without the trailing slash")
    for url in ("/healthz/", TOKEN_PATH + "/", "/v3/api-docs/"):
        answer = await scene.world.http.get(url, headers={"Host": "attacker.example"})
        assert "attacker.example" not in answer.headers.get("location", ""), url
        assert answer.status_code == 404, url


async def test_405_outside_the_apis_carries_allow(scene: Scene) -> None:
    answer = await scene.world.http.get(TOKEN_PATH)
    error_list(answer, 405, "METHOD_NOT_ALLOWED")
    assert allow_of(answer) == {"POST"}
    answer = await scene.world.http.post("/healthz")
    error_list(answer, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in allow_of(answer)


def _sample_paths(path: str) -> list[str]:
    """The route path filled in several ways: plausible values, each parameter in turn
    replaced by a sibling's literal name, a number, a leading zero, and odd tails."""
    plain = {"partnerId": "7", "signupId": "708855306", "iccid": "89490200000000005012"}
    names = re.findall(r"\{(\w+)\}", path)
    fill = lambda values: re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x1"), path)  # noqa: E731
    paths = {fill(plain)}
    for name in names:
        for value in ("actions", "details", "sms", "session", "123", "0123", "a b", "x"):
            paths.add(fill({**plain, name: value}))
    base = fill(plain)
    paths |= {base + "/", base + "/extra", base.rsplit("/", 1)[0], base + "x"}
    return sorted(paths)


@pytest.mark.parametrize("api", ["customer", "operator"])
async def test_the_api_dispatch_takes_the_route_starlette_would(platform: Any, api: str) -> None:
    """gateway/routing.py ApiDispatch sends an API request straight to its endpoint: for
    every route path filled many ways and every method, it must pick the endpoint
    Starlette's router picks, with the same path parameters, and leave to Starlette
    (the 404/405 fallback routes) exactly the requests no endpoint takes."""
    from starlette.routing import Match

    from m2mportal.app import create_app

    app = create_app(platform, background=False)
    dispatch = app.build_middleware_stack().app  # type: ignore[attr-defined]
    prefix, endpoints = (
        (API_BASE, API_ENDPOINTS) if api == "customer" else (OPERATOR_BASE, OPERATOR_ENDPOINTS)
    )
    checked = taken = 0
    for path in sorted({p for e in endpoints for p in _sample_paths(prefix + e.path)}):
        for method in (*METHODS, "HEAD"):
            scope = {"type": "http", "method": method, "path": path, "root_path": ""}
            expected = None
            for route in app.router.routes:
                match, child = route.matches(scope)
                if match is Match.FULL:
                    expected = route, child.get("path_params", {})
                    break
            found = dispatch.find(scope)
            if found is None:
                # Only a fallback (404/405 with the error body) may take what it leaves.
                assert expected is not None and expected[0].path in (
                    prefix,
                    prefix + "/{rest:path}",
                ), (method, path)
            else:
                taken += 1
                assert expected is not None and found[0] is expected[0], (method, path)
                assert found[1] == expected[1], (method, path)
            checked += 1
    assert taken > len(endpoints) and checked > 5 * taken
