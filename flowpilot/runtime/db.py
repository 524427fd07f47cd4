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

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, NullPool

from flowpilot.runtime.metrics import (
    counting_connection_failures,
    observe_engine,
    observed_pool_class,
)
from flowpilot.runtime.tracing import instrument_engine

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
# asyncpg's own default; 0 disables it (PgBouncer in transaction pooling).
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


def connector(
    url: str | DatabaseUrl, *, statement_cache_size: int = DEFAULT_STATEMENT_CACHE_SIZE
) -> Callable[[], Awaitable[asyncpg.Connection]]:
    """Opens asyncpg connections for `url`, with libpq's TLS and URL rules.

    `statement_cache_size=0` is what PgBouncer's transaction pooling needs:
    asyncpg then uses unnamed statements, parsed again in the same round trip
    as each execution, so no statement outlives the server connection it
    was prepared on.
    """
    checked = url if isinstance(url, DatabaseUrl) else parse_database_url(url)
    params = dict(parse_qsl(urlsplit(checked.dsn).query))
    server_settings = {} if "application_name" in params else {"application_name": APPLICATION_NAME}
    options: dict[str, Any] = {
        "statement_cache_size": statement_cache_size,
        "server_settings": server_settings,
    }
    if checked.connect_timeout is not None:
        options["timeout"] = checked.connect_timeout

    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(checked.dsn, **options)

    return connect


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int | None = None,
    statement_cache_size: int = DEFAULT_STATEMENT_CACHE_SIZE,
    autocommit: bool = False,
) -> AsyncEngine:
    """A pooled engine: at most `pool_size + max_overflow` connections
    (`max_overflow` defaults to `pool_size`).

    `autocommit`: the pool's connections run each statement on its own unless
    a transaction is asked for by name (how `UnitOfWork` uses its engine)."""
    options: dict[str, Any] = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    # Metrics (pool gauges, wait, statement latency) and, while tracing is
    # on, a span per statement, labelled with the database's name.
    database = parse_database_url(url).database
    engine = create_async_engine(
        "postgresql+asyncpg://",
        async_creator=counting_connection_failures(
            connector(url, statement_cache_size=statement_cache_size), database
        ),
        poolclass=observed_pool_class(AsyncAdaptedQueuePool, database),
        **options,
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        # No ping on checkout: it would double the round trips of every hot
        # path. A connection the server dropped fails its statement once, and
        # SQLAlchemy then invalidates it and the rest of the pool.
        pool_pre_ping=False,
        pool_recycle=1800,
    )
    observe_engine(engine, database)
    instrument_engine(engine)
    return engine


def create_unpooled_engine(
    url: str, *, statement_cache_size: int = DEFAULT_STATEMENT_CACHE_SIZE
) -> AsyncEngine:
    """One connection per use (migrations, start-up checks)."""
    return create_async_engine(
        "postgresql+asyncpg://",
        async_creator=connector(url, statement_cache_size=statement_cache_size),
        poolclass=NullPool,
    )
