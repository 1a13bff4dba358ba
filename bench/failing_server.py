"""``m2mportal serve`` with one more route that always ends in an internal error (bench
only: the platform has no such route).

``GET /bench/fail`` runs a query on a table that does not exist, so the error comes from
deep inside the database driver as an outage's would, and goes through the platform's own
error handler and logging. Everything else is the real ``serve`` command: settings from the
environment, uvicorn, logging, GC tuning.

    python bench/failing_server.py serve --port 8099
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import m2mportal.app as app_module
from m2mportal import cli
from m2mportal.platform import Platform

FAIL_PATH = "/bench/fail"
_create_app = app_module.create_app


def create_app(platform: Platform, background: bool = True) -> Any:
    app = _create_app(platform, background)

    async def fail(request: Request) -> Response:
        await platform.db.fetch_one("SELECT * FROM bench_no_such_table")
        raise AssertionError("the query above always fails")

    app.router.routes.insert(0, Route(FAIL_PATH, fail, methods=["GET"]))
    return app


if __name__ == "__main__":
    # `serve` imports create_app from m2mportal.app when it starts.
    app_module.create_app = create_app
    cli.main()
