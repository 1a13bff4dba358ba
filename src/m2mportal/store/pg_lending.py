"""PostgreSQL connections lent to one statement or one transaction at a time.

asyncpg's pool hands a connection out through a proxy and takes it back in a task of its
own (``asyncio.shield``) under a timeout scope, with a reset: on this 2-CPU machine the
acquire and release around one SIM details read cost more than the read's round trip,
and GET SIM details on PostgreSQL answered 40% more requests a second without them
(docs/benchmarks.md, issue 15).

Here a connection taken from asyncpg's pool stays with the lender while it is healthy:
lending it is taking it from a list, and giving it back is putting it back, or handing it
to the first caller waiting. asyncpg's pool still makes the connections (at most
``size``) and still takes back any connection that saw an error or a cancellation, or was
closed: it waits for a cancelled query to end, rolls back, and closes a broken connection
(a new one is made on the next loan).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from asyncpg import InterfaceError


def _usable(conn: Any) -> bool:
    try:
        return not conn.is_closed()
    except InterfaceError:
        # The server closed it while it was idle here, and asyncpg's pool took it back
        # (the proxy held here is then detached).
        return False


class Lender:
    def __init__(self, pool: Any, size: int) -> None:
        self._pool = pool
        self._size = size
        self._idle: list[Any] = []
        # Callers waiting for a connection: each future gets a connection, or None when one
        # went back to the pool (the caller then borrows again, from the pool if need be).
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._taken = 0  # connections taken from the pool and not given back to it
        self._closing = False

    async def borrow(self) -> Any:
        """A connection for the caller alone until it calls ``give_back`` or ``discard``."""
        while True:
            while self._idle:
                conn = self._idle.pop()
                if _usable(conn):
                    return conn
                await self._return_to_pool(conn)
            if self._taken < self._size:
                self._taken += 1
                try:
                    return await self._pool.acquire()
                except BaseException:
                    self._taken -= 1
                    self._wake_one(None)
                    raise
            waiting = asyncio.get_running_loop().create_future()
            self._waiting.append(waiting)
            try:
                conn = await waiting
            except asyncio.CancelledError:
                if waiting in self._waiting:
                    self._waiting.remove(waiting)
                elif waiting.done() and not waiting.cancelled():
                    # Handed over as the caller was cancelled: to the next one instead.
                    handed = waiting.result()
                    if handed is None:
                        self._wake_one(None)
                    else:
                        self.give_back(handed)
                raise
            if conn is not None:
                return conn

    def give_back(self, conn: Any) -> None:
        """The connection after a statement or a transaction that ended without error."""
        if self._closing or not _usable(conn) or conn.is_in_transaction():
            asyncio.get_running_loop().create_task(self._return_to_pool(conn))
            return
        if not self._wake_one(conn):
            self._idle.append(conn)

    async def discard(self, conn: Any) -> None:
        """The connection after an error or a cancellation: asyncpg's pool takes it back."""
        await self._return_to_pool(conn)

    async def close(self) -> None:
        """Every idle connection back to the pool (the pool's close waits for all)."""
        self._closing = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await self._return_to_pool(conn)

    async def _return_to_pool(self, conn: Any) -> None:
        """Back to asyncpg's pool; a proxy the pool already took back (its connection
        closed while idle here) is accepted by ``release`` as a no-op."""
        self._taken -= 1
        try:
            await self._pool.release(conn)
        except Exception:
            # A reset that failed: asyncpg has closed the connection and frees its place
            # itself. Raising would replace the caller's own error (or its cancellation).
            pass
        finally:
            self._wake_one(None)

    def _wake_one(self, conn: Any) -> bool:
        while self._waiting:
            waiting = self._waiting.popleft()
            if not waiting.done():
                waiting.set_result(conn)
                return True
        return False
