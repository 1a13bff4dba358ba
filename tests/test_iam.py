"""The built-in issuer and token verification, seen through HTTP (CONTRACT section 2).

Token endpoint (RFC 6749 bodies), discovery and JWKS, every way a bearer token must be
refused on the customer API, key rotation, and the external-IdP mode.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import dataclasses
import hashlib
import hmac
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from functools import cache
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from joserfc import jws, jwt
from joserfc.jwk import ECKey, RSAKey

from m2mportal.app import create_app
from m2mportal.clock import Clock
from m2mportal.config import Settings
from m2mportal.iam import tokens as tokens_module
from m2mportal.platform import Platform, open_platform
from m2mportal.services import clients as clients_module
from tests.helpers import TOKEN_PATH, World, assert_error_mentions

ISSUER_PATH = "/auth/realms/m2m"
DISCOVERY_PATH = ISSUER_PATH + "/.well-known/openid-configuration"
CERTS_PATH = ISSUER_PATH + "/protocol/openid-connect/certs"
CALLER = ("198.51.100.10", 50000)
STAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


# --- helpers ----------------------------------------------------------------------------


@cache
def foreign_rsa_key() -> RSAKey:
    """An RSA key the platform has never seen (made once: RSA generation is slow)."""
    return RSAKey.generate_key(2048, parameters={"kid": "foreign"}, private=True)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A compact JWS built by hand (for algorithms joserfc rightly refuses to produce)."""
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    return signing_input + "." + b64url(signature)


def hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    head = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    mac = hmac.new(secret, head.encode(), hashlib.sha256).digest()
    return head + "." + b64url(mac)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_header(token: str) -> dict[str, Any]:
    header: dict[str, Any] = jws.extract_compact(token.encode()).protected
    return header


def decode(platform: Platform, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a real token, its signature checked with the platform's key."""
    header = token_header(token)
    decoded = jwt.decode(token, platform.keyring.public[header["kid"]])
    return dict(decoded.header), dict(decoded.claims)


assert_error = assert_error_mentions


def assert_unauthorized(answer: httpx.Response, *fragments: str) -> None:
    assert_error(answer, 401, "UNAUTHORIZED", *fragments)
    challenge = answer.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer"), "a 401 must carry WWW-Authenticate: Bearer (RFC 6750 3)"


def assert_oauth_error(answer: httpx.Response, status: int, error: str) -> None:
    """RFC 6749 section 5.2: ``{"error", "error_description"}``, never cached."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["error"] == error
    assert isinstance(body.get("error_description"), str) and body["error_description"]
    assert "status" not in body and "timestamp" not in body
    assert answer.headers["cache-control"] == "no-store"


class FakeMonotonic:
    """Stands in for ``time.monotonic`` where a module throttles or caches by real time."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def monotonic(self) -> float:
        return self.now


@dataclasses.dataclass
class Issued:
    """A partner with one SIM, its application, and a real token with its decoded parts."""

    world: World
    partner: int
    app: dict[str, Any]
    token: str
    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def path(self) -> str:
        return f"/partners/{self.partner}"

    async def call(self, token: str) -> httpx.Response:
        return await self.world.api("GET", self.path, bearer(token))

    def signed(
        self, claims: dict[str, Any] | None = None, header: dict[str, Any] | None = None
    ) -> str:
        """Re-signed with the platform's own signing key: only what the caller changed differs."""
        key = self.world.platform.keyring.signing
        assert key is not None
        return jwt.encode(header or dict(self.header), claims or dict(self.claims), key)


@pytest.fixture
async def issued(world: World) -> Issued:
    partner = await world.partner()
    app = await world.app(partner)
    token = await world.token(app["clientId"], app["clientSecret"])
    header, claims = decode(world.platform, token)
    return Issued(world, partner, app, token, header, claims)


def form(app: dict[str, Any], **changes: str) -> dict[str, str]:
    data = {
        "grant_type": "client_credentials",
        "client_id": app["clientId"],
        "client_secret": app["clientSecret"],
        "scope": "openid profile",
    }
    data.update(changes)
    return data


# --- token endpoint ---------------------------------------------------------------------


async def test_token_with_credentials_in_the_form_body(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    answer = await world.http.post(TOKEN_PATH, data=form(app))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) >= {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "openid profile"
    assert answer.headers["cache-control"] == "no-store"

    header, claims = decode(world.platform, body["access_token"])
    assert header["alg"] == "RS256"
    assert header["kid"] in world.platform.keyring.public
    assert claims["iss"] == "http://testserver/auth/realms/m2m"
    assert claims["sub"] == claims["azp"] == app["clientId"]
    assert claims["aud"] == "m2mportal-api"
    assert claims["exp"] - claims["iat"] == 300
    assert claims["jti"]
    assert claims["scope"] == "openid profile"
    assert str(claims["partnerId"]) == str(partner)
    assert claims["readOnly"] is False
    assert "subunits" not in claims


async def test_token_with_http_basic_client_authentication(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    answer = await world.http.post(
        TOKEN_PATH,
        data={"grant_type": "client_credentials", "scope": "openid"},
        auth=(app["clientId"], app["clientSecret"]),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "openid"
    _, claims = decode(world.platform, body["access_token"])
    assert claims["azp"] == app["clientId"]
    # The token works on the API.
    answer = await world.api("GET", f"/partners/{partner}", bearer(body["access_token"]))
    assert answer.status_code == 200, answer.text


async def test_token_without_scope_gets_the_default_scope(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    data = form(app)
    del data["scope"]
    answer = await world.http.post(TOKEN_PATH, data=data)
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "openid profile"


async def test_token_wrong_secret_is_invalid_client(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    answer = await world.http.post(TOKEN_PATH, data=form(app, client_secret="not-the-secret"))
    assert_oauth_error(answer, 401, "invalid_client")

    # The same through HTTP Basic also tells the client how to authenticate.
    answer = await world.http.post(
        TOKEN_PATH,
        data={"grant_type": "client_credentials"},
        auth=(app["clientId"], "not-the-secret"),
    )
    assert_oauth_error(answer, 401, "invalid_client")
    assert answer.headers["www-authenticate"].startswith("Basic")


async def test_token_unknown_client_is_invalid_client(world: World) -> None:
    answer = await world.http.post(
        TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": "m2m-0000000000000000",
            "client_secret": "whatever",
        },
    )
    assert_oauth_error(answer, 401, "invalid_client")


async def test_token_missing_credentials_is_invalid_client(world: World) -> None:
    answer = await world.http.post(TOKEN_PATH, data={"grant_type": "client_credentials"})
    assert_oauth_error(answer, 401, "invalid_client")


async def test_token_password_grant_is_unsupported(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    answer = await world.http.post(
        TOKEN_PATH, data=form(app, grant_type="password", username="u", password="p")
    )
    assert_oauth_error(answer, 400, "unsupported_grant_type")


async def test_token_unknown_scope_is_invalid_scope(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    answer = await world.http.post(TOKEN_PATH, data=form(app, scope="openid admin"))
    assert_oauth_error(answer, 400, "invalid_scope")
    assert "admin" in answer.json()["error_description"]


async def test_token_json_body_is_invalid_request(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    answer = await world.http.post(TOKEN_PATH, json=form(app))
    assert_oauth_error(answer, 400, "invalid_request")


async def test_token_of_deleted_application_is_invalid_client(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    answer = await world.op("DELETE", f"/applications/{app['clientId']}")
    assert answer.status_code == 200, answer.text
    answer = await world.http.post(TOKEN_PATH, data=form(app))
    assert_oauth_error(answer, 401, "invalid_client")


# --- discovery and JWKS -----------------------------------------------------------------


async def test_discovery_document_names_token_endpoint_and_jwks(world: World) -> None:
    answer = await world.http.get(DISCOVERY_PATH)
    assert answer.status_code == 200, answer.text
    doc = answer.json()
    issuer = "http://testserver/auth/realms/m2m"
    assert doc["issuer"] == issuer
    assert doc["token_endpoint"] == issuer + "/protocol/openid-connect/token"
    assert doc["jwks_uri"] == issuer + "/protocol/openid-connect/certs"
    assert "client_credentials" in doc["grant_types_supported"]
    assert {"client_secret_post", "client_secret_basic"} <= set(
        doc["token_endpoint_auth_methods_supported"]
    )

    # The advertised endpoints are where the discovery document says they are.
    partner = await world.partner()
    app = await world.app(partner)
    token_answer = await world.http.post(doc["token_endpoint"], data=form(app))
    assert token_answer.status_code == 200, token_answer.text
    assert token_answer.json()["token_type"] == "Bearer"
    jwks_answer = await world.http.get(doc["jwks_uri"])
    assert jwks_answer.status_code == 200, jwks_answer.text
    assert jwks_answer.json()["keys"]


async def test_jwks_publishes_the_kid_of_issued_tokens(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    token = await world.token(app["clientId"], app["clientSecret"])
    header = token_header(token)
    answer = await world.http.get(CERTS_PATH)
    assert answer.status_code == 200, answer.text
    keys = {k["kid"]: k for k in answer.json()["keys"]}
    assert header["kid"] in keys
    published = keys[header["kid"]]
    assert published["kty"] == "RSA"
    assert published.get("use", "sig") == "sig"
    # Public parts only.
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(published)
    # And the published key verifies the token.
    decoded = jwt.decode(token, RSAKey.import_key(published))
    assert decoded.claims["azp"] == app["clientId"]


# --- tokens the customer API must refuse ------------------------------------------------


async def test_control_token_re_signed_with_the_real_key_is_accepted(issued: Issued) -> None:
    """The forgery harness itself: copied claims signed with the real key pass, so each
    refusal below comes from the one thing that test changes."""
    assert (await issued.call(issued.token)).status_code == 200
    answer = await issued.call(issued.signed())
    assert answer.status_code == 200, answer.text


async def test_no_authorization_header_is_401(issued: Issued) -> None:
    answer = await issued.world.http.get("/iot/connectivity/management/v1" + issued.path)
    assert_unauthorized(answer, "authorization")


async def test_non_bearer_scheme_is_401(issued: Issued) -> None:
    basic = base64.b64encode(
        f"{issued.app['clientId']}:{issued.app['clientSecret']}".encode()
    ).decode()
    answer = await issued.world.api("GET", issued.path, {"Authorization": f"Basic {basic}"})
    assert_unauthorized(answer, "bearer")


async def test_garbage_token_is_401(issued: Issued) -> None:
    answer = await issued.call("not-a-jwt")
    assert_unauthorized(answer)


async def test_alg_none_token_is_401(issued: Issued) -> None:
    header = {"alg": "none", "typ": "JWT", "kid": issued.header["kid"]}
    answer = await issued.call(compact(header, issued.claims))
    assert_unauthorized(answer, "none")
    # Capitalisation games do not help either.
    header["alg"] = "None"
    answer = await issued.call(compact(header, issued.claims))
    assert_unauthorized(answer)


@pytest.mark.parametrize("form_of_key", ["pem", "jwk"])
async def test_hs256_signed_with_the_public_key_is_401(issued: Issued, form_of_key: str) -> None:
    public = issued.world.platform.keyring.public[issued.header["kid"]]
    if form_of_key == "pem":
        secret = public.as_pem(private=False)
    else:
        secret = json.dumps(public.as_dict(private=False)).encode()
    header = {"alg": "HS256", "typ": "JWT", "kid": issued.header["kid"]}
    answer = await issued.call(hs256(header, issued.claims, secret))
    assert_unauthorized(answer, "HS256")


async def test_expired_token_is_401_even_when_cached(issued: Issued, clock: Clock) -> None:
    platform = issued.world.platform
    assert (await issued.call(issued.token)).status_code == 200  # now cached
    unused = await issued.world.token(issued.app["clientId"], issued.app["clientSecret"])

    # Past exp but within the 30 s leeway: still accepted, cached or not.
    clock.advance(300 + 10)
    assert (await issued.call(issued.token)).status_code == 200

    # Past exp + leeway: refused, although the verifier cached this token's claims.
    clock.advance(30)
    answer = await issued.call(issued.token)
    assert_unauthorized(answer, "expired")
    # The error's timestamp is the platform (moved) clock's time.
    stamped = datetime.strptime(answer.json()["timestamp"], "%Y-%m-%d %H:%M:%S")
    assert abs(stamped.replace(tzinfo=UTC).timestamp() - platform.clock.time()) < 3

    # A token never seen before and just as old is refused too.
    assert_unauthorized(await issued.call(unused), "expired")


async def test_token_valid_only_in_the_future_is_401(issued: Issued) -> None:
    claims = dict(issued.claims)
    claims["nbf"] = claims["iat"] + 120
    assert_unauthorized(await issued.call(issued.signed(claims)), "not yet valid")
    claims = dict(issued.claims)
    claims["iat"] = claims["iat"] + 120
    claims["nbf"] = claims["iat"]
    claims["exp"] = claims["iat"] + 300
    assert_unauthorized(await issued.call(issued.signed(claims)), "future")


async def test_token_without_exp_is_401(issued: Issued) -> None:
    claims = dict(issued.claims)
    del claims["exp"]
    assert_unauthorized(await issued.call(issued.signed(claims)), "exp")


async def test_wrong_issuer_is_401(issued: Issued) -> None:
    claims = dict(issued.claims)
    claims["iss"] = "http://evil.example/auth/realms/m2m"
    assert_unauthorized(await issued.call(issued.signed(claims)), "iss")


async def test_wrong_audience_is_401(issued: Issued) -> None:
    claims = dict(issued.claims)
    claims["aud"] = "some-other-api"
    assert_unauthorized(await issued.call(issued.signed(claims)), "aud")


async def test_event_client_token_is_refused_on_the_rest_api(issued: Issued) -> None:
    """Event credentials get a token for the event audience, not for the REST API."""
    app = issued.app
    answer = await issued.world.http.post(
        TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": app["eventClientId"],
            "client_secret": app["eventClientSecret"],
        },
    )
    assert answer.status_code == 200, answer.text
    event_token = answer.json()["access_token"]
    assert decode(issued.world.platform, event_token)[1]["aud"] == "m2mportal-events"
    assert_unauthorized(await issued.call(event_token), "aud")


async def test_unknown_kid_is_401(issued: Issued) -> None:
    header = dict(issued.header, kid="no-such-key")
    assert_unauthorized(await issued.call(issued.signed(header=header)), "unknown key")


async def test_token_without_kid_is_401(issued: Issued) -> None:
    header = {k: v for k, v in issued.header.items() if k != "kid"}
    assert_unauthorized(await issued.call(issued.signed(header=header)), "kid")


async def test_foreign_key_with_a_known_kid_is_401(issued: Issued) -> None:
    token = jwt.encode(dict(issued.header), dict(issued.claims), foreign_rsa_key())
    assert token_header(token)["kid"] == issued.header["kid"]
    assert_unauthorized(await issued.call(token), "signature")


async def test_tampered_claims_are_401(issued: Issued) -> None:
    """The real signature over other claims (another partner) does not verify."""
    head, _, signature = issued.token.split(".")
    claims = dict(issued.claims, partnerId="1")
    forged = head + "." + b64url(json.dumps(claims).encode()) + "." + signature
    assert_unauthorized(await issued.call(forged), "signature")


async def test_token_of_deleted_application_is_401(issued: Issued) -> None:
    assert (await issued.call(issued.token)).status_code == 200  # claims and client cached
    answer = await issued.world.op("DELETE", f"/applications/{issued.app['clientId']}")
    assert answer.status_code == 200, answer.text
    assert_unauthorized(await issued.call(issued.token), "not active")


async def test_deleted_application_stops_working_within_5_s_in_another_process(
    issued: Issued, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another API process caches the client for at most ``app_cache_seconds`` (5 s)."""
    fake_time = FakeMonotonic()
    monkeypatch.setattr(clients_module, "time", SimpleNamespace(monotonic=fake_time.monotonic))
    other = await open_platform(settings, clock=Clock(), run_migrations=False)
    try:
        transport = httpx.ASGITransport(app=create_app(other, background=False), client=CALLER)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            url = "/iot/connectivity/management/v1" + issued.path
            assert (await http.get(url, headers=bearer(issued.token))).status_code == 200
            answer = await issued.world.op("DELETE", f"/applications/{issued.app['clientId']}")
            assert answer.status_code == 200, answer.text
            # This process forgot the client at once; the other may answer from its cache ...
            assert_unauthorized(await issued.call(issued.token), "not active")
            fake_time.now += 4.0
            assert (await http.get(url, headers=bearer(issued.token))).status_code == 200
            # ... but not beyond 5 s.
            fake_time.now += 1.5
            assert_unauthorized(await http.get(url, headers=bearer(issued.token)), "not active")
    finally:
        await other.close()


# --- key rotation -----------------------------------------------------------------------


async def test_rotation_keeps_old_tokens_working_and_signs_with_the_new_key(
    issued: Issued, clock: Clock
) -> None:
    platform = issued.world.platform
    old_kid = issued.header["kid"]
    # Issued before the rotation, first presented after it (so not in the verifier cache).
    old_token = await issued.world.token(issued.app["clientId"], issued.app["clientSecret"])

    new_kid = await platform.keyring.rotate()
    assert new_kid != old_kid

    kids = {k["kid"] for k in (await issued.world.http.get(CERTS_PATH)).json()["keys"]}
    assert {old_kid, new_kid} <= kids

    answer = await issued.call(old_token)
    assert answer.status_code == 200, answer.text

    new_token = await issued.world.token(issued.app["clientId"], issued.app["clientSecret"])
    assert token_header(new_token)["kid"] == new_kid
    answer = await issued.call(new_token)
    assert answer.status_code == 200, answer.text

    # Long after every token of the old key has expired, it has left the JWKS.
    clock.advance(3600)
    await platform.keyring.load()
    kids = {k["kid"] for k in (await issued.world.http.get(CERTS_PATH)).json()["keys"]}
    assert old_kid not in kids
    assert new_kid in kids


async def test_rotation_by_another_process_never_cuts_off_live_tokens(
    issued: Issued, settings: Settings, clock: Clock
) -> None:
    """``m2mportal keys rotate`` runs in its own process, beside the running server. A
    token the server hands out must work until it expires, whatever the server signed it
    with; an unknown ``kid`` (anyone can send one) makes the server re-read its keys."""
    cli = await open_platform(settings, clock=Clock(offset=clock.offset), run_migrations=False)
    try:
        await cli.keyring.rotate()
    finally:
        await cli.close()

    clock.advance(300 + 30 + 1)  # the old key's publication window has passed
    token = await issued.world.token(issued.app["clientId"], issued.app["clientSecret"])
    unknown = issued.signed(header=dict(issued.header, kid="somebody-elses-key"))
    assert_unauthorized(await issued.call(unknown), "unknown key")

    # A token issued a moment ago, valid for five more minutes.
    answer = await issued.call(token)
    assert answer.status_code == 200, answer.text


# --- external IdP mode ------------------------------------------------------------------

IDP_ISSUER = "https://idp.example.test/realms/iot"
IDP_AUDIENCE = "iot-connectivity-api"


class FakeIdp:
    """An external IdP: its keys, a JWKS that can change, and a counted fetch."""

    def __init__(self) -> None:
        self.keys: list[Any] = [foreign_rsa_key()]
        self.published: list[Any] = list(self.keys)
        self.fetches = 0
        self.broken = False

    async def fetch(self) -> dict[str, Any]:
        self.fetches += 1
        if self.broken:
            raise httpx.ConnectError("identity provider unreachable")
        return copy.deepcopy({"keys": [k.as_dict(private=False) for k in self.published]})

    def token(self, client_id: str, key: Any = None, **changes: Any) -> str:
        key = key or self.keys[0]
        now = int(time.time())
        claims = {
            "iss": IDP_ISSUER,
            "aud": IDP_AUDIENCE,
            "azp": client_id,
            "sub": "service-account-" + client_id,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": "jti-" + str(now),
            "scope": "openid profile",
        }
        claims.update(changes)
        alg = "ES256" if isinstance(key, ECKey) else "RS256"
        return jwt.encode({"alg": alg, "kid": key.kid, "typ": "JWT"}, claims, key)


@contextlib.asynccontextmanager
async def idp_platform(
    settings: Settings, fetch: Callable[[], Awaitable[dict[str, Any]]]
) -> AsyncIterator[httpx.AsyncClient]:
    """A second platform on the same database, configured for an external IdP."""
    idp_settings = dataclasses.replace(settings, idp_issuer=IDP_ISSUER, idp_audience=IDP_AUDIENCE)
    other = await open_platform(idp_settings, clock=Clock(), run_migrations=False, jwks_fetch=fetch)
    try:
        transport = httpx.ASGITransport(app=create_app(other, background=False), client=CALLER)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    finally:
        await other.close()


async def idp_get(http: httpx.AsyncClient, path: str, token: str) -> httpx.Response:
    return await http.get("/iot/connectivity/management/v1" + path, headers=bearer(token))


async def test_external_idp_token_is_accepted_and_unknown_kid_refetches_jwks(
    world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_time = FakeMonotonic()
    monkeypatch.setattr(tokens_module, "time", SimpleNamespace(monotonic=fake_time.monotonic))
    partner = await world.partner()
    app = await world.app(partner)
    idp = FakeIdp()

    async with idp_platform(settings, idp.fetch) as http:
        path = f"/partners/{partner}"
        answer = await idp_get(http, path, idp.token(app["clientId"]))
        assert answer.status_code == 200, answer.text
        assert answer.json()["partnerId"] == partner
        assert idp.fetches == 1

        # Known kid: served from the cached JWKS.
        answer = await idp_get(http, path, idp.token(app["clientId"], jti="second"))
        assert answer.status_code == 200, answer.text
        assert idp.fetches == 1

        # The IdP adds a key after start; a token with its kid makes one re-fetch.
        new_key = ECKey.generate_key("P-256", parameters={"kid": "idp-rotated"}, private=True)
        idp.keys.append(new_key)
        idp.published.append(new_key)
        fake_time.now += 10  # past the re-fetch throttle
        answer = await idp_get(http, path, idp.token(app["clientId"], key=new_key))
        assert answer.status_code == 200, answer.text
        assert idp.fetches == 2

        # A kid the IdP does not publish: one re-fetch, then 401 ...
        fake_time.now += 10
        stranger = ECKey.generate_key("P-256", parameters={"kid": "not-published"}, private=True)
        answer = await idp_get(http, path, idp.token(app["clientId"], key=stranger))
        assert_unauthorized(answer, "unknown key")
        assert idp.fetches == 3
        # ... and a burst of them does not hammer the IdP.
        for n in range(3):
            answer = await idp_get(http, path, idp.token(app["clientId"], key=stranger, jti=str(n)))
            assert_unauthorized(answer)
        assert idp.fetches == 3


async def test_external_idp_refuses_foreign_issuer_audience_and_unknown_client(
    world: World, settings: Settings
) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    idp = FakeIdp()
    async with idp_platform(settings, idp.fetch) as http:
        path = f"/partners/{partner}"
        assert (await idp_get(http, path, idp.token(app["clientId"]))).status_code == 200
        bad_iss = idp.token(app["clientId"], iss="https://other.example/realms/iot")
        assert_unauthorized(await idp_get(http, path, bad_iss), "iss")
        bad_aud = idp.token(app["clientId"], aud="m2mportal-api")
        assert_unauthorized(await idp_get(http, path, bad_aud), "aud")
        nobody = idp.token("m2m-ffffffffffffffff")
        assert_unauthorized(await idp_get(http, path, nobody), "not active")
        # The embedded issuer's tokens are not the configured IdP's.
        built_in = await world.token(app["clientId"], app["clientSecret"])
        assert_unauthorized(await idp_get(http, path, built_in))


async def test_external_idp_unreachable_is_401_not_500(world: World, settings: Settings) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    idp = FakeIdp()
    idp.broken = True
    async with idp_platform(settings, idp.fetch) as http:
        answer = await idp_get(http, f"/partners/{partner}", idp.token(app["clientId"]))
        assert_unauthorized(answer, "identity provider")
