"""Helpers for the fixes-service tests: raw SQL access and gRPC call helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest


def raw_url(url: str) -> str:
    """asyncpg wants a plain `postgresql://` URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture
async def template_id(scriptbuilder_channel, make_token) -> str:
    """A real PowerShell template of account `acct-1` (the script-builder runs)."""
    from tests.fixes.helpers import create_template

    return await create_template(scriptbuilder_channel, make_token(user_id="template-author"))


@pytest.fixture
async def db(fixes_db_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(raw_url(fixes_db_url))
    try:
        yield conn
    finally:
        await conn.close()
