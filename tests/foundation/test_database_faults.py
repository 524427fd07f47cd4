"""Database faults through the unit of work, against a real PostgreSQL that
the test stops and starts (issue 9, points 4 and 5).

Every fault becomes one domain error, whichever layer raised it (SQLAlchemy,
or asyncpg itself on the fixes hot path, which runs on the driver
connection): the database down, a host that never answers, every pooled
connection busy, a statement past `statement_timeout`, a lock past
`lock_timeout`. After a restart the first unit of work succeeds, on the
SQLAlchemy path and on the driver path. Their own cluster: stopping the
suite's would stop every other test's database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from flowpilot.runtime.db import StatementBounds
from flowpilot.runtime.embedded_pg import EmbeddedPostgres, free_port
from flowpilot.runtime.errors import Aborted, DomainError, Unavailable
from flowpilot.runtime.uow import Driver, UnitOfWork
from tests.conftest import postgres_dir

pytestmark = pytest.mark.integration

# Generous against a loaded machine; a hang would still show as a failure.
WITHIN = 20.0


def as_is(connection: AsyncConnection) -> AsyncConnection:
    """A "repository" that is the unit's connection itself."""
    return connection


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedPostgres]:
    with postgres_dir() as directory:
        pg = EmbeddedPostgres(directory, fsync=False)
        pg.start()
        try:
            pg.psql("CREATE TABLE rows (id int PRIMARY KEY, n int NOT NULL DEFAULT 0)")
            pg.psql("INSERT INTO rows (id) VALUES (1), (2)")
            yield pg
        finally:
            pg.stop("immediate")


@pytest.fixture
async def uow(cluster: EmbeddedPostgres) -> AsyncIterator[UnitOfWork[AsyncConnection]]:
    if not cluster.is_running():
        await asyncio.to_thread(cluster.start)
    unit = UnitOfWork(
        cluster.url(),
        as_is,
        on_driver=as_is,  # type: ignore[arg-type]  # a driver unit yields its Driver
        pool_size=2,
        max_overflow=0,
        connect_timeout=2.0,
        pool_timeout=0.5,
        bounds=StatementBounds(statement_seconds=0.5, lock_seconds=0.3),
    )
    try:
        yield unit
    finally:
        await unit.dispose()


async def via_sqlalchemy(connection: AsyncConnection) -> Any:
    return await connection.scalar(text("SELECT n FROM rows WHERE id = 1"))


async def via_driver(connection: AsyncConnection) -> Any:
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    return await raw.fetchval("SELECT n FROM rows WHERE id = 1")


PATHS = [via_sqlalchemy, via_driver]


async def via_driver_unit(uow: UnitOfWork[Any]) -> Any:
    """The same read in a driver unit (asyncpg alone, no SQLAlchemy connection)."""
    async with uow.driver() as driver:
        assert isinstance(driver, Driver)
        return await driver.connection.fetchval("SELECT n FROM rows WHERE id = 1")


async def refusal(call: Callable[[], Awaitable[Any]]) -> DomainError:
    with pytest.raises(DomainError) as info:
        async with asyncio.timeout(WITHIN):
            await call()
    return info.value


async def warm(uow: UnitOfWork[AsyncConnection]) -> None:
    """Both pooled connections open, as a service's are."""

    async def use() -> None:
        async with uow.autocommit() as connection:
            await connection.execute(text("SELECT pg_sleep(0.05)"))

    await asyncio.gather(use(), use())


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.__name__)
async def test_the_database_down_is_unavailable_and_back_after_it_starts(
    uow: UnitOfWork[AsyncConnection], cluster: EmbeddedPostgres, path: Any
) -> None:
    await warm(uow)
    assert await uow.probe(1.0) is True
    await asyncio.to_thread(cluster.stop, "fast")
    try:
        for unit in (uow.autocommit, uow.transaction):

            async def work(unit: Any = unit) -> None:
                async with unit() as connection:
                    await path(connection)

            error = await refusal(work)
            assert isinstance(error, Unavailable)
            assert error.reason == "DATABASE_UNAVAILABLE"
        error = await refusal(lambda: via_driver_unit(uow))
        assert (type(error), error.reason) == (Unavailable, "DATABASE_UNAVAILABLE")
        assert await uow.probe(1.0) is False
    finally:
        await asyncio.to_thread(cluster.start)
    assert await uow.probe(1.0) is True
    async with uow.autocommit() as connection:
        assert await path(connection) == 0
    assert await via_driver_unit(uow) == 0


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.__name__)
async def test_the_first_work_after_a_restart_succeeds(
    uow: UnitOfWork[AsyncConnection], cluster: EmbeddedPostgres, path: Any
) -> None:
    """Issue 9: after `pg_ctl restart` the first request failed on a pooled
    connection the server had closed. It is replaced when checked out."""
    await warm(uow)
    await asyncio.to_thread(cluster.stop, "fast")
    await asyncio.to_thread(cluster.start)
    for unit in (uow.autocommit, uow.transaction, uow.autocommit):
        async with unit() as connection:
            assert await path(connection) == 0


async def test_the_first_driver_unit_after_a_restart_succeeds(
    uow: UnitOfWork[AsyncConnection], cluster: EmbeddedPostgres
) -> None:
    await warm(uow)
    await asyncio.to_thread(cluster.stop, "fast")
    await asyncio.to_thread(cluster.start)
    assert [await via_driver_unit(uow) for _ in range(3)] == [0, 0, 0]


async def test_a_host_that_never_answers_is_unavailable_after_the_connect_timeout() -> None:
    """A pod IP gone, a firewall dropping packets: the connection attempt is
    bounded by FLOWPILOT_DB_CONNECT_TIMEOUT_SECONDS, not asyncpg's 60 s."""
    silent: list[asyncio.StreamWriter] = []

    async def accept_and_say_nothing(reader: asyncio.StreamReader, writer: Any) -> None:
        silent.append(writer)

    port = free_port()
    server = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", port)
    unit = UnitOfWork(
        f"postgresql://postgres@127.0.0.1:{port}/postgres",
        as_is,
        pool_size=1,
        connect_timeout=0.5,
    )
    try:

        async def work() -> None:
            async with unit.autocommit() as connection:
                await via_sqlalchemy(connection)

        error = await refusal(work)
        assert error.reason == "DATABASE_UNAVAILABLE"
        assert await unit.probe(0.5) is False
    finally:
        await unit.dispose()
        for writer in silent:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_every_connection_busy_is_database_busy(uow: UnitOfWork[AsyncConnection]) -> None:
    async with uow.autocommit(), uow.autocommit():

        async def third() -> None:
            async with uow.autocommit() as connection:
                await via_sqlalchemy(connection)

        error = await refusal(third)
        assert (type(error), error.reason) == (Unavailable, "DATABASE_BUSY")
        error = await refusal(lambda: via_driver_unit(uow))
        assert (type(error), error.reason) == (Unavailable, "DATABASE_BUSY")
        # Busy is not down: the probe cannot tell, and says so.
        assert await uow.probe(0.5) is None


@pytest.mark.parametrize("driver", [False, True], ids=["sqlalchemy", "driver"])
async def test_a_statement_past_its_timeout_is_database_timeout(
    uow: UnitOfWork[AsyncConnection], driver: bool
) -> None:
    async def slow() -> None:
        async with uow.autocommit() as connection:
            if driver:
                raw = (await connection.get_raw_connection()).driver_connection
                await raw.execute("SELECT pg_sleep(30)")  # type: ignore[union-attr]
            else:
                await connection.execute(text("SELECT pg_sleep(30)"))

    error = await refusal(slow)
    assert (type(error), error.reason) == (Unavailable, "DATABASE_TIMEOUT")
    async with uow.autocommit() as connection:
        assert await via_sqlalchemy(connection) == 0  # the pool is fine afterwards


@pytest.mark.parametrize("driver", [False, True], ids=["sqlalchemy", "driver"])
async def test_a_row_held_past_the_lock_timeout_is_resource_busy(
    uow: UnitOfWork[AsyncConnection], cluster: EmbeddedPostgres, driver: bool
) -> None:
    holder = await asyncpg.connect(cluster.url().replace("postgresql+asyncpg", "postgresql"))
    try:
        async with holder.transaction():
            await holder.execute("SELECT 1 FROM rows WHERE id = 1 FOR UPDATE")

            async def write() -> None:
                async with uow.transaction() as connection:
                    if driver:
                        raw = (await connection.get_raw_connection()).driver_connection
                        await raw.execute("UPDATE rows SET n = n + 1 WHERE id = 1")  # type: ignore[union-attr]
                    else:
                        await connection.execute(text("UPDATE rows SET n = n + 1 WHERE id = 1"))

            error = await refusal(write)
            assert (type(error), error.reason) == (Aborted, "RESOURCE_BUSY")
            # Another row is not held: other work goes on meanwhile.
            async with uow.autocommit() as connection:
                await connection.execute(text("UPDATE rows SET n = n WHERE id = 2"))
    finally:
        await holder.close()


async def test_a_statement_past_its_timeout_in_a_driver_unit_is_database_timeout(
    uow: UnitOfWork[AsyncConnection],
) -> None:
    async def slow() -> None:
        async with uow.driver() as driver:
            await driver.connection.execute("SELECT pg_sleep(30)")

    error = await refusal(slow)
    assert (type(error), error.reason) == (Unavailable, "DATABASE_TIMEOUT")
    assert await via_driver_unit(uow) == 0


async def test_a_driver_unit_cancelled_mid_statement_gives_its_connection_back(
    uow: UnitOfWork[AsyncConnection],
) -> None:
    """A caller gone (a deadline, a client hanging up) while its statement
    runs: the connection is back in the pool and serves the next unit."""
    pool = uow.engine.sync_engine.pool

    async def slow() -> None:
        async with uow.driver() as driver:
            await driver.connection.execute("SELECT pg_sleep(0.3)")

    for _ in range(3):  # more than the pool's two connections
        task = asyncio.create_task(slow())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
    assert await via_driver_unit(uow) == 0


async def test_errors_that_are_not_faults_stay_what_they_are(
    uow: UnitOfWork[AsyncConnection],
) -> None:
    """A bug or a constraint is not 'the database is unavailable'."""
    with pytest.raises(Exception, match="rows_pkey") as info:
        async with uow.autocommit() as connection:
            await connection.execute(text("INSERT INTO rows (id) VALUES (1)"))
    assert not isinstance(info.value, DomainError)


async def test_a_statement_prepared_before_a_migration_retyped_its_result_is_schema_changed(
    uow: UnitOfWork[AsyncConnection], cluster: EmbeddedPostgres
) -> None:
    """A migration that changes a column's type (fixes 0004: text to a domain
    over text) under statements prepared before it: the first use of each in
    a transaction fails ("cached plan must not change result type"), which
    the caller gets as retryable; the retry prepares it again and succeeds."""
    cluster.psql("CREATE TABLE labels (id int PRIMARY KEY, label text NOT NULL)")
    cluster.psql("INSERT INTO labels VALUES (1, 'a')")
    read = text("SELECT label FROM labels WHERE id = 1")

    async def read_in_a_transaction() -> Any:
        async with uow.transaction() as connection:
            return await connection.scalar(read)

    try:
        async with uow.transaction() as connection:
            assert await connection.scalar(read) == "a"  # prepared on this connection
        cluster.psql("CREATE DOMAIN label_text AS text")
        cluster.psql("ALTER TABLE labels ALTER COLUMN label TYPE label_text")
        errors: list[DomainError] = []
        for _ in range(4):  # more than the pool's two connections
            try:
                assert await read_in_a_transaction() == "a"
            except DomainError as error:
                errors.append(error)
        assert [(type(e), e.reason) for e in errors] == [(Unavailable, "SCHEMA_CHANGED")]
    finally:
        cluster.psql("DROP TABLE labels")
        cluster.psql("DROP DOMAIN IF EXISTS label_text")
