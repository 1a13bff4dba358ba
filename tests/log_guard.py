"""The log scan (a pytest plugin, loaded by tests/conftest.py): no secret, token or password
that the tests made reaches a log line.

Every log record of the session is also written, rendered as a deployment renders it
(m2mportal.logs, text format), to ``session.log`` in the session's temp folder. The
functions that make client and event secrets, portal passwords and access tokens are
wrapped to remember each value; when the session ends the file is scanned for each value
and for anything shaped like a JWT, and the run fails if one is found. Under pytest-xdist
every worker scans its own log and the controller fails the run.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from m2mportal import logs, vault
from m2mportal.iam.tokens import TokenIssuer

# Shorter values (ids, small numbers) would match by chance.
MIN_LENGTH = 8
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}")
SECRETS: set[str] = set()
_state: dict[str, Any] = {}
# Under pytest-xdist each worker scans its own log and hands its findings to the controller.
WORKER_KEY = "log_scan_problems"


def remember(value: object) -> None:
    if isinstance(value, str) and len(value) >= MIN_LENGTH:
        SECRETS.add(value)


def scan(path: Path, secrets: Iterable[str]) -> list[str]:
    """One problem per leaking line; the value itself is never repeated in the report.

    Each place of a line is looked up by its first MIN_LENGTH characters in a table of the
    secrets' beginnings: the time grows with the log, not with the number of secrets (one
    regular expression of thousands of alternatives took minutes over a 10 MB log). A
    JWT-shaped secret is left to the JWT pattern, which finds every one of them."""
    by_start: dict[str, list[str]] = {}
    for secret in sorted(set(secrets), key=len, reverse=True):
        if not JWT.match(secret):
            by_start.setdefault(secret[:MIN_LENGTH], []).append(secret)
    problems = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            hits = _secrets_in(line, by_start)
            what = "a secret, token or password the tests made" if hits else None
            jwt = JWT.search(line)
            if what is None and jwt:
                what = "a JWT"
            if what:
                for hit in hits:
                    line = line.replace(hit, "***")
                masked = JWT.sub("***", line)
                problems.append(f"{path}:{number}: {what}, here ***: {masked[:160].strip()}")
    return problems


def _secrets_in(line: str, by_start: dict[str, list[str]]) -> list[str]:
    if not by_start:
        return []
    get = by_start.get
    hits = []
    for at in range(len(line) - MIN_LENGTH + 1):
        candidates = get(line[at : at + MIN_LENGTH])
        if candidates:
            hits += [secret for secret in candidates if line.startswith(secret, at)]
    return hits


def _remember_result(original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        remember(result)
        return result

    return wrapper


def _remember_argument(original: Callable[..., Any], position: int) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if len(args) > position:
            remember(args[position])
        for value in kwargs.values():
            remember(value)
        return original(*args, **kwargs)

    return wrapper


def _wrap_everywhere(name: str, wrapped: Callable[..., Any]) -> None:
    """Replace ``vault.<name>`` and every copy a module took with ``from ... import``."""
    original = getattr(vault, name)
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("m2mportal") and (
            getattr(module, name, None) is original
        ):
            setattr(module, name, wrapped)


def _record_secrets() -> None:
    # Load every module that imports the minting functions by name before patching.
    import m2mportal.app
    import m2mportal.cli
    import m2mportal.demo  # noqa: F401

    _wrap_everywhere("new_secret", _remember_result(vault.new_secret))
    _wrap_everywhere("hash_password", _remember_argument(vault.hash_password, 0))
    # Whatever is encrypted at rest is a secret (client and event secrets, rotated ones).
    vault.Vault.encrypt = _remember_argument(vault.Vault.encrypt, 1)  # type: ignore[method-assign]
    TokenIssuer.issue = _remember_result(TokenIssuer.issue)  # type: ignore[method-assign]


def pytest_sessionstart(session: pytest.Session) -> None:
    logs.configure("info", "text")
    base: Path = session.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    path = base / "session.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    _state["path"] = path
    _state["handler"] = handler
    _state["remove"] = logs.add_handler(handler)
    _record_secrets()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist's controller: a worker's findings, sent in its ``workeroutput``."""
    found = getattr(node, "workeroutput", {}).get(WORKER_KEY, [])
    _state.setdefault("worker_problems", []).extend(found)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    handler: logging.Handler | None = _state.pop("handler", None)
    if handler is None:
        return
    _state.pop("remove")()
    handler.close()
    try:
        problems = scan(_state["path"], SECRETS)
    except OSError as exc:  # the temp folder was removed under us: nothing to scan
        problems = [f"log scan: cannot read {_state['path']}: {exc}"]
    worker_output = getattr(session.config, "workeroutput", None)
    if worker_output is not None:
        # An xdist worker's exit status is not the run's: the controller fails the run.
        worker_output[WORKER_KEY] = problems
        return
    problems += _state.pop("worker_problems", [])
    if not problems:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [
        f"log scan: {len(problems)} log line(s) hold a secret, token or password",
        *problems[:20],
    ]
    if reporter is not None:
        reporter.write_sep("=", "log scan failed", red=True)
        for line in lines:
            reporter.write_line(line)
    else:
        sys.stderr.write("\n".join(lines) + "\n")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
