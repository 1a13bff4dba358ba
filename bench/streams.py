"""Event-stream benchmark: 2,000 open streams on one server process, commit-to-client latency.

Budget (DESIGN.md "Performance budgets"): 2,000 open streams on one process; event latency
p99 under 100 ms. Also reported: the server's memory per open stream.

What it does, all on 127.0.0.1 and in a fresh temp folder (or a fresh PostgreSQL database):

1. registers one partner with ``--streams`` applications, each subscribed to
   ``simaction.v1`` only (so one test event reaches every stream), and an operator client,
   with the services directly (``M2MP_PROVISIONING_SECONDS=0``: they are Active at once);
2. starts ``m2mportal serve`` as a child process (one process, uvloop + httptools), waits
   for ``/healthz`` and takes every application's event token from the token endpoint;
3. reads the server's RSS (``VmRSS``), opens every stream (``GET /events/v1/sse/{id}``, the
   default line format) from ``--clients`` client processes that speak HTTP/1.1 by hand
   (one ``asyncio.Protocol`` per connection, chunked decoding, no HTTP library), and reads
   the RSS again: the difference over the number of streams is the memory per stream;
4. publishes ``--events`` test events through the operator API
   (``POST /operator/v1/events/test``, type ``simaction.v1``) ``--interval`` seconds apart:
   on SQLite only the server process can wake its streams at once, so the commit happens
   there. Each client stamps every line with ``time.time()`` when its bytes arrive;
5. reports, over every (stream, event) pair, p50/p99/max of the latency from the commit
   to the line's arrival (the commit is taken as the earlier of "publish answered" and
   "first line arrived": the server commits, wakes the streams, answers, then writes to
   the streams), from "publish request sent" (which adds the publish transaction that
   writes the event and its 2,000 deliveries), and from the event's ``time`` field
   (stamped before that transaction, millisecond precision); the server's and the
   clients' CPU time; and checks that no delivery was left ``PROCESSED``.

    .venv/bin/python bench/streams.py
    .venv/bin/python bench/streams.py --db postgresql --pg-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import cast

import msgspec
from common import cli_command, close_scratch, free_port, open_scratch, percentile

TOKEN_PATH = "/auth/realms/m2m/protocol/openid-connect/token"
TEST_EVENT_PATH = "/operator/v1/events/test"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
LATENCY_BUDGET_MS = 100.0
CONFIRM_WAIT_S = 1.5


# --- client process -------------------------------------------------------------------------


class _Line(msgspec.Struct):
    id: str
    time: str


class WorkerSpec(msgspec.Struct):
    port: int
    streams: list[tuple[str, str]]  # (subscription id, event token)
    expected: int  # events per stream; the worker ends when every stream has them
    open_concurrency: int
    result: str


class WorkerResult(msgspec.Struct):
    opened: int
    failures: list[str]
    received: dict[str, list[float]]  # event id -> arrival times (time.time())
    event_times: dict[str, str]  # event id -> its "time" field
    duplicates: int
    cpu_seconds: float  # the worker's CPU time from the first event to the end
    wall_seconds: float


@dataclass
class Recorder:
    streams: int
    expected: int
    received: dict[str, list[float]] = field(default_factory=dict)
    event_times: dict[str, str] = field(default_factory=dict)
    complete: int = 0
    duplicates: int = 0
    first_cpu: float | None = None
    first_wall: float | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class StreamClient(asyncio.Protocol):
    """One stream: a hand-written GET, then chunked transfer decoding into lines."""

    _decode = msgspec.json.Decoder(_Line).decode

    def __init__(self, request: bytes, recorder: Recorder, opened: asyncio.Future[None]) -> None:
        self._request = request
        self._recorder = recorder
        self._opened = opened
        self._head = bytearray()
        self._buffer = bytearray()
        self._body = bytearray()
        self._chunked = False
        self._chunk_left = 0
        self._seen: set[str] = set()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if not self._opened.done():
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._head[:end]).decode("latin-1")
            rest = bytes(self._head[end + 4 :])
            status = head.split("\r\n", 1)[0]
            if " 200 " not in status + " ":
                self._opened.set_exception(RuntimeError(f"{status}: {rest[:300]!r}"))
                return
            self._chunked = "transfer-encoding: chunked" in head.lower()
            self._opened.set_result(None)
            data = rest
        if self._chunked:
            self._dechunk(data)
        else:
            self._body += data
        self._lines(now)

    def _dechunk(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        pos = 0
        while pos < len(buffer):
            if self._chunk_left == 0:
                end = buffer.find(b"\r\n", pos)
                if end < 0:
                    break
                size = bytes(buffer[pos:end]).split(b";", 1)[0].strip()
                pos = end + 2
                if not size:  # the CRLF that closes a chunk
                    continue
                self._chunk_left = int(size, 16)
                if self._chunk_left == 0:
                    break
            take = min(self._chunk_left, len(buffer) - pos)
            self._body += buffer[pos : pos + take]
            pos += take
            self._chunk_left -= take
        del buffer[:pos]

    def _lines(self, now: float) -> None:
        body = self._body
        end = body.rfind(b"\n")
        if end < 0:
            return
        complete = bytes(body[:end])
        del body[: end + 1]
        recorder = self._recorder
        if recorder.first_cpu is None:
            recorder.first_cpu = time.process_time()
            recorder.first_wall = time.perf_counter()
        for line in complete.split(b"\n"):
            if not line.strip():
                continue
            event = self._decode(line)
            if event.id in self._seen:
                recorder.duplicates += 1
                continue
            self._seen.add(event.id)
            recorder.received.setdefault(event.id, []).append(now)
            recorder.event_times.setdefault(event.id, event.time)
            if len(self._seen) == recorder.expected:
                recorder.complete += 1
                if recorder.complete == recorder.streams:
                    recorder.done.set()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._opened.done():
            self._opened.set_exception(RuntimeError(f"connection lost: {exc}"))


async def _worker(spec: WorkerSpec) -> None:
    loop = asyncio.get_running_loop()
    recorder = Recorder(len(spec.streams), spec.expected)
    gate = asyncio.Semaphore(spec.open_concurrency)
    failures: list[str] = []
    clients: list[StreamClient] = []
    host = f"127.0.0.1:{spec.port}"

    async def open_one(subscription_id: str, token: str) -> None:
        request = (
            f"GET /events/v1/sse/{subscription_id} HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: application/stream+json\r\n\r\n"
        ).encode()
        async with gate:
            opened: asyncio.Future[None] = loop.create_future()
            try:
                _, client = await loop.create_connection(
                    lambda: StreamClient(request, recorder, opened), "127.0.0.1", spec.port
                )
                clients.append(client)
                await asyncio.wait_for(opened, 30)
            except Exception as exc:  # any failure is reported, not raised
                failures.append(f"{subscription_id}: {type(exc).__name__}: {exc}")

    await asyncio.gather(*(open_one(sub, token) for sub, token in spec.streams))
    opened_count = len(spec.streams) - len(failures)
    for failure in failures[:5]:
        print(failure, file=sys.stderr, flush=True)
    print(f"open {opened_count} {len(failures)}", flush=True)

    stop = asyncio.Event()
    loop.add_reader(sys.stdin.fileno(), stop.set)  # a line (or EOF) from the parent stops us
    waits = [asyncio.ensure_future(recorder.done.wait()), asyncio.ensure_future(stop.wait())]
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in waits:
        task.cancel()
    loop.remove_reader(sys.stdin.fileno())
    cpu = time.process_time() - (recorder.first_cpu or time.process_time())
    wall = time.perf_counter() - (recorder.first_wall or time.perf_counter())
    # The server confirms a delivery once the connection outlived the write by
    # M2MP_SSE_CONFIRM_SECONDS (1 s): hanging up sooner leaves the last event PROCESSED.
    await asyncio.sleep(CONFIRM_WAIT_S)
    for client in clients:
        if client.transport is not None:
            client.transport.close()
    result = WorkerResult(
        opened=opened_count,
        failures=failures[:20],
        received=recorder.received,
        event_times=recorder.event_times,
        duplicates=recorder.duplicates,
        cpu_seconds=cpu,
        wall_seconds=wall,
    )
    Path(spec.result).write_bytes(msgspec.json.encode(result))
    print("done", flush=True)


def worker_main(spec_path: str) -> None:
    spec = msgspec.json.decode(Path(spec_path).read_bytes(), type=WorkerSpec)
    _raise_fd_limit(len(spec.streams) + 256)
    try:
        import uvloop

        uvloop.run(_worker(spec))
    except ImportError:
        asyncio.run(_worker(spec))


# --- parent: setup ----------------------------------------------------------------------------


@dataclass
class Setup:
    partner_id: int
    operator: tuple[str, str]
    event_clients: list[tuple[str, str, list[str]]]  # (event client id, secret, subscriptions)


def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < needed:
        raise SystemExit(f"need {needed} file descriptors; the hard limit is {hard}")


async def prepare(env: dict[str, str], streams: int) -> Setup:
    from m2mportal.config import Settings
    from m2mportal.models import NewApplication
    from m2mportal.platform import open_platform
    from m2mportal.services import applications, partners

    settings = Settings.from_env(env)
    platform = await open_platform(settings)
    try:
        partner_id = await partners.create(
            platform.db, platform.tree, platform.clock, "Bench Streams", None
        )
        clients: list[tuple[str, str, list[str]]] = []
        for index in range(streams):
            # One subscription each, to simaction.v1: every test event goes to every stream.
            spec = NewApplication(name=f"bench stream app {index}", event_types=["simaction.v1"])
            creds = await applications.register(platform, partner_id, spec)
            assert creds.event_client_id and creds.event_client_secret
            subs = [sub.subscription_id for sub in creds.subscriptions]
            clients.append((creds.event_client_id, creds.event_client_secret, subs))
        operator = await applications.create_operator_client(platform, "bench operator")
        return Setup(partner_id, (operator.client_id, operator.client_secret), clients)
    finally:
        await platform.close()


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_healthy(base: str, server: subprocess.Popen[bytes], timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base, timeout=2.0) as http:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise SystemExit(f"the server exited with {server.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise SystemExit(f"the server did not answer /healthz within {timeout:.0f} s")


async def fetch_tokens(base: str, setup: Setup, limit: int) -> tuple[list[tuple[str, str]], str]:
    """Every (subscription, event token) pair, and the operator's REST token."""
    import httpx

    gate = asyncio.Semaphore(limit)
    pairs: list[tuple[str, str]] = []
    limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
    async with httpx.AsyncClient(base_url=base, timeout=30.0, limits=limits) as http:

        async def token(client_id: str, secret: str) -> str:
            async with gate:
                answer = await http.post(
                    TOKEN_PATH,
                    data={
                        "grant_type": "client_credentials",
                        "client_id": client_id,
                        "client_secret": secret,
                    },
                )
            if answer.status_code != 200:
                raise SystemExit(f"token for {client_id}: {answer.status_code} {answer.text}")
            access: str = answer.json()["access_token"]
            return access

        tokens = await asyncio.gather(*(token(c, s) for c, s, _ in setup.event_clients))
        for (_, _, subs), access in zip(setup.event_clients, tokens, strict=True):
            pairs.extend((sub, access) for sub in subs)
        operator = await token(*setup.operator)
    return pairs, operator


# --- parent: measuring -----------------------------------------------------------------------


@dataclass
class Published:
    event_id: str
    sent: float
    acked: float


class Worker:
    """A client process and its line-based conversation with the parent."""

    def __init__(self, spec: WorkerSpec, folder: Path, index: int) -> None:
        spec_path = folder / f"worker-{index}.json"
        spec_path.write_bytes(msgspec.json.encode(spec))
        self.result_path = Path(spec.result)
        self.log_path = folder / f"worker-{index}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, __file__, "--client-worker", str(spec_path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
            )

    async def line(self, timeout: float) -> str:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(asyncio.to_thread(self.process.stdout.readline), timeout)
        if not raw:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise SystemExit(f"client process exited with {self.process.wait()}:\n{tail}")
        return raw.decode().strip()

    def stop(self) -> None:
        assert self.process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.write(b"stop\n")
            self.process.stdin.flush()

    def result(self) -> WorkerResult:
        return msgspec.json.decode(self.result_path.read_bytes(), type=WorkerResult)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _summary(name: str, values: list[float]) -> str:
    return (
        f"  {name:<34} p50 {percentile(values, 0.5):7.1f} ms  p99 {percentile(values, 0.99):7.1f}"
        f" ms  max {max(values):7.1f} ms"
    )


async def measure(args: argparse.Namespace, env: dict[str, str], folder: Path) -> int:
    import httpx

    setup = await prepare(env, args.streams)
    subs = sum(len(s) for _, _, s in setup.event_clients)
    print(f"partner {setup.partner_id}: {len(setup.event_clients)} applications, {subs} subs")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        [*cli_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    workers: list[Worker] = []
    verdict = 1
    try:
        await wait_healthy(base, server, 60)
        started = time.perf_counter()
        pairs, operator_token = await fetch_tokens(base, setup, 32)
        print(f"{len(pairs)} event tokens in {time.perf_counter() - started:.1f} s")

        rss_before = _rss_mib(server.pid)
        started = time.perf_counter()
        for index in range(args.clients):
            share = pairs[index :: args.clients]
            spec = WorkerSpec(
                port=port,
                streams=share,
                expected=args.events,
                open_concurrency=args.open_concurrency,
                result=str(folder / f"result-{index}.json"),
            )
            workers.append(Worker(spec, folder, index))
        opened = 0
        for worker in workers:
            words = (await worker.line(180)).split()
            opened += int(words[1])
            if int(words[2]):
                print(f"  a client process failed to open {words[2]} streams:")
                print(worker.log_path.read_text(errors="replace")[-1500:])
        open_s = time.perf_counter() - started
        await asyncio.sleep(2.0)  # let the just-opened streams settle into their wait
        rss_open = _rss_mib(server.pid)
        per_stream_kib = (rss_open - rss_before) * 1024 / max(1, opened)
        print(
            f"{opened} streams open in {open_s:.1f} s ({args.clients} client process(es));"
            f" server RSS {rss_before:.1f} MiB -> {rss_open:.1f} MiB:"
            f" {per_stream_kib:.1f} KiB per stream"
        )
        cpu_idle = _cpu_seconds(server.pid)
        await asyncio.sleep(args.idle)
        idle_share = (_cpu_seconds(server.pid) - cpu_idle) / args.idle
        print(f"server CPU with {opened} idle streams: {idle_share:.0%} of one core")

        profiler = None
        if args.py_spy:
            py_spy = Path(sys.executable).with_name("py-spy")
            if not py_spy.exists():
                raise SystemExit(f"--py-spy: no {py_spy} (pip install py-spy)")
            profiler = subprocess.Popen(
                [
                    *(str(py_spy), "record", "--format", "raw"),
                    *("--pid", str(server.pid), "--output", args.py_spy, "--rate", "500"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            await asyncio.sleep(1.0)
        published: list[Published] = []
        cpu_before = _cpu_seconds(server.pid)
        phase_started = time.perf_counter()
        headers = {"Authorization": f"Bearer {operator_token}"}
        body = {"partnerId": setup.partner_id, "type": "simaction.v1"}
        async with httpx.AsyncClient(base_url=base, timeout=30.0) as http:
            for index in range(args.events):
                slot = phase_started + index * args.interval
                await asyncio.sleep(max(0.0, slot - time.perf_counter()))
                sent = time.time()
                answer = await http.post(TEST_EVENT_PATH, json=body, headers=headers)
                acked = time.time()
                if answer.status_code not in (200, 201):
                    raise SystemExit(f"test event: {answer.status_code} {answer.text}")
                published.append(Published(answer.json()["id"], sent, acked))
        for worker in workers:
            with contextlib.suppress(TimeoutError):
                while (await worker.line(args.drain)) != "done":
                    pass
            worker.stop()
        cpu_events = _cpu_seconds(server.pid) - cpu_before
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=30)
        phase_s = time.perf_counter() - phase_started
        rss_events = _rss_mib(server.pid)
        for worker in workers:
            if worker.process.wait(timeout=30) != 0:
                raise SystemExit("a client process failed")
        results = [worker.result() for worker in workers]
        verdict = report(args, published, results, opened)
        # With events closer than M2MP_SSE_POLL_SECONDS (1 s), no stream polls here.
        per_event_ms = cpu_events / max(1, args.events) * 1000
        print(
            f"server CPU during the event phase: {cpu_events:.2f} s in {phase_s:.1f} s,"
            f" {per_event_ms:.0f} ms per event; RSS after the events {rss_events:.1f} MiB"
        )
        client_cpu = sum(r.cpu_seconds for r in results)
        client_wall = max(r.wall_seconds for r in results)
        print(f"client CPU from the first event on: {client_cpu:.1f} s in {client_wall:.1f} s")
    finally:
        for worker in workers:
            worker.kill()
        stop_server(server)
        log.close()
    undelivered = await _undelivered(env["M2MP_DATABASE_URL"])
    print(f"deliveries still PROCESSED after the run: {undelivered}")
    if undelivered:
        verdict = 1
    return verdict


def report(
    args: argparse.Namespace,
    published: list[Published],
    results: list[WorkerResult],
    opened: int,
) -> int:
    """Latencies over every (stream, event) pair; the budget is judged from the commit.

    The server commits, wakes the streams, answers the publish request, and only then
    writes to the streams: the earlier of "answer received" and "first line received"
    is at most a few milliseconds after the commit (waking 2,000 streams). The publish
    request itself writes the event and its 2,000 deliveries before that commit."""
    from_commit: list[float] = []
    from_send: list[float] = []
    from_time: list[float] = []
    first_arrival: list[float] = []
    last_arrival: list[float] = []
    missing = 0
    duplicates = sum(r.duplicates for r in results)
    for event in published:
        arrivals = [t for r in results for t in r.received.get(event.event_id, [])]
        missing += opened - len(arrivals)
        if not arrivals:
            continue
        stamp = next(
            _stamp(r.event_times[event.event_id])
            for r in results
            if event.event_id in r.event_times
        )
        committed = min(event.acked, min(arrivals))
        from_commit += [(t - committed) * 1000 for t in arrivals]
        from_send += [(t - event.sent) * 1000 for t in arrivals]
        from_time += [(t - stamp) * 1000 for t in arrivals]
        first_arrival.append((min(arrivals) - event.sent) * 1000)
        last_arrival.append((max(arrivals) - event.sent) * 1000)
    acks = [(e.acked - e.sent) * 1000 for e in published]
    print(
        f"{len(published)} events x {opened} streams = {len(from_send)} lines received"
        f" ({missing} missing, {duplicates} duplicates)"
    )
    if not from_send:
        print("no event reached a stream")
        return 1
    print(_summary("commit (publish answered) -> line", from_commit))
    print(_summary("publish request sent -> line", from_send))
    print(_summary('event "time" field -> line', from_time))
    print(_summary("publish request -> 200 answer", acks))
    print(_summary("publish request -> first stream", first_arrival))
    print(_summary("publish request -> last stream", last_arrival))
    ok = not missing and not duplicates
    for name, values in (("commit", from_commit), ("publish request", from_send)):
        p99 = percentile(values, 0.99)
        verdict = "ok" if p99 < LATENCY_BUDGET_MS and ok else "MISSED"
        print(
            f"budget: p99 under {LATENCY_BUDGET_MS:.0f} ms from {name} to client with"
            f" {opened} streams: {verdict} (p99 {p99:.1f} ms)"
        )
    return 0 if ok and percentile(from_commit, 0.99) < LATENCY_BUDGET_MS else 1


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


async def _undelivered(url: str) -> int:
    from m2mportal.store.database import connect

    db = await connect(url)
    try:
        count = await db.fetch_val(
            "SELECT COUNT(*) FROM event_deliveries WHERE status = 'PROCESSED'"
        )
        return int(count)
    finally:
        await db.close()


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--client-worker":
        worker_main(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="an admin connection URL")
    parser.add_argument("--streams", type=int, default=2000, help="open streams")
    parser.add_argument("--events", type=int, default=20, help="test events to publish")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between events")
    parser.add_argument("--clients", type=int, default=1, help="client processes")
    parser.add_argument("--open-concurrency", type=int, default=100)
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of idle CPU sampling")
    parser.add_argument("--drain", type=float, default=60.0, help="seconds to wait for lines")
    parser.add_argument(
        "--py-spy", metavar="FILE", help="profile the server in the event phase (collapsed stacks)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temp folder (and the PostgreSQL database)"
    )
    args = parser.parse_args()
    _raise_fd_limit(args.streams + 512)

    from cryptography.fernet import Fernet

    folder, url = open_scratch(args.db, args.pg_url, "m2mp-bench-streams-")
    env = {
        **os.environ,
        "M2MP_DATABASE_URL": url,
        "M2MP_SECRET_KEY": Fernet.generate_key().decode(),
        "M2MP_PROVISIONING_SECONDS": "0",
        "M2MP_SSE_LIFETIME_SECONDS": "600",
        "M2MP_LOG_LEVEL": "warning",
    }
    for name in ("M2MP_PUBLIC_URL", "M2MP_IDP_ISSUER", "M2MP_TRUSTED_PROXIES"):
        env.pop(name, None)
    print(
        f"stream benchmark: {args.streams} streams, {args.events} events {args.interval} s"
        f" apart, on {args.db} ({url}), folder {folder}"
    )
    verdict = 1
    try:
        verdict = asyncio.run(measure(args, env, folder))
    finally:
        close_scratch(folder, url, args.pg_url, args.keep)
    sys.exit(verdict)


if __name__ == "__main__":
    main()
