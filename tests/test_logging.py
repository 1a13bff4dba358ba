"""Logging: an internal error costs about what a normal request costs and logs one short
line, and no secret, token or Authorization header reaches the log, whatever fails.

The failing routes exist only in these tests: they are added to an app built here."""

from __future__ import annotations

import base64
import gc
import io
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from m2mportal import logs, vault
from m2mportal.app import create_app
from m2mportal.iam import clients
from m2mportal.platform import Platform
from m2mportal.store import applications as app_store
from tests import log_guard
from tests.helpers import TOKEN_PATH, World, error_list

ROOT = Path(__file__).resolve().parent.parent
FAIL = "/test-only/fail"
FAIL_WITH_HEADERS = "/test-only/fail-with-headers"
LINE_LIMIT = 4096


@dataclass
class Captured:
    """What the process logged during a test, as a deployment writes it, and whatever
    else reached standard output or error (where an unconfigured structlog prints)."""

    stream: io.StringIO
    capsys: pytest.CaptureFixture[str]
    printed: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [line for line in self.stream.getvalue().splitlines() if line.strip()]

    def written(self) -> str:
        """What reached standard output and error: the process's own log handler's
        lines (and, unconfigured, structlog's)."""
        out = self.capsys.readouterr()
        self.printed.append(out.out + out.err)
        return "".join(self.printed)

    def everything(self) -> str:
        return self.stream.getvalue() + self.written()


@pytest.fixture
def logged(capsys: pytest.CaptureFixture[str]) -> Iterator[Captured]:
    stream = io.StringIO()
    remove = logs.add_handler(logging.StreamHandler(stream))
    try:
        yield Captured(stream, capsys)
    finally:
        remove()


async def _read_credentials(request: Request) -> dict[str, str]:
    form = dict(parse_qsl((await request.body()).decode()))
    form["authorization"] = request.headers.get("authorization", "")
    return form


RAISED: list[BaseException] = []


async def fail(request: Request) -> Response:
    # A local like the token endpoint's form: a traceback with locals would print it.
    credentials = await _read_credentials(request)  # noqa: F841
    error = RuntimeError("the test-only route failed")
    RAISED[:] = [error]
    raise error


async def fail_with_headers(request: Request) -> Response:
    credentials = await _read_credentials(request)
    # A careless message that quotes the request: redaction must still hold.
    raise RuntimeError(f"refused {dict(request.headers)} with {credentials}")


def failing_app(platform: Platform) -> Starlette:
    """The platform's app plus the failing routes."""
    app = create_app(platform, background=False)
    app.router.routes[:0] = [
        Route(FAIL, fail, methods=["GET", "POST"]),
        Route(FAIL_WITH_HEADERS, fail_with_headers, methods=["GET", "POST"]),
    ]
    return app


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``failing_app``; an error that reaches the server comes back as a 500
    (uvicorn's behaviour) instead of being raised here."""
    app = failing_app(platform)
    transport = httpx.ASGITransport(
        app=app, client=("198.51.100.10", 50000), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def tenant(platform: Platform, http: httpx.AsyncClient) -> World:
    return await World.start(platform, http)


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def test_internal_error_answers_the_error_body_and_logs_one_short_line(
    http: httpx.AsyncClient, logged: Captured
) -> None:
    secret = vault.new_secret()
    answer = await http.post(
        FAIL + "?lookup=query-string-marker",
        data={"client_id": "m2m-test", "client_secret": secret},
        headers={"Authorization": _basic("m2m-test", secret)},
    )
    error_list(answer, 500, "INTERNAL_SERVER_ERROR")
    assert secret not in answer.text

    text = logged.everything()
    assert len(text.encode()) < LINE_LIMIT, text[:2000]
    (line,) = [line for line in logged.lines() if "unhandled error" in line]
    assert "method=POST" in line and f"path={FAIL} " in line
    assert 'error="RuntimeError: the test-only route failed"' in line
    assert "in fail" in line and "traceback=" in line
    # No query string, no form, no header, no local variable, no multi-line traceback.
    for absent in ("query-string-marker", secret, "client_secret", "Basic", "form", "m2m-test"):
        assert absent not in text, absent
    assert "Traceback (most recent call last)" not in text


async def test_an_internal_error_costs_about_what_a_normal_request_costs(
    tenant: World, http: httpx.AsyncClient, logged: Captured
) -> None:
    partner = await tenant.partner()
    (sim,) = await tenant.synthetic_sims(partner, 1)
    headers = await tenant.headers_for(await tenant.app(partner))
    details = f"/partners/{partner}/sims/{sim['iccid']}"

    async def normal() -> None:
        assert (await tenant.api("GET", details, headers)).status_code == 200

    async def failing() -> None:
        assert (await http.get(FAIL, headers=headers)).status_code == 500

    for request in (normal, failing) * 3:  # warm-up
        await request()
    # Collected first: a worker process that ran hundreds of tests before this one holds
    # their garbage, and a full collection falling in one loop took 530 ms (an xdist run on
    # two CPUs), a cost of the process's past and not of an error's path.
    gc.collect()
    spent = {}
    for request in (normal, failing):
        started = time.perf_counter()
        for _ in range(20):
            await request()
        spent[request.__name__] = time.perf_counter() - started
    # Issue 8: 20 failing requests take under 5 times 20 normal ones (a rich traceback
    # with locals took 300-620 ms each, about 100 times a normal request).
    assert spent["failing"] < 5 * spent["normal"], spent
    assert len([line for line in logged.lines() if "unhandled error" in line]) == 23


async def test_a_repeated_error_is_logged_whole_once_a_minute_then_numbered(
    platform: Platform, http: httpx.AsyncClient, logged: Captured
) -> None:
    """Every failing request logs its line with its request id; the traceback is written
    for the first error of a kind (type and innermost frame) in a minute, the repeats are
    numbered instead (bench/errors.py: a client repeating a failing request)."""
    secret = vault.new_secret()
    for n in range(3):
        answer = await http.get(FAIL, headers={"X-Request-ID": f"fail-{n}"})
        error_list(answer, 500, "INTERNAL_SERVER_ERROR")
        answer = await http.post(FAIL_WITH_HEADERS, data={"client_secret": secret})
        error_list(answer, 500, "INTERNAL_SERVER_ERROR")
    platform.clock.advance(61)
    later = await http.get(FAIL, headers={"X-Request-ID": "fail-3"})
    error_list(later, 500, "INTERNAL_SERVER_ERROR")

    lines = [line for line in logged.lines() if "unhandled error" in line and FAIL + " " in line]
    assert len(lines) == 4, lines
    assert all(f"request_id=fail-{n}" in line for n, line in enumerate(lines)), lines
    assert all('error="RuntimeError: the test-only route failed"' in line for line in lines)
    whole, first, second, next_minute = lines
    assert "traceback=" in whole and "in fail" in whole and "repeat=" not in whole
    assert "repeat=1" in first and "traceback=" not in first
    assert "repeat=2" in second and "traceback=" not in second
    assert "traceback=" in next_minute and "repeat=" not in next_minute, next_minute
    quoting = [line for line in logged.lines() if FAIL_WITH_HEADERS in line and "error=" in line]
    assert len(quoting) == 3 and "repeat=2" in quoting[-1], quoting
    assert secret not in logged.everything()


@pytest.mark.parametrize("failure", ["database down", "message quotes the secret"])
@pytest.mark.parametrize("basic", [False, True], ids=["form", "basic"])
async def test_token_request_that_fails_inside_leaves_no_secret_in_the_log(
    tenant: World,
    http: httpx.AsyncClient,
    logged: Captured,
    monkeypatch: pytest.MonkeyPatch,
    failure: str,
    basic: bool,
) -> None:
    created = await tenant.app(await tenant.partner())
    client_id, secret = created["clientId"], created["clientSecret"]
    if failure == "database down":

        async def unreachable(*args: object) -> None:
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

        monkeypatch.setattr(app_store, "get", unreachable)
    else:

        def compare(given: str, expected: str) -> bool:
            raise ValueError(f"cannot compare {given!r} with {expected!r}")

        monkeypatch.setattr(clients, "same_secret", compare)
    form = {"grant_type": "client_credentials", "scope": "openid profile"}
    if basic:
        request = {"data": form, "headers": {"Authorization": _basic(client_id, secret)}}
    else:
        request = {"data": {**form, "client_id": client_id, "client_secret": secret}}

    for _ in range(2):
        answer = await http.post(TOKEN_PATH, **request)  # type: ignore[arg-type]
        assert answer.status_code >= 500, answer.text
        assert secret not in answer.text

    text = logged.everything()
    assert any("unhandled error" in line or "error=" in line for line in logged.lines()), text
    assert secret not in text
    assert _basic(client_id, secret).split()[1] not in text
    assert all(len(line.encode()) < LINE_LIMIT for line in logged.lines())


async def test_authorization_headers_and_tokens_never_reach_the_log(
    tenant: World, http: httpx.AsyncClient, logged: Captured
) -> None:
    created = await tenant.app(await tenant.partner())
    token = await tenant.token(created["clientId"], created["clientSecret"])
    for authorization in (f"Bearer {token}", _basic(created["clientId"], created["clientSecret"])):
        answer = await http.post(
            FAIL_WITH_HEADERS,
            data={"client_secret": created["clientSecret"], "password": "portal-pass-1"},
            headers={"Authorization": authorization},
        )
        error_list(answer, 500, "INTERNAL_SERVER_ERROR")
    # Library code logging a request's headers goes through the same redaction.
    library = logging.getLogger("some.library")
    library.warning("headers %s", [(b"authorization", f"Bearer {token}".encode())])
    library.warning("connecting to %s", "postgresql://m2m:pg-pass-123@127.0.0.1:5432/m2m")

    text = logged.everything()
    assert len([line for line in logged.lines() if "unhandled error" in line]) == 2
    for leak in (token, created["clientSecret"], "portal-pass-1", "pg-pass-123", "eyJ"):
        assert leak not in text, leak
    assert base64.b64encode(created["clientId"].encode()).decode()[:8] not in text


@pytest.fixture
def json_format() -> Iterator[None]:
    logs.configure("info", "json")
    try:
        yield
    finally:
        logs.configure("info", "text")  # what tests/log_guard.py set for the session


async def test_json_format_writes_one_json_object_per_line(
    json_format: None, http: httpx.AsyncClient, logged: Captured
) -> None:
    answer = await http.get(FAIL + "?q=1", headers={"Authorization": "Bearer abc.def.ghi"})
    assert answer.status_code == 500

    # What the process's own handler wrote to standard error.
    written = logged.written().splitlines()
    (record,) = [json.loads(ln) for ln in written if ln.startswith("{") and "unhandled" in ln]
    assert set(record) == {
        "event", "level", "logger", "timestamp", "method", "path", "error", "traceback",
        "request_id",  # the request's id (gateway/request_log.py), in every line it logs
    }  # fmt: skip
    assert record["level"] == "error" and record["path"] == FAIL and record["method"] == "GET"
    assert record["error"] == "RuntimeError: the test-only route failed"
    assert record["traceback"].endswith("in fail")


async def test_the_app_answers_an_error_itself_and_counts_it_in_the_metrics(
    platform: Platform, logged: Captured
) -> None:
    # This transport raises whatever reaches the server: Starlette alone re-raises every
    # error after answering it, and uvicorn then closes the connection.
    transport = httpx.ASGITransport(app=failing_app(platform), client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        error_list(await client.get(FAIL), 500, "INTERNAL_SERVER_ERROR")
        metrics = (await client.get("/metrics")).text
    assert 'm2mp_http_requests_total{method="GET",status="500"} 1.0' in metrics, metrics
    assert len([line for line in logged.lines() if "unhandled error" in line]) == 1


async def test_the_server_does_not_log_again_an_error_the_app_logged(
    http: httpx.AsyncClient, logged: Captured
) -> None:
    assert (await http.get(FAIL)).status_code == 500
    # Starlette re-raises after the error handler answered, and uvicorn logs what reaches
    # it, as here; an error that did not go through the handler is still logged.
    server = logging.getLogger("uvicorn.error")
    server.error("Exception in ASGI application", exc_info=RAISED[0])
    server.error("Exception in ASGI application", exc_info=ValueError("elsewhere"))
    written = logged.written()
    assert written.count("RuntimeError: the test-only route failed") == 1, written
    assert written.count("ValueError: elsewhere") == 1, written


def test_log_scan_finds_planted_secrets_and_jwts(tmp_path: Path) -> None:
    secret = vault.new_secret(8)
    log = tmp_path / "session.log"
    log.write_text(
        "2026-11-30T00:00:00Z info x: fine\n"
        f"2026-11-30T00:00:00Z info x: user typed {secret}\n"
        "2026-11-30T00:00:00Z info x: got eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln\n"
    )
    problems = log_guard.scan(log, {secret})
    assert [p.split(": ", 1)[0].rsplit(":", 1)[1] for p in problems] == ["2", "3"]
    assert not any(secret in p or "eyJ" in p for p in problems), problems
    clean = tmp_path / "clean.log"
    clean.write_text("2026-11-30T00:00:00Z info x: token=[redacted]\n")
    assert log_guard.scan(clean, {secret}) == []


LEAKING_TEST = """
import logging
from m2mportal import vault

def test_logs_what_a_user_typed():
    password = vault.new_secret(8)
    logging.getLogger("m2mportal.example").warning("login failed for password %s", password)
"""

CLEAN_TEST = """
import logging
from m2mportal import vault

def test_logs_nothing_secret():
    vault.new_secret(8)
    logging.getLogger("m2mportal.example").warning("login failed")
"""


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
@pytest.mark.parametrize(("source", "code"), [(LEAKING_TEST, 1), (CLEAN_TEST, 0)])
def test_log_scan_fails_a_run_whose_log_holds_a_secret(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    code: int,
    workers: tuple[str, ...],
) -> None:
    """Also when pytest-xdist runs the tests (`make unit`): a worker's exit status is not
    the run's, so the finding must reach the controller."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(test_example=source)
    result = pytester.runpytest_subprocess(
        "-p", "tests.log_guard", "-p", "no:cacheprovider", *workers
    )
    assert result.ret == code, result.stdout.str()
    scanned = "log scan failed" in result.stdout.str()
    assert scanned == (code == 1), result.stdout.str()
    assert "1 passed" in result.stdout.str()
