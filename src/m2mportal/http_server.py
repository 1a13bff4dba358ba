"""The HTTP/1.1 protocol `m2mportal serve` runs: uvicorn's httptools protocol, each answer
sent in one write.

uvicorn writes an answer's head (status line and headers) and its body with two calls of
``transport.write``, so two ``send`` system calls, and on loopback or any socket with
TCP_NODELAY (uvloop sets it) two segments: a client waiting for the answer is woken for the
head, reads it, sleeps, and is woken again for the body. Measured under wrk at 50
connections, that second wake-up cost the server as much system time as the GET SIM
details' database read (docs/benchmarks.md, issue 15). Here the head waits for the rest of
the answer: what a connection writes from the moment its first write is held until the
event loop's next turn goes out as one write on that turn, so the body leaves right behind
its head. Nothing is held longer: a head with no body (HEAD, 204, 304) or a stream's event
goes out on the next turn whatever follows, and ``close`` sends what is held first.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _OneWriteTransport:
    """A transport that joins a connection's writes until the loop's next turn into one.

    The first write is held and a flush is scheduled for the loop's next turn; the writes
    after it join it. Every other call goes to the socket's transport.
    """

    __slots__ = ("_flush_scheduled", "_held", "_loop", "transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._flush_scheduled = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._held.append(bytes(data))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        held = self._held
        if not held:
            return
        data = held[0] if len(held) == 1 else b"".join(held)
        held.clear()
        if not self.transport.is_closing():
            self.transport.write(data)

    def writelines(self, lines: Any) -> None:
        self.write(b"".join(lines))

    def write_eof(self) -> None:
        self.flush()
        self.transport.write_eof()

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self.transport.pause_reading()

    def resume_reading(self) -> None:
        self.transport.resume_reading()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class OneWriteHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through ``_OneWriteTransport``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        joined = _OneWriteTransport(transport, self.loop)
        super().connection_made(joined)  # type: ignore[arg-type]


def server_config(app: Any, host: str, port: int, log_level: str) -> uvicorn.Config:
    """How `m2mportal serve` (and the tests' real server) runs the app under uvicorn."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        # Client addresses come from the socket; X-Forwarded-For is read only from
        # configured trusted proxies (gateway/client_address.py), never by uvicorn.
        proxy_headers=False,
        access_log=False,
        # Logging is configured (m2mportal.logs); uvicorn's own handlers would print
        # multi-line tracebacks past its redaction.
        log_config=None,
        log_level=log_level,
        lifespan="on",
        http=OneWriteHttpProtocol,
    )
