"""PostgreSQL connections lent by the database itself (store/pg_lending.py): reused while
healthy, never more than the pool's size, and never lost to an error, a cancellation, a
waiter that gave up or a connection the server closed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import pytest

from m2mportal.store.database import PostgresDatabase
from m2mportal.store.pg_lending import Lender


@pytest.fixture
async def db(pg_database: str) -> AsyncIterator[PostgresDatabase]:
    database = await PostgresDatabase.connect(pg_database, min_size=1, max_size=2)
    try:
        yield database
    finally:
        await asyncio.wait_for(database.close(), 10)


async def _backend(db: PostgresDatabase) -> int:
    return int(await db.fetch_val("SELECT pg_backend_pid()"))


@pytest.mark.postgres
async def test_a_statement_after_another_gets_the_same_connection(db: PostgresDatabase) -> None:
    first = await _backend(db)
    assert [await _backend(db) for _ in range(5)] == [first] * 5
    async with db.transaction():
        assert await _backend(db) == first
    assert await _backend(db) == first


@pytest.mark.postgres
async def test_callers_beyond_the_size_wait_their_turn(db: PostgresDatabase) -> None:
    """Six sleeping statements on two connections: all answer, on two backends only."""
    pids = await asyncio.gather(
        *(db.fetch_val("SELECT pg_backend_pid() FROM pg_sleep(0.05)") for _ in range(6))
    )
    assert len(pids) == 6 and len(set(pids)) <= 2


@pytest.mark.postgres
async def test_a_cancelled_statement_leaves_every_connection_usable(db: PostgresDatabase) -> None:
    slow = asyncio.create_task(db.fetch_val("SELECT pg_sleep(30)"))
    await asyncio.sleep(0.2)  # the statement is running on the server
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert await _two_at_once(db)  # none was lost with the cancelled statement


async def _two_at_once(db: PostgresDatabase) -> bool:
    """Whether two statements run on two connections at the same time (none was lost)."""
    both = asyncio.gather(*(_sleepy_pid(db) for _ in range(2)))
    pids = await asyncio.wait_for(both, 10)
    lender = db._lender
    assert len(set(pids)) == 2, (pids, lender._taken, len(lender._idle), len(lender._waiting))
    return True


async def _sleepy_pid(db: PostgresDatabase) -> int:
    return int(await db.fetch_val("SELECT pg_backend_pid() FROM pg_sleep(0.2)"))


@pytest.mark.postgres
async def test_an_error_rolls_the_transaction_back_and_the_connection_serves_on(
    db: PostgresDatabase,
) -> None:
    await db.execute("CREATE TABLE IF NOT EXISTS lending_probe (n int)")
    try:
        with pytest.raises(asyncpg.PostgresError):
            async with db.transaction():
                await db.execute("INSERT INTO lending_probe VALUES (1)")
                await db.execute("SELECT no_such_column FROM lending_probe")
        with pytest.raises(asyncpg.PostgresSyntaxError):
            await db.fetch_val("SELEC 1")
        assert await db.fetch_val("SELECT count(*) FROM lending_probe") == 0
    finally:
        await db.execute("DROP TABLE lending_probe")


@pytest.mark.postgres
async def test_a_caller_that_gives_up_waiting_takes_no_connection_with_it(
    db: PostgresDatabase,
) -> None:
    holders = [asyncio.create_task(_sleepy_pid(db)) for _ in range(2)]
    await asyncio.sleep(0.05)  # both connections are lent out
    gave_up = asyncio.create_task(db.fetch_val("SELECT 1"))
    await asyncio.sleep(0.01)
    gave_up.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await gave_up
    await asyncio.gather(*holders)
    assert await _two_at_once(db)


@pytest.mark.postgres
async def test_a_connection_the_server_closed_is_replaced(
    db: PostgresDatabase, pg_database: str
) -> None:
    victim = await _backend(db)
    admin = await asyncpg.connect(pg_database)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", victim)
    finally:
        await admin.close()
    # The first statement may meet the closed connection, and fails as asyncpg has it
    # fail (the server's FATAL read, or the connection found closed); the connection is
    # replaced, not kept.
    with contextlib.suppress(
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        asyncpg.exceptions.InternalClientError,
        OSError,
    ):
        await _backend(db)
    assert await _backend(db) != victim
    assert await _two_at_once(db)


class _Conn:
    def is_closed(self) -> bool:
        return False

    def is_in_transaction(self) -> bool:
        return False


class _Pool:
    """asyncpg's pool as the lender uses it: it makes connections and takes them back."""

    def __init__(self) -> None:
        self.made: list[_Conn] = []
        self.released: list[_Conn] = []

    async def acquire(self) -> _Conn:
        self.made.append(_Conn())
        return self.made[-1]

    async def release(self, conn: _Conn) -> None:
        self.released.append(conn)


async def test_a_connection_handed_to_a_caller_cancelled_meanwhile_goes_to_the_next() -> None:
    pool = _Pool()
    lender = Lender(pool, size=1)
    only = await lender.borrow()
    waiter = asyncio.create_task(lender.borrow())
    await asyncio.sleep(0)  # the waiter waits: the one connection is lent
    assert not waiter.done()
    lender.give_back(only)  # handed to the waiter...
    waiter.cancel()  # ...which is cancelled before it runs again
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert await asyncio.wait_for(lender.borrow(), 1) is only
    assert len(pool.made) == 1 and pool.released == []


async def test_a_caller_cancelled_while_waiting_leaves_the_queue() -> None:
    lender = Lender(_Pool(), size=1)
    only = await lender.borrow()
    gave_up = asyncio.create_task(lender.borrow())
    await asyncio.sleep(0)
    gave_up.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gave_up
    lender.give_back(only)
    assert await asyncio.wait_for(lender.borrow(), 1) is only


class _FailingReleasePool(_Pool):
    async def release(self, conn: _Conn) -> None:
        raise RuntimeError("reset failed: asyncpg closed the connection")


async def test_a_release_that_fails_neither_raises_nor_loses_the_place() -> None:
    pool = _FailingReleasePool()
    lender = Lender(pool, size=1)
    broken = await lender.borrow()
    await lender.discard(broken)  # the caller's own error is what it raises, not this
    assert await asyncio.wait_for(lender.borrow(), 1) is not broken
    assert len(pool.made) == 2
