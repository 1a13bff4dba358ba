"""The ceiling for bench/hot_path.py: a bare Starlette app answering constant JSON of the
size of a SIM details answer, on the same path. Run by uvicorn like the platform."""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = os.environ.get("M2MP_BENCH_BODY", "{}").encode()


async def constant(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


app = Starlette(
    routes=[Route("/iot/connectivity/management/v1/partners/{p}/sims/{iccid}", constant)]
)
