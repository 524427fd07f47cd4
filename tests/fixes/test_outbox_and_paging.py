"""The template-proposal outbox, session reads, and paging through lists."""

from __future__ import annotations

import uuid

import grpc
import pytest

from flowpilot.api.v1 import types_pb2
from flowpilot.fixes.v1 import fixes_pb2 as pb
from tests.fixes.helpers import SCRIPT, Client, make_state
from tests.support.grpc_client import refused

pytestmark = pytest.mark.integration


@pytest.fixture
def client(fixes_channel, make_token) -> Client:
    return Client(fixes_channel, make_token(user_id="engineer-1", account_id="acct-7"))


@pytest.fixture
def relay(fixes_channel, make_token) -> Client:
    return Client(
        fixes_channel, make_token(user_id="service:scriptbuilder", account_id="*", role="service")
    )


async def _draft_template(client: Client, session_id: str, fix_id: str) -> pb.SuggestedFix:
    return await client.RecordScriptDecision(
        session_id=session_id, fix_id=fix_id, decision=pb.SCRIPT_DECISION_DRAFT_TEMPLATE
    )


async def test_draft_template_leaves_one_proposal_in_the_same_transaction(
    client: Client, relay: Client, db
) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id, parameters={"mailbox": "x"})
    await _draft_template(client, session.id, fix.id)

    (proposal,) = (await relay.ListPendingTemplateProposals()).proposals
    assert proposal.fix_id == fix.id and proposal.ai_session_id == session.id
    assert proposal.account_id == "acct-7"
    assert proposal.requested_by_user_id == "engineer-1"
    assert proposal.title == fix.title and proposal.description == fix.description
    assert proposal.language == types_pb2.SCRIPT_LANGUAGE_POWERSHELL
    assert proposal.script == SCRIPT
    assert dict(proposal.parameters) == {"mailbox": "x"}
    assert not proposal.HasField("template_id")

    # Another card, then draft_template again: still one proposal for the fix.
    await client.RecordScriptDecision(
        session_id=session.id, fix_id=fix.id, decision=pb.SCRIPT_DECISION_BUILD_TEMPLATE
    )
    await _draft_template(client, session.id, fix.id)
    assert len((await relay.ListPendingTemplateProposals()).proposals) == 1
    assert await db.fetchval("SELECT count(*) FROM template_proposals") == 1


async def test_refused_decision_leaves_no_proposal(client: Client, relay: Client) -> None:
    session = await client.new_session()
    bare = await client.new_fix(session.id, script=None)
    refusal = await refused(_draft_template(client, session.id, bare.id))
    assert refusal.reason == "NO_DRAFTED_SCRIPT"
    assert (await relay.ListPendingTemplateProposals()).proposals == []


async def test_pending_oldest_first_and_ack_is_idempotent(client: Client, relay: Client) -> None:
    session = await client.new_session()
    fixes = [await client.new_fix(session.id, title=f"fix {i}") for i in range(3)]
    for fix in fixes:
        await _draft_template(client, session.id, fix.id)
    pending = (await relay.ListPendingTemplateProposals()).proposals
    assert [p.fix_id for p in pending] == [f.id for f in fixes]
    assert len((await relay.ListPendingTemplateProposals(page_size=2)).proposals) == 2

    template_id = str(uuid.uuid4())
    acked = await relay.AckTemplateProposal(proposal_id=pending[0].id, template_id=template_id)
    assert acked.template_id == template_id
    again = await relay.AckTemplateProposal(proposal_id=pending[0].id, template_id=template_id)
    assert again == acked
    left = (await relay.ListPendingTemplateProposals()).proposals
    assert [p.id for p in left] == [p.id for p in pending[1:]]

    conflict = await refused(
        relay.AckTemplateProposal(proposal_id=pending[0].id, template_id=str(uuid.uuid4()))
    )
    assert (conflict.code, conflict.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "TEMPLATE_PROPOSAL_ALREADY_ACKED",
    )
    missing = await refused(
        relay.AckTemplateProposal(proposal_id=str(uuid.uuid4()), template_id=template_id)
    )
    assert missing.code is grpc.StatusCode.NOT_FOUND


async def test_check_access_answers_for_the_token(client: Client, fixes_channel, make_token):
    session = await client.new_session()
    answer = await client.CheckAiSessionAccess(ai_session_id=session.id)
    assert answer.ai_session_id == session.id
    assert answer.owner_user_id == "engineer-1" and answer.account_id == "acct-7"
    assert answer.status == pb.AI_SESSION_STATUS_ACTIVE
    absent = await refused(client.CheckAiSessionAccess(ai_session_id=str(uuid.uuid4())))
    assert (absent.code, absent.reason) == (grpc.StatusCode.NOT_FOUND, "AI_SESSION_NOT_FOUND")
    await client.ResolveAiSession(session_id=session.id)
    resolved = await client.CheckAiSessionAccess(ai_session_id=session.id)
    assert resolved.status == pb.AI_SESSION_STATUS_RESOLVED


async def test_check_access_with_a_fix_confirms_it_is_the_sessions(
    client: Client, fixes_channel, make_token
):
    session = await client.new_session()
    fix = await client.new_fix(session.id, title="Restart the print spooler")
    answer = await client.CheckAiSessionAccess(ai_session_id=session.id, fix_id=fix.id)
    assert answer.ai_session_id == session.id
    assert answer.fix == await client.GetSuggestedFix(session_id=session.id, fix_id=fix.id)
    assert not (await client.CheckAiSessionAccess(ai_session_id=session.id)).HasField("fix")
    other = await client.new_session("Another ticket")
    foreign = await client.new_fix(other.id)
    for fix_id in (foreign.id, str(uuid.uuid4())):
        refusal = await refused(
            client.CheckAiSessionAccess(ai_session_id=session.id, fix_id=fix_id)
        )
        assert (refusal.code, refusal.reason) == (grpc.StatusCode.NOT_FOUND, "FIX_NOT_FOUND")
    bad = await refused(client.CheckAiSessionAccess(ai_session_id=session.id, fix_id="nope"))
    assert bad.code is grpc.StatusCode.INVALID_ARGUMENT and bad.metadata["field"] == "fix_id"
    # Someone else's session: the session's refusal, whatever the fix.
    stranger = Client(fixes_channel, make_token(user_id="engineer-2", account_id="acct-7"))
    hidden = await refused(stranger.CheckAiSessionAccess(ai_session_id=session.id, fix_id=fix.id))
    assert hidden.reason == "AI_SESSION_NOT_FOUND"


async def test_create_session_shape(client: Client) -> None:
    session = await client.new_session("  Outlook crashes  ")
    assert session.title == "Outlook crashes"
    assert session.owner_user_id == "engineer-1" and session.account_id == "acct-7"
    assert session.state_version == 0
    assert session.status == pb.AI_SESSION_STATUS_ACTIVE
    uuid.UUID(session.id)
    assert await client.GetAiSession(session_id=session.id) == session


async def test_paging_sessions_newest_first(client: Client) -> None:
    created = [(await client.new_session(f"s{i}")).id for i in range(5)]
    seen, token = [], ""
    while True:
        page = await client.ListAiSessions(page_size=2, page_token=token)
        assert len(page.ai_sessions) <= 2
        seen += [s.id for s in page.ai_sessions]
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(created))


async def test_paging_fixes_oldest_first(client: Client) -> None:
    session = await client.new_session()
    created = [(await client.new_fix(session.id, title=f"f{i}")).id for i in range(5)]
    seen, token = [], ""
    while True:
        page = await client.ListSuggestedFixes(session_id=session.id, page_size=2, page_token=token)
        seen += [f.id for f in page.suggested_fixes]
        token = page.next_page_token
        if not token:
            break
    assert seen == created
    assert len((await client.ListSuggestedFixes(session_id=session.id)).suggested_fixes) == 5
    # A token of one session's list is refused on another's.
    other = await client.new_session()
    first = await client.ListSuggestedFixes(session_id=session.id, page_size=1)
    refusal = await refused(
        client.ListSuggestedFixes(session_id=other.id, page_token=first.next_page_token)
    )
    assert refusal.reason == "INVALID_PAGE_TOKEN"


async def test_events_oldest_first_with_paging(client: Client) -> None:
    session = await client.new_session()
    fix = await make_state(client, session.id, "partial")
    events, token = [], ""
    while True:
        page = await client.ListFixEvents(
            session_id=session.id, fix_id=fix.id, page_size=1, page_token=token
        )
        events += page.events
        token = page.next_page_token
        if not token:
            break
    assert [e.action for e in events] == [
        pb.FIX_EVENT_ACTION_CREATED,
        pb.FIX_EVENT_ACTION_APPLIED,
        pb.FIX_EVENT_ACTION_OUTCOME_RECORDED,
    ]
    assert [e.state_version for e in events] == [1, 2, 3]
    last = events[-1]
    assert last.from_status == pb.FIX_STATUS_PROPOSED
    assert last.to_status == pb.FIX_STATUS_APPLIED_PARTIAL
    assert last.actor_user_id == "engineer-1"
    assert last.details["notes"] == "only the mailbox"
    assert events[0].from_status == pb.FIX_STATUS_UNSPECIFIED


async def test_session_events_hold_every_fix_and_the_session_itself(client: Client) -> None:
    """The session's trail is its fixes' trails plus its own rows (resolve),
    which no fix's trail holds; oldest first, page by page."""
    session = await client.new_session()
    partial = await make_state(client, session.id, "partial")
    verifying = await make_state(client, session.id, "verifying")
    elsewhere = await client.new_session()
    await make_state(client, elsewhere.id, "partial")
    await client.ResolveAiSession(session_id=session.id)

    events, token = [], ""
    while True:
        page = await client.ListAiSessionEvents(
            session_id=session.id, page_size=2, page_token=token
        )
        assert len(page.events) <= 2
        events += page.events
        token = page.next_page_token
        if not token:
            break

    fix_trails = [
        e
        for fix in (partial, verifying)
        for e in (await client.ListFixEvents(session_id=session.id, fix_id=fix.id)).events
    ]
    own = [e for e in events if not e.fix_id]
    assert [e.action for e in own] == [pb.FIX_EVENT_ACTION_SESSION_RESOLVED]
    assert own[0].ai_session_id == session.id and own[0].actor_user_id == "engineer-1"
    assert sorted((e.id for e in [*fix_trails, *own]), key=int) == [e.id for e in events]
    assert [int(e.id) for e in events] == sorted(int(e.id) for e in events)
    assert {e.ai_session_id for e in events} == {session.id}
    # Resolving recorded the verifying fix as worked, in that fix's trail too.
    assert pb.FIX_EVENT_ACTION_RESOLVE_AUTO_SUCCESS in {
        e.action for e in events if e.fix_id == verifying.id
    }

    # A token of one session's trail is refused on another's.
    first = await client.ListAiSessionEvents(session_id=session.id, page_size=1)
    refusal = await refused(
        client.ListAiSessionEvents(session_id=elsewhere.id, page_token=first.next_page_token)
    )
    assert refusal.reason == "INVALID_PAGE_TOKEN"


async def test_session_events_of_a_new_session_are_empty(client: Client) -> None:
    session = await client.new_session()
    page = await client.ListAiSessionEvents(session_id=session.id)
    assert list(page.events) == [] and page.next_page_token == ""
