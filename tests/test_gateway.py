"""The gateway layer seen through HTTP (CONTRACT sections 3 and 4).

Partner scope and subunit users, read-only applications, roles, the IP whitelist and
trusted proxies, the hot path's zero database round trips, and the error envelope for
the framework's own errors.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
from joserfc import jws, jwt
from starlette.applications import Starlette

from m2mportal import API_BASE
from m2mportal.app import create_app
from m2mportal.clock import Clock
from m2mportal.config import Settings
from m2mportal.gateway import errors
from m2mportal.gateway.endpoints import Call, Endpoint, build_routes
from m2mportal.platform import Platform, open_platform
from tests.helpers import TOKEN_PATH, World, assert_error_mentions

CALLER_IP = "198.51.100.10"
ELSEWHERE_IP = "203.0.113.7"
STAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


# --- helpers ----------------------------------------------------------------------------


assert_error = assert_error_mentions


def assert_forbidden(answer: httpx.Response, *fragments: str) -> None:
    assert_error(answer, 403, "FORBIDDEN", *fragments)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_form(app: dict[str, Any]) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": app["clientId"],
        "client_secret": app["clientSecret"],
        "scope": "openid profile",
    }


def claims_of(platform: Platform, token: str) -> dict[str, Any]:
    kid = jws.extract_compact(token.encode()).protected["kid"]
    return dict(jwt.decode(token, platform.keyring.public[kid]).claims)


@dataclasses.dataclass
class Tenant:
    partner: int
    sims: list[dict[str, Any]]
    app: dict[str, Any]
    headers: dict[str, str]


async def tenant(world: World, name: str, start: int, count: int = 2) -> Tenant:
    """A partner with ``count`` SIMs (serials from ``start``) and a Standard application."""
    partner = await world.partner(name)
    sims = await world.synthetic_sims(partner, count, start=start)
    app = await world.app(partner, name=f"{name} app")
    return Tenant(partner, sims, app, await world.headers_for(app))


@contextlib.asynccontextmanager
async def serve(
    platform: Platform, peer: str = CALLER_IP, app: Any = None
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(
        app=app or create_app(platform, background=False), client=(peer, 50000)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@contextlib.asynccontextmanager
async def other_platform(settings: Settings, **changes: Any) -> AsyncIterator[Platform]:
    """A second platform (another process, in effect) on the same database."""
    other = await open_platform(
        dataclasses.replace(settings, **changes), clock=Clock(), run_migrations=False
    )
    try:
        yield other
    finally:
        await other.close()


# --- partner scope ----------------------------------------------------------------------


async def test_other_partners_path_is_403_and_their_sim_is_404(world: World) -> None:
    a = await tenant(world, "Alpha", start=1)
    b = await tenant(world, "Beta", start=100)
    b_iccid = b.sims[0]["iccid"]

    # Own data first, so the refusals below are about scope only.
    answer = await world.api("GET", f"/partners/{a.partner}/sims/{a.sims[0]['iccid']}", a.headers)
    assert answer.status_code == 200, answer.text
    answer = await world.api("GET", f"/partners/{b.partner}/sims/{b_iccid}", b.headers)
    assert answer.status_code == 200, answer.text

    # B's paths: 403, naming the partner.
    for path in (
        f"/partners/{b.partner}",
        f"/partners/{b.partner}/sims",
        f"/partners/{b.partner}/sims/{b_iccid}",
    ):
        assert_forbidden(await world.api("GET", path, a.headers), str(b.partner))
    answer = await world.api(
        "POST", f"/partners/{b.partner}/sims/details", a.headers, json={"iccid": b_iccid}
    )
    assert_forbidden(answer, str(b.partner))

    # B's SIM through A's own path: 404, as if it did not exist.
    answer = await world.api("GET", f"/partners/{a.partner}/sims/{b_iccid}", a.headers)
    assert_error(answer, 404, "NOT_FOUND", b_iccid)
    for selector in ("iccid", "imsi"):
        answer = await world.api(
            "POST",
            f"/partners/{a.partner}/sims/details",
            a.headers,
            json={selector: b.sims[0][selector]},
        )
        assert_error(answer, 404, "NOT_FOUND")
    # And B's SIMs are not in A's list.
    answer = await world.api("GET", f"/partners/{a.partner}/sims", a.headers)
    assert answer.status_code == 200, answer.text
    assert {s["iccid"] for s in answer.json()["content"]} == {s["iccid"] for s in a.sims}


async def test_partner_that_does_not_exist_is_403_not_404(world: World) -> None:
    a = await tenant(world, "Alpha", start=1)
    answer = await world.api("GET", "/partners/987654321", a.headers)
    assert_forbidden(answer, "987654321")


async def test_parent_application_reaches_its_subunits(world: World) -> None:
    parent = await world.partner("Parent")
    sub = await world.partner("Sub", parent=parent)
    sims = await world.synthetic_sims(parent, 2, start=10, subunits=(sub,))
    app = await world.app(parent)
    headers = await world.headers_for(app)
    answer = await world.api("GET", f"/partners/{sub}/sims", headers)
    assert answer.status_code == 200, answer.text
    assert {s["iccid"] for s in answer.json()["content"]} == {s["iccid"] for s in sims}
    # A subunit's own application does not reach up to its parent.
    sub_headers = await world.headers_for(await world.app(sub))
    assert_forbidden(await world.api("GET", f"/partners/{parent}", sub_headers), str(parent))


async def test_subunit_user_is_limited_to_its_subunits(world: World) -> None:
    parent = await world.partner("Parent")
    s1 = await world.partner("Subunit One", parent=parent)
    s2 = await world.partner("Subunit Two", parent=parent)
    await world.synthetic_sims(parent, 2, start=1)
    s1_sims = await world.synthetic_sims(parent, 3, start=10, subunits=(s1,))
    s2_sims = await world.synthetic_sims(parent, 2, start=20, subunits=(s2,))
    app = await world.app(parent, userType="Subunit", subunits=[s1])
    token = await world.token(app["clientId"], app["clientSecret"])
    headers = bearer(token)

    claims = claims_of(world.platform, token)
    assert [str(s) for s in claims["subunits"]] == [str(s1)]
    assert str(claims["partnerId"]) == str(parent)

    answer = await world.api("GET", f"/partners/{s1}/sims", headers)
    assert answer.status_code == 200, answer.text
    assert {s["iccid"] for s in answer.json()["content"]} == {s["iccid"] for s in s1_sims}
    assert answer.json()["page"]["totalElements"] == 3
    answer = await world.api("GET", f"/partners/{s1}/sims/{s1_sims[0]['iccid']}", headers)
    assert answer.status_code == 200, answer.text

    # Not the parent (its own application's partner), not a sibling subunit.
    for path in (f"/partners/{parent}", f"/partners/{parent}/sims", f"/partners/{s2}/sims"):
        assert_forbidden(await world.api("GET", path, headers))
    # A sibling's SIM through the allowed path: 404.
    answer = await world.api("GET", f"/partners/{s1}/sims/{s2_sims[0]['iccid']}", headers)
    assert_error(answer, 404, "NOT_FOUND")


# --- read-only applications -------------------------------------------------------------


async def test_read_only_application_can_read_with_get_and_reading_post(world: World) -> None:
    partner = await world.partner()
    sims = await world.synthetic_sims(partner, 2)
    app = await world.app(partner, readOnly=True)
    token = await world.token(app["clientId"], app["clientSecret"])
    assert claims_of(world.platform, token)["readOnly"] is True
    headers = bearer(token)

    answer = await world.api("GET", f"/partners/{partner}/sims", headers)
    assert answer.status_code == 200, answer.text
    answer = await world.api(
        "POST", f"/partners/{partner}/sims/details", headers, json={"iccid": sims[0]["iccid"]}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["iccid"] == sims[0]["iccid"]


async def _probe(call: Call) -> dict[str, Any]:
    return {"partnerId": call.partner_id, "done": True}


async def test_read_only_application_is_refused_on_endpoints_that_write(world: World) -> None:
    """The gateway rule itself, on a stand-in write endpoint (the customer API has none yet)."""
    app = Starlette(
        routes=build_routes(
            [
                Endpoint("POST", "/partners/{partnerId}/probe", _probe, "write", "T", writes=True),
                Endpoint("POST", "/partners/{partnerId}/peek", _probe, "read", "T", body=None),
            ],
            API_BASE,
            world.platform,
        )
    )
    errors.install(app, world.platform.clock)
    partner = await world.partner()
    read_only = await world.headers_for(await world.app(partner, name="ro", readOnly=True))
    writer = await world.headers_for(await world.app(partner, name="rw"))

    async with serve(world.platform, app=app) as http:
        write = API_BASE + f"/partners/{partner}/probe"
        read = API_BASE + f"/partners/{partner}/peek"
        assert_forbidden(await http.post(write, headers=read_only), "read-only")
        assert (await http.post(read, headers=read_only)).status_code == 200
        answer = await http.post(write, headers=writer)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"partnerId": partner, "done": True}


async def test_read_only_change_applies_to_existing_tokens(world: World) -> None:
    app = Starlette(
        routes=build_routes(
            [Endpoint("POST", "/partners/{partnerId}/probe", _probe, "write", "T", writes=True)],
            API_BASE,
            world.platform,
        )
    )
    errors.install(app, world.platform.clock)
    partner = await world.partner()
    created = await world.app(partner)
    headers = await world.headers_for(created)
    async with serve(world.platform, app=app) as http:
        write = API_BASE + f"/partners/{partner}/probe"
        assert (await http.post(write, headers=headers)).status_code == 200
        answer = await world.op(
            "PATCH", f"/applications/{created['clientId']}", json={"readOnly": True}
        )
        assert answer.status_code == 200, answer.text
        assert_forbidden(await http.post(write, headers=headers), "read-only")


# --- roles ------------------------------------------------------------------------------


async def test_operator_token_is_403_on_the_customer_api(world: World) -> None:
    partner = await world.partner()
    answer = await world.api("GET", f"/partners/{partner}", world.operator)
    assert_forbidden(answer, "operator")


async def test_partner_token_is_403_on_the_operator_api(world: World) -> None:
    a = await tenant(world, "Alpha", start=1)
    answer = await world.http.get(f"/operator/v1/partners/{a.partner}", headers=a.headers)
    assert_forbidden(answer, "operator")
    answer = await world.http.post(
        "/operator/v1/partners", headers=a.headers, json={"name": "Sneaky Subunit"}
    )
    assert_forbidden(answer, "operator")
    answer = await world.http.delete(
        f"/operator/v1/applications/{a.app['clientId']}", headers=a.headers
    )
    assert_forbidden(answer, "operator")
    # Nothing was deleted.
    answer = await world.op("GET", f"/applications/{a.app['clientId']}")
    assert answer.status_code == 200, answer.text


# --- IP whitelist -----------------------------------------------------------------------


async def test_whitelist_refuses_the_token_endpoint_from_other_addresses(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner, ipWhitelist=[ELSEWHERE_IP])
    answer = await world.http.post(TOKEN_PATH, data=token_form(app))
    assert answer.status_code == 403, answer.text
    body = answer.json()
    assert body["error"] == "access_denied"
    assert CALLER_IP in body["error_description"]
    # A forged X-Forwarded-For does not help: no proxy is trusted by default.
    answer = await world.http.post(
        TOKEN_PATH, data=token_form(app), headers={"X-Forwarded-For": ELSEWHERE_IP}
    )
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"] == "access_denied"


async def test_whitelist_set_later_refuses_an_existing_token(world: World) -> None:
    a = await tenant(world, "Alpha", start=1)
    path = f"/partners/{a.partner}"
    assert (await world.api("GET", path, a.headers)).status_code == 200

    answer = await world.op(
        "PATCH", f"/applications/{a.app['clientId']}", json={"ipWhitelist": [ELSEWHERE_IP]}
    )
    assert answer.status_code == 200, answer.text
    assert_forbidden(await world.api("GET", path, a.headers), CALLER_IP, "whitelist")
    forged = {**a.headers, "X-Forwarded-For": ELSEWHERE_IP}
    assert_forbidden(await world.api("GET", path, forged), CALLER_IP)

    answer = await world.op(
        "PATCH",
        f"/applications/{a.app['clientId']}",
        json={"ipWhitelist": [ELSEWHERE_IP, CALLER_IP]},
    )
    assert answer.status_code == 200, answer.text
    assert (await world.api("GET", path, a.headers)).status_code == 200


async def test_whitelisted_caller_gets_a_token_and_calls_the_api(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner, ipWhitelist=[ELSEWHERE_IP, CALLER_IP])
    answer = await world.http.post(TOKEN_PATH, data=token_form(app))
    assert answer.status_code == 200, answer.text
    headers = bearer(answer.json()["access_token"])
    assert (await world.api("GET", f"/partners/{partner}", headers)).status_code == 200


async def test_trusted_proxy_forwards_the_right_most_untrusted_address(
    world: World, settings: Settings
) -> None:
    partner = await world.partner()
    app = await world.app(partner, ipWhitelist=[ELSEWHERE_IP])
    async with (
        other_platform(settings, trusted_proxies=[CALLER_IP, "10.0.0.0/8"]) as proxied,
        serve(proxied) as http,
    ):
        # The proxy (the socket peer) says the client is the whitelisted address.
        xff = {"X-Forwarded-For": ELSEWHERE_IP}
        answer = await http.post(TOKEN_PATH, data=token_form(app), headers=xff)
        assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]
        api = API_BASE + f"/partners/{partner}"

        def call(forwarded: str | None) -> Any:
            headers = bearer(token)
            if forwarded is not None:
                headers["X-Forwarded-For"] = forwarded
            return http.get(api, headers=headers)

        assert (await call(ELSEWHERE_IP)).status_code == 200
        # A client-supplied entry left of the proxy's own is ignored ...
        assert (await call(f"192.0.2.50, {ELSEWHERE_IP}")).status_code == 200
        # ... and one right of it is not the client: the right-most untrusted entry counts.
        assert_forbidden(await call(f"{ELSEWHERE_IP}, 192.0.2.50"), "192.0.2.50")
        # Trusted hops (a CIDR range here) are skipped.
        assert (await call(f"{ELSEWHERE_IP}, 10.1.2.3")).status_code == 200
        # No header: the proxy's own address, which is not whitelisted.
        assert_forbidden(await call(None), CALLER_IP)


async def test_trusted_proxy_with_separate_forwarded_header_lines(
    world: World, settings: Settings
) -> None:
    """A proxy may add its own X-Forwarded-For line rather than append to the client's
    (HAProxy ``option forwardfor`` does); RFC 9110 5.3 makes the lines one list. The
    client's forged first line must not win over the proxy's last line."""
    partner = await world.partner()
    app = await world.app(partner, ipWhitelist=[ELSEWHERE_IP])
    async with (
        other_platform(settings, trusted_proxies=[CALLER_IP]) as proxied,
        serve(proxied) as http,
    ):
        headers = [("X-Forwarded-For", ELSEWHERE_IP), ("X-Forwarded-For", "192.0.2.50")]
        answer = await http.post(TOKEN_PATH, data=token_form(app), headers=headers)
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"] == "access_denied"


async def test_ipv4_mapped_ipv6_peer_matches_its_ipv4_whitelist_entry(world: World) -> None:
    """Behind a dual-stack listener (``--host ::``) an IPv4 client's peer address reads
    ``::ffff:a.b.c.d``; it is still that IPv4 address."""
    partner = await world.partner()
    app = await world.app(partner, ipWhitelist=[ELSEWHERE_IP])
    async with serve(world.platform, peer=f"::ffff:{ELSEWHERE_IP}") as http:
        answer = await http.post(TOKEN_PATH, data=token_form(app))
        assert answer.status_code == 200, answer.text


# --- hot path ---------------------------------------------------------------------------


async def test_refused_calls_make_no_database_queries(world: World) -> None:
    a = await tenant(world, "Alpha", start=1)
    b = await tenant(world, "Beta", start=100)
    db = world.platform.db
    warm = await world.api("GET", f"/partners/{a.partner}/sims/{a.sims[0]['iccid']}", a.headers)
    assert warm.status_code == 200, warm.text

    before = db.query_count
    answer = await world.api("GET", f"/partners/{b.partner}/sims", a.headers)
    assert_forbidden(answer)
    assert db.query_count == before

    before = db.query_count
    assert (await world.api("GET", f"/partners/{a.partner}", {})).status_code == 401
    assert (await world.api("GET", f"/partners/{a.partner}", bearer("x.y.z"))).status_code == 401
    assert db.query_count == before


async def test_token_check_adds_no_queries_to_a_successful_call(world: World) -> None:
    a = await tenant(world, "Alpha", start=1)
    db = world.platform.db
    path = f"/partners/{a.partner}/sims/{a.sims[0]['iccid']}"
    assert (await world.api("GET", path, a.headers)).status_code == 200  # warm-up

    before = db.query_count
    assert (await world.api("GET", path, a.headers)).status_code == 200
    cached_token = db.query_count - before
    assert cached_token > 0  # the SIM itself is read from the database

    fresh = await world.headers_for(a.app)  # a token the verifier has not seen yet
    before = db.query_count
    assert (await world.api("GET", path, fresh)).status_code == 200
    assert db.query_count - before == cached_token


# --- error envelope ---------------------------------------------------------------------


async def test_unknown_path_is_404_with_the_error_body(world: World) -> None:
    a = await tenant(world, "Alpha", start=1)
    answer = await world.api("GET", f"/partners/{a.partner}/no-such-thing", a.headers)
    assert_error(answer, 404, "NOT_FOUND", "/no-such-thing")
    answer = await world.http.get("/definitely/not/here")
    assert_error(answer, 404, "NOT_FOUND")


async def test_wrong_method_is_405_with_the_error_body(world: World) -> None:
    a = await tenant(world, "Alpha", start=1)
    answer = await world.api("DELETE", f"/partners/{a.partner}/sims", a.headers)
    assert_error(answer, 405, "METHOD_NOT_ALLOWED", "DELETE")
    assert "GET" in answer.headers["allow"]


async def test_non_numeric_partner_id_is_400_naming_the_field(world: World) -> None:
    a = await tenant(world, "Alpha", start=1)
    answer = await world.api("GET", "/partners/abc/sims", a.headers)
    assert_error(answer, 400, "BAD_REQUEST", "partnerId")


async def test_malformed_body_is_400_naming_the_field(world: World) -> None:
    a = await tenant(world, "Alpha", start=1)
    path = f"/partners/{a.partner}/sims/details"
    answer = await world.api("POST", path, a.headers, json={"iccid": 12})
    assert_error(answer, 400, "BAD_REQUEST", "iccid")
    answer = await world.api("POST", path, a.headers, json={"icc": a.sims[0]["iccid"]})
    assert_error(answer, 400, "BAD_REQUEST", "icc")
    json_headers = {**a.headers, "Content-Type": "application/json"}
    answer = await world.api("POST", path, json_headers, content=b"{not json")
    assert_error(answer, 400, "BAD_REQUEST", "json")
