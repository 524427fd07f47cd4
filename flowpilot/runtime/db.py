"""Async SQLAlchemy engines over asyncpg."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def asyncpg_url(url: str) -> str:
    """Accepts `postgresql://` URLs too and pins the asyncpg driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    if parsed.drivername != "postgresql+asyncpg":
        raise ValueError(f"only PostgreSQL is supported, got {parsed.drivername!r}")
    return parsed.render_as_string(hide_password=False)


def create_engine(url: str, *, pool_size: int = 10, autocommit: bool = False) -> AsyncEngine:
    """`autocommit`: the pool's connections run each statement on its own unless
    a transaction is asked for by name (how `UnitOfWork` uses its engine)."""
    options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    return create_async_engine(
        asyncpg_url(url),
        **options,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No ping on checkout: it would double the round trips of every hot
        # path. A connection the server dropped fails its statement once, and
        # SQLAlchemy then invalidates it and the rest of the pool.
        pool_pre_ping=False,
        pool_recycle=1800,
        connect_args={"server_settings": {"application_name": "flowpilot"}},
    )
