"""Writers of one key take turns in this process (`KeyedTurns`), and slow
reads share a few connections (`Slots`).

Every write of an AI session takes its row (the version bump), so concurrent
writes of one session queue on that row's lock in PostgreSQL, each holding a
pooled connection while it waits. A burst on one hot session could then hold
every connection of the pool and starve other tenants' requests (issue 9),
the sooner the smaller the pool. Taking turns here first, the writers of one
session wait in this process without a connection, and at most one of them
per process waits in the database. A turn not granted within the budget (the
database's lock timeout) ends the call ABORTED `RESOURCE_BUSY`, as a lock
wait past it does.

Some reads are slow by nature (analytics over a year of runs: a third of a
second on a loaded machine), and a handful of them at once would hold the
whole pool (five connections) for that long, so every other call would wait
behind them. `Slots` lets at most a few of them hold a connection at once;
the others wait in this process, at most a budget, after which the call ends
with the refusal the caller chose (the fixes service's analytics:
RESOURCE_EXHAUSTED `ANALYTICS_BUSY`, which no channel retries, so the wait
plus the read stays within the gateway's deadline).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from types import TracebackType

from flowpilot.runtime.errors import DomainError
from flowpilot.runtime.metrics import DB_FAULTS
from flowpilot.runtime.uow import resource_busy


async def _acquire_within(
    waitable: asyncio.Lock | asyncio.Semaphore,
    budget_seconds: float,
    *,
    busy: Callable[[], DomainError],
) -> None:
    """Acquires `waitable`, first come first served, refused with `busy()`
    past the budget."""
    if not waitable.locked():
        await waitable.acquire()  # free: no wait, no timer
        return
    try:
        async with asyncio.timeout(budget_seconds):
            await waitable.acquire()
    except TimeoutError:
        raise busy() from None


def _turn_not_granted() -> DomainError:
    busy = resource_busy()
    DB_FAULTS.labels(busy.reason).inc()  # as a lock wait past the timeout is
    return busy


class _Line:
    """The lock of one key and how many calls hold or wait for it."""

    __slots__ = ("calls", "lock")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()  # first come, first served
        self.calls = 0


class KeyedTurns:
    """`async with turns.turn(key):` runs one caller per key at a time, in
    the order they came, each waiting at most `budget_seconds` for its turn.
    Keys nobody holds or waits for are forgotten."""

    def __init__(self, budget_seconds: float) -> None:
        self._budget = budget_seconds
        self._lines: dict[Hashable, _Line] = {}

    def turn(self, key: Hashable) -> _Turn:
        return _Turn(self, key)

    def waiting(self, key: Hashable) -> int:
        """Calls holding or waiting for `key`'s turn (0 when none)."""
        line = self._lines.get(key)
        return line.calls if line else 0

    async def _enter(self, key: Hashable) -> _Line:
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = _Line()
        line.calls += 1
        try:
            await _acquire_within(line.lock, self._budget, busy=_turn_not_granted)
        except BaseException:
            self._leave(key, line)
            raise
        return line

    def _leave(self, key: Hashable, line: _Line) -> None:
        line.calls -= 1
        if line.calls == 0:
            del self._lines[key]


class _Turn:
    __slots__ = ("_key", "_line", "_turns")

    def __init__(self, turns: KeyedTurns, key: Hashable) -> None:
        self._turns = turns
        self._key = key
        self._line: _Line | None = None

    async def __aenter__(self) -> None:
        self._line = await self._turns._enter(self._key)

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        line = self._line
        assert line is not None
        line.lock.release()
        self._turns._leave(self._key, line)


class Slots:
    """`async with slots.taken():` runs at most `count` callers at once, in
    the order they came, each waiting at most `budget_seconds` for a slot
    and refused with `busy()` past it."""

    def __init__(
        self, count: int, budget_seconds: float, *, busy: Callable[[], DomainError]
    ) -> None:
        self._free = asyncio.Semaphore(count)
        self._budget = budget_seconds
        self._busy = busy

    @asynccontextmanager
    async def taken(self) -> AsyncIterator[None]:
        await _acquire_within(self._free, self._budget, busy=self._busy)
        try:
            yield
        finally:
            self._free.release()
