"""One small Database interface with two drivers: sqlite3 inline and asyncpg.

SQL is written once with ``:name`` placeholders and a dict of parameters. sqlite3 takes
that form as it is; for asyncpg it is rewritten to ``$1..$n`` once per statement and cached.
Rows come back as mappings (``row["iccid"]``) from both drivers.

SQLite runs inline on the event loop: a read costs 10-45 us, far less than a thread
hand-off (~120 us). Two connections keep readers from seeing a writer's open transaction:
reads use the reader, writes and transactions the writer, one at a time under a lock.
WAL checkpoints run on a thread of their own (``Checkpointer``), never inside a COMMIT on
the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import re
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any, Protocol, cast

Row = Mapping[str, Any]
Params = Mapping[str, Any] | None

_PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")


class Database(Protocol):
    dialect: str
    query_count: int

    async def fetch_one(self, sql: str, params: Params = None) -> Row | None: ...
    async def fetch_all(self, sql: str, params: Params = None) -> list[Row]: ...
    async def fetch_values(self, sql: str, params: Params = None) -> list[Sequence[Any]]: ...
    async def fetch_val(self, sql: str, params: Params = None) -> Any: ...
    async def execute(self, sql: str, params: Params = None) -> int: ...
    async def execute_many(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None: ...
    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None: ...
    def transaction(self) -> Any: ...
    def on_commit(self, callback: Callable[[], None]) -> None: ...
    async def listen(self, channel: str, callback: Callable[[str], None]) -> None: ...
    def in_list(self, column: str, param: str) -> str: ...
    def list_param(self, values: Sequence[Any]) -> Any: ...
    async def close(self) -> None: ...


def sqlite_path(url: str) -> str:
    path = url.removeprefix("sqlite:///")
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return path


def _connect_sqlite(path: str, writer: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA cache_size=-65536")
    # Copying the WAL into the database is the checkpointer's job: left automatic, it runs
    # inside whichever COMMIT crosses 1,000 pages, and held the event loop for 30-200 ms
    # under the traffic generator's writes (bench/generator.py).
    conn.execute("PRAGMA wal_autocheckpoint=0")
    if writer:
        # A statement that fires a trigger (sims.list_entry, migration 0009) keeps a
        # statement journal; in a temporary file that cost 8 us a SIM inserted in a
        # transaction, in memory 2 us. Only writes keep one, and a statement's journal
        # holds the pages that statement changed.
        conn.execute("PRAGMA temp_store=MEMORY")
    return conn


def _values_cursor(conn: sqlite3.Connection) -> sqlite3.Cursor:
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor


class Checkpointer:
    """Checkpoints the WAL every ``interval`` seconds from its own thread and connections.

    Two syncs would otherwise land on the event loop, 2-15 ms each on ext4: an automatic
    checkpoint inside a COMMIT (off: ``wal_autocheckpoint=0``), and the sync of the WAL
    header by the first COMMIT after a complete checkpoint, which starts the WAL over
    (bench/generator.py: the API's p99 under the traffic generator was 1.46-1.68 times its
    figure without; 1.02 since the WAL starts over here instead, as follows).

    1. A read transaction on ``guard`` holds a place in the WAL; while it does, no writer
       can start the WAL over. A PASSIVE checkpoint copies the WAL up to that place: the
       bulk of the work, the database file's sync included, with the event loop writing on.
    2. Then, while the event loop holds the database's write lock for it (its writers wait
       without blocking the loop), the guard lets go, a second checkpoint copies the few
       frames written since, and a one-page write (``user_version`` set to its own value)
       starts the WAL over and syncs its header. That write leaves a frame not yet copied,
       so the event loop's next COMMIT finds the WAL in use and appends to it.

    A turn in which nobody else wrote (``data_version`` unchanged) does nothing: an idle
    platform syncs nothing. PASSIVE checkpoints never wait for readers or writers; sqlite3
    releases the GIL while one runs. Several processes over one file may each run one; a
    checkpoint that finds another under way simply does less (another process's COMMIT
    may still start the WAL over: the write lock is this process's).
    """

    def __init__(
        self,
        path: str,
        write_lock: asyncio.Lock | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        interval: float = 1.0,
    ) -> None:
        self._interval = interval
        self._write_lock = write_lock
        self._loop = loop
        self._conn = self._connect(path)
        self._guard = self._connect(path)
        self._quiet_at: int | None = None
        self._turn = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    @staticmethod
    def _connect(path: str) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=1000")
        return conn

    def _run(self) -> None:
        try:
            while not self._stop.wait(self._interval):
                self.turn()
            with self._turn:
                self.checkpoint(self._conn)
        finally:
            self._guard.close()
            self._conn.close()

    def turn(self) -> None:
        """One checkpoint, and the WAL started over if the event loop can be asked to wait."""
        with self._turn, contextlib.suppress(sqlite3.Error):
            if self._conn.execute("PRAGMA data_version").fetchone()[0] == self._quiet_at:
                return
            try:
                self._guard.execute("BEGIN")
                self._guard.execute("SELECT 1 FROM sqlite_schema LIMIT 1").fetchall()
                frames = self.checkpoint(self._conn)[1]
                if frames > 0 and self._loop is not None and self._write_lock is not None:
                    self._while_writers_wait(self._start_over)
            finally:
                if self._guard.in_transaction:
                    self._guard.execute("COMMIT")

    def _start_over(self) -> None:
        self._guard.execute("COMMIT")
        busy, frames, copied = self.checkpoint(self._conn)
        if busy == 0 and frames == copied:
            version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(f"PRAGMA user_version={version}")
            finally:
                self._conn.execute("COMMIT")
            self._quiet_at = self._conn.execute("PRAGMA data_version").fetchone()[0]

    def _while_writers_wait(self, work: Callable[[], None]) -> None:
        """Run ``work`` on this thread while the event loop holds the write lock for it."""
        assert self._loop is not None and self._write_lock is not None
        loop, lock = self._loop, self._write_lock
        granted = threading.Event()
        released: list[asyncio.Future[None]] = []
        holders: list[asyncio.Task[None]] = []

        async def hold() -> None:
            async with lock:
                released.append(loop.create_future())
                granted.set()
                await released[0]

        def start() -> None:  # the task is made on the loop: never left un-awaited
            holders.append(loop.create_task(hold()))

        def give_up() -> None:  # runs after start() (the loop runs callbacks in order)
            for task in holders:
                task.cancel()

        try:
            loop.call_soon_threadsafe(start)
        except RuntimeError:  # the loop has closed: nobody writes from it any more
            return
        # A loop that stopped without closing the database never grants: give up after 5 s
        # (the event loop's writers then start the WAL over themselves, as SQLite does).
        for _ in range(100):
            if granted.wait(0.05) or self._stop.is_set():
                break
        if not granted.is_set():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(give_up)
            return
        try:
            work()
        finally:
            with contextlib.suppress(RuntimeError):  # closed meanwhile: nothing to release
                loop.call_soon_threadsafe(_release, released[0])

    @staticmethod
    def checkpoint(conn: sqlite3.Connection) -> tuple[int, int, int]:
        """PASSIVE checkpoint: (busy, frames in the WAL, frames copied)."""
        # A busy file or a vanished folder (a test's temporary one) only skips a turn.
        with contextlib.suppress(sqlite3.Error):
            busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            return int(busy), int(frames), int(copied)
        return 1, -1, -1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _release(waiting: asyncio.Future[None]) -> None:
    if not waiting.done():
        waiting.set_result(None)


def _sqlite_insert(
    table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> tuple[str, list[Sequence[Any]]]:
    """The INSERT for a batch, a column that is NULL in every row written as a literal.

    sqlite3 binds None through its adapter look-up, ~0.4 us a value, and a SIM row from an
    import has about ten columns that are empty in every row: 3.5 of the ~20 us a row costs.
    """
    rows = rows if isinstance(rows, list) else list(rows)
    null: set[int] = set()
    if rows:
        null = {
            i
            for i, value in enumerate(rows[0])
            if value is None and all(r[i] is None for r in rows)
        }
    values = ", ".join("NULL" if i in null else "?" for i in range(len(columns)))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"
    if null:
        keep = [i for i in range(len(columns)) if i not in null]
        if len(keep) > 1:
            rows = list(map(itemgetter(*keep), rows))
        else:
            rows = [tuple(row[i] for i in keep) for row in rows]
    return sql, rows


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class SqliteDatabase:
    dialect = "sqlite"

    def __init__(self, url: str, checkpoint_interval: float = 1.0) -> None:
        path = sqlite_path(url)
        self.path = path
        self._reader = _connect_sqlite(path)
        self._writer = _connect_sqlite(path, writer=True)
        # A cursor per connection answering plain tuples, kept: making one per read was a
        # fortieth of a GET SIM details. Safe to share: a read runs and is fetched whole
        # with no await in between.
        self._reader_values = _values_cursor(self._reader)
        self._writer_values = _values_cursor(self._writer)
        self._write_lock = asyncio.Lock()
        self._checkpointer = (
            Checkpointer(path, self._write_lock, _running_loop(), checkpoint_interval)
            if path != ":memory:"
            else None
        )
        self._in_tx: contextvars.ContextVar[bool] = contextvars.ContextVar(
            f"sqlite_tx_{id(self)}", default=False
        )
        self._after: contextvars.ContextVar[list[Callable[[], None]] | None] = (
            contextvars.ContextVar(f"sqlite_after_{id(self)}", default=None)
        )
        self.query_count = 0

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the current transaction commits (at once outside one)."""
        pending = self._after.get()
        if pending is None:
            callback()
        else:
            pending.append(callback)

    def _conn(self) -> sqlite3.Connection:
        return self._writer if self._in_tx.get() else self._reader

    async def fetch_one(self, sql: str, params: Params = None) -> Row | None:
        self.query_count += 1
        row: Row | None = self._conn().execute(sql, params or {}).fetchone()
        return row

    async def fetch_all(self, sql: str, params: Params = None) -> list[Row]:
        self.query_count += 1
        return self._conn().execute(sql, params or {}).fetchall()

    async def fetch_values(self, sql: str, params: Params = None) -> list[Sequence[Any]]:
        """Rows as plain tuples, read by position: a page of the SIM list is 1,300 values,
        and a sqlite3.Row per row costs a twentieth of reading them."""
        self.query_count += 1
        cursor = self._writer_values if self._in_tx.get() else self._reader_values
        return cursor.execute(sql, params or {}).fetchall()

    async def fetch_val(self, sql: str, params: Params = None) -> Any:
        self.query_count += 1
        row = self._conn().execute(sql, params or {}).fetchone()
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params = None) -> int:
        self.query_count += 1
        if self._in_tx.get():
            return self._writer.execute(sql, params or {}).rowcount
        async with self._write_lock:
            return self._writer.execute(sql, params or {}).rowcount

    async def execute_many(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        self.query_count += 1
        if self._in_tx.get():
            self._writer.executemany(sql, rows)
            return
        async with self.transaction():
            self._writer.executemany(sql, rows)

    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        sql, rows = _sqlite_insert(table, columns, rows)
        if self._in_tx.get():
            self._writer.executemany(sql, rows)
            return
        async with self.transaction():
            self._writer.executemany(sql, rows)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        if self._in_tx.get():
            yield
            return
        after: list[Callable[[], None]] = []
        async with self._write_lock:
            token = self._in_tx.set(True)
            after_token = self._after.set(after)
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            else:
                self._writer.execute("COMMIT")
            finally:
                self._in_tx.reset(token)
                self._after.reset(after_token)
        for callback in after:
            callback()

    async def listen(self, channel: str, callback: Callable[[str], None]) -> None:
        """Nothing to listen to: an embedded database has one process."""

    def in_list(self, column: str, param: str) -> str:
        return f"{column} IN (SELECT value FROM json_each(:{param}))"

    def list_param(self, values: Sequence[Any]) -> Any:
        return json.dumps(list(values))

    async def checkpoint(self) -> None:
        """One checkpointer turn now, off the event loop (it turns every second anyway).

        Not from inside a transaction: the turn waits for the write lock (5 s at most).
        """
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.turn)

    async def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self._reader.close()
        self._writer.close()


async def _keep_session(conn: Any) -> None:
    """The pool's reset: nothing to undo (see PostgresDatabase.connect)."""


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, pool: Any, dsn: str = "", size: int = 20) -> None:
        from m2mportal.store.pg_lending import Lender  # imports asyncpg, as connect() does

        self._pool = pool
        self._lender = Lender(pool, size)
        self._dsn = dsn
        self._listeners: list[Any] = []
        self._conn_var: contextvars.ContextVar[Any] = contextvars.ContextVar(
            f"pg_conn_{id(self)}", default=None
        )
        self._compiled: dict[str, tuple[str, tuple[str, ...]]] = {}
        self._after: contextvars.ContextVar[list[Callable[[], None]] | None] = (
            contextvars.ContextVar(f"pg_after_{id(self)}", default=None)
        )
        self.query_count = 0

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the current transaction commits (at once outside one)."""
        pending = self._after.get()
        if pending is None:
            callback()
        else:
            pending.append(callback)

    @classmethod
    async def connect(cls, url: str, min_size: int = 2, max_size: int = 20) -> PostgresDatabase:
        import asyncpg

        pool = await asyncpg.create_pool(
            dsn=url.replace("postgresql+asyncpg://", "postgresql://"),
            min_size=min_size,
            max_size=max_size,
            # No RESET ALL on release: it costs a round trip per request and we set no
            # session state (SET LOCAL only, which ends with its transaction). reset=None
            # is not that: asyncpg then runs its default reset (advisory unlocks, CLOSE
            # ALL, UNLISTEN, RESET ALL), a third of a pooled query's time. An open
            # transaction is still rolled back before the connection goes back.
            reset=_keep_session,
        )
        return cls(pool, url.replace("postgresql+asyncpg://", "postgresql://"), max_size)

    def _compile(self, sql: str) -> tuple[str, tuple[str, ...]]:
        hit = self._compiled.get(sql)
        if hit is None:
            names: list[str] = []

            def number(match: re.Match[str]) -> str:
                name = match.group(1)
                if name not in names:
                    names.append(name)
                return f"${names.index(name) + 1}"

            hit = (_PLACEHOLDER.sub(number, sql), tuple(names))
            self._compiled[sql] = hit
        return hit

    def _args(self, names: tuple[str, ...], params: Params) -> list[Any]:
        params = params or {}
        return [params[name] for name in names]

    async def _run(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """The connection's ``method`` on the transaction's connection, else on a lent one
        (store/pg_lending.py)."""
        conn = self._conn_var.get()
        if conn is not None:
            return await getattr(conn, method)(*args, **kwargs)
        conn = await self._lender.borrow()
        try:
            result = await getattr(conn, method)(*args, **kwargs)
        except BaseException:
            await self._lender.discard(conn)
            raise
        self._lender.give_back(conn)
        return result

    async def fetch_one(self, sql: str, params: Params = None) -> Row | None:
        self.query_count += 1
        text, names = self._compile(sql)
        row: Row | None = await self._run("fetchrow", text, *self._args(names, params))
        return row

    async def fetch_all(self, sql: str, params: Params = None) -> list[Row]:
        self.query_count += 1
        text, names = self._compile(sql)
        rows: list[Row] = await self._run("fetch", text, *self._args(names, params))
        return rows

    async def fetch_values(self, sql: str, params: Params = None) -> list[Sequence[Any]]:
        # asyncpg's Record is already read by position as cheaply as a tuple.
        return cast("list[Sequence[Any]]", await self.fetch_all(sql, params))

    async def fetch_val(self, sql: str, params: Params = None) -> Any:
        self.query_count += 1
        text, names = self._compile(sql)
        return await self._run("fetchval", text, *self._args(names, params))

    async def execute(self, sql: str, params: Params = None) -> int:
        self.query_count += 1
        text, names = self._compile(sql)
        status: str = await self._run("execute", text, *self._args(names, params))
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def execute_many(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        self.query_count += 1
        text, names = self._compile(sql)
        await self._run("executemany", text, [self._args(names, row) for row in rows])

    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        await self._run("copy_records_to_table", table, records=list(rows), columns=list(columns))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        if self._conn_var.get() is not None:
            yield
            return
        after: list[Callable[[], None]] = []
        conn = await self._lender.borrow()
        try:
            async with conn.transaction():
                token = self._conn_var.set(conn)
                after_token = self._after.set(after)
                try:
                    yield
                finally:
                    self._conn_var.reset(token)
                    self._after.reset(after_token)
        except BaseException:
            await self._lender.discard(conn)
            raise
        self._lender.give_back(conn)
        for callback in after:
            callback()

    async def listen(self, channel: str, callback: Callable[[str], None]) -> None:
        """LISTEN on a connection of its own (pooled ones are shared and reset)."""
        import asyncpg

        conn = await asyncpg.connect(self._dsn)
        await conn.add_listener(channel, lambda _c, _pid, _chan, payload: callback(payload))
        self._listeners.append(conn)

    def in_list(self, column: str, param: str) -> str:
        return f"{column} = ANY(:{param})"

    def list_param(self, values: Sequence[Any]) -> Any:
        return list(values)

    async def close(self) -> None:
        for conn in self._listeners:
            await conn.close()
        await self._lender.close()
        await self._pool.close()


async def connect(url: str) -> Database:
    if url.startswith("sqlite"):
        return SqliteDatabase(url)
    if url.startswith("postgres"):
        return await PostgresDatabase.connect(url)
    raise ValueError(f"unsupported database URL scheme: {url.split(':', 1)[0]}")
