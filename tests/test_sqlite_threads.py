"""SQLite runs in multi-thread mode when m2mportal.store starts it (store/sqlite_threads.py).

Each case runs in a fresh interpreter: the mode is the process's, chosen once."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.python_implementation() != "CPython", reason="reads sqlite3's connection struct"
)

# Whether a sqlite3 connection has a mutex (sqlite3_db_mutex), read through the library
# the sqlite3 module is linked with. A CPython connection object holds its `sqlite3 *`
# right after the object header; sqlite3_db_filename proves the pointer is one.
_PROBE = """
import ctypes, importlib.util, sys
if sys.argv[1] == "store-first":
    import m2mportal.store
import sqlite3
from m2mportal.store import sqlite_threads
conn = sqlite3.connect(":memory:")
db = ctypes.c_void_p.from_address(id(conn) + object.__basicsize__).value
lib = ctypes.CDLL(importlib.util.find_spec("_sqlite3").origin)
lib.sqlite3_db_filename.restype = ctypes.c_char_p
lib.sqlite3_db_filename.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
lib.sqlite3_db_mutex.restype = ctypes.c_void_p
lib.sqlite3_db_mutex.argtypes = [ctypes.c_void_p]
assert lib.sqlite3_db_filename(db, b"main") is not None
conn.execute("CREATE TABLE t (a)")
conn.execute("INSERT INTO t VALUES (1)")
assert conn.execute("SELECT a FROM t").fetchall() == [(1,)]
print(sqlite_threads.MODE, "mutex" if lib.sqlite3_db_mutex(db) else "no-mutex")
"""


def _probe(order: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, order], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_connections_have_no_mutex_when_the_store_starts_sqlite() -> None:
    assert _probe("store-first") == "multi-thread no-mutex"


def test_sqlite_started_by_someone_else_stays_serialized() -> None:
    assert _probe("sqlite-first") == "serialized mutex"
