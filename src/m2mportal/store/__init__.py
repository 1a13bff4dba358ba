"""Persistence: the schema, migrations, the Database interface and every SQL statement."""
