"""The two write paths of a fix mutation: optimistic compare-and-swap on the
session's `state_version`, and the locking fallback under contention."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from fixes_service import service
from fixes_service.adapters.repository import FixesRepository
from fixes_service.domain import model
from fixes_service.domain.access import Scope
from flowpilot.runtime.uow import UnitOfWork

from .helpers import Client, audit_rows

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


@pytest.mark.parametrize("attempts", [0, 1, 2], ids=["locks-only", "one-try", "default"])
async def test_twenty_concurrent_script_updates_all_land(
    fixes_channel, make_token, db: asyncpg.Connection, monkeypatch, attempts: int
) -> None:
    """Every update is accepted by the rules, so every one must be written,
    whichever path it takes: none lost, one version and one audit row each."""
    monkeypatch.setattr(service, "OPTIMISTIC_ATTEMPTS", attempts)
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
    uow = UnitOfWork(fixes_db_url, FixesRepository, pool_size=1)
    scope = Scope(account_id="acct-1", owner_user_id="engineer-1")
    try:
        async with uow.autocommit() as repo:
            stale = await repo.read_fix(scope, uuid.UUID(session.id), uuid.UUID(fix.id))

            # Someone else changes the session after our read.
            await client.ApplyFix(session_id=session.id, fix_id=fix.id)
            version = await client.version(session.id)
            events = len(await audit_rows(db, fix.id))

            change = model.dismiss(stale.fix, session_status=stale.session_status, now=NOW)
            written = await repo.compare_and_swap(stale, change, actor="engineer-1", now=NOW)
    finally:
        await uow.dispose()

    assert written is None
    assert await client.version(session.id) == version
    assert len(await audit_rows(db, fix.id)) == events
    current = await client.GetSuggestedFix(session_id=session.id, fix_id=fix.id)
    assert current.applied_at.seconds > 0  # the apply stands; the stale dismissal did not land
