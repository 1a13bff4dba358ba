"""The API reference: the two OpenAPI documents, the AsyncAPI document and Swagger UI 5.

Swagger UI's assets come from the `swagger-ui-py` package and are served from here, so the
reference works offline (no CDN). The page offers both documents in its selector and its
"Authorize" runs the OAuth2 client-credentials flow against the token endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from swagger_ui.utils import SWAGGER_UI_PY_ROOT

from m2mportal import API_BASE
from m2mportal.config import Settings
from m2mportal.gateway import openapi
from m2mportal.gateway.endpoints import Endpoint

CUSTOMER_DOCS = "/v3/api-docs"
OPERATOR_DOCS = "/v3/api-docs/operator"  # springdoc's group convention
_ASSETS = SWAGGER_UI_PY_ROOT / "static"
# Only what the page loads: the package also ships Swagger Editor and a sample initializer.
_SERVED = (
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "swagger-ui.css",
    "favicon-32x32.png",
    "favicon-16x16.png",
    "oauth2-redirect.html",
)
_MEDIA = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".html": "text/html"}

_CUSTOMER_INTRO = f"""The customer REST API of the M2M Service Portal 3.0: partners, SIMs and
asynchronous bulk SIM actions, under `{API_BASE}`.

**Authorize.** Every call carries `Authorization: Bearer <access token>`. Get the token with
your application's client id and secret (OAuth2 client credentials, scope `openid profile`):
the **Authorize** button does it for you, or paste a token under `bearer`.

**Errors** answer `{{"status", "message", "errors", "timestamp"}}` (`ErrorBody`), each invalid
field named in `errors`.

**Rate limits** are counted per partner in SIMs (a 300-SIM action counts 300). Limited calls
answer with `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; over the
budget, 403 "Limit exceeded" with `Retry-After`.

**Events** of actions and notifications arrive on Server-Sent-Event streams, described by
the AsyncAPI document at `/v3/asyncapi`. The platform operator's API is the other document
in the selector above."""

_OPERATOR_INTRO = """The platform operator's API: partners, applications, SIM inventory,
catalogue, rate limits, event backlog and the simulated clock.

**Authorize** with an operator client's id and secret (`m2mportal operator create-client`;
`make run` prints one). Customer applications' tokens answer 403 here.

Errors answer the same `ErrorBody` as the customer API."""


def documents(
    settings: Settings,
    customer: Sequence[Endpoint],
    operator: Sequence[Endpoint],
    operator_base: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The customer and the operator OpenAPI documents."""
    # Relative to the page, so it works behind any host name or proxy; in external IdP
    # mode the customer's applications get their tokens from the IdP (Keycloak-shaped).
    built_in = settings.issuer_path + openapi.TOKEN_SUFFIX
    customer_token = (
        settings.idp_issuer.rstrip("/") + openapi.TOKEN_SUFFIX if settings.idp_issuer else built_in
    )
    customer_doc = openapi.Document(
        title="M2M Service Portal 3.0 REST API (m2mportal)",
        description=_CUSTOMER_INTRO,
        prefix=API_BASE,
        operation_prefix="",
        token_url=customer_token,
        client="Your application's client id and secret (OAuth2 client credentials)",
        tags={
            "Partner": "The partner account, its subunits and its API budgets",
            "SIM": "SIM inventory: list with search and filters, details by any identifier",
            "SIM Actions": "Asynchronous bulk SIM actions: accepted with 202 and a signupId,"
            " followed with the action status or the `simaction.v1` event",
            "SIM Network": "The SIM in the network: session, session and SMS history, send"
            " message, HLR check and reset",
        },
    )
    operator_doc = openapi.Document(
        title="m2mportal operator API",
        description=_OPERATOR_INTRO,
        prefix=operator_base,
        operation_prefix="operator_",
        token_url=built_in,
        client="An operator client's id and secret (`m2mportal operator create-client`)",
        tags={"Operator": "The platform operator's side"},
    )
    return openapi.build(customer, customer_doc), openapi.build(operator, operator_doc)


def _page() -> str:
    config = {
        "urls": [
            {"url": CUSTOMER_DOCS, "name": "Customer API"},
            {"url": OPERATOR_DOCS, "name": "Operator API"},
        ],
        "urls.primaryName": "Customer API",
        "dom_id": "#swagger-ui",
        "deepLinking": True,
        "layout": "StandaloneLayout",
        "displayRequestDuration": True,
        # No badge that sends the document to an online validator: this page stays local.
        "validatorUrl": None,
    }
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>m2mportal API reference</title>
<link rel="icon" type="image/png" href="/swagger-ui/favicon-32x32.png">
<link rel="stylesheet" href="/swagger-ui/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/swagger-ui/swagger-ui-standalone-preset.js"></script>
<script>
const config = {json.dumps(config)};
config.presets = [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset];
config.plugins = [SwaggerUIBundle.plugins.DownloadUrl];
config.oauth2RedirectUrl = window.location.origin + "/swagger-ui/oauth2-redirect.html";
window.ui = SwaggerUIBundle(config);
window.ui.initOAuth({{scopes: {json.dumps(sorted(openapi.SCOPES))}}});
</script>
</body></html>"""


def routes(
    customer: dict[str, Any], operator: dict[str, Any], async_api: dict[str, Any]
) -> list[BaseRoute]:
    page = _page()

    def document(path: str, content: dict[str, Any]) -> Route:
        encoded = msgspec.json.encode(content)

        async def serve(request: Request) -> Response:
            return Response(encoded, media_type="application/json")

        return Route(path, serve, methods=["GET"])

    async def index(request: Request) -> Response:
        return HTMLResponse(page)

    async def to_index(request: Request) -> Response:
        return RedirectResponse("/swagger-ui/index.html")

    def asset(name: str) -> Route:
        path: Path = _ASSETS / name

        async def serve(request: Request) -> Response:
            return FileResponse(path, media_type=_MEDIA[path.suffix])

        return Route(f"/swagger-ui/{name}", serve, methods=["GET", "HEAD"])

    return [
        document(CUSTOMER_DOCS, customer),
        document(OPERATOR_DOCS, operator),
        document("/v3/asyncapi", async_api),
        Route("/swagger-ui/index.html", index, methods=["GET"]),
        Route("/swagger-ui", to_index, methods=["GET"]),
        Route("/swagger-ui/", to_index, methods=["GET"]),
        *(asset(name) for name in _SERVED),
    ]
