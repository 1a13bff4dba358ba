"""The API documents: OpenAPI JSON and Swagger UI (assets from swagger-ui-bundle, offline)."""

from __future__ import annotations

from typing import Any

import msgspec
import swagger_ui_bundle
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

_INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>m2mportal API</title>
<link rel="stylesheet" href="/swagger-ui/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/swagger-ui/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/v3/api-docs", dom_id: "#swagger-ui"});</script>
</body></html>"""


def routes(openapi: dict[str, Any], async_api: dict[str, Any]) -> list[BaseRoute]:
    document = msgspec.json.encode(openapi)
    streams_document = msgspec.json.encode(async_api)

    async def asyncapi_docs(request: Request) -> Response:
        return Response(streams_document, media_type="application/json")

    async def api_docs(request: Request) -> Response:
        return Response(document, media_type="application/json")

    async def index(request: Request) -> Response:
        return HTMLResponse(_INDEX)

    async def to_index(request: Request) -> Response:
        return RedirectResponse("/swagger-ui/index.html")

    return [
        Route("/v3/api-docs", api_docs, methods=["GET"]),
        Route("/v3/asyncapi", asyncapi_docs, methods=["GET"]),
        Route("/swagger-ui/index.html", index, methods=["GET"]),
        Route("/swagger-ui", to_index, methods=["GET"]),
        Mount("/swagger-ui", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path)),
    ]
