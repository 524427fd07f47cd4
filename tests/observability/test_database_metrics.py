"""The database series against a real PostgreSQL, and against a database
that is not there (what FlowPilotDatabaseUnavailable alerts on)."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from flowpilot.runtime.db import create_engine, parse_database_url
from flowpilot.runtime.embedded_pg import free_port
from flowpilot.runtime.errors import Unavailable
from flowpilot.runtime.metrics import DriverStatement
from flowpilot.runtime.uow import UnitOfWork

pytestmark = pytest.mark.integration


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_statements_pool_and_errors_are_measured(fixes_db_url: str) -> None:
    url = fixes_db_url
    database = parse_database_url(url).database
    engine = create_engine(url, pool_size=2, max_overflow=1, autocommit=True)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            assert sample("flowpilot_db_pool_checked_out", database=database) == 1
            with pytest.raises(ProgrammingError):
                await connection.execute(text("SELECT * FROM no_such_table"))
        assert (
            sample(
                "flowpilot_db_statement_duration_seconds_count",
                database=database,
                operation="SELECT",
            )
            >= 1
        )
        assert sample("flowpilot_db_errors_total", database=database, kind="statement") == 1
        assert sample("flowpilot_db_errors_total", database=database, kind="connection") == 0
        assert sample("flowpilot_db_pool_wait_seconds_count", database=database) >= 1
        # The pool keeps every connection it may open (size + overflow, no
        # overflow of its own: flowpilot.runtime.db.create_engine), so it is 3.
        assert sample("flowpilot_db_pool_size", database=database) == 3
        assert sample("flowpilot_db_pool_max_connections", database=database) == 3
        assert sample("flowpilot_db_pool_checked_out", database=database) == 0
        assert sample("flowpilot_db_pool_open_connections", database=database) == 1
    finally:
        await engine.dispose()


async def test_an_unreachable_database_counts_connection_errors() -> None:
    engine = create_engine(f"postgresql://u:p@127.0.0.1:{free_port()}/flowpilot_down", pool_size=1)
    try:
        for attempt in range(2):
            with pytest.raises(OSError):
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
            assert sample(
                "flowpilot_db_errors_total", database="flowpilot_down", kind="connection"
            ) == (attempt + 1)
    finally:
        await engine.dispose()


async def test_statements_on_the_driver_connection_are_measured(fixes_db_url: str) -> None:
    """The fixes hot path runs on asyncpg under SQLAlchemy, which does not see it."""
    database = parse_database_url(fixes_db_url).database
    engine = create_engine(fixes_db_url, pool_size=1, autocommit=True)
    labels = {"database": database, "operation": "SELECT"}
    try:
        async with engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            before = sample("flowpilot_db_statement_duration_seconds_count", **labels)
            with DriverStatement(database, "SELECT 41 + 1"):
                assert await driver.fetchval("SELECT 41 + 1") == 42
        after = sample("flowpilot_db_statement_duration_seconds_count", **labels)
        assert after == before + 1
    finally:
        await engine.dispose()


async def test_database_faults_are_counted_by_reason() -> None:
    """What the caller is told (UNAVAILABLE `DATABASE_UNAVAILABLE`), counted."""
    uow = UnitOfWork(
        f"postgresql://u:p@127.0.0.1:{free_port()}/flowpilot_gone", lambda c: c, pool_size=1
    )
    before = sample("flowpilot_db_faults_total", reason="DATABASE_UNAVAILABLE")
    try:
        with pytest.raises(Unavailable) as refused:
            async with uow.autocommit():
                pass
        assert refused.value.reason == "DATABASE_UNAVAILABLE"
        assert sample("flowpilot_db_faults_total", reason="DATABASE_UNAVAILABLE") == before + 1
    finally:
        await uow.dispose()
