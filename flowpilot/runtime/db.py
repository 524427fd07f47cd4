"""Async SQLAlchemy engines over asyncpg.

Database URLs are standard libpq URLs (`postgresql://user:pw@host:5432/db?sslmode=verify-full
&sslrootcert=/path/ca.pem`), the form managed databases and secret managers hand out.
SQLAlchemy would pass `sslmode` to `asyncpg.connect()` as a keyword it does not
have, so connections are opened here instead: asyncpg receives the URL itself
and applies libpq's rules (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`, ...).
`parse_database_url` checks a URL up front, so a typo fails at start-up with a
message that names the parameter and never the password.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, NullPool

from flowpilot.runtime.metrics import (
    counting_connection_failures,
    observe_engine,
    observed_pool_class,
)
from flowpilot.runtime.tracing import instrument_engine

log = logging.getLogger("flowpilot.db")

SCHEMES = ("postgresql", "postgres", "postgresql+asyncpg")
# libpq's sslmode values, weakest first.
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# libpq parameters asyncpg applies itself when given the URL.
LIBPQ_PARAMETERS = frozenset(
    {
        "host",
        "port",
        "dbname",
        "user",
        "password",
        "passfile",
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslcrl",
        "sslpassword",
        "sslnegotiation",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "target_session_attrs",
        "krbsrvname",
        "gsslib",
        "application_name",
        "connect_timeout",
    }
)
# Parameters naming a file the process must be able to read.
FILE_PARAMETERS = ("sslrootcert", "sslcert", "sslkey", "sslcrl", "passfile")
APPLICATION_NAME = "flowpilot"
# asyncpg's own default (and SQLAlchemy's); 0 disables both (PgBouncer in
# transaction pooling).
DEFAULT_STATEMENT_CACHE_SIZE = 100


class InvalidDatabaseUrl(ValueError):
    """A database URL that cannot work; the message never contains the password."""


@dataclass(frozen=True)
class DatabaseUrl:
    """A checked database URL: what asyncpg gets, and what logs may show."""

    dsn: str  # `postgresql://...` with every libpq parameter, for asyncpg
    host: str
    port: int
    database: str
    sslmode: str | None
    connect_timeout: float | None

    @property
    def display(self) -> str:
        """host:port/database, safe for logs and error messages."""
        return f"{self.host}:{self.port}/{self.database}"


def parse_database_url(url: str) -> DatabaseUrl:
    """Validates a PostgreSQL URL; raises InvalidDatabaseUrl with a clear reason."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidDatabaseUrl(f"not a URL: {_redacted_reason(exc)}") from None
    if parts.scheme not in SCHEMES:
        raise InvalidDatabaseUrl(
            f"scheme {parts.scheme or '(none)'!r} is not PostgreSQL: use postgresql://"
        )
    try:
        query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise InvalidDatabaseUrl("the query string is malformed") from None
    params = dict(query)
    unknown = sorted(set(params) - LIBPQ_PARAMETERS - {"ssl"})
    if unknown:
        raise InvalidDatabaseUrl(
            f"unknown parameter {unknown[0]!r}; accepted: {', '.join(sorted(LIBPQ_PARAMETERS))}"
        )
    if "ssl" in params:
        # asyncpg's own spelling, which older FlowPilot docs recommended.
        legacy = params.pop("ssl")
        params.setdefault("sslmode", legacy)
    sslmode = params.get("sslmode")
    if sslmode is not None and sslmode not in SSL_MODES:
        raise InvalidDatabaseUrl(f"sslmode={sslmode!r} is not one of {', '.join(SSL_MODES)}")
    for name in FILE_PARAMETERS:
        path = params.get(name)
        if path and not os.access(os.path.expanduser(path), os.R_OK):
            raise InvalidDatabaseUrl(f"{name}={path!r}: the file does not exist or is not readable")
    if params.get("sslrootcert") and sslmode in (None, "disable", "allow", "prefer"):
        raise InvalidDatabaseUrl(
            "sslrootcert is set but sslmode does not verify the server: "
            "use sslmode=verify-full (or verify-ca)"
        )
    connect_timeout = None
    if "connect_timeout" in params:
        raw = params.pop("connect_timeout")
        try:
            connect_timeout = float(raw)
        except ValueError:
            raise InvalidDatabaseUrl(f"connect_timeout={raw!r} is not a number") from None
        if connect_timeout <= 0:
            connect_timeout = None  # libpq: 0 means wait indefinitely
    host = parts.hostname or params.get("host") or ""
    database = parts.path.lstrip("/") or params.get("dbname") or ""
    if not host:
        raise InvalidDatabaseUrl("no host: postgresql://USER:PASSWORD@HOST:5432/DATABASE")
    if not database:
        raise InvalidDatabaseUrl("no database name: postgresql://USER:PASSWORD@HOST:5432/DATABASE")
    dsn = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(params), ""))
    return DatabaseUrl(
        dsn=dsn,
        host=host,
        port=port or int(params.get("port", "5432").split(",")[0]),
        database=database,
        sslmode=sslmode,
        connect_timeout=connect_timeout,
    )


def _redacted_reason(exc: Exception) -> str:
    # urllib's messages quote the port part only; keep them short regardless.
    return str(exc).split(":")[0]


def asyncpg_url(url: str) -> str:
    """Accepts `postgresql://` URLs too and pins the asyncpg driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    if parsed.drivername != "postgresql+asyncpg":
        raise ValueError(f"only PostgreSQL is supported, got {parsed.drivername!r}")
    return parsed.render_as_string(hide_password=False)


@dataclass(frozen=True, slots=True)
class StatementBounds:
    """How long one statement, and one wait for a lock, may take (server side)."""

    statement_seconds: float
    lock_seconds: float

    def server_settings(self) -> dict[str, str]:
        return {
            "statement_timeout": str(max(1, round(self.statement_seconds * 1000))),
            "lock_timeout": str(max(1, round(self.lock_seconds * 1000))),
        }

    @property
    def client_seconds(self) -> float:
        """The client's own bound on a statement: the server's, plus a second
        for the server's error to arrive. It alone holds where the server never
        answers (a host gone) or never got the server-side bounds (a pooler)."""
        return self.statement_seconds + 1.0


# PgBouncer (before 1.20's track_extra_parameters) refuses startup parameters
# it does not track, statement_timeout and lock_timeout among them.
_UNSUPPORTED_STARTUP_PARAMETER = "unsupported startup parameter"


def connector(
    url: str | DatabaseUrl,
    *,
    statement_cache_size: int = DEFAULT_STATEMENT_CACHE_SIZE,
    connect_timeout: float | None = None,
    bounds: StatementBounds | None = None,
) -> Callable[[], Awaitable[asyncpg.Connection]]:
    """Opens asyncpg connections for `url`, with libpq's TLS and URL rules.

    `statement_cache_size=0` is what PgBouncer's transaction pooling needs:
    asyncpg then uses unnamed statements, parsed again in the same round trip
    as each execution, so no statement outlives the server connection it
    was prepared on.

    `connect_timeout` bounds opening a connection (the URL's own
    `connect_timeout` wins). `bounds` become the session's `statement_timeout`
    and `lock_timeout` and the client's `command_timeout`; an endpoint that
    refuses them as startup parameters (PgBouncer) is connected to without
    them once, with a warning, and the client-side bound still holds.
    """
    checked = url if isinstance(url, DatabaseUrl) else parse_database_url(url)
    params = dict(parse_qsl(urlsplit(checked.dsn).query))
    server_settings = {} if "application_name" in params else {"application_name": APPLICATION_NAME}
    options: dict[str, Any] = {
        "statement_cache_size": statement_cache_size,
        "server_settings": server_settings,
    }
    timeout = checked.connect_timeout or connect_timeout
    if timeout is not None:
        options["timeout"] = timeout
    bounded = dict(options)
    if bounds is not None:
        bounded["server_settings"] = {**server_settings, **bounds.server_settings()}
        bounded["command_timeout"] = bounds.client_seconds
        options["command_timeout"] = bounds.client_seconds
    refused = [False]

    async def connect() -> asyncpg.Connection:
        if bounds is None or refused[0]:
            return await asyncpg.connect(checked.dsn, **options)
        try:
            return await asyncpg.connect(checked.dsn, **bounded)
        except asyncpg.ProtocolViolationError as exc:
            if _UNSUPPORTED_STARTUP_PARAMETER not in str(exc):
                raise
        refused[0] = True
        log.warning(
            "the database endpoint refuses statement_timeout and lock_timeout as startup "
            "parameters (a pooler such as PgBouncer); set them on the database role "
            "(deploy/README.md, PgBouncer). Each statement is still bounded by the client "
            "after %g s",
            bounds.client_seconds,
            extra={"database": checked.display},
        )
        return await asyncpg.connect(checked.dsn, **options)

    return connect


def _adapted_creator(
    engine: list[AsyncEngine],
    connect: Callable[[], Awaitable[asyncpg.Connection]],
    statement_cache_size: int,
) -> Callable[[], Any]:
    """SQLAlchemy's `creator` for asyncpg connections, with SQLAlchemy's own
    prepared-statement cache sized like asyncpg's.

    `async_creator` would leave SQLAlchemy's cache at its default (100)
    whatever asyncpg's is. With both at 0 every statement is unnamed: asyncpg
    marks it unprepared, so it is parsed again in the round trip that runs
    it, and nothing depends on which server connection a pooler picked. (Unique
    statement names would not help there: a named statement is not parsed
    again, and its execution may reach a server connection that never saw it.)
    """

    def creator() -> Any:
        dbapi = engine[0].sync_engine.dialect.dbapi
        assert dbapi is not None
        return dbapi.connect(
            async_creator_fn=lambda: _Deferred(connect),
            prepared_statement_cache_size=statement_cache_size,
        )

    return creator


class _Deferred:
    """An awaitable that calls `start` only once it is awaited. A checkout
    tried outside a greenlet (the driver unit's fast path) is abandoned at
    its first await, and what SQLAlchemy made before it is dropped: a
    coroutine there would warn that it was never awaited."""

    __slots__ = ("_start",)

    def __init__(self, start: Callable[[], Awaitable[Any]]) -> None:
        self._start = start

    def __await__(self) -> Generator[Any, None, Any]:
        return self._start().__await__()


def _closed_on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """A pooled connection the server closed meanwhile (a restart, a failover,
    an idle timeout) is replaced before it is handed out, at no round trip:
    asyncpg already saw the socket close. Without this the first statement
    after a database restart fails on every pooled connection."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int | None = None,
    statement_cache_size: int = DEFAULT_STATEMENT_CACHE_SIZE,
    autocommit: bool = False,
    connect_timeout: float | None = None,
    pool_timeout: float = 30.0,
    bounds: StatementBounds | None = None,
) -> AsyncEngine:
    """A pooled engine: at most `pool_size + max_overflow` connections
    (`max_overflow` defaults to `pool_size`), opened as they are needed and
    kept once opened; a checkout waits at most `pool_timeout` for one to be
    free.

    `autocommit`: the pool's connections run each statement on its own unless
    a transaction is asked for by name (how `UnitOfWork` uses its engine)."""
    options: dict[str, Any] = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    # Metrics (pool gauges, wait, statement latency, failed connections)
    # and, while tracing is on, a span per statement, by the database's name.
    database = parse_database_url(url).database
    connect = counting_connection_failures(
        connector(
            url,
            statement_cache_size=statement_cache_size,
            connect_timeout=connect_timeout,
            bounds=bounds,
        ),
        database,
    )
    holder: list[AsyncEngine] = []
    engine = create_async_engine(
        "postgresql+asyncpg://",
        creator=_adapted_creator(holder, connect, statement_cache_size),
        poolclass=observed_pool_class(AsyncAdaptedQueuePool, database),
        **options,
        # Every connection opened is kept: at most `pool_size + max_overflow`,
        # as before, but SQLAlchemy's overflow would close each connection
        # beyond `pool_size` at check-in, so a steady load above `pool_size`
        # made PostgreSQL start a backend (a fork, authentication) for
        # nearly every request. Connections still open only when needed.
        pool_size=pool_size + (pool_size if max_overflow is None else max_overflow),
        max_overflow=0,
        pool_timeout=pool_timeout,
        # No ping on checkout: it would double the round trips of every hot
        # path. A connection the server closed is recognised without one
        # (`_closed_on_checkout`).
        pool_pre_ping=False,
        pool_recycle=1800,
    )
    holder.append(engine)
    event.listen(engine.sync_engine, "checkout", _closed_on_checkout)
    observe_engine(engine, database)
    instrument_engine(engine)
    return engine


def create_unpooled_engine(
    url: str, *, statement_cache_size: int = DEFAULT_STATEMENT_CACHE_SIZE
) -> AsyncEngine:
    """One connection per use (migrations, start-up checks)."""
    holder: list[AsyncEngine] = []
    connect = connector(url, statement_cache_size=statement_cache_size)
    engine = create_async_engine(
        "postgresql+asyncpg://",
        creator=_adapted_creator(holder, connect, statement_cache_size),
        poolclass=NullPool,
    )
    holder.append(engine)
    return engine
