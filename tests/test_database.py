"""The embedded database's WAL checkpoints run on their own thread, never in a COMMIT on
the event loop (the traffic generator's writes stalled requests 30-200 ms otherwise)."""

from __future__ import annotations

import sqlite3
import threading
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
