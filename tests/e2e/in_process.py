"""A real uvicorn serving the app inside the test's event loop, on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette

from m2mportal.http_server import server_config


@contextlib.asynccontextmanager
async def serving(app: Starlette, port: int, wait_s: float = 10.0) -> AsyncIterator[str]:
    """The app on ``port`` (lifespan on: worker, provisioner, maintenance) until the block
    ends; yields its base URL."""
    # As `m2mportal serve` runs it (its HTTP protocol included); uvicorn's own logging
    # setup would take its loggers away from m2mportal.logs for the rest of the session.
    config = server_config(app, "127.0.0.1", port, "warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(wait_s):
        while not server.started:
            if task.done():
                task.result()  # it failed to start: show why
            await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(wait_s):
            await task
