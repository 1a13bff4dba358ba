"""Persistence: the schema, migrations, the Database interface and every SQL statement."""

from m2mportal.store import sqlite_threads

sqlite_threads.choose()  # before anything imports sqlite3 (see the module)
