"""WatchAiSession against the real database and real servers: a snapshot,
then every change as it commits (fix proposals, fix changes, resolve and
escalate), resumable from the audit trail, across replicas (two fixes servers
on one database, LISTEN/NOTIFY between them), bounded per user, ended when the
token, the listening connection or the server goes away."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import grpc
import pytest

from fixes_service.adapters.change_feed import LISTENER_APPLICATION_NAME
from flowpilot.fixes.v1 import fixes_pb2 as pb
from flowpilot.runtime.server import GrpcServer
from flowpilot.runtime.settings import Settings
from tests.fixes.helpers import Client, make_state
from tests.support.grpc_client import refusal_of

pytestmark = pytest.mark.integration

# How long a test waits for a message that must come (a bound against hangs,
# not a speed check: `python -m bench.watch` measures the latency).
PATIENCE = 10.0


class Watch:
    """One open WatchAiSession call, its messages collected as they come."""

    def __init__(self, client: Client, session_id: str, last_event_id: int = 0) -> None:
        self.call = client.stub.WatchAiSession(
            pb.WatchAiSessionRequest(session_id=session_id, last_event_id=last_event_id),
            metadata=client.metadata,
        )
        self.messages: asyncio.Queue[pb.AiSessionChange] = asyncio.Queue()
        self.error: grpc.aio.AioRpcError | None = None
        self.ended = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for message in self.call:
                await self.messages.put(message)
        except grpc.aio.AioRpcError as error:
            self.error = error
        finally:
            self.ended.set()

    async def next(self) -> pb.AiSessionChange:
        return await asyncio.wait_for(self.messages.get(), PATIENCE)

    async def opened(self) -> bool:
        """True once a first message came, False when the watch was refused."""
        message = asyncio.ensure_future(self.messages.get())
        ended = asyncio.ensure_future(self.ended.wait())
        done, pending = await asyncio.wait(
            {message, ended}, timeout=PATIENCE, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        assert done, "neither a message nor an end"
        return message in done

    async def take(self, count: int) -> list[pb.AiSessionChange]:
        return [await self.next() for _ in range(count)]

    async def refusal(self) -> tuple[grpc.StatusCode, str]:
        await asyncio.wait_for(self.ended.wait(), PATIENCE)
        assert self.error is not None, "the watch ended without an error"
        return self.error.code(), refusal_of(self.error).reason

    async def close(self) -> None:
        self.call.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@contextlib.asynccontextmanager
async def watching(client: Client, session_id: str, last_event_id: int = 0) -> AsyncIterator[Watch]:
    watch = Watch(client, session_id, last_event_id)
    try:
        yield watch
    finally:
        await watch.close()


@pytest.fixture
def client(fixes_channel, make_token) -> Client:
    return Client(fixes_channel, make_token(user_id="engineer-1"))


async def test_a_watch_starts_with_a_snapshot_then_streams_every_change(client: Client) -> None:
    session = await client.new_session()
    first = await client.new_fix(session.id)
    async with watching(client, session.id) as watch:
        snapshot = await watch.next()
        assert snapshot.kind == pb.AI_SESSION_CHANGE_KIND_SNAPSHOT
        assert snapshot.session.id == session.id and snapshot.session.state_version == 1
        assert not snapshot.HasField("fix") and not snapshot.HasField("event")

        second = await client.new_fix(session.id, title="Flush DNS")
        created = await watch.next()
        assert created.kind == pb.AI_SESSION_CHANGE_KIND_FIX_CREATED
        assert created.fix.id == second.id and created.fix.etag == second.etag
        assert created.event.action == pb.FIX_EVENT_ACTION_CREATED
        assert created.event_id == int(created.event.id) > snapshot.event_id

        await client.ApplyFix(session_id=session.id, fix_id=first.id)
        applied = await watch.next()
        assert applied.kind == pb.AI_SESSION_CHANGE_KIND_FIX_UPDATED
        assert applied.fix.banner_mode == pb.BANNER_MODE_VERIFYING
        assert applied.event.run.kind == pb.FIX_RUN_KIND_APPLY
        # The session says what an escalation would now need.
        assert [c.fix_id for c in applied.session.escalation_choices] == [first.id]

        await client.ProposeOutcome(
            session_id=session.id,
            fix_id=first.id,
            outcome=pb.FIX_OUTCOME_APPLIED_SUCCESS,
            rationale="the event log is clean",
        )
        proposed = await watch.next()
        assert proposed.event.action == pb.FIX_EVENT_ACTION_OUTCOME_PROPOSED
        assert proposed.fix.ai_outcome_proposal.rationale == "the event log is clean"

        await client.ResolveAiSession(session_id=session.id)
        auto_success, resolved = await watch.take(2)
        assert auto_success.kind == pb.AI_SESSION_CHANGE_KIND_FIX_UPDATED
        assert auto_success.event.action == pb.FIX_EVENT_ACTION_RESOLVE_AUTO_SUCCESS
        assert resolved.kind == pb.AI_SESSION_CHANGE_KIND_SESSION_UPDATED
        assert resolved.event.action == pb.FIX_EVENT_ACTION_SESSION_RESOLVED
        assert not resolved.HasField("fix") and resolved.event.fix_id == ""
        assert resolved.session.status == pb.AI_SESSION_STATUS_RESOLVED
        assert list(resolved.session.allowed_actions) == []
        ids = [m.event_id for m in (created, applied, proposed, auto_success, resolved)]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)


async def test_a_watch_resumes_after_an_event_from_the_audit_trail(client: Client) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id)
    async with watching(client, session.id) as watch:
        snapshot = await watch.next()
    # While nobody watches: three changes.
    await client.UpdateFixScript(session_id=session.id, fix_id=fix.id, ai_drafted_script="echo 1")
    await client.ApplyFix(session_id=session.id, fix_id=fix.id)
    await client.EscalateAiSession(
        session_id=session.id,
        reason="tier 2",
        fix_outcomes=[
            pb.FixOutcomeChoice(fix_id=fix.id, choice=pb.ESCALATION_CHOICE_APPLIED_FAILED)
        ],
    )
    async with watching(client, session.id, last_event_id=snapshot.event_id) as watch:
        replayed = await watch.take(4)
        assert [m.event.action for m in replayed] == [
            pb.FIX_EVENT_ACTION_SCRIPT_UPDATED,
            pb.FIX_EVENT_ACTION_APPLIED,
            pb.FIX_EVENT_ACTION_ESCALATION_OUTCOME,
            pb.FIX_EVENT_ACTION_SESSION_ESCALATED,
        ]
        # Each message carries the session and the fix as they are now.
        assert {m.session.status for m in replayed} == {pb.AI_SESSION_STATUS_ESCALATED}
        assert replayed[0].fix.status == pb.FIX_STATUS_APPLIED_FAILED
        assert replayed[0].fix.banner_mode == pb.BANNER_MODE_FAILED
    # From the middle: only what came after.
    async with watching(client, session.id, last_event_id=replayed[1].event_id) as watch:
        rest = await watch.take(2)
        assert [m.event_id for m in rest] == [replayed[2].event_id, replayed[3].event_id]


async def test_a_quiet_resumed_watch_says_at_once_that_it_was_accepted(client: Client) -> None:
    """Resuming from the latest event, nothing is sent until the next change;
    the initial metadata still comes once the checks passed, so the gateway
    answers 200 text/event-stream at once instead of after its backend
    timeout. A refusal still has none (trailers only)."""
    session = await client.new_session()
    await client.new_fix(session.id)  # an audit row to resume after (0 means "from the start")
    async with watching(client, session.id) as watch:
        snapshot = await watch.next()
    assert snapshot.event_id > 0
    async with watching(client, session.id, last_event_id=snapshot.event_id) as watch:
        await asyncio.wait_for(watch.call.initial_metadata(), PATIENCE)
        assert watch.messages.empty() and not watch.ended.is_set()
        await client.new_fix(session.id)
        assert (await watch.next()).kind == pb.AI_SESSION_CHANGE_KIND_FIX_CREATED


@pytest.mark.parametrize(
    ("caller", "session_id", "last", "code", "reason"),
    [
        ("stranger", None, 0, grpc.StatusCode.NOT_FOUND, "AI_SESSION_NOT_FOUND"),
        ("owner", "not-a-uuid", 0, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_UUID"),
        ("owner", None, -1, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
    ],
)
async def test_refusals_come_before_any_message(
    client: Client, fixes_channel, make_token, caller, session_id, last, code, reason
) -> None:
    session = await client.new_session()
    who = client if caller == "owner" else Client(fixes_channel, make_token(user_id="eng-2"))
    async with watching(who, session_id or session.id, last) as watch:
        assert await watch.refusal() == (code, reason)
        assert watch.messages.empty()


async def test_a_viewer_of_the_account_may_watch(client: Client, fixes_channel, make_token):
    session = await client.new_session()
    viewer = Client(fixes_channel, make_token(user_id="viewer-1", role="viewer"))
    async with watching(viewer, session.id) as watch:
        snapshot = await watch.next()
        assert list(snapshot.session.allowed_actions) == []
        await client.new_fix(session.id)
        created = await watch.next()
        assert list(created.fix.allowed_actions) == []


# --- two replicas on one database ----------------------------------------------------


@contextlib.asynccontextmanager
async def replica(
    settings: Settings, database_url: str, scriptbuilder_port: int
) -> AsyncIterator[GrpcServer]:
    from fixes_service.main import create_server

    server = await create_server(
        settings,
        database_url=database_url,
        scriptbuilder_target=f"127.0.0.1:{scriptbuilder_port}",
        port=0,
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop(0)


async def test_a_change_through_one_replica_reaches_a_watcher_on_the_other(
    settings, fixes_server, fixes_db_url, scriptbuilder_port, make_token
) -> None:
    token = make_token(user_id="engineer-1")
    async with (
        replica(settings, fixes_db_url, scriptbuilder_port) as other,
        grpc.aio.insecure_channel(fixes_server.target) as a_channel,
        grpc.aio.insecure_channel(other.target) as b_channel,
    ):
        a, b = Client(a_channel, token), Client(b_channel, token)
        session = await a.new_session()
        async with watching(b, session.id) as watch:
            await watch.next()  # the snapshot, read on B
            for title in ("Restart the print spooler", "Flush DNS cache"):
                fix = await a.new_fix(session.id, title=title)
                change = await watch.next()
                assert (change.kind, change.fix.id) == (
                    pb.AI_SESSION_CHANGE_KIND_FIX_CREATED,
                    fix.id,
                )
            await a.ResolveAiSession(session_id=session.id)
            resolved = await watch.next()
            assert resolved.kind == pb.AI_SESSION_CHANGE_KIND_SESSION_UPDATED


async def test_watches_per_user_are_bounded_across_replicas(
    settings, fixes_db_url, scriptbuilder_port, make_token
) -> None:
    bounded = settings.model_copy(update={"watch_max_per_user": 2})
    token = make_token(user_id="engineer-1")
    async with (
        replica(bounded, fixes_db_url, scriptbuilder_port) as one,
        replica(bounded, fixes_db_url, scriptbuilder_port) as two,
        grpc.aio.insecure_channel(one.target) as one_channel,
        grpc.aio.insecure_channel(two.target) as two_channel,
    ):
        a, b = Client(one_channel, token), Client(two_channel, token)
        session = await a.new_session()
        first, second = Watch(a, session.id), Watch(b, session.id)
        try:
            await first.next()
            await second.next()
            for third in (Watch(a, session.id), Watch(b, session.id)):
                assert await third.refusal() == (
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    "TOO_MANY_WATCHES",
                )
            # Another user is not counted with this one.
            other = Client(one_channel, make_token(user_id="engineer-2", role="admin"))
            async with watching(other, session.id) as theirs:
                await theirs.next()
            # Closing a watch frees its slot for the next one (on either replica),
            # as soon as its release (a task of its own) has run.
            await first.close()
            for _ in range(50):
                again = Watch(b, session.id)
                if await again.opened():
                    break
                await again.close()
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("a closed watch never gave its slot back")
            # And the bound still holds, on either replica.
            try:
                for extra in (Watch(a, session.id), Watch(b, session.id)):
                    assert await extra.refusal() == (
                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                        "TOO_MANY_WATCHES",
                    )
            finally:
                await again.close()
        finally:
            await first.close()
            await second.close()


async def test_a_lost_listener_ends_its_watches_and_the_next_watch_listens_again(
    client: Client, fixes_db_url: str
) -> None:
    session = await client.new_session()
    async with watching(client, session.id) as watch:
        await watch.next()
        conn = await asyncpg.connect(fixes_db_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            killed = await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = $1 AND datname = current_database()",
                LISTENER_APPLICATION_NAME,
            )
        finally:
            await conn.close()
        assert killed == 1
        assert await watch.refusal() == (grpc.StatusCode.UNAVAILABLE, "WATCH_INTERRUPTED")
    async with watching(client, session.id) as watch:
        snapshot = await watch.next()
        fix = await client.new_fix(session.id)
        created = await watch.next()
        assert created.fix.id == fix.id and created.event_id > snapshot.event_id


async def test_a_watch_ends_with_its_token(client: Client, fixes_channel, make_token) -> None:
    session = await client.new_session()
    # Expired 29 s ago: still inside the 30 s leeway, for one more second.
    short = Client(fixes_channel, make_token(user_id="engineer-1", ttl_seconds=-29))
    async with watching(short, session.id) as watch:
        await watch.next()
        assert await watch.refusal() == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_EXPIRED")


async def test_stopping_the_server_ends_its_watches_at_once(
    settings, fixes_db_url, scriptbuilder_port, make_token
) -> None:
    slow_drain = settings.model_copy(update={"shutdown_grace_seconds": 30.0})
    async with (
        replica(slow_drain, fixes_db_url, scriptbuilder_port) as server,
        grpc.aio.insecure_channel(server.target) as channel,
    ):
        client = Client(channel, make_token(user_id="engineer-1"))
        session = await client.new_session()
        watch = Watch(client, session.id)
        await watch.next()
        stopping = asyncio.create_task(server.stop())
        # Well before the 30 s grace: the watch is ended, not waited for.
        assert await watch.refusal() == (grpc.StatusCode.UNAVAILABLE, "WATCH_INTERRUPTED")
        await asyncio.wait_for(stopping, PATIENCE)


async def test_the_audit_rows_of_one_session_are_in_commit_order(client: Client, db) -> None:
    """What resuming relies on: a session's audit ids rise in the order its
    changes commit, also when they race."""
    session = await client.new_session()
    fixes = [await make_state(client, session.id, "not_applied") for _ in range(4)]
    await asyncio.gather(
        *(
            client.UpdateFixScript(
                session_id=session.id, fix_id=f.id, ai_drafted_script=f"echo {i}"
            )
            for i in range(5)
            for f in fixes
        )
    )
    rows = await db.fetch(
        "SELECT id, state_version FROM fix_events WHERE ai_session_id = $1 ORDER BY id",
        uuid.UUID(session.id),
    )
    versions = [r["state_version"] for r in rows]
    assert versions == sorted(versions)


async def test_only_watched_sessions_are_announced(client: Client, fixes_db_url: str) -> None:
    """A NOTIFY serialises commits, so a session nobody watches is not
    announced; one being watched is, until its last watch ends."""
    from fixes_service.adapters.tables import AI_SESSION_CHANGES_CHANNEL

    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(fixes_db_url.replace("postgresql+asyncpg", "postgresql"))

    def hear(connection: object, pid: int, channel: str, payload: str) -> None:
        if not payload.startswith("probe:"):  # a starting listener's self-test
            heard.put_nowait(payload)

    await listener.add_listener(AI_SESSION_CHANGES_CHANNEL, hear)
    try:
        session = await client.new_session()
        fix = await client.new_fix(session.id)
        await client.UpdateFixScript(session_id=session.id, fix_id=fix.id, ai_drafted_script="a")
        await asyncio.sleep(0.3)
        assert heard.empty()
        async with watching(client, session.id) as watch:
            await watch.next()
            marks = await listener.fetchval(
                "SELECT count(*) FROM session_watchers WHERE session_id = $1",
                uuid.UUID(session.id),
            )
            assert marks == 1
            await client.UpdateFixScript(
                session_id=session.id, fix_id=fix.id, ai_drafted_script="b"
            )
            assert await asyncio.wait_for(heard.get(), PATIENCE) == f"{session.id} 3"
            await watch.next()
        for _ in range(400):  # the mark goes with the last watch (a task of its own)
            left = await listener.fetchval(
                "SELECT count(*) FROM session_watchers WHERE session_id = $1",
                uuid.UUID(session.id),
            )
            if left == 0:
                break
            await asyncio.sleep(0.05)
        assert left == 0
        await client.UpdateFixScript(session_id=session.id, fix_id=fix.id, ai_drafted_script="c")
        await asyncio.sleep(0.3)
        assert heard.empty()
    finally:
        await listener.close()
