"""The seed's own test list (phase 9 "Tests / Backend"), plus resolve and escalate."""

from __future__ import annotations

import uuid

import grpc
import pytest

from flowpilot.fixes.v1 import fixes_pb2 as pb
from tests.fixes.helpers import SCRIPT, Client, audit_rows, fix_row, make_state
from tests.support.grpc_client import refused

pytestmark = pytest.mark.integration

FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


@pytest.fixture
def client(fixes_channel, make_token) -> Client:
    return Client(fixes_channel, make_token(user_id="engineer-1"))


# --- PATCH /script -------------------------------------------------------------------


async def test_patch_script_happy_path(client: Client, db) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id, script=None)
    assert fix.needs_script and fix.apply_route == pb.APPLY_ROUTE_SCRIPT_BUILDER_TAB
    version = await client.version(session.id)

    updated = await client.UpdateFixScript(
        session_id=session.id,
        fix_id=fix.id,
        ai_drafted_script="Write-Host hi",
        ai_drafted_parameters={"mailbox": "a@b.c", "retries": 3},
    )

    assert updated.ai_drafted_script == "Write-Host hi"
    assert dict(updated.ai_drafted_parameters) == {"mailbox": "a@b.c", "retries": 3}
    assert not updated.HasField("applied_at")
    assert updated.banner_mode == pb.BANNER_MODE_PROPOSED
    # The tab strip hides; Apply now leads to the NoTemplateDialog.
    assert not updated.needs_script
    assert updated.apply_route == pb.APPLY_ROUTE_NO_TEMPLATE_DIALOG
    assert await client.version(session.id) == version + 1
    row = await fix_row(db, fix.id)
    assert row["ai_drafted_script"] == "Write-Host hi" and row["applied_at"] is None
    events = await audit_rows(db, fix.id)
    assert [e["action"] for e in events] == ["created", "script_updated"]


async def test_patch_script_without_parameters_clears_them(client: Client) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id, parameters={"old": True})
    updated = await client.UpdateFixScript(
        session_id=session.id, fix_id=fix.id, ai_drafted_script="echo replaced"
    )
    assert not updated.HasField("ai_drafted_parameters")


async def test_patch_script_404_on_wrong_session(client: Client, db) -> None:
    session, other = await client.new_session(), await client.new_session("other")
    fix = await client.new_fix(session.id)
    version = await client.version(other.id)
    refusal = await refused(
        client.UpdateFixScript(session_id=other.id, fix_id=fix.id, ai_drafted_script="echo x")
    )
    assert refusal.code is grpc.StatusCode.NOT_FOUND
    assert refusal.reason == "FIX_NOT_FOUND"
    assert await client.version(other.id) == version
    assert (await fix_row(db, fix.id))["ai_drafted_script"] == SCRIPT


async def test_patch_script_404_on_absent_fix_and_session(client: Client) -> None:
    session = await client.new_session()
    for session_id in (session.id, str(uuid.uuid4())):
        refusal = await refused(
            client.UpdateFixScript(
                session_id=session_id, fix_id=str(uuid.uuid4()), ai_drafted_script="echo"
            )
        )
        assert refusal.code is grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("state", ["applied_success", "applied_failed", "dismissed"])
async def test_patch_script_409_on_terminal(client: Client, state: str) -> None:
    session = await client.new_session()
    fix = await make_state(client, session.id, state)
    refusal = await refused(
        client.UpdateFixScript(session_id=session.id, fix_id=fix.id, ai_drafted_script="echo")
    )
    assert (refusal.code, refusal.reason) == (FAILED_PRECONDITION, "FIX_TERMINAL")


async def test_patch_script_400_on_empty_body(client: Client, db) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id)
    refusal = await refused(client.UpdateFixScript(session_id=session.id, fix_id=fix.id))
    assert refusal.code is grpc.StatusCode.INVALID_ARGUMENT
    assert refusal.metadata["field"] == "ai_drafted_script"
    assert len(await audit_rows(db, fix.id)) == 1


# --- applied_at semantics (seed §5) ------------------------------------------------------


async def test_opening_surfaces_never_stamps(client: Client, db, template_id: str) -> None:
    """Opening the tab, the dialog or the panel makes no call; reading a fix never stamps."""
    session = await client.new_session()
    for fix in (
        await client.new_fix(session.id, script=None),
        await client.new_fix(session.id),
        await client.new_fix(session.id, script=None, template_id=template_id),
    ):
        await client.GetSuggestedFix(session_id=session.id, fix_id=fix.id)
        await client.ListSuggestedFixes(session_id=session.id)
        assert (await fix_row(db, fix.id))["applied_at"] is None
    assert await client.version(session.id) == 3  # the three creations only


@pytest.mark.parametrize(
    ("decision", "stamps"),
    [
        (pb.SCRIPT_DECISION_ONE_OFF, True),
        (pb.SCRIPT_DECISION_DRAFT_TEMPLATE, True),
        (pb.SCRIPT_DECISION_BUILD_TEMPLATE, False),
    ],
)
async def test_decisions_stamp_only_when_they_run(client: Client, decision, stamps) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id)
    result = await client.RecordScriptDecision(
        session_id=session.id, fix_id=fix.id, decision=decision
    )
    assert result.HasField("applied_at") is stamps
    assert result.script_decision == decision
    assert result.banner_mode == (pb.BANNER_MODE_VERIFYING if stamps else pb.BANNER_MODE_PROPOSED)


async def test_i_ran_this_stamps_a_template_fix_once(client: Client, template_id: str) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id, script=None, template_id=template_id)
    assert fix.apply_route == pb.APPLY_ROUTE_TEMPLATE_MATCH_PANEL
    first = await client.ApplyFix(session_id=session.id, fix_id=fix.id)
    assert first.HasField("applied_at") and first.banner_mode == pb.BANNER_MODE_VERIFYING
    version = await client.version(session.id)
    again = await client.ApplyFix(session_id=session.id, fix_id=fix.id)
    assert again.applied_at == first.applied_at
    assert await client.version(session.id) == version


async def test_outcome_clears_ai_proposal(client: Client) -> None:
    session = await client.new_session()
    fix = await make_state(client, session.id, "verifying_with_proposal")
    assert fix.ai_outcome_proposal.outcome == pb.FIX_OUTCOME_APPLIED_SUCCESS
    done = await client.RecordOutcome(
        session_id=session.id, fix_id=fix.id, outcome=pb.FIX_OUTCOME_APPLIED_FAILED, notes="no"
    )
    assert not done.HasField("ai_outcome_proposal")
    assert done.outcome_notes == "no" and done.banner_mode == pb.BANNER_MODE_FAILED


async def test_partial_outcome_without_notes_is_400_and_writes_nothing(client: Client, db) -> None:
    session = await client.new_session()
    fix = await make_state(client, session.id, "verifying")
    version = await client.version(session.id)
    refusal = await refused(
        client.RecordOutcome(
            session_id=session.id, fix_id=fix.id, outcome=pb.FIX_OUTCOME_APPLIED_PARTIAL
        )
    )
    assert (refusal.code, refusal.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "NOTES_REQUIRED")
    assert await client.version(session.id) == version


# --- resolve --------------------------------------------------------------------------------


async def test_resolve_auto_success(client: Client, db) -> None:
    session = await client.new_session()
    fixes = {
        state: await make_state(client, session.id, state)
        for state in ("not_applied", "verifying", "verifying_with_proposal", "partial", "dismissed")
    }
    version = await client.version(session.id)

    resolved = await client.ResolveAiSession(session_id=session.id)

    assert resolved.status == pb.AI_SESSION_STATUS_RESOLVED
    assert resolved.state_version == version + 1
    statuses = {state: (await fix_row(db, fix.id))["status"] for state, fix in fixes.items()}
    assert statuses == {
        "not_applied": "proposed",
        "verifying": "applied_success",
        "verifying_with_proposal": "applied_success",
        "partial": "applied_partial",
        "dismissed": "dismissed",
    }
    for state in ("verifying", "verifying_with_proposal"):
        events = await audit_rows(db, fixes[state].id)
        assert events[-1]["action"] == "resolve_auto_success"
        assert events[-1]["state_version"] == version + 1
        row = await fix_row(db, fixes[state].id)
        assert row["applied_at"] is not None and row["ai_outcome_proposal_outcome"] is None
    # Frozen from now on, and a second resolve is refused.
    again = await refused(client.ResolveAiSession(session_id=session.id))
    assert (again.code, again.reason) == (FAILED_PRECONDITION, "SESSION_NOT_ACTIVE")
    frozen = await refused(
        client.UpdateFixScript(
            session_id=session.id, fix_id=fixes["not_applied"].id, ai_drafted_script="echo"
        )
    )
    assert (frozen.code, frozen.reason) == (FAILED_PRECONDITION, "SESSION_NOT_ACTIVE")
    create = await refused(client.new_fix(session.id))
    assert create.reason == "SESSION_NOT_ACTIVE"
    assert await client.version(session.id) == version + 1


# --- escalate ---------------------------------------------------------------------------


def choice(fix_id: str, name: str, notes: str = "") -> pb.FixOutcomeChoice:
    return pb.FixOutcomeChoice(
        fix_id=fix_id, choice=pb.EscalationChoice.Value("ESCALATION_CHOICE_" + name), notes=notes
    )


async def test_escalate_requires_outcomes_and_names_the_fixes(client: Client, db) -> None:
    session = await client.new_session()
    verifying = await make_state(client, session.id, "verifying")
    partial = await make_state(client, session.id, "partial")
    await make_state(client, session.id, "not_applied")
    version = await client.version(session.id)

    refusal = await refused(
        client.EscalateAiSession(
            session_id=session.id,
            reason="tier 2",
            fix_outcomes=[choice(verifying.id, "APPLIED_FAILED")],
        )
    )

    assert (refusal.code, refusal.reason) == (FAILED_PRECONDITION, "FIX_OUTCOME_REQUIRED")
    assert refusal.metadata["fix_ids"] == partial.id
    assert await client.version(session.id) == version
    # Atomic: the valid choice for the Verifying fix was not applied either.
    assert (await fix_row(db, verifying.id))["status"] == "proposed"
    assert (await client.GetAiSession(session_id=session.id)).status == pb.AI_SESSION_STATUS_ACTIVE

    missing_all = await refused(client.EscalateAiSession(session_id=session.id))
    assert set(missing_all.metadata["fix_ids"].split(",")) == {verifying.id, partial.id}


async def test_escalate_with_partial_choice_writes_notes(client: Client, db) -> None:
    session = await client.new_session()
    assert not session.HasField("escalation_reason")  # null until escalated
    verifying = await make_state(client, session.id, "verifying")
    other = await make_state(client, session.id, "verifying")
    version = await client.version(session.id)

    escalated = await client.EscalateAiSession(
        session_id=session.id,
        reason="needs tier 2",
        fix_outcomes=[
            choice(verifying.id, "APPLIED_PARTIAL", "mailbox repaired, calendar not"),
            choice(other.id, "NEVER_APPLIED"),
        ],
    )

    assert escalated.status == pb.AI_SESSION_STATUS_ESCALATED
    assert escalated.state_version == version + 1
    assert escalated.escalation_reason == "needs tier 2"
    fetched = await client.GetAiSession(session_id=session.id)
    assert fetched.escalation_reason == "needs tier 2"
    partial_row = await fix_row(db, verifying.id)
    assert partial_row["status"] == "applied_partial"
    assert partial_row["outcome_notes"] == "mailbox repaired, calendar not"
    assert partial_row["applied_at"] is not None
    never = await fix_row(db, other.id)
    assert never["status"] == "proposed" and never["applied_at"] is None
    events = await audit_rows(db, verifying.id)
    assert events[-1]["action"] == "escalation_outcome"
    assert events[-1]["to_status"] == "applied_partial"
    assert events[-1]["state_version"] == version + 1
    assert (await audit_rows(db, other.id))[-1]["details"] is not None


async def test_partial_fix_cannot_take_partial_but_can_take_failed(client: Client, db) -> None:
    session = await client.new_session()
    partial = await make_state(client, session.id, "partial")
    version = await client.version(session.id)

    for name, reason in (
        ("APPLIED_PARTIAL", "PARTIAL_TO_PARTIAL"),
        ("NEVER_APPLIED", "NEVER_APPLIED_NOT_ALLOWED"),
    ):
        refusal = await refused(
            client.EscalateAiSession(
                session_id=session.id, fix_outcomes=[choice(partial.id, name, "again")]
            )
        )
        assert (refusal.code, refusal.reason) == (FAILED_PRECONDITION, reason)
        assert await client.version(session.id) == version

    escalated = await client.EscalateAiSession(
        session_id=session.id, fix_outcomes=[choice(partial.id, "APPLIED_FAILED", "gave up")]
    )
    assert escalated.status == pb.AI_SESSION_STATUS_ESCALATED
    row = await fix_row(db, partial.id)
    assert row["status"] == "applied_failed" and row["outcome_notes"] == "gave up"


async def test_escalate_refuses_entries_for_other_sessions_fixes(client: Client) -> None:
    session, other = await client.new_session(), await client.new_session("other")
    foreign = await make_state(client, other.id, "verifying")
    refusal = await refused(
        client.EscalateAiSession(
            session_id=session.id, fix_outcomes=[choice(foreign.id, "APPLIED_FAILED")]
        )
    )
    assert (refusal.code, refusal.reason) == (grpc.StatusCode.NOT_FOUND, "FIX_NOT_FOUND")


async def test_escalated_session_freezes_its_fixes(client: Client) -> None:
    session = await client.new_session()
    fix = await make_state(client, session.id, "not_applied")
    await client.EscalateAiSession(session_id=session.id, reason="stuck")
    refusal = await refused(client.ApplyFix(session_id=session.id, fix_id=fix.id))
    assert (refusal.code, refusal.reason) == (FAILED_PRECONDITION, "SESSION_NOT_ACTIVE")
    refusal = await refused(client.ResolveAiSession(session_id=session.id))
    assert refusal.reason == "SESSION_NOT_ACTIVE"
