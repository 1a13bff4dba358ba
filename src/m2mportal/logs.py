"""Logging, configured once per process: one line per event, short tracebacks, no secret.

Every record, structlog's and the standard library's (uvicorn, asyncio, libraries), goes
through the root logger and one formatter, so the same rules hold for all of them:

- one line per record: readable ``key=value`` text, or JSON lines (``M2MP_LOG_FORMAT=json``);
- an exception becomes ``error="Type: message"`` and a ``traceback`` of the innermost
  frames as ``file:line in function``: no local variables, no source lines, bounded in
  size. Rendering a rich traceback with locals cost 300-620 ms and 74-90 KB per error
  and printed the token endpoint's form, client secret included;
- every value is redacted: keys that name a secret lose their value, and values that look
  like a bearer/Basic credential, a JWT, ``secret=...``, a URL's password or a long random
  string are replaced, whatever the key.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from m2mportal.config import Settings

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error", "critical")
REDACTED = "[redacted]"
# Innermost frames kept per exception, causes kept per chain, characters kept per value.
TRACEBACK_FRAMES = 8
CHAIN_LINKS = 2
MESSAGE_CHARS = 500
VALUE_CHARS = 2000
_HANDLER_NAME = "m2mportal"
_LOGGED_MARK = "_m2mportal_logged"
_EMITTED = "_m2mportal_emitted"

_SECRET_KEY = re.compile(
    r"secret|passw|pwd|token|authori[sz]ation|cookie|api[-_]?key|credential|bearer|private",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@/\s]+@")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{6,}(?:\.[A-Za-z0-9_-]*){0,2}")
_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=-]{4,}", re.IGNORECASE)
_SECRET_PAIR = re.compile(
    r"((?:client_secret|secret|password|passwd|pwd|access_token|refresh_token|id_token"
    r"|token|authorization|api_key|apikey)[\"']?\s*[:=]\s*b?)"
    r"(\"[^\"]*(?:\"|$)|'[^']*(?:'|$)|[^\s\"'&,;)}\]]+)",
    re.IGNORECASE,
)
# Runs of 32+ URL-safe base64 characters mixing upper and lower case and a digit or
# '-'/'_' are random credentials (client secrets, Fernet tokens); identifiers, hex digests
# and UUIDs are one case and stay readable.
_LONG_RANDOM = re.compile(r"(?<![A-Za-z0-9_+-])[A-Za-z0-9_+-]{32,}(?![A-Za-z0-9_+-])")

_configured = False


def redact_text(text: str, limit: int = VALUE_CHARS) -> str:
    """``text`` with every credential-looking part replaced, then cut to ``limit``
    characters (in that order: a cut must not leave half a secret unrecognised)."""
    text = text[: 20 * limit]
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + REDACTED + "@", text)
    text = _JWT.sub(REDACTED, text)
    text = _AUTH_SCHEME.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
    text = _SECRET_PAIR.sub(lambda m: m.group(1) + REDACTED, text)
    text = _LONG_RANDOM.sub(_random_run, text)
    if len(text) > limit:
        text = f"{text[:limit]}...[{len(text) - limit} more chars]"
    return text


def _random_run(match: re.Match[str]) -> str:
    run = match.group(0)
    mixed = (
        any(c.isupper() for c in run)
        and any(c.islower() for c in run)
        and any(c.isdigit() or c in "-_+" for c in run)
    )
    return REDACTED if mixed else run


def _redact_value(value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes | bytearray):
        return redact_text(bytes(value[: VALUE_CHARS + 1]).decode("latin-1"))
    if depth < 3 and isinstance(value, dict):
        return {
            str(k): REDACTED if _SECRET_KEY.search(str(k)) else _redact_value(v, depth + 1)
            for k, v in list(value.items())[:50]
        }
    if depth < 3 and isinstance(value, list | tuple):
        return [_redact_value(v, depth + 1) for v in list(value)[:50]]
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return redact_text(text)


# Fields the pipeline itself fills in (the exception's are redacted as they are made).
_OWN_FIELDS = frozenset({"timestamp", "level", "logger", "exc_info", "stack_info"})


class Known(str):
    """Text the platform made itself from what it knows (a route's path template, an id
    it issued): logged as it is. Anything a caller sent stays a plain ``str`` and is
    redacted. (The request log writes one line per request; redacting its own fields
    again cost about half of the line.)"""

    __slots__ = ()


def _redact_field(key: str, value: Any) -> Any:
    if key in _OWN_FIELDS or type(value) is Known:
        return value
    return REDACTED if _SECRET_KEY.search(key) else _redact_value(value)


def redact(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """A structlog processor: no secret in any key or value."""
    return {key: _redact_field(key, value) for key, value in event.items()}


def _short_path(path: str) -> str:
    return "/".join(path.replace("\\", "/").rsplit("/", 2)[-2:])


def _frames(tb: TracebackType | None, limit: int) -> str:
    """``file:line in function`` of the innermost frames: code names only, never a local
    variable or a source line (nothing is read from disk)."""
    found: deque[tuple[str, int, str]] = deque(maxlen=limit)
    while tb is not None:
        code = tb.tb_frame.f_code
        found.append((code.co_filename, tb.tb_lineno, code.co_name))
        tb = tb.tb_next
    return " > ".join(f"{_short_path(name)}:{line} in {fn}" for name, line, fn in found)


def describe(exc: BaseException) -> str:
    """``Type: message``, the message redacted and cut short."""
    try:
        message = str(exc)
    except Exception:
        message = "<unprintable>"
    message = redact_text(message, MESSAGE_CHARS)
    name = type(exc).__qualname__
    return f"{name}: {message}" if message else name


def short_traceback(exc: BaseException) -> str:
    """The innermost frames of ``exc``, then its causes', on one line."""
    text = _frames(exc.__traceback__, TRACEBACK_FRAMES)
    link: BaseException | None = exc
    for _ in range(CHAIN_LINKS):
        assert link is not None
        link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)
        if link is None:
            break
        text += f" | from {describe(link)} at {_frames(link.__traceback__, 1)}"
    return text


class Repeats:
    """Which errors were logged with their traceback lately, so a repeat can be logged
    without one.

    An error's kind is its type and its innermost frame (file and line): the same failure
    hit by every request of a retrying client, or by every request while the database is
    down. The first of a kind in ``window`` seconds is logged whole; the repeats in that
    window are numbered. Formatting and redacting a traceback is most of what an error line
    costs (about 150 us, more than a whole normal request), and a client repeating a failing
    request must not make every other tenant wait on it (issue 8). At most ``size`` kinds
    are kept; the oldest is forgotten first.
    """

    def __init__(self, window: float = 60.0, size: int = 256) -> None:
        self.window = window
        self.size = size
        self._kinds: dict[tuple[type, str, int], tuple[float, int]] = {}

    def count(self, exc: BaseException, now: float) -> int:
        """0 for an error to log whole, else how many of its kind this window has had."""
        tb = exc.__traceback__
        where: tuple[str, int] = ("", 0)
        while tb is not None:
            where = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
            tb = tb.tb_next
        kind = (type(exc), *where)
        first, repeats = self._kinds.pop(kind, (now, -1))
        if repeats < 0 or not first <= now < first + self.window:
            first, repeats = now, -1
        self._kinds[kind] = (first, repeats + 1)
        if len(self._kinds) > self.size:
            del self._kinds[next(iter(self._kinds))]
        return repeats + 1


def _exception_of(exc_info: Any) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        return exc_info[1]
    if exc_info:
        return sys.exc_info()[1]
    return None


def exception_fields(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """A structlog processor: ``exc_info`` becomes ``error`` and a short ``traceback``."""
    exc = _exception_of(event.pop("exc_info", None))
    event.pop("stack_info", None)
    if exc is not None:
        event["error"] = describe(exc)
        event["traceback"] = short_traceback(exc)
    return event


def _from_standard_library(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """In the formatter: structlog's records were made safe before they left structlog;
    records of other libraries get the same treatment here."""
    event.pop("_record", None)
    if event.pop("_from_structlog", False):
        return event
    return exception_fields(logger, method, redact(logger, method, event))


_LOGFMT = structlog.processors.LogfmtRenderer(bool_as_flag=False)


def _text(logger: WrappedLogger, method: str, event: EventDict) -> str:
    head = " ".join(str(event.pop(key, "")) for key in ("timestamp", "level", "logger")).replace(
        "\n", " "
    )
    message = str(event.pop("event", "")).strip().replace("\n", "\\n")
    rest = _LOGFMT(logger, method, event)
    return f"{head}: {message}" + (f" {rest}" if rest else "")


def _json(logger: WrappedLogger, method: str, event: EventDict) -> str:
    return json.dumps(event, default=str, ensure_ascii=False)


_TIMESTAMP = structlog.processors.TimeStamper(fmt="iso", utc=True)


class _Formatter(structlog.stdlib.ProcessorFormatter):
    """structlog's formatter, and a short way for the records emit() makes: their event is
    complete and safe already, so it is rendered as it is (structlog copies every record
    and runs the standard library's formatting on the line it rendered: a third of the
    cost of a request line)."""

    def __init__(self, render: Processor, **kwargs: Any) -> None:
        super().__init__(processors=[_from_standard_library, render], **kwargs)
        self.render = render

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, _EMITTED, False):
            return str(self.render(record._logger, record._name, dict(record.msg)))  # type: ignore[attr-defined, arg-type]
        return super().format(record)


def formatter(fmt: str = "text") -> logging.Formatter:
    """The one formatter of every handler: safe, one line per record."""
    return _Formatter(
        _json if fmt == "json" else _text,
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            _TIMESTAMP,
        ],
    )


class _Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (a CLI test runner swaps it)."""

    def __init__(self) -> None:
        super().__init__()
        self.name = _HANDLER_NAME

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


class _SkipAlreadyLogged(logging.Filter):
    """uvicorn logs again every exception Starlette re-raises after our error handler
    answered and logged it; one line per error is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not getattr(exc, _LOGGED_MARK, False)


def note_logged(exc: BaseException) -> None:
    """Mark ``exc`` as logged, so the server does not log it a second time."""
    with contextlib.suppress(AttributeError, TypeError):
        setattr(exc, _LOGGED_MARK, True)


def check(level: str, fmt: str) -> None:
    if level.lower() not in LEVELS:
        raise ValueError(f"M2MP_LOG_LEVEL: one of {', '.join(LEVELS)} (got {level!r})")
    if fmt.lower() not in FORMATS:
        raise ValueError(f"M2MP_LOG_FORMAT: one of {', '.join(FORMATS)} (got {fmt!r})")


def configure(level: str = "info", fmt: str = "text") -> None:
    """(Re)configure logging for this process: structlog through the standard library,
    one handler on the root logger writing to standard error."""
    global _configured
    check(level, fmt)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            _TIMESTAMP,
            redact,
            exception_fields,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a reconfiguration (tests, a second start) reaches module-level loggers.
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.name == _HANDLER_NAME]:
        root.removeHandler(old)
    handler = _Stderr()
    handler.setFormatter(formatter(fmt.lower()))
    root.addHandler(handler)
    root.setLevel(level.upper())
    # httpx logs every request's URL, query string included, at info.
    logging.getLogger("httpx").setLevel(max(root.level, logging.WARNING))
    # Alembic narrates every migration check at info: two lines on every CLI command.
    logging.getLogger("alembic").setLevel(max(root.level, logging.WARNING))
    server_errors = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _SkipAlreadyLogged) for f in server_errors.filters):
        server_errors.addFilter(_SkipAlreadyLogged())
    _configured = True


def emit(std: logging.Logger, level: int, event: str, **fields: Any) -> None:
    """What ``structlog.get_logger(std.name).info(event, **fields)`` (or another level)
    writes, for a caller on every request: the same record through the same handlers and
    formatter, without structlog's per-call work (a bound logger made per call, a walk up
    the stack for the caller). It applies configure()'s processors, in their order: the
    level filter, the context variables, level and logger name, the timestamp, redaction
    (exception fields: an emitted line carries none)."""
    if not std.isEnabledFor(level):
        return
    method = _METHOD_NAMES[level]
    event_dict: EventDict = {**fields, "event": event}
    for key, value in structlog.contextvars.get_contextvars().items():
        event_dict.setdefault(key, value)
    event_dict["level"] = method
    event_dict["logger"] = std.name
    event_dict = redact(std, method, _TIMESTAMP(std, method, event_dict))
    caller = sys._getframe(1)
    record = std.makeRecord(
        std.name,
        level,
        caller.f_code.co_filename,
        caller.f_lineno,
        event_dict,
        (),
        None,
        caller.f_code.co_name,
        # What ProcessorFormatter.wrap_for_formatter attaches.
        {"_logger": std, "_name": method, _EMITTED: True},
    )
    std.handle(record)


_METHOD_NAMES = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
    logging.CRITICAL: "critical",
}


def configure_once(settings: Settings | None = None) -> None:
    """Configure from the settings unless this process already configured logging."""
    if _configured:
        return
    settings = settings or Settings.from_env()
    configure(settings.log_level, settings.log_format)


def add_handler(handler: logging.Handler, fmt: str = "text") -> Callable[[], None]:
    """Another destination with the same safe rendering (tests capture the log with it);
    returns the function that removes it."""
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    root.addHandler(handler)
    return lambda: root.removeHandler(handler)
