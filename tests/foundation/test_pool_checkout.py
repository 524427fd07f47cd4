"""A driver unit's check-in against a real PostgreSQL (issue 13).

SQLAlchemy's pool awaits inside a greenlet, and starting one cost 11 µs
here, twice per hot-path request. Checking a healthy connection in awaits
nothing (no transaction to roll back, a free slot in the queue), so a
driver unit does it directly; a closed or invalidated connection, or one
left in a transaction, still goes through the greenlet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from flowpilot.runtime import uow as uow_module
from flowpilot.runtime.uow import Driver, UnitOfWork

pytestmark = pytest.mark.integration

POOL_SIZE = 2


def as_is(connection: Any) -> Any:
    return connection


@pytest.fixture
async def uow(pg: Any) -> AsyncIterator[UnitOfWork[AsyncConnection]]:
    unit: UnitOfWork[AsyncConnection] = UnitOfWork(
        pg.url(),
        as_is,
        on_driver=as_is,
        pool_size=POOL_SIZE,
        max_overflow=0,
        pool_timeout=2.0,
    )
    try:
        yield unit
    finally:
        await unit.dispose()


async def test_a_driver_unit_checks_its_connection_in_without_a_greenlet(
    uow: UnitOfWork[AsyncConnection], monkeypatch: pytest.MonkeyPatch
) -> None:
    spawned: list[str] = []
    real_spawn = uow_module.greenlet_spawn

    async def counting_spawn(fn: Any, *args: Any, **kwargs: Any) -> Any:
        spawned.append(getattr(fn, "__name__", repr(fn)))
        return await real_spawn(fn, *args, **kwargs)

    monkeypatch.setattr(uow_module, "greenlet_spawn", counting_spawn)
    for _ in range(3):
        async with uow.driver() as driver:
            assert isinstance(driver, Driver)
            await driver.connection.fetchval("SELECT 1")
    # One greenlet per unit: the checkout (which may open a connection).
    assert spawned == ["connect"] * 3
    assert uow.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_closed_connection_is_checked_in_through_the_pool_as_before(
    uow: UnitOfWork[AsyncConnection],
) -> None:
    """A connection closed under the unit (a server restart looks the same)
    goes back the slow way, and the next unit gets a working one."""
    async with uow.driver() as driver:
        await driver.connection.close()
    async with uow.driver() as driver:
        assert await driver.connection.fetchval("SELECT 7") == 7
    assert uow.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
