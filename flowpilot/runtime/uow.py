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
A fourth, `driver()`, is an autocommit unit on the pooled connection's
asyncpg connection alone, without SQLAlchemy's connection around it: for
the hot paths' one-statement reads and writes (a checkout and check-in cost
32 us of CPU instead of 72, measured), whose repository is built on a
`Driver` (`on_driver`).

The unit of work owns the service's connection pool, built like every engine
of the project (`flowpilot.runtime.db`: libpq URLs, pool size plus a separate
overflow, the asyncpg statement cache, 0 behind PgBouncer);
`UnitOfWork.from_settings` takes those sizes from `Settings`. Its connections
autocommit by default, so an autocommit unit costs exactly a pool checkout
(the benchmarked hot path pays nothing for the convention); a transaction
unit sets READ COMMITTED on its connection for the time it holds it.

Database faults are turned into domain errors here, once for every use case
and repository (`database_fault`): a database that cannot be reached or
answers that it is shutting down is UNAVAILABLE `DATABASE_UNAVAILABLE`, a
statement past `statement_timeout` UNAVAILABLE `DATABASE_TIMEOUT`, every
pooled connection busy past the pool timeout UNAVAILABLE `DATABASE_BUSY`,
a lock not granted within `lock_timeout` ABORTED `RESOURCE_BUSY` (another
request holds the row; retrying is right), and a statement prepared before a
migration changed the type of a column it returns UNAVAILABLE
`SCHEMA_CHANGED` (the retry prepares it again). Each unit's work is bounded by
those settings, all below the gateway's backend deadline. A pooled
connection the server closed meanwhile (a restart) is replaced when it is
checked out, so the first call after a restart succeeds (`flowpilot.runtime.
db`); `probe()` says whether the database answers (the service's health).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

import asyncpg
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import Pool, PoolProxiedConnection
from sqlalchemy.util.concurrency import greenlet_spawn

from flowpilot.runtime.db import (
    DEFAULT_STATEMENT_CACHE_SIZE,
    StatementBounds,
    create_engine,
    parse_database_url,
)
from flowpilot.runtime.errors import Aborted, DomainError, Unavailable
from flowpilot.runtime.metrics import DB_FAULTS

if TYPE_CHECKING:
    from flowpilot.runtime.settings import Settings

R = TypeVar("R")

log = logging.getLogger("flowpilot.db")

# SQLSTATEs (PostgreSQL, Appendix A).
LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"
# Classes and codes meaning "the database cannot be used right now":
# connection exceptions, a server shutting down or starting, too many
# connections, authentication (a rotated password) and a missing database.
UNAVAILABLE_CLASSES = ("08", "28")
UNAVAILABLE_CODES = frozenset({"57P01", "57P02", "57P03", "53300", "3D000"})


def database_unavailable() -> Unavailable:
    return Unavailable("DATABASE_UNAVAILABLE", "the database is not answering; try again shortly")


def resource_busy() -> Aborted:
    """Another call holds what this one would change (a row's lock, a
    session's turn) past the lock timeout."""
    return Aborted("RESOURCE_BUSY", "another request is changing this resource; try again")


def database_fault(error: BaseException, *, checking_out: bool = False) -> DomainError | None:
    """The domain error a database fault means for the caller, or None when
    `error` is not one (a bug, a constraint: those stay INTERNAL). Counted
    (`flowpilot_db_faults_total`) by the reason the caller gets."""
    fault = _classify(error, checking_out=checking_out)
    if fault is not None:
        DB_FAULTS.labels(fault.reason).inc()
    return fault


def _classify(error: BaseException, *, checking_out: bool) -> DomainError | None:
    """What `database_fault` says, uncounted.

    Both shapes arrive here: SQLAlchemy's (`DBAPIError` around its asyncpg
    adapter's error around asyncpg's) and asyncpg's own (the fixes hot path
    runs on the driver connection)."""
    if isinstance(error, DomainError):
        return None
    if isinstance(error, sa_exc.TimeoutError):  # the pool had no free connection
        return Unavailable(
            "DATABASE_BUSY", "every database connection of this service is in use; try again"
        )
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return database_unavailable()
    for cause in _causes(error):
        sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if sqlstate == LOCK_NOT_AVAILABLE:
            return resource_busy()
        if sqlstate == QUERY_CANCELED:
            return _timed_out()
        if isinstance(sqlstate, str) and (
            sqlstate in UNAVAILABLE_CODES or sqlstate.startswith(UNAVAILABLE_CLASSES)
        ):
            return database_unavailable()
        if isinstance(cause, TimeoutError):
            # asyncpg's own bounds: opening a connection, or a statement.
            return database_unavailable() if checking_out else _timed_out()
        if isinstance(cause, OSError | asyncpg.PostgresConnectionError):
            return database_unavailable()
        if isinstance(cause, asyncpg.InterfaceError) and "closed" in str(cause):
            return database_unavailable()
        if isinstance(cause, asyncpg.InvalidCachedStatementError):
            # A migration changed a type a statement prepared before it
            # returns: inside a transaction nothing prepares it again for
            # this attempt, but the next one does (the drivers drop it).
            return Unavailable(
                "SCHEMA_CHANGED", "the database schema changed during this request; try again"
            )
    return None


def _timed_out() -> Unavailable:
    return Unavailable("DATABASE_TIMEOUT", "the database did not answer in time; try again")


def _causes(error: BaseException) -> list[BaseException]:
    """`error` and what it wraps (SQLAlchemy's `orig`, `__cause__`), outermost first."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return seen


@dataclass(frozen=True, slots=True)
class Driver:
    """What a `driver()` unit's repository works on: the asyncpg connection,
    and the database's name (for its statements' metrics)."""

    connection: asyncpg.Connection
    database: str


class UnitOfWork(Generic[R]):
    """Opens units of work on one database, each yielding `repository(connection)`
    (`on_driver(driver)` for a `driver()` unit)."""

    __slots__ = ("_capacity", "_database", "_on_driver", "_repository", "_transactional", "engine")

    def __init__(
        self,
        database_url: str,
        repository: Callable[[AsyncConnection], R],
        *,
        on_driver: Callable[[Driver], R] | None = None,
        pool_size: int,
        max_overflow: int | None = None,
        statement_cache_size: int = DEFAULT_STATEMENT_CACHE_SIZE,
        connect_timeout: float | None = None,
        pool_timeout: float = 30.0,
        bounds: StatementBounds | None = None,
    ) -> None:
        self.engine: AsyncEngine = create_engine(
            database_url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            statement_cache_size=statement_cache_size,
            autocommit=True,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            bounds=bounds,
        )
        self._transactional = self.engine.execution_options(isolation_level="READ COMMITTED")
        self._repository = repository
        self._on_driver = on_driver
        self._database = parse_database_url(database_url).database
        self._capacity = pool_size + (pool_size if max_overflow is None else max_overflow)

    @classmethod
    def from_settings(
        cls,
        database_url: str,
        repository: Callable[[AsyncConnection], R],
        settings: Settings,
        *,
        on_driver: Callable[[Driver], R] | None = None,
    ) -> UnitOfWork[R]:
        """A service's unit of work, sized by `FLOWPILOT_DB_POOL_SIZE`,
        `FLOWPILOT_DB_MAX_OVERFLOW` and `FLOWPILOT_DB_STATEMENT_CACHE_SIZE`,
        bounded by the `FLOWPILOT_DB_*_TIMEOUT_SECONDS` settings."""
        return cls(
            database_url,
            repository,
            on_driver=on_driver,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            statement_cache_size=settings.db_statement_cache_size,
            connect_timeout=settings.db_connect_timeout_seconds,
            pool_timeout=settings.db_pool_timeout_seconds,
            bounds=StatementBounds(
                statement_seconds=settings.db_statement_timeout_seconds,
                lock_seconds=settings.db_lock_timeout_seconds,
            ),
        )

    def transaction(self) -> _Unit[R]:
        return _Unit(self._transactional.begin, self._repository)

    def autocommit(self) -> _Unit[R]:
        return _Unit(self.engine.connect, self._repository)

    def driver(self) -> _DriverUnit[R]:
        """An autocommit unit on the asyncpg connection alone (see the module)."""
        if self._on_driver is None:
            raise TypeError("this unit of work was built without on_driver")
        return _DriverUnit(self.engine.sync_engine.pool, self._on_driver, self._database)

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

    async def probe(self, timeout: float) -> bool | None:  # noqa: ASYNC109 - the query's own bound
        """Does the database answer? True when `SELECT 1` did within `timeout`
        (after a checkout bounded by the connect timeout), False when it could
        not be reached or did not answer; None when every pooled connection is
        in use: they are busy with the database, so this says nothing about it."""
        if self.engine.pool.checkedout() >= self._capacity:  # type: ignore[attr-defined]
            return None
        try:
            async with self.engine.connect() as connection:
                raw = (await connection.get_raw_connection()).driver_connection
                assert raw is not None
                try:
                    await raw.fetchval("SELECT 1", timeout=timeout)
                except BaseException:
                    # Whatever state it is in, it is not handed out again.
                    await connection.invalidate()
                    raise
        except sa_exc.TimeoutError:
            return None
        except Exception as exc:
            log.debug("database probe failed: %s", type(exc).__name__)
            return False
        return True

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
        try:
            connection = await self._context.__aenter__()
        except Exception as error:
            raise _translated(error, checking_out=True) from error
        return self._repository(connection)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._context is not None
        try:
            await self._context.__aexit__(exc_type, exc, traceback)
        except Exception as error:
            # The commit, or the rollback after the work failed, failed too.
            if isinstance(exc, DomainError):
                raise exc from None  # decided before; nothing was committed
            fault = database_fault(error) or (
                database_fault(exc) if isinstance(exc, Exception) else None
            )
            if fault is None:
                raise
            raise fault from error
        if isinstance(exc, Exception) and (fault := database_fault(exc)) is not None:
            raise fault from exc


class _DriverUnit(Generic[R]):
    """One pooled connection, checked out of the same pool as every other
    unit's (its checkout listeners and metrics included), used through its
    asyncpg connection, each statement its own transaction."""

    __slots__ = ("_database", "_fairy", "_on_driver", "_pool")

    def __init__(self, pool: Pool, on_driver: Callable[[Driver], R], database: str) -> None:
        self._pool = pool
        self._on_driver = on_driver
        self._database = database
        self._fairy: PoolProxiedConnection | None = None

    async def __aenter__(self) -> R:
        try:
            fairy = None
            if self._pool.checkedin():  # type: ignore[attr-defined]  # a QueuePool
                # A free, healthy connection is handed out without awaiting
                # anything, so without a greenlet: each one cost 11 us here
                # (a new greenlet, and a 16 KB stack chunk mapped, faulted
                # in and unmapped). MissingGreenlet: that connection has to
                # be replaced (closed by the server, or due for recycling);
                # SQLAlchemy dropped the awaitable unstarted and put the
                # pool back as it was.
                with contextlib.suppress(sa_exc.MissingGreenlet):
                    fairy = self._pool.connect()
            if fairy is None:
                # Waiting for a connection, or opening one, is awaited
                # inside SQLAlchemy's pool: in a greenlet.
                fairy = await greenlet_spawn(self._pool.connect)
        except Exception as error:
            raise _translated(error, checking_out=True) from error
        self._fairy = fairy
        return self._on_driver(Driver(fairy.driver_connection, self._database))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        fairy = self._fairy
        assert fairy is not None
        self._fairy = None
        try:
            if _checks_in_without_io(fairy):
                # The usual case, without a greenlet (11 us each here): the
                # pool's rollback-on-return has no transaction to end and
                # the connection goes back on the queue without waiting.
                fairy.close()
            else:
                # An invalidated or closed connection, or one left in a
                # transaction (a driver unit opens none): the pool's
                # check-in may do I/O, awaited inside SQLAlchemy. Either
                # way it runs to its end in this one step, and a
                # cancellation cannot leave the connection checked out.
                await greenlet_spawn(fairy.close)
        except Exception as error:
            fault = database_fault(error)
            if fault is None:
                raise
            raise fault from error
        if isinstance(exc, Exception) and (fault := database_fault(exc)) is not None:
            raise fault from exc


def _checks_in_without_io(fairy: PoolProxiedConnection) -> bool:
    """Whether checking `fairy` in awaits nothing: a valid connection, open,
    with no transaction on it (a driver unit runs each statement on its own),
    so SQLAlchemy's reset-on-return has nothing to roll back."""
    connection = fairy.driver_connection
    return (
        fairy.is_valid
        and connection is not None
        and not connection.is_closed()
        and not connection.is_in_transaction()
    )


def _translated(error: Exception, *, checking_out: bool = False) -> Exception:
    return database_fault(error, checking_out=checking_out) or error
