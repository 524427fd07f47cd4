"""A driver unit's checkout and check-in against a real PostgreSQL (issue 13).

SQLAlchemy's pool awaits inside a greenlet, and starting one cost 11 µs
here, twice per hot-path request. Handing out a free healthy connection and
taking it back await nothing, so a driver unit does both directly; waiting
for a connection, opening or replacing one, and checking in a closed one
still go through a greenlet.
"""

from __future__ import annotations

import gc
import warnings
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


def _counting_spawns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of what the driver units run in a greenlet from now on."""
    spawned: list[str] = []
    real_spawn = uow_module.greenlet_spawn

    async def counting_spawn(fn: Any, *args: Any, **kwargs: Any) -> Any:
        spawned.append(getattr(fn, "__name__", repr(fn)))
        return await real_spawn(fn, *args, **kwargs)

    monkeypatch.setattr(uow_module, "greenlet_spawn", counting_spawn)
    return spawned


async def test_a_driver_unit_checks_its_connection_in_without_a_greenlet(
    uow: UnitOfWork[AsyncConnection], monkeypatch: pytest.MonkeyPatch
) -> None:
    spawned = _counting_spawns(monkeypatch)
    for _ in range(3):
        async with uow.driver() as driver:
            assert isinstance(driver, Driver)
            await driver.connection.fetchval("SELECT 1")
    # One greenlet, for the first checkout, which opened the connection.
    assert spawned == ["connect"]
    assert uow.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_connection_closed_under_the_pool_is_replaced_in_a_greenlet(
    uow: UnitOfWork[AsyncConnection], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pooled connection the server closed (a restart looks the same): the
    quick checkout finds it must open a new one, gives up before awaiting,
    and the checkout runs again in a greenlet. Nothing is left behind that
    was never awaited, and the pool holds no extra connection."""
    async with uow.driver() as driver:
        await driver.connection.close()  # checked in the slow way: closed
    spawned = _counting_spawns(monkeypatch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with uow.driver() as driver:
            assert await driver.connection.fetchval("SELECT 7") == 7
        gc.collect()
    assert spawned == ["connect"]
    assert not [w for w in caught if "never awaited" in str(w.message)]
    pool = uow.engine.sync_engine.pool
    assert (pool.checkedout(), pool.checkedin()) == (0, 1)  # type: ignore[attr-defined]
