"""Helpers for the fixes-service tests: raw SQL access and gRPC call helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest


def raw_url(url: str) -> str:
    """asyncpg wants a plain `postgresql://` URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture
async def db(fixes_db_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(raw_url(fixes_db_url))
    try:
        yield conn
    finally:
        await conn.close()
