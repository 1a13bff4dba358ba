"""Builds the ASGI app from the parts: IAM, customer API, operator API, docs, ops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware

from m2mportal import API_BASE, docs_ui, logs, maintenance, ops
from m2mportal.actions import worker
from m2mportal.api.routes import ENDPOINTS as API_ENDPOINTS
from m2mportal.events import asyncapi, streams
from m2mportal.gateway import errors
from m2mportal.gateway.endpoints import build_routes
from m2mportal.gateway.front import Front
from m2mportal.gateway.routing import SegmentRouter
from m2mportal.iam import endpoints as iam
from m2mportal.network import generator
from m2mportal.operator.routes import ENDPOINTS as OPERATOR_ENDPOINTS
from m2mportal.operator.routes import SIMULATION_PATHS
from m2mportal.platform import Platform, base_url
from m2mportal.portal import routes as portal
from m2mportal.services import applications

OPERATOR_BASE = "/operator/v1"
log = structlog.get_logger("m2mportal")


async def _provisioner(platform: Platform) -> None:
    """Background: applications leave 'In Creation' once their provisioning delay passed."""
    while True:
        try:
            await applications.activate_due(platform)
        except Exception:
            log.exception("provisioning pass failed")
        await asyncio.sleep(0.5)


def create_app(platform: Platform, background: bool = True) -> Starlette:
    # Entry points configure logging first; an app built without them (tests, an ASGI
    # server's factory) must still never render a rich traceback with locals.
    logs.configure_once(platform.settings)
    # Without M2MP_SIMULATION the simulation controls are neither routed nor documented:
    # the operator API's fallback answers them 404 with the error body.
    operator_endpoints = [
        e
        for e in OPERATOR_ENDPOINTS
        if platform.settings.simulation or e.path not in SIMULATION_PATHS
    ]
    customer_doc, operator_doc = docs_ui.documents(
        platform.settings, API_ENDPOINTS, operator_endpoints, OPERATOR_BASE
    )
    metrics = ops.Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks = []
        if background:
            tasks.append(asyncio.create_task(_provisioner(platform)))
            tasks.append(asyncio.create_task(maintenance.run(platform)))
            if platform.settings.embedded_worker:
                tasks.append(asyncio.create_task(worker.run(platform)))
            if platform.settings.simulation:  # it generates only while switched on
                tasks.append(asyncio.create_task(generator.run(generator.for_platform(platform))))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = Starlette(
        routes=[
            *build_routes(API_ENDPOINTS, API_BASE, platform),
            *build_routes(operator_endpoints, OPERATOR_BASE, platform),
            *iam.routes(platform),
            *streams.routes(platform),
            *ops.routes(platform, metrics),
            *docs_ui.routes(
                customer_doc, operator_doc, asyncapi.build(base_url(platform.settings))
            ),
            *portal.routes(platform),
        ],
        # The request id is bound before anything logs, and every answer (a crash's 500
        # too) carries it, is counted and is logged once.
        middleware=[Middleware(Front, metrics=metrics, clock=platform.clock)],
        lifespan=lifespan,
    )
    errors.install(app, platform.clock, answer_crashes=False)
    app.router = SegmentRouter(app.router.routes, lifespan=lifespan)
    # A trailing-slash redirect would build its Location from the Host header: 404 instead.
    app.router.redirect_slashes = False
    app.state.platform = platform
    return app
