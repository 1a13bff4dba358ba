"""The embedded database's WAL checkpoints run on their own thread, never in a COMMIT on
the event loop (the traffic generator's writes stalled requests 30-200 ms otherwise)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

from m2mportal.store.database import SqliteDatabase


def checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "sqlite-checkpoint"]


async def test_commits_leave_checkpoints_to_the_checkpointer(tmp_path: Path) -> None:
    before = len(checkpoint_threads())
    db = SqliteDatabase(f"sqlite:///{tmp_path / 'x.db'}")
    assert len(checkpoint_threads()) == before + 1
    assert await db.fetch_val("PRAGMA wal_autocheckpoint") == 0
    await db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, pad TEXT)")
    # About 3,000 pages of WAL: an automatic checkpoint would have run inside a COMMIT.
    for chunk in range(10):
        await db.execute_many(
            "INSERT INTO t (n, pad) VALUES (:n, :pad)",
            [{"n": chunk * 1000 + i, "pad": "x" * 1000} for i in range(1000)],
        )
    await db.close()
    assert len(checkpoint_threads()) == before
    # Closing checkpointed everything: the database file alone holds the rows.
    with sqlite3.connect(tmp_path / "x.db") as plain:
        busy, frames, done = plain.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert busy == 0 and frames == done
        assert plain.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 10_000


def wal_generation(db: Path) -> int:
    """The WAL header's checkpoint sequence number: one more each time the WAL starts over."""
    try:
        header = Path(f"{db}-wal").read_bytes()[:32]
    except FileNotFoundError:
        return -1
    return int.from_bytes(header[12:16], "big")


async def write(db: SqliteDatabase, path: Path, n: int) -> tuple[int, int]:
    """One write through the event loop's writer: the WAL generation before it and after its
    COMMIT, both read while this process's write lock is held."""
    seen: list[int] = []
    async with db.transaction():
        before = wal_generation(path)
        await db.execute("INSERT INTO t (n, pad) VALUES (:n, :pad)", {"n": n, "pad": "x" * 3000})
        db.on_commit(lambda: seen.append(wal_generation(path)))
    return before, seen[0]


async def test_the_wal_starts_over_in_the_checkpointer_never_in_a_commit(tmp_path: Path) -> None:
    # The first COMMIT after a complete checkpoint would start the WAL over and sync its
    # header on the event loop (2-15 ms on ext4); the checkpointer does it instead.
    path = tmp_path / "x.db"
    db = SqliteDatabase(f"sqlite:///{path}", checkpoint_interval=3600)
    await db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, pad TEXT)")
    n, sizes = 0, []
    for _ in range(5):
        for _ in range(20):
            before, after = await write(db, path, n := n + 1)
            assert after == before, "a COMMIT on the event loop started the WAL over"
        generation = wal_generation(path)
        await db.checkpoint()
        assert wal_generation(path) == generation + 1
        sizes.append(Path(f"{path}-wal").stat().st_size)
    # Started over each time, the WAL stays the size of one round of writes.
    assert max(sizes) < 1.5 * sizes[0]
    # A turn with nothing written since does nothing (an idle platform syncs nothing).
    generation = wal_generation(path)
    await db.checkpoint()
    assert wal_generation(path) == generation
    before, after = await write(db, path, n := n + 1)
    assert after == before
    await db.close()
    with sqlite3.connect(path) as plain:
        assert plain.execute("SELECT COUNT(*) FROM t").fetchone()[0] == n


async def test_writes_go_on_while_the_checkpointer_turns(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    db = SqliteDatabase(f"sqlite:///{path}", checkpoint_interval=3600)
    await db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, pad TEXT)")
    first = wal_generation(path)
    restarted_in_a_commit = []

    async def writes() -> None:
        for n in range(400):
            before, after = await write(db, path, n)
            if after != before:
                restarted_in_a_commit.append(n)
            await asyncio.sleep(0)

    async def turns() -> None:
        for _ in range(10):
            await db.checkpoint()

    await asyncio.gather(writes(), turns())
    assert restarted_in_a_commit == []
    assert wal_generation(path) > first
    await db.close()
    with sqlite3.connect(path) as plain:
        assert plain.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 400


def test_a_database_whose_loop_has_closed_still_checkpoints(tmp_path: Path) -> None:
    # Nobody can hold the write lock for the checkpointer any more: it copies the WAL and
    # returns at once instead of waiting for a grant that cannot come.
    path = tmp_path / "x.db"
    loop = asyncio.new_event_loop()

    async def opened() -> SqliteDatabase:
        db = SqliteDatabase(f"sqlite:///{path}", checkpoint_interval=3600)
        await db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, pad TEXT)")
        await db.execute("INSERT INTO t (n, pad) VALUES (1, 'x')")
        return db

    db = loop.run_until_complete(opened())
    loop.close()
    checkpointer = db._checkpointer
    assert checkpointer is not None
    started = time.monotonic()
    checkpointer.turn()
    assert time.monotonic() - started < 2
    with sqlite3.connect(path) as plain:
        busy, frames, copied = plain.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert busy == 0 and frames == copied > 0
    checkpointer.stop()
    assert not [t for t in checkpoint_threads() if t is checkpointer._thread]
