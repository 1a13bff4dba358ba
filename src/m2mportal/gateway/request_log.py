"""One log line per request, and the request id that ties it to the caller's report.

Each request logs, when its answer is complete (a stream: when it ends), at info:
``method``, ``path`` (the route's template, ``/partners/{partnerId}/sims/{iccid}``: never
the raw path, whose ids would make every line unique, nor the query string, which can
carry credentials), ``status``, ``duration_ms``, ``client_id`` and ``partner_id`` once the
caller is known (``note_caller``), and ``request_id``. Nothing of the request's headers,
form or body is written. The line goes through m2mportal.logs (redaction, text or JSON).

The request id comes from the caller's ``X-Request-ID`` when it is printable ASCII of at
most 128 characters, else it is made here; the answer carries it in ``X-Request-ID`` and
every log line of the request (a 500's included) in ``request_id``.

gateway/front.py calls begin() as a request comes in and write_line() once it is answered.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from starlette.types import Scope

from m2mportal.logs import Known, emit

HEADER = b"x-request-id"
MAX_ID_CHARS = 128
_ID_KEY = "m2mp.request_id"
_CALLER_KEY = "m2mp.caller"
# The log field every line of a request gets (structlog's context variables).
CONTEXT_FIELD = "request_id"

# Written through logs.emit: the same line as structlog's, at a third of the cost, and
# nothing at all below the log level (structlog still built its bound logger then).
log = logging.getLogger("m2mportal.request")
# What this module writes from its own knowledge is marked Known (not redacted again:
# redaction was half of a line's cost); a request id the caller sent is redacted.
_EVENT = Known("request")
_METHODS = {m: Known(m) for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")}
_NO_ROUTE = Known("(no route)")


class _RandomIds:
    """Request ids as ``uuid.uuid4().hex`` makes them, from ``os.urandom`` read 4 KiB at a
    time: uuid4 made a system call and a UUID object per request (3% of GET SIM details)."""

    def __init__(self) -> None:
        self._pool = ""
        self._at = 0
        # A forked child must not hand out the ids its parent holds.
        os.register_at_fork(after_in_child=self._drop)

    def _drop(self) -> None:
        self._pool, self._at = "", 0

    def new(self) -> str:
        if self._at >= len(self._pool):
            self._pool, self._at = os.urandom(4096).hex(), 0
        h = self._pool[self._at : self._at + 32]
        self._at += 32
        # The version (4) and variant (RFC 4122: 10xx) digits, as uuid.UUID(version=4) sets.
        return f"{h[:12]}4{h[13:16]}{_VARIANT[h[16]]}{h[17:]}"


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
_ids = _RandomIds()


def note_caller(scope: Scope, client_id: str | None, partner_id: int | None) -> None:
    """Who called, for the request's log line: call it once the token or secret was
    checked (the id is then one the platform issued)."""
    scope[_CALLER_KEY] = (None if client_id is None else Known(client_id), partner_id)


def request_id(scope: Scope) -> str | None:
    """The request's id (None outside gateway/front.py)."""
    value: str | None = scope.get(_ID_KEY)
    return value


def _accepted(raw: bytes) -> str | None:
    """The caller's id when it is 1-128 printable ASCII characters."""
    if not 0 < len(raw) <= MAX_ID_CHARS or not all(0x20 <= b < 0x7F for b in raw):
        return None
    return raw.decode("ascii")


def _incoming(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == HEADER:
            return _accepted(value)
    return None


def _path_template(scope: Scope) -> str:
    path = getattr(scope.get("route"), "path", None)
    # A path no route takes (none of the APIs' prefixes) is named as such, not written.
    return Known(path) if isinstance(path, str) else _NO_ROUTE


def _partner(scope: Scope, caller: tuple[str | None, int | None] | None) -> int | str | None:
    """The partner the call addressed (the path's partnerId), else the caller's."""
    addressed = scope.get("path_params", {}).get("partnerId")
    if isinstance(addressed, str) and addressed.isascii() and addressed.isdigit():
        return int(addressed) if len(addressed) <= 18 else addressed[:18]
    return caller[1] if caller else None


def begin(scope: Scope) -> str:
    """The request's id (the caller's, else a new one), kept in the scope."""
    rid: str = _incoming(scope) or Known(_ids.new())
    scope[_ID_KEY] = rid
    return rid


def write_line(scope: Scope, status: int, started: float, rid: str) -> None:
    """The request's line, once its answer is complete (nothing below ``info``)."""
    if not log.isEnabledFor(logging.INFO):
        return
    caller: Any = scope.get(_CALLER_KEY)
    method = scope["method"]
    emit(
        log,
        logging.INFO,
        _EVENT,
        method=_METHODS.get(method, method),
        path=_path_template(scope),
        status=status,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        client_id=caller[0] if caller else None,
        partner_id=_partner(scope, caller),
        request_id=rid,
    )
