"""The portal's pages and the calls its script makes, mounted at /portal.

Handlers stay thin: they read the session, check the CSRF token, call the services the
APIs use (applications, partners, portal logins) and render a template or answer JSON.
Every application id in a URL is looked up through ``portal.application``, which answers
404 for one outside the user's partner tree exactly as for an unknown one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jinja2
import msgspec
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from m2mportal.domain.errors import ApiError, bad_request
from m2mportal.gateway import inputs
from m2mportal.gateway.client_address import client_ip
from m2mportal.gateway.endpoints import read_body
from m2mportal.gateway.errors import error_response, validation_problem
from m2mportal.models import NewApplication, SecretRotation
from m2mportal.platform import Platform
from m2mportal.portal import security
from m2mportal.services import applications, partners
from m2mportal.services import portal as logins
from m2mportal.services.partners import SIM_STATUSES
from m2mportal.services.portal import PortalUser

HERE = Path(__file__).parent
_FORM_LIMIT = 16 * 1024
_JSON_LIMIT = 64 * 1024
_SAFE = ("GET", "HEAD")
PREFIX = "/portal"

templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
)

Page = Callable[[Request, PortalUser, dict[str, str]], Awaitable[Response]]


def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status)


def _not_found(request: Request, user: PortalUser | None, what: str) -> Response:
    return _render(request, "error.html", {"user": user, "title": "Not found", "what": what}, 404)


async def _form(request: Request) -> dict[str, str] | None:
    """The urlencoded form, or None when it cannot be one of ours (too large, NUL, a
    field twice): the caller answers 400."""
    raw = await read_body(request, _FORM_LIMIT)
    try:
        pairs = parse_qsl(raw.decode(), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return None
    form = dict(pairs)
    if len(form) != len(pairs) or any("\x00" in v or len(v) > 1000 for v in form.values()):
        return None
    return form


async def _user(request: Request) -> PortalUser | None:
    token = request.cookies.get(security.SESSION_COOKIE, "")
    return await logins.session(_platform(request), token)


def _to_login() -> Response:
    return RedirectResponse("/portal/login", status_code=303)


def page(handler: Page) -> Callable[[Request], Awaitable[Response]]:
    """A page of a logged-in user; a POST must carry the session's CSRF token."""

    async def endpoint(request: Request) -> Response:
        user = await _user(request)
        if user is None:
            return _to_login()
        form: dict[str, str] = {}
        if request.method not in _SAFE:
            parsed = await _form(request)
            if parsed is None:
                return _render(
                    request, "error.html", {"user": user, "title": "Bad form", "what": ""}, 400
                )
            if not security.same(parsed.get("csrf"), user.csrf):
                return _csrf_refused(request, user)
            form = parsed
        return await handler(request, user, form)

    return endpoint


def _csrf_refused(request: Request, user: PortalUser | None) -> Response:
    return _render(
        request,
        "error.html",
        {
            "user": user,
            "title": "Form refused",
            "what": "The form's security token is missing or out of date. Reload the page"
            " and try again.",
        },
        403,
    )


Call = Callable[[Request, PortalUser], Awaitable[Any]]


def call(handler: Call, status: int = 200) -> Callable[[Request], Awaitable[Response]]:
    """A call of the portal's script: the session, the ``X-CSRF-Token`` header (on every
    call, reads included), JSON out; errors as the API's error body."""

    async def endpoint(request: Request) -> Response:
        platform = _platform(request)
        try:
            user = await _user(request)
            if user is None:
                raise ApiError(401, "Unauthorized", ["session: log in to the portal"])
            if not security.same(request.headers.get(security.CSRF_HEADER), user.csrf):
                raise ApiError(403, "Access denied", ["X-CSRF-Token: missing or wrong"])
            answer = await handler(request, user)
        except ApiError as error:
            return error_response(platform.clock, error)
        return Response(
            msgspec.json.encode(answer), status_code=status, media_type="application/json"
        )

    return endpoint


async def _json(request: Request, body_type: type[Any]) -> Any:
    raw = await read_body(request, _JSON_LIMIT)
    try:
        body = msgspec.json.decode(raw or b"{}", type=body_type)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise bad_request(validation_problem(exc, "body")) from exc
    except RecursionError as exc:
        raise bad_request(inputs.TOO_DEEP) from exc
    if problems := inputs.body_problems(raw):
        raise bad_request(*problems)
    return body


# Login, logout, password ---------------------------------------------------------------


async def root(request: Request) -> Response:
    if await _user(request) is None:
        return _to_login()
    return RedirectResponse("/portal/rest-api", status_code=303)


def _login_page(request: Request, message: str = "", status: int = 200) -> Response:
    token = security.new_token()
    response = _render(
        request, "login.html", {"user": None, "csrf": token, "message": message}, status
    )
    secure = security.over_https(request, _platform(request).settings)
    security.set_cookie(response, security.LOGIN_COOKIE, token, secure, max_age=3600)
    return response


async def login_form(request: Request) -> Response:
    if await _user(request) is not None:
        return RedirectResponse("/portal/rest-api", status_code=303)
    return _login_page(request)


async def login(request: Request) -> Response:
    platform = _platform(request)
    form = await _form(request)
    if form is None:
        return _login_page(request, "Enter a username and a password.", 400)
    if not security.same(form.get("csrf"), request.cookies.get(security.LOGIN_COOKIE)):
        return _login_page(request, "The login form expired; please try again.", 403)
    username, password = form.get("username", "").strip(), form.get("password", "")
    if not username or not password or len(username) > 200 or len(password) > 200:
        return _login_page(request, "Enter a username and a password.", 400)
    address = client_ip(request, tuple(platform.settings.trusted_proxies))
    try:
        token = await logins.log_in(platform, username, password, address)
    except logins.LoginThrottled as refused:
        return _login_page(
            request,
            f"Too many failed logins. Try again in {refused.minutes} minutes.",
            429,
        )
    except logins.LoginFailed:
        return _login_page(request, "Wrong username or password.", 401)
    response = RedirectResponse("/portal/rest-api", status_code=303)
    secure = security.over_https(request, platform.settings)
    lifetime = platform.settings.portal_session_minutes * 60
    security.set_cookie(response, security.SESSION_COOKIE, token, secure, max_age=lifetime)
    security.clear_cookie(response, security.LOGIN_COOKIE, secure)
    return response


async def _logout(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    platform = _platform(request)
    await logins.log_out(platform, request.cookies.get(security.SESSION_COOKIE, ""))
    response = _to_login()
    security.clear_cookie(
        response, security.SESSION_COOKIE, security.over_https(request, platform.settings)
    )
    return response


async def _password(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    context: dict[str, Any] = {"user": user, "errors": [], "done": False}
    if request.method in _SAFE:
        return _render(request, "password.html", context)
    platform = _platform(request)
    try:
        token = await logins.change_password(
            platform,
            user,
            form.get("currentPassword", ""),
            form.get("newPassword", ""),
            form.get("repeatPassword", ""),
        )
    except ApiError as error:
        context["errors"] = error.errors
        return _render(request, "password.html", context, 400)
    fresh = await logins.session(platform, token)
    response = _render(request, "password.html", {**context, "user": fresh, "done": True})
    security.set_cookie(
        response,
        security.SESSION_COOKIE,
        token,
        security.over_https(request, platform.settings),
        max_age=platform.settings.portal_session_minutes * 60,
    )
    return response


# My Partner Data > REST API ------------------------------------------------------------


async def _rest_api(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    platform = _platform(request)
    partner = await partners.view(platform.db, platform.tree, user.partner_id)
    apps = await applications.list_for_partner(platform, user.partner_id)
    return _render(
        request, "rest_api.html", {"user": user, "partner": partner, "applications": apps}
    )


async def _application(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    client_id = request.path_params["clientId"]
    try:
        app = await logins.application(_platform(request), user, client_id)
    except ApiError:
        return _not_found(request, user, f"There is no application {client_id} here.")
    return _render(request, "application.html", {"user": user, "app": app})


# Beyond the seed: SIMs, actions, events --------------------------------------------------


def _number(text: str | None, top: int = 100_000) -> int:
    """A page, id or sequence number from the URL; anything but digits counts as 0."""
    if not text or not (text.isascii() and text.isdigit()) or len(text) > 18:
        return 0
    return min(int(text), top)


async def _sims(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    query = request.query_params
    text = query.get("q", "")[:100].replace("\x00", "")
    status = query.get("status") or None
    if status not in SIM_STATUSES:
        status = None
    page_number = _number(query.get("page"))
    found = await logins.sims_overview(_platform(request), user, text, status, page_number)
    pages = -(-found.total // logins.PAGE_SIZE)
    context = {
        "user": user,
        "found": found,
        "q": text,
        "status": status or "",
        "statuses": SIM_STATUSES,
        "page": page_number,
        "pages": pages,
    }
    return _render(request, "sims.html", context)


async def _sim(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    iccid = request.path_params["iccid"]
    try:
        view = await logins.sim(_platform(request), user, iccid)
    except ApiError:
        return _not_found(request, user, f"There is no SIM {iccid} here.")
    return _render(request, "sim.html", {"user": user, "view": view})


async def _actions(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    number = _number(request.query_params.get("page"))
    found = await logins.actions(_platform(request), user, number)
    return _render(request, "actions.html", {"user": user, "found": found})


async def _action(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    signup_id = _number(request.path_params["signupId"], 10**18)
    try:
        found = await logins.action(_platform(request), user, signup_id)
    except ApiError:
        what = request.path_params["signupId"]
        return _not_found(request, user, f"There is no action {what} here.")
    return _render(request, "action.html", {"user": user, "action": found})


async def _events_page(request: Request, user: PortalUser, form: dict[str, str]) -> Response:
    return _render(request, "events.html", {"user": user})


# Calls of the page script ----------------------------------------------------------------


async def _register(request: Request, user: PortalUser) -> Any:
    spec = await _json(request, NewApplication)
    return await applications.register(_platform(request), user.partner_id, spec)


async def _status(request: Request, user: PortalUser) -> Any:
    app = await logins.application(_platform(request), user, request.path_params["clientId"])
    return {"clientId": app.client_id, "status": app.status}


async def _delete(request: Request, user: PortalUser) -> Any:
    platform = _platform(request)
    app = await logins.application(platform, user, request.path_params["clientId"])
    await applications.delete(platform, app.client_id)
    return {"clientId": app.client_id, "deleted": True}


async def _rotate(request: Request, user: PortalUser) -> Any:
    platform = _platform(request)
    app = await logins.application(platform, user, request.path_params["clientId"])
    which: SecretRotation = await _json(request, SecretRotation)
    rotated = await applications.rotate_secret(platform, app.client_id, which.which)
    if which.which == "client":
        return {"clientId": rotated.client_id, "clientSecret": rotated.client_secret}
    return {"clientId": rotated.client_id, "eventClientSecret": rotated.event_client_secret}


async def _events(request: Request, user: PortalUser) -> Any:
    after = _number(request.query_params.get("after"), 10**18)
    return await logins.events(_platform(request), user, after)


async def _event_secrets(request: Request, user: PortalUser) -> Any:
    return await applications.event_secrets(_platform(request), user.partner_id)


async def _unknown(request: Request) -> Response:
    return _not_found(request, await _user(request), "There is no such page in the portal.")


def routes(platform: Platform) -> list[BaseRoute]:
    """The portal's routes with their full paths (the request log names the template)."""
    https = platform.settings.public_url.startswith("https://")
    headers = [Middleware(security.SecurityHeaders, https=https)]
    table: list[tuple[str, Callable[[Request], Awaitable[Response]], list[str]]] = [
        ("", root, ["GET"]),
        ("/", root, ["GET"]),
        ("/login", login_form, ["GET"]),
        ("/login", login, ["POST"]),
        ("/logout", page(_logout), ["POST"]),
        ("/password", page(_password), ["GET", "POST"]),
        ("/rest-api", page(_rest_api), ["GET"]),
        ("/applications/{clientId}", page(_application), ["GET"]),
        ("/sims", page(_sims), ["GET"]),
        ("/sims/{iccid}", page(_sim), ["GET"]),
        ("/actions", page(_actions), ["GET"]),
        ("/actions/{signupId}", page(_action), ["GET"]),
        ("/events", page(_events_page), ["GET"]),
        ("/api/events", call(_events), ["GET"]),
        ("/api/applications", call(_register, 201), ["POST"]),
        ("/api/applications/{clientId}", call(_status), ["GET"]),
        ("/api/applications/{clientId}", call(_delete), ["DELETE"]),
        ("/api/applications/{clientId}/rotate", call(_rotate), ["POST"]),
        ("/api/event-secrets", call(_event_secrets), ["POST"]),
    ]
    static = StaticFiles(directory=HERE / "static")
    return [
        *(
            Route(PREFIX + path, handler, methods=methods, middleware=headers)
            for path, handler, methods in table
        ),
        Mount(PREFIX + "/static", app=static, name="portal-static", middleware=headers),
        # Last: any other portal path is an HTML 404 with the portal's headers.
        Route(PREFIX + "/{rest:path}", _unknown, middleware=headers),
    ]
