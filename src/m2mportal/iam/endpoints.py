"""The issuer's HTTP face (Keycloak-shaped): discovery, JWKS and the token endpoint."""

from __future__ import annotations

import asyncio
import json
import traceback
from urllib.parse import parse_qsl

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from m2mportal.domain.errors import ApiError
from m2mportal.gateway.client_address import client_ip
from m2mportal.gateway.endpoints import read_body
from m2mportal.gateway.inputs import text_problem
from m2mportal.gateway.request_log import note_caller
from m2mportal.iam.clients import OAuthError, authenticate, credentials
from m2mportal.platform import Platform

ALLOWED_SCOPES = frozenset({"openid", "profile", "email"})
DEFAULT_SCOPE = "openid profile"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# Longest accepted value per parameter: client ids are 21 characters, secrets 43.
MAX_CHARS = {"grant_type": 64, "client_id": 200, "client_secret": 500, "scope": 500}
RETRY_AFTER_SECONDS = 5
log = structlog.get_logger("m2mportal.iam")


def _form(raw: bytes) -> dict[str, str]:
    """The form's parameters, each given once (RFC 6749 3.2), without control characters
    and of bounded length. Problems name the parameter, never repeat its value."""
    pairs = parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True)
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form and key in MAX_CHARS:
            raise OAuthError(400, "invalid_request", f"{key}: given more than once")
        form.setdefault(key, value)
    for key, limit in MAX_CHARS.items():
        if key in form:
            _check(key, form[key], limit)
    return form


def _check(key: str, value: str, limit: int) -> None:
    if problem := text_problem(value, limit):
        raise OAuthError(400, "invalid_request", f"{key}: {problem}")


async def _database_down(platform: Platform) -> bool:
    try:
        await asyncio.wait_for(platform.db.fetch_val("SELECT 1"), timeout=2)
    except Exception:  # whatever the driver raises, the database cannot answer
        return True
    return False


async def _failure(platform: Platform, exc: Exception) -> Response:
    """RFC 6749's body for a failure of ours: 503 while the database is unreachable."""
    # The type and the place only: an exception's message or locals may hold the form.
    frame = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f"{frame[0].filename}:{frame[0].lineno}" if frame else "?"
    if await _database_down(platform):
        log.error("token request failed: database unreachable", error=type(exc).__name__)
        return JSONResponse(
            {
                "error": "temporarily_unavailable",
                "error_description": "the service is temporarily unavailable, retry later",
            },
            status_code=503,
            headers={**_NO_STORE, "Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    log.error("token request failed", error=type(exc).__name__, where=where)
    return JSONResponse(
        {"error": "server_error", "error_description": "an unexpected error occurred"},
        status_code=500,
        headers=_NO_STORE,
    )


def _oauth_error(exc: OAuthError, basic: bool) -> Response:
    headers = dict(_NO_STORE)
    if exc.status == 401 and basic:
        headers["WWW-Authenticate"] = 'Basic realm="m2m"'
    return JSONResponse(
        {"error": exc.error, "error_description": exc.description},
        status_code=exc.status,
        headers=headers,
    )


def routes(platform: Platform) -> list[Route]:
    settings = platform.settings
    base = settings.issuer_path

    async def discovery(request: Request) -> Response:
        issuer = platform.issuer_url
        return JSONResponse(
            {
                "issuer": issuer,
                "token_endpoint": issuer + "/protocol/openid-connect/token",
                "jwks_uri": issuer + "/protocol/openid-connect/certs",
                "grant_types_supported": ["client_credentials"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "client_secret_basic",
                ],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": sorted(ALLOWED_SCOPES),
                "response_types_supported": ["token"],
                "subject_types_supported": ["public"],
            }
        )

    async def certs(request: Request) -> Response:
        await platform.keyring.fresh()
        return JSONResponse(platform.keyring.jwks(), headers={"Cache-Control": "max-age=60"})

    async def grant(request: Request, authorization: str | None) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type != "application/x-www-form-urlencoded":
            raise OAuthError(
                400, "invalid_request", "body must be application/x-www-form-urlencoded"
            )
        try:
            raw_bytes = await read_body(request, 64 * 1024)
        except ApiError as exc:
            raise OAuthError(413, "invalid_request", "body too large") from exc
        form = _form(raw_bytes)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError(400, "invalid_request", "grant_type is required")
        client_id, secret, _ = credentials(authorization, form)
        # HTTP Basic credentials did not pass through _form.
        _check("client_id", client_id, MAX_CHARS["client_id"])
        _check("client_secret", secret, MAX_CHARS["client_secret"])
        client = await authenticate(
            platform.db, platform.vault, client_id, secret,
            platform.clock.now(), settings.provisioning_seconds,
        )  # fmt: skip
        note_caller(request.scope, client.row["client_id"], client.row["partner_id"])
        if grant_type != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "only client_credentials is supported")
        scopes = (form.get("scope") or DEFAULT_SCOPE).split()
        unknown = [s for s in scopes if s not in ALLOWED_SCOPES]
        if unknown:
            raise OAuthError(400, "invalid_scope", f"unknown scope: {' '.join(unknown)}")
        row = client.row
        whitelist = json.loads(row["ip_whitelist"])
        address = client_ip(request, tuple(settings.trusted_proxies))
        if whitelist and address not in whitelist:
            raise OAuthError(
                403, "access_denied", f"client address {address} is not in the IP whitelist"
            )
        await platform.keyring.fresh()
        scope = " ".join(scopes)
        if client.kind == "events":
            access = platform.issuer.issue(
                row["event_client_id"],
                settings.event_audience,
                scope,
                {"clientId": row["client_id"], "partnerId": str(row["partner_id"])},
            )
        else:
            extra: dict[str, object] = {"readOnly": bool(row["read_only"])}
            if row["role"] == "operator":
                extra["roles"] = ["operator"]
            else:
                extra["partnerId"] = str(row["partner_id"])
                if row["user_type"] == "Subunit":
                    extra["subunits"] = [str(s) for s in json.loads(row["subunits"])]
            access = platform.issuer.issue(row["client_id"], settings.token_audience, scope, extra)
        return JSONResponse(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": platform.issuer.lifetime,
                "scope": scope,
            },
            headers=_NO_STORE,
        )

    async def token(request: Request) -> Response:
        authorization = request.headers.get("authorization")
        basic = bool(authorization and authorization.lower().startswith("basic "))
        try:
            return await grant(request, authorization)
        except OAuthError as exc:
            return _oauth_error(exc, basic)
        except Exception as exc:  # answered as RFC 6749 says, not with the API's error body
            return await _failure(platform, exc)

    return [
        Route(base + "/.well-known/openid-configuration", discovery, methods=["GET"]),
        Route(base + "/protocol/openid-connect/certs", certs, methods=["GET"]),
        Route(base + "/protocol/openid-connect/token", token, methods=["POST"]),
    ]
