"""The unit of work: the service layer opens it, the repository works inside it.

After cosmicpython (chapter 6): a use case decides where a piece of work
begins and ends; the repository it gets is built on that work's connection and
never opens or commits anything itself. Two kinds of unit:

* `transaction()` — `BEGIN` … `COMMIT` when the block ends normally,
  `ROLLBACK` when it raises. For work of several statements that must hold
  together (locks, read-then-write, a cap).
* `autocommit()` — one pooled connection, no `BEGIN`/`COMMIT`: each statement
  commits on its own. For reads and for work that is one atomic statement
  (the fixes compare-and-swap write, the inline get-or-create), where a
  transaction would only add round trips.

    async with self._uow.transaction() as repo:
        await repo.lock_user_sessions(user_id)
        session = await repo.create_standalone_capped(...)

A third kind, `rehearsal()`, runs like `transaction()` and always rolls
back: a dry run sees exactly what the real run would do and writes nothing.

The unit of work owns the service's connection pool, built like every engine
of the project (`flowpilot.runtime.db`: libpq URLs, pool size plus a separate
overflow, the asyncpg statement cache, 0 behind PgBouncer);
`UnitOfWork.from_settings` takes those sizes from `Settings`. Its connections
autocommit by default, so an autocommit unit costs exactly a pool checkout
(the benchmarked hot path pays nothing for the convention); a transaction
unit sets READ COMMITTED on its connection for the time it holds it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from flowpilot.runtime.db import DEFAULT_STATEMENT_CACHE_SIZE, create_engine

if TYPE_CHECKING:
    from flowpilot.runtime.settings import Settings

R = TypeVar("R")


class UnitOfWork(Generic[R]):
    """Opens units of work on one database, each yielding `repository(connection)`."""

    __slots__ = ("_repository", "_transactional", "engine")

    def __init__(
        self,
        database_url: str,
        repository: Callable[[AsyncConnection], R],
        *,
        pool_size: int,
        max_overflow: int | None = None,
        statement_cache_size: int = DEFAULT_STATEMENT_CACHE_SIZE,
    ) -> None:
        self.engine: AsyncEngine = create_engine(
            database_url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            statement_cache_size=statement_cache_size,
            autocommit=True,
        )
        self._transactional = self.engine.execution_options(isolation_level="READ COMMITTED")
        self._repository = repository

    @classmethod
    def from_settings(
        cls, database_url: str, repository: Callable[[AsyncConnection], R], settings: Settings
    ) -> UnitOfWork[R]:
        """A service's unit of work, sized by `FLOWPILOT_DB_POOL_SIZE`,
        `FLOWPILOT_DB_MAX_OVERFLOW` and `FLOWPILOT_DB_STATEMENT_CACHE_SIZE`."""
        return cls(
            database_url,
            repository,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            statement_cache_size=settings.db_statement_cache_size,
        )

    def transaction(self) -> _Unit[R]:
        return _Unit(self._transactional.begin, self._repository)

    def autocommit(self) -> _Unit[R]:
        return _Unit(self.engine.connect, self._repository)

    def rehearsal(self) -> _Unit[R]:
        """A transaction that is always rolled back (dry runs)."""
        return _Unit(self._rolled_back, self._repository)

    @asynccontextmanager
    async def _rolled_back(self) -> AsyncIterator[AsyncConnection]:
        async with self._transactional.connect() as connection:
            transaction = await connection.begin()
            try:
                yield connection
            finally:
                await transaction.rollback()

    async def dispose(self) -> None:
        """Closes the pool (on server stop)."""
        await self.engine.dispose()


class _Unit(Generic[R]):
    """One unit: an async context manager over one pooled connection."""

    __slots__ = ("_context", "_open", "_repository")

    def __init__(
        self,
        open_connection: Callable[[], AbstractAsyncContextManager[AsyncConnection]],
        repository: Callable[[AsyncConnection], R],
    ) -> None:
        self._open = open_connection
        self._repository = repository
        self._context: AbstractAsyncContextManager[AsyncConnection] | None = None

    async def __aenter__(self) -> R:
        # SQLAlchemy's own context managers: commit or roll back, then release.
        self._context = self._open()
        return self._repository(await self._context.__aenter__())

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._context is not None
        await self._context.__aexit__(exc_type, exc, traceback)
