"""The two write paths of a fix mutation: optimistic compare-and-swap on the
session's `state_version`, and the locking fallback under contention."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from fixes_service.adapters import repository
from fixes_service.adapters.repository import FixesRepository
from fixes_service.domain import model
from fixes_service.domain.access import Scope
from flowpilot.runtime.db import create_engine

from .helpers import Client, audit_rows


@pytest.mark.parametrize("attempts", [0, 1, 2], ids=["locks-only", "one-try", "default"])
async def test_twenty_concurrent_script_updates_all_land(
    fixes_channel, make_token, db: asyncpg.Connection, monkeypatch, attempts: int
) -> None:
    """Every update is accepted by the rules, so every one must be written,
    whichever path it takes: none lost, one version and one audit row each."""
    monkeypatch.setattr(repository, "OPTIMISTIC_ATTEMPTS", attempts)
    client = Client(fixes_channel, make_token(user_id="engineer-1"))
    session = await client.new_session()
    fix = await client.new_fix(session.id, script=None)
    start = await client.version(session.id)

    scripts = [f"Write-Output {n}" for n in range(20)]
    await asyncio.gather(
        *(
            client.UpdateFixScript(session_id=session.id, fix_id=fix.id, ai_drafted_script=s)
            for s in scripts
        )
    )

    events = [e for e in await audit_rows(db, fix.id) if e["action"] == "script_updated"]
    assert len(events) == 20
    assert sorted(e["state_version"] for e in events) == list(range(start + 1, start + 21))
    assert await client.version(session.id) == start + 20
    final = await client.GetSuggestedFix(session_id=session.id, fix_id=fix.id)
    assert final.ai_drafted_script in scripts


async def test_a_stale_compare_and_swap_writes_nothing(
    fixes_channel, make_token, fixes_db_url: str, db: asyncpg.Connection
) -> None:
    client = Client(fixes_channel, make_token(user_id="engineer-1"))
    session = await client.new_session()
    fix = await client.new_fix(session.id)
    engine = create_engine(fixes_db_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            driver = await repository._driver(conn)
            read = repository._READ_FIX[False]
            params = {"session_id": fix.ai_session_id, "fix_id": fix.id}
            params.update(
                repository._scope_params(Scope(account_id="acct-1", owner_user_id="engineer-1"))
            )
            stale = await driver.fetchrow(read.sql, *read.args(params))
            assert stale is not None

            # Someone else changes the session after our read.
            await client.ApplyFix(session_id=session.id, fix_id=fix.id)
            version = await client.version(session.id)
            events = len(await audit_rows(db, fix.id))

            before = repository.fix_from_row(stale)
            change = model.dismiss(
                before, session_status=model.SessionStatus.ACTIVE, now=datetime.now(UTC)
            )
            written = await FixesRepository._write_change(
                driver, stale, before, change, actor="engineer-1", now=datetime.now(UTC)
            )
    finally:
        await engine.dispose()

    assert written is False
    assert await client.version(session.id) == version
    assert len(await audit_rows(db, fix.id)) == events
    current = await client.GetSuggestedFix(session_id=session.id, fix_id=fix.id)
    assert current.applied_at.seconds > 0  # the apply stands; the stale dismissal did not land
