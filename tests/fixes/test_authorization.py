"""CONTRACT §2 over gRPC: owner, admin of the account, another engineer of the
account, a user of another account, a viewer — on every read and every write.
A viewer reads every session of their account (its fixes, events, renders and
watches) and writes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from flowpilot.fixes.v1 import fixes_pb2 as pb
from tests.fixes.helpers import Client, make_state
from tests.support.grpc_client import refused

pytestmark = pytest.mark.integration

OWNER = "owner-1"
OK, NOT_FOUND, DENIED = "ok", grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED

CALLERS: dict[str, dict[str, str]] = {
    "owner": {"user_id": OWNER, "account_id": "acct-1", "role": "engineer"},
    "admin_same_account": {"user_id": "admin-1", "account_id": "acct-1", "role": "admin"},
    "engineer_same_account": {"user_id": "eng-2", "account_id": "acct-1", "role": "engineer"},
    "engineer_other_account": {"user_id": OWNER, "account_id": "acct-2", "role": "engineer"},
    "admin_other_account": {"user_id": "admin-2", "account_id": "acct-2", "role": "admin"},
    "viewer_same_account": {"user_id": "viewer-1", "account_id": "acct-1", "role": "viewer"},
    # A viewer token for the owner's own id (e.g. a demoted engineer): reads only.
    "owner_as_viewer": {"user_id": OWNER, "account_id": "acct-1", "role": "viewer"},
}

READ_EXPECTED = {
    "owner": OK,
    "admin_same_account": OK,
    "engineer_same_account": NOT_FOUND,
    "engineer_other_account": NOT_FOUND,
    "admin_other_account": NOT_FOUND,
    "viewer_same_account": OK,
    "owner_as_viewer": OK,
}
WRITE_EXPECTED = {
    **READ_EXPECTED,
    "viewer_same_account": DENIED,
    "owner_as_viewer": DENIED,
}

Call = Callable[[Client, str, str], Any]

READS: dict[str, Call] = {
    "GetAiSession": lambda c, s, f: c.GetAiSession(session_id=s),
    "CheckAiSessionAccess": lambda c, s, f: c.CheckAiSessionAccess(ai_session_id=s),
    "ListSuggestedFixes": lambda c, s, f: c.ListSuggestedFixes(session_id=s),
    "GetSuggestedFix": lambda c, s, f: c.GetSuggestedFix(session_id=s, fix_id=f),
    "ListFixEvents": lambda c, s, f: c.ListFixEvents(session_id=s, fix_id=f),
    "ListAiSessionEvents": lambda c, s, f: c.ListAiSessionEvents(session_id=s),
    "RenderSuggestedFix": lambda c, s, f: c.RenderSuggestedFix(session_id=s, fix_id=f),
    "WatchAiSession": lambda c, s, f: _first_change(c, s),
}


async def _first_change(client: Client, session_id: str) -> Any:
    """A watch's first message (its snapshot): the watch is open to the caller."""
    call = client.stub.WatchAiSession(
        pb.WatchAiSessionRequest(session_id=session_id), metadata=client.metadata, timeout=10
    )
    try:
        return await call.read()
    finally:
        call.cancel()


WRITES: dict[str, Call] = {
    "CreateSuggestedFix": lambda c, s, f: c.new_fix(s),
    "UpdateFixScript": lambda c, s, f: c.UpdateFixScript(
        session_id=s, fix_id=f, ai_drafted_script="echo hi"
    ),
    "ApplyFix": lambda c, s, f: c.ApplyFix(session_id=s, fix_id=f),
    "RecordScriptDecision": lambda c, s, f: c.RecordScriptDecision(
        session_id=s, fix_id=f, decision=pb.SCRIPT_DECISION_BUILD_TEMPLATE
    ),
    "RecordOutcome": lambda c, s, f: c.RecordOutcome(
        session_id=s, fix_id=f, outcome=pb.FIX_OUTCOME_APPLIED_SUCCESS
    ),
    "DismissFix": lambda c, s, f: c.DismissFix(session_id=s, fix_id=f),
    "ProposeOutcome": lambda c, s, f: c.ProposeOutcome(
        session_id=s, fix_id=f, outcome=pb.FIX_OUTCOME_APPLIED_SUCCESS, rationale="ok"
    ),
    "ClearOutcomeProposal": lambda c, s, f: c.ClearOutcomeProposal(session_id=s, fix_id=f),
    "ResolveAiSession": lambda c, s, f: c.ResolveAiSession(session_id=s),
    "EscalateAiSession": lambda c, s, f: c.EscalateAiSession(
        session_id=s,
        fix_outcomes=[pb.FixOutcomeChoice(fix_id=f, choice=pb.ESCALATION_CHOICE_APPLIED_SUCCESS)],
    ),
}


ON_FRESH_FIX = {"ApplyFix", "DismissFix", "RecordScriptDecision"}


async def make_world(owner: Client) -> tuple[pb.AiSession, pb.SuggestedFix, pb.SuggestedFix]:
    session = await owner.new_session()
    fix = await make_state(owner, session.id, "verifying_with_proposal")
    fresh = await make_state(owner, session.id, "not_applied")
    return session, fix, fresh


@pytest.fixture
async def world(fixes_channel, make_token):
    owner = Client(fixes_channel, make_token(**CALLERS["owner"]))
    return (owner, *await make_world(owner))


async def _check(client: Client, call: Call, session_id: str, fix_id: str, want: Any) -> None:
    if want == OK:
        await call(client, session_id, fix_id)
        return
    refusal = await refused(call(client, session_id, fix_id))
    assert refusal.code is want
    if want is NOT_FOUND:
        # Absent and not-yours look the same.
        assert refusal.reason in ("AI_SESSION_NOT_FOUND", "FIX_NOT_FOUND")
    else:
        assert refusal.reason == "ROLE_CANNOT_WRITE"


@pytest.mark.parametrize("method", list(READS))
async def test_reads(world, fixes_channel, make_token, method: str) -> None:
    _, session, fix, _ = world
    for caller, want in READ_EXPECTED.items():
        client = Client(fixes_channel, make_token(**CALLERS[caller]))
        await _check(client, READS[method], session.id, fix.id, want)


@pytest.mark.parametrize("method", list(WRITES))
async def test_writes(fixes_channel, make_token, db, method: str) -> None:
    owner = Client(fixes_channel, make_token(**CALLERS["owner"]))
    for caller, want in WRITE_EXPECTED.items():
        # A fresh session per caller: a successful resolve must not hide the next case.
        session, verifying, fresh = await make_world(owner)
        # Apply, dismiss and decisions act on a fresh fix; the rest on a Verifying one.
        fix = fresh if method in ON_FRESH_FIX else verifying
        version = await owner.version(session.id)
        events = await db.fetchval("SELECT count(*) FROM fix_events")
        client = Client(fixes_channel, make_token(**CALLERS[caller]))
        await _check(client, WRITES[method], session.id, fix.id, want)
        if want == OK:
            assert await owner.version(session.id) == version + 1, caller
        else:
            assert await owner.version(session.id) == version, caller
            assert await db.fetchval("SELECT count(*) FROM fix_events") == events, caller


async def test_admin_changes_are_audited_under_the_admin(world, fixes_channel, make_token, db):
    _, session, fix, _ = world
    admin = Client(fixes_channel, make_token(**CALLERS["admin_same_account"]))
    await admin.RecordOutcome(
        session_id=session.id, fix_id=fix.id, outcome=pb.FIX_OUTCOME_APPLIED_FAILED
    )
    actor = await db.fetchval(
        "SELECT actor_user_id FROM fix_events WHERE fix_id = $1 ORDER BY id DESC LIMIT 1",
        uuid.UUID(fix.id),
    )
    assert actor == "admin-1"


async def test_list_sessions_scope(fixes_channel, make_token) -> None:
    owner = Client(fixes_channel, make_token(**CALLERS["owner"]))
    colleague = Client(fixes_channel, make_token(**CALLERS["engineer_same_account"]))
    foreign = Client(fixes_channel, make_token(**CALLERS["engineer_other_account"]))
    mine = {(await owner.new_session(f"mine {i}")).id for i in range(2)}
    theirs = {(await colleague.new_session("theirs")).id}
    await foreign.new_session("foreign")

    async def listed(caller: str) -> set[str]:
        client = Client(fixes_channel, make_token(**CALLERS[caller]))
        return {s.id for s in (await client.ListAiSessions()).ai_sessions}

    assert await listed("owner") == mine
    assert await listed("engineer_same_account") == theirs
    assert await listed("admin_same_account") == mine | theirs
    assert len(await listed("admin_other_account")) == 1
    assert await listed("viewer_same_account") == mine | theirs


async def test_viewers_are_offered_no_actions(world, fixes_channel, make_token) -> None:
    owner, session, fix, _ = world
    viewer = Client(fixes_channel, make_token(**CALLERS["viewer_same_account"]))
    theirs = await viewer.GetSuggestedFix(session_id=session.id, fix_id=fix.id)
    mine = await owner.GetSuggestedFix(session_id=session.id, fix_id=fix.id)
    assert list(theirs.allowed_actions) == [] and len(mine.allowed_actions) > 0
    assert theirs.etag == mine.etag and theirs.banner_mode == mine.banner_mode
    as_viewer = await viewer.GetAiSession(session_id=session.id)
    as_owner = await owner.GetAiSession(session_id=session.id)
    assert list(as_viewer.allowed_actions) == [] and list(as_viewer.escalation_choices) == []
    assert [c.fix_id for c in as_owner.escalation_choices] == [fix.id]


async def test_viewer_cannot_create_sessions(fixes_channel, make_token) -> None:
    viewer = Client(fixes_channel, make_token(**CALLERS["viewer_same_account"]))
    refusal = await refused(viewer.new_session())
    assert refusal.code is DENIED


async def test_service_identity_is_refused_on_user_methods_and_users_on_internal(
    world, fixes_channel, make_token
) -> None:
    _, session, _, _ = world
    service = Client(
        fixes_channel, make_token(user_id="service:sb", account_id="*", role="service")
    )
    refusal = await refused(service.CheckAiSessionAccess(ai_session_id=session.id))
    assert refusal.code is DENIED
    for caller in ("owner", "admin_same_account"):
        user = Client(fixes_channel, make_token(**CALLERS[caller]))
        refusal = await refused(user.ListPendingTemplateProposals())
        assert (refusal.code, refusal.reason) == (DENIED, "INTERNAL_METHOD")


async def test_unauthenticated(fixes_channel) -> None:
    client = Client(fixes_channel, "not-a-token")
    refusal = await refused(client.ListAiSessions())
    assert refusal.code is grpc.StatusCode.UNAUTHENTICATED
