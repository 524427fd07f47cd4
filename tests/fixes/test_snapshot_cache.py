"""The fix snapshot cache that lets a write skip its read
(`fixes_service/adapters/snapshots.py`).

Its bounds, in memory; then against the real database, two replicas of the
fixes service whose caches go stale behind each other's writes: a write
decided on a stale snapshot never lands, and the caller's answer is the one
the row as read would have given (a current etag is accepted, a stale one
refused, a no-op writes nothing, a refused action is refused on the row).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import grpc
import pytest

from fixes_service.adapters.repository import FixesRepository, FixSnapshot
from fixes_service.adapters.snapshots import SnapshotCache
from fixes_service.domain.access import Scope
from fixes_service.domain.model import SessionStatus
from flowpilot.fixes.v1 import fixes_pb2 as pb
from flowpilot.runtime.server import GrpcServer
from flowpilot.runtime.settings import Settings
from tests.fixes.helpers import Client, audit_rows, fix_row
from tests.fixes.test_domain import make_fix
from tests.fixes.test_watch import replica
from tests.support.grpc_client import refused

SCOPE = Scope(account_id="acme", owner_user_id="engineer-1")


def _snapshot(script: str = "echo 1") -> FixSnapshot:
    return FixSnapshot(
        fix=make_fix(ai_drafted_script=script),
        session_status=SessionStatus.ACTIVE,
        session_version=1,
        account_id="acme",
    )


def _key() -> tuple[Scope, uuid.UUID, uuid.UUID]:
    return (SCOPE, uuid.uuid4(), uuid.uuid4())


@pytest.mark.unit
def test_the_least_recently_used_snapshot_goes_first() -> None:
    cache = SnapshotCache(max_count=2)
    first, second, third = _key(), _key(), _key()
    cache.put(first, _snapshot())
    cache.put(second, _snapshot())
    assert cache.get(first) is not None  # now the most recently used
    cache.put(third, _snapshot())
    assert len(cache) == 2
    assert cache.get(second) is None
    assert cache.get(first) is not None and cache.get(third) is not None


@pytest.mark.unit
def test_the_text_held_is_bounded_too() -> None:
    big = "x" * 10_000
    cache = SnapshotCache(max_count=100, max_text_bytes=25_000)
    keys = [_key() for _ in range(3)]
    for key in keys:
        cache.put(key, _snapshot(big))
    assert len(cache) == 2 and cache.get(keys[0]) is None
    # One snapshot larger than the whole budget is not kept (and drops its key).
    cache.put(keys[1], _snapshot("y" * 30_000))
    assert cache.get(keys[1]) is None and cache.get(keys[2]) is not None


@pytest.mark.unit
def test_discard_keeps_a_newer_snapshot_and_zero_keeps_nothing() -> None:
    cache = SnapshotCache()
    key, old, new = _key(), _snapshot("old"), _snapshot("new")
    cache.put(key, old)
    cache.put(key, new)
    cache.discard(key, old)  # a caller that lost with `old`: `new` stays
    assert cache.get(key) is new
    cache.discard(key)
    assert cache.get(key) is None
    off = SnapshotCache(max_count=0)
    off.put(key, new)
    assert off.get(key) is None and len(off) == 0


# --- two replicas, each with its cache, on one database --------------------------------


@pytest.fixture
async def replicas(
    settings: Settings, fixes_db_url: str, scriptbuilder_port: int
) -> AsyncIterator[tuple[GrpcServer, GrpcServer]]:
    async with (
        replica(settings, fixes_db_url, scriptbuilder_port) as one,
        replica(settings, fixes_db_url, scriptbuilder_port) as two,
    ):
        yield one, two


@pytest.fixture
async def clients(replicas, make_token) -> AsyncIterator[tuple[Client, Client]]:
    token = make_token(user_id="engineer-1")
    async with (
        grpc.aio.insecure_channel(replicas[0].target) as one,
        grpc.aio.insecure_channel(replicas[1].target) as two,
    ):
        yield Client(one, token), Client(two, token)


async def _script_fix(a: Client, b: Client) -> tuple[pb.AiSession, pb.SuggestedFix]:
    """A fix whose snapshot replica A caches (A wrote it last), then replica B
    writes it behind A's back: A's snapshot is one write behind."""
    session = await a.new_session()
    fix = await a.new_fix(session.id, script="echo 0")
    await a.UpdateFixScript(session_id=session.id, fix_id=fix.id, ai_drafted_script="echo a")
    await b.UpdateFixScript(session_id=session.id, fix_id=fix.id, ai_drafted_script="echo b")
    return session, fix


@pytest.mark.integration
async def test_a_current_etag_lands_on_the_replica_whose_snapshot_is_stale(
    clients: tuple[Client, Client], db: asyncpg.Connection
) -> None:
    a, b = clients
    session, fix = await _script_fix(a, b)
    current = await b.GetSuggestedFix(session_id=session.id, fix_id=fix.id)
    written = await a.UpdateFixScript(
        session_id=session.id, fix_id=fix.id, ai_drafted_script="echo c", etag=current.etag
    )
    assert written.ai_drafted_script == "echo c"
    assert written.state_version == current.state_version + 1
    row = await fix_row(db, fix.id)
    assert (row["ai_drafted_script"], row["state_version"]) == ("echo c", written.state_version)
    scripts = [e["details"] for e in await audit_rows(db, fix.id)]
    assert len(scripts) == 4  # created, a, b, c: none lost, none doubled


@pytest.mark.integration
async def test_the_stale_snapshots_etag_is_refused_with_the_current_one(
    clients: tuple[Client, Client], db: asyncpg.Connection
) -> None:
    a, b = clients
    session, fix = await _script_fix(a, b)
    current = await b.GetSuggestedFix(session_id=session.id, fix_id=fix.id)
    stale = f'"{current.state_version - 1}"'  # what replica A's snapshot holds
    before = len(await audit_rows(db, fix.id))
    refusal = await refused(
        a.UpdateFixScript(
            session_id=session.id, fix_id=fix.id, ai_drafted_script="echo c", etag=stale
        )
    )
    assert refusal.reason == "ETAG_MISMATCH"
    assert refusal.metadata["etag"] == current.etag
    assert len(await audit_rows(db, fix.id)) == before


@pytest.mark.integration
async def test_a_no_op_on_the_row_writes_nothing_whatever_the_snapshot_says(
    clients: tuple[Client, Client], db: asyncpg.Connection
) -> None:
    """Against A's snapshot ("echo a") "echo b" is a change; against the row
    it is none: nothing is written and the answer is the row."""
    a, b = clients
    session, fix = await _script_fix(a, b)
    before, events = await fix_row(db, fix.id), len(await audit_rows(db, fix.id))
    answer = await a.UpdateFixScript(
        session_id=session.id, fix_id=fix.id, ai_drafted_script="echo b"
    )
    assert answer.ai_drafted_script == "echo b"
    assert answer.state_version == before["state_version"]
    assert await fix_row(db, fix.id) == before
    assert len(await audit_rows(db, fix.id)) == events


@pytest.mark.integration
async def test_an_action_the_row_refuses_is_refused_though_the_snapshot_allows_it(
    clients: tuple[Client, Client], db: asyncpg.Connection
) -> None:
    """B resolves the session; A's snapshot still has it active, where a
    script edit is allowed. The row decides: a resolved session's fix refuses."""
    a, b = clients
    session, fix = await _script_fix(a, b)
    await b.ResolveAiSession(session_id=session.id)
    before, events = await fix_row(db, fix.id), len(await audit_rows(db, fix.id))
    refusal = await refused(
        a.UpdateFixScript(session_id=session.id, fix_id=fix.id, ai_drafted_script="echo c")
    )
    assert refusal.code is grpc.StatusCode.FAILED_PRECONDITION
    assert await fix_row(db, fix.id) == before
    assert len(await audit_rows(db, fix.id)) == events


@pytest.fixture
def fix_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """Every read of the write path (`FixesRepository.read_fix`), as it runs."""
    calls: list[tuple[object, ...]] = []
    original = FixesRepository.read_fix

    async def counted(self: FixesRepository, *args: Any) -> FixSnapshot:
        calls.append(args)
        return await original(self, *args)

    monkeypatch.setattr(FixesRepository, "read_fix", counted)
    return calls


@pytest.mark.integration
async def test_a_replica_writes_on_its_own_snapshot_without_reading(
    clients: tuple[Client, Client], db: asyncpg.Connection, fix_reads: list[tuple[object, ...]]
) -> None:
    """The point of the cache: A's second write in a row lands on the
    snapshot A's first write left, with no read; after B's write, A's next
    one loses its swap and reads (once)."""
    a, b = clients
    session = await a.new_session()
    fix = await a.new_fix(session.id, script="echo 0")
    await a.UpdateFixScript(session_id=session.id, fix_id=fix.id, ai_drafted_script="echo 1")
    assert len(fix_reads) == 1  # nothing cached yet
    await a.UpdateFixScript(session_id=session.id, fix_id=fix.id, ai_drafted_script="echo 2")
    assert len(fix_reads) == 1
    assert (await fix_row(db, fix.id))["ai_drafted_script"] == "echo 2"
    await b.UpdateFixScript(session_id=session.id, fix_id=fix.id, ai_drafted_script="echo 3")
    assert len(fix_reads) == 2  # B had no snapshot
    await a.UpdateFixScript(session_id=session.id, fix_id=fix.id, ai_drafted_script="echo 4")
    assert len(fix_reads) == 3  # A's snapshot lost the swap, then A read
    assert (await fix_row(db, fix.id))["ai_drafted_script"] == "echo 4"
