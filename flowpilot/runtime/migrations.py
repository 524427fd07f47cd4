"""Alembic, the same way for every service.

Each service keeps its revisions in `<package>/migrations/versions/` and an
`env.py` that calls `run_env(metadata)`. Migrations take a PostgreSQL advisory
lock first, so several replicas (or init containers) starting at once migrate
one after the other and the later ones find nothing to do.
"""

from __future__ import annotations

import asyncio

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from flowpilot.runtime.db import asyncpg_url

# Any constant works; it only has to be the same for every migrator of a database.
MIGRATION_LOCK_KEY = 0x466C6F7750696C  # "FlowPil"


def alembic_config(package: str, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", f"{package}:migrations")
    config.attributes["database_url"] = url
    return config


def upgrade(package: str, url: str, revision: str = "head") -> None:
    """Blocking; call it from a thread when an event loop is running."""
    command.upgrade(alembic_config(package, url), revision)


def downgrade(package: str, url: str, revision: str) -> None:
    command.downgrade(alembic_config(package, url), revision)


def _run(connection: Connection, metadata: MetaData | None) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()


async def _run_async(url: str, metadata: MetaData | None) -> None:
    engine = create_async_engine(asyncpg_url(url), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run, metadata)
    finally:
        await engine.dispose()


def run_env(metadata: MetaData | None = None) -> None:
    """The body of every service's `migrations/env.py`."""
    url = context.config.attributes.get("database_url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database URL given to the migration")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_async(url, metadata))
