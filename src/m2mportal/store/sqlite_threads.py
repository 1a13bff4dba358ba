"""SQLite in multi-thread mode: connections without a mutex, chosen before SQLite starts.

SQLite as Debian and most systems build it runs "serialized": every call on a connection
takes and gives back the connection's mutex, each column of each row read included (the
sqlite3 module makes two or three such calls per value). A page of the SIM list is 1,300
values: in serialized mode a fifth of reading it went to that mutex (perf, issue 15).

The platform never uses one connection from two threads at once, which is all SQLite's
multi-thread mode asks: the event loop alone uses the reader and the writer
(store/database.py), the checkpointer's connections are used under its own lock, and a
migration's connections live on the migration's thread. The mode is the process's and
must be chosen before SQLite initialises, which the sqlite3 module does when it is first
imported; ``m2mportal.store`` is imported before it on the server's way in (cli.py).

``choose`` loads the library the sqlite3 module is linked with (its extension's file,
loaded without running it) and asks for the mode. Where that cannot be done (sqlite3
already imported, the library built in or without this option, another platform), SQLite
stays serialized: correct, only slower. ``MODE`` says which it is.
"""

from __future__ import annotations

import ctypes
import importlib.util
import sys

SQLITE_CONFIG_MULTITHREAD = 2
SQLITE_OK = 0

MODE = "serialized"


def choose() -> str:
    """Multi-thread mode if SQLite has not started yet in this process; the mode in force."""
    global MODE
    if MODE == "multi-thread" or "_sqlite3" in sys.modules:
        return MODE
    try:
        spec = importlib.util.find_spec("_sqlite3")
        if spec is None or not spec.origin:
            return MODE
        config = ctypes.CDLL(spec.origin).sqlite3_config
    except (OSError, AttributeError, ImportError):
        return MODE
    if config(SQLITE_CONFIG_MULTITHREAD) == SQLITE_OK:
        MODE = "multi-thread"
    return MODE
