"""The ceiling for bench/hot_path.py: a bare Starlette app answering constant JSON (the
platform's own answer to the call measured) on the same paths. Run by uvicorn like the
platform."""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = os.environ.get("M2MP_BENCH_BODY", "{}").encode()
API = "/iot/connectivity/management/v1"


async def constant(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


async def constant_after_body(request: Request) -> Response:
    await request.body()  # a POST's body is read, as the platform reads it
    return Response(BODY, media_type="application/json")


app = Starlette(
    routes=[
        Route(API + "/partners/{p}/sims", constant),
        Route(API + "/partners/{p}/sims/details", constant_after_body, methods=["POST"]),
        Route(API + "/partners/{p}/sims/{iccid}", constant),
    ]
)
