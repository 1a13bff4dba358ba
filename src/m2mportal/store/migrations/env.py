"""Alembic environment: the same migrations for SQLite (sync) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from m2mportal.store.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


def run() -> None:
    url = config.get_main_option("sqlalchemy.url") or ""
    if url.startswith("postgres"):
        url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
        asyncio.run(_run_async(url))
    else:
        engine = create_engine(url)
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
        engine.dispose()


run()
