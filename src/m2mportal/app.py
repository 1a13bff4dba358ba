"""Builds the ASGI app from the parts: IAM, customer API, operator API, docs, ops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import structlog
from starlette.applications import Starlette
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.types import ASGIApp

from m2mportal import API_BASE, docs_ui, logs, maintenance, ops
from m2mportal.actions import worker
from m2mportal.api.routes import ENDPOINTS as API_ENDPOINTS
from m2mportal.events import asyncapi, streams
from m2mportal.gateway import errors
from m2mportal.gateway.endpoints import ApiRoutes, api_routes
from m2mportal.gateway.front import Front
from m2mportal.gateway.routing import ApiDispatch, SegmentRouter
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


class _App(Starlette):
    """Starlette with gateway/front.py as its outermost layer and the APIs' endpoints
    reached without Starlette's exception layer and route walk (gateway/routing.py
    ApiDispatch); everything else goes through Starlette's exception handlers and router.

    Starlette puts its own error layer outside all others; Front answers a crash itself
    (with the request id, counted and logged once), so that layer had nothing left to do.
    """

    def __init__(self, apis: list[ApiRoutes], front: dict[str, Any], **kwargs: Any) -> None:
        self._apis = apis
        self._front = front
        super().__init__(**kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        handlers = {k: v for k, v in self.exception_handlers.items() if k not in (500, Exception)}
        dispatch = ApiDispatch(ExceptionMiddleware(self.router, handlers, self.debug), self.router)
        for api in self._apis:
            dispatch.add(api.table, api.endpoints)
        return Front(dispatch, **self._front)


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

    apis = [
        api_routes(API_ENDPOINTS, API_BASE, platform),
        api_routes(operator_endpoints, OPERATOR_BASE, platform),
    ]
    app = _App(
        apis,
        # The request id is bound before anything logs, and every answer (a crash's 500
        # too) carries it, is counted and is logged once.
        {"metrics": metrics, "clock": platform.clock},
        routes=[
            *apis[0].all,
            *apis[1].all,
            *iam.routes(platform),
            *streams.routes(platform),
            *ops.routes(platform, metrics),
            *docs_ui.routes(
                customer_doc, operator_doc, asyncapi.build(base_url(platform.settings))
            ),
            *portal.routes(platform),
        ],
        lifespan=lifespan,
    )
    errors.install(app, platform.clock, answer_crashes=False)
    app.router = SegmentRouter(app.router.routes, lifespan=lifespan)
    # A trailing-slash redirect would build its Location from the Host header: 404 instead.
    app.router.redirect_slashes = False
    app.state.platform = platform
    return app
