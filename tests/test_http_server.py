"""The HTTP protocol `m2mportal serve` runs (m2mportal/http_server.py): an answer leaves in
one write, nothing is held past the event loop's turn, and a close sends what is held.

The protocol is fed raw HTTP/1.1 bytes through a transport that records every write, as
uvloop's socket transport would receive them; tests/e2e run the whole platform on it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Receive, Scope, Send
from uvicorn.server import ServerState

from m2mportal.http_server import OneWriteHttpProtocol, server_config


class RecordingTransport(asyncio.Transport):
    """What reaches the socket: each write as one entry, and whether it was closed."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def json_app(scope: Scope, receive: Receive, send: Send) -> None:
    body = b'{"iccid":"89490200000000005020"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def connect(app: Any) -> tuple[OneWriteHttpProtocol, RecordingTransport]:
    config = server_config(app, "127.0.0.1", 8000, "warning")
    config.lifespan = "off"
    protocol = OneWriteHttpProtocol(config, ServerState(), {}, asyncio.get_running_loop())
    transport = RecordingTransport()
    protocol.connection_made(transport)
    return protocol, transport


async def turns(count: int = 5) -> None:
    """Let the event loop run the request's task and what it scheduled."""
    for _ in range(count):
        await asyncio.sleep(0)


async def test_an_answer_leaves_in_one_write_head_first() -> None:
    protocol, transport = connect(json_app)
    protocol.data_received(b"GET /sims HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await turns()
    assert len(transport.writes) == 1, transport.writes
    head, _, body = transport.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-length: 32" in head
    assert body == b'{"iccid":"89490200000000005020"}'
    assert not transport.closed


async def test_each_answer_on_a_kept_alive_connection_is_its_own_write() -> None:
    protocol, transport = connect(json_app)
    for _ in range(3):
        protocol.data_received(b"GET /sims HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await turns()
    assert len(transport.writes) == 3
    assert all(w.startswith(b"HTTP/1.1 200 OK") for w in transport.writes)
    assert all(w.endswith(b'"89490200000000005020"}') for w in transport.writes)


async def test_connection_close_sends_the_answer_before_closing() -> None:
    protocol, transport = connect(json_app)
    protocol.data_received(b"GET /sims HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    await turns()
    assert transport.closed
    assert len(transport.writes) == 1
    assert transport.writes[0].endswith(b'"89490200000000005020"}')


async def test_a_head_without_body_is_not_held() -> None:
    async def no_content(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    protocol, transport = connect(no_content)
    protocol.data_received(b"DELETE /sims/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await turns()
    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 204 No Content\r\n")


async def test_a_stream_sends_each_event_without_waiting_for_the_next() -> None:
    """An event stream's head and first event go out while the stream stays open: held
    writes wait for the loop's next turn, never for the answer's end."""
    release = asyncio.Event()

    async def stream(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
        await release.wait()
        await send({"type": "http.response.body", "body": b"data: 2\n\n", "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    protocol, transport = connect(stream)
    protocol.data_received(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await turns()
    sent = b"".join(transport.writes)
    assert sent.startswith(b"HTTP/1.1 200 OK\r\n")
    assert sent.endswith(b"data: 1\n\n\r\n")  # chunked: the first event, whole
    assert b"data: 2" not in sent
    release.set()
    await turns()
    sent = b"".join(transport.writes)
    assert b"data: 2\n\n" in sent
    assert sent.endswith(b"0\r\n\r\n")


async def test_what_is_held_when_the_connection_is_lost_is_dropped() -> None:
    protocol, transport = connect(json_app)
    protocol.data_received(b"GET /sims HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    # The task runs and writes; the peer goes away before the loop's next turn.
    await asyncio.sleep(0)
    transport.closed = True
    protocol.connection_lost(None)
    await turns()
    assert transport.writes == []
