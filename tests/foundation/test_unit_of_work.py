"""The unit of work against the real database: its pool is built like every
engine of the project (libpq URL, pool and overflow, the asyncpg statement
cache from `Settings`), and each kind of unit commits, autocommits or rolls
back as `flowpilot/runtime/uow.py` says."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from flowpilot.runtime.settings import Settings
from flowpilot.runtime.uow import UnitOfWork

pytestmark = pytest.mark.integration


def connection(conn: AsyncConnection) -> AsyncConnection:
    """A "repository" that is the unit's connection itself."""
    return conn


async def test_from_settings_sizes_the_pool_and_the_statement_cache(
    settings: Settings, fixes_db_url: str
) -> None:
    sized = settings.model_copy(
        update={"db_pool_size": 2, "db_max_overflow": 1, "db_statement_cache_size": 0}
    )
    uow = UnitOfWork.from_settings(f"{fixes_db_url}?application_name=uow-test", connection, sized)
    try:
        pool = uow.engine.pool
        assert (pool.size(), pool._max_overflow) == (2, 1)  # type: ignore[attr-defined]
        async with uow.autocommit() as conn:
            adapted = await conn.get_raw_connection()
            raw = adapted.driver_connection
            # 0: unnamed statements only, what PgBouncer's transaction pooling
            # needs; asyncpg's cache and SQLAlchemy's own are both off.
            assert raw._stmt_cache.get_max_size() == 0  # type: ignore[union-attr]
            assert adapted.dbapi_connection._prepared_statement_cache is None  # type: ignore[union-attr]
            for _ in range(3):
                await conn.execute(
                    text("SELECT count(*) FROM pg_class WHERE relpages >= :n"), {"n": 0}
                )
            # No statement outlives its round trip: none is named on the server.
            assert await conn.scalar(text("SELECT count(*) FROM pg_prepared_statements")) == 0
            # The URL reached asyncpg as a libpq URL, parameters and all.
            name = await conn.scalar(text("SELECT current_setting('application_name')"))
            assert name == "uow-test"
    finally:
        await uow.dispose()
    default = UnitOfWork.from_settings(fixes_db_url, connection, settings)
    try:
        async with default.autocommit() as conn:
            adapted = await conn.get_raw_connection()
            raw = adapted.driver_connection
            size = settings.db_statement_cache_size
            assert raw._stmt_cache.get_max_size() == size  # type: ignore[union-attr]
            cache = adapted.dbapi_connection._prepared_statement_cache  # type: ignore[union-attr]
            assert cache is not None and cache.capacity == size
            # The database's bounds reached the session.
            assert await conn.scalar(text("SHOW statement_timeout")) == "5s"
            assert await conn.scalar(text("SHOW lock_timeout")) == "2s"
            name = await conn.scalar(text("SELECT current_setting('application_name')"))
            assert name == "flowpilot"
    finally:
        await default.dispose()


async def test_each_kind_of_unit_commits_or_rolls_back(fixes_db_url: str) -> None:
    uow = UnitOfWork(fixes_db_url, connection, pool_size=1)
    try:
        async with uow.transaction() as conn:
            await conn.execute(text("CREATE TABLE committed (x int)"))
        async with uow.rehearsal() as conn:
            await conn.execute(text("CREATE TABLE rehearsed (x int)"))
        with pytest.raises(RuntimeError):
            async with uow.transaction() as conn:
                await conn.execute(text("CREATE TABLE failed (x int)"))
                raise RuntimeError("the use case refused")
        async with uow.autocommit() as conn:
            await conn.execute(text("CREATE TABLE autocommitted (x int)"))
            # No transaction is open: a failing statement loses nothing before it.
            with pytest.raises(Exception, match="does_not_exist"):
                await conn.execute(text("SELECT * FROM does_not_exist"))
        async with uow.autocommit() as conn:
            tables = await conn.scalars(
                text(
                    "SELECT relname FROM pg_class WHERE relname IN "
                    "('committed', 'rehearsed', 'failed', 'autocommitted') ORDER BY relname"
                )
            )
            assert list(tables) == ["autocommitted", "committed"]
    finally:
        await uow.dispose()
