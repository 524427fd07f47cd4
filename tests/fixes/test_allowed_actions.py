"""`allowed_actions` and `escalation_choices` against the domain functions.

The derived lists must say exactly what the lifecycle does: every action a
fix lists succeeds (a change or a no-op), every action it does not list is
refused, in every cell of the CONTRACT §4 table, in every session status, and
for any fix hypothesis can build. The same for a session's actions and the
EscalateInterceptDialog's choices.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixes_service.domain import model
from fixes_service.domain.model import (
    AiSession,
    AiSessionAction,
    AwaitingOutcome,
    EscalationChoice,
    EscalationEntry,
    Fix,
    FixAction,
    FixStage,
    FixStatus,
    Outcome,
    OutcomeProposal,
    ScriptDecision,
    ScriptPatch,
    SessionStatus,
)
from flowpilot.runtime.errors import FailedPrecondition
from tests.fixes.lifecycle_table import NOOP, STATES, expected
from tests.fixes.test_domain import APPLIED_AT, NOW, T0, make_fix, make_session

# The table's rows, by the action they list as.
TABLE_ROWS = {
    FixAction.UPDATE_SCRIPT: "update_script",
    FixAction.APPLY: "apply",
    FixAction.DECIDE_ONE_OFF: "decision_one_off",
    FixAction.DECIDE_DRAFT_TEMPLATE: "decision_draft_template",
    FixAction.DECIDE_BUILD_TEMPLATE: "decision_build_template",
    FixAction.RECORD_SUCCESS: "outcome_success",
    FixAction.RECORD_FAILED: "outcome_failed",
    FixAction.RECORD_PARTIAL: "outcome_partial",
    FixAction.DISMISS: "dismiss",
    FixAction.PROPOSE_OUTCOME: "propose_outcome",
    FixAction.CLEAR_OUTCOME_PROPOSAL: "clear_proposal",
}


def perform(action: FixAction, fix: Fix, session_status: SessionStatus) -> Any:
    """The domain function behind `action`, with valid arguments."""
    common: dict[str, Any] = {"session_status": session_status, "now": NOW, "actor": "u1"}
    match action:
        case FixAction.UPDATE_SCRIPT:
            return model.update_script(fix, patch=ScriptPatch(script="echo new"), **common)
        case FixAction.APPLY:
            return model.apply(fix, **common)
        case FixAction.DECIDE_ONE_OFF | FixAction.DECIDE_DRAFT_TEMPLATE:
            decision = ScriptDecision(action.value.removeprefix("decide_"))
            return model.record_script_decision(fix, decision=decision, **common)
        case FixAction.DECIDE_BUILD_TEMPLATE:
            decision = ScriptDecision.BUILD_TEMPLATE
            return model.record_script_decision(fix, decision=decision, **common)
        case FixAction.RECORD_SUCCESS | FixAction.RECORD_FAILED | FixAction.RECORD_PARTIAL:
            outcome = Outcome("applied_" + action.value.removeprefix("record_"))
            return model.record_outcome(fix, outcome=outcome, notes="half of it", **common)
        case FixAction.DISMISS:
            return model.dismiss(fix, **common)
        case FixAction.PROPOSE_OUTCOME:
            return model.propose_outcome(
                fix, outcome=Outcome.APPLIED_FAILED, rationale="0x80070005", **common
            )
        case FixAction.CLEAR_OUTCOME_PROPOSAL:
            return model.clear_outcome_proposal(fix, **common)
    raise AssertionError(action)


def check_agrees(fix: Fix, session_status: SessionStatus) -> None:
    allowed = model.view_fix(fix, session_status, can_write=True).allowed_actions
    for action in FixAction:
        if action in allowed:
            perform(action, fix, session_status)  # accepted: must not raise
        else:
            with pytest.raises(FailedPrecondition):
                perform(action, fix, session_status)


@pytest.mark.parametrize("session_status", list(SessionStatus))
@pytest.mark.parametrize("state", STATES)
def test_every_cell_lists_exactly_what_succeeds(state: str, session_status: SessionStatus):
    fix = make_fix(state)
    check_agrees(fix, session_status)
    allowed = model.allowed_actions(fix, session_status)
    if session_status is not SessionStatus.ACTIVE:
        assert allowed == ()
        return
    # And the table as the contract writes it agrees too.
    for action, row in TABLE_ROWS.items():
        cell = expected(row, state)
        refused = isinstance(cell, str) and cell != NOOP
        assert (action not in allowed) is refused, (action, state, cell)


# Any fix the database can hold: partial was applied; a proposal only on a
# fix that was applied and is not finished.
@st.composite
def fixes(draw: st.DrawFn) -> Fix:
    status = draw(st.sampled_from(list(FixStatus)))
    applied = status is FixStatus.APPLIED_PARTIAL or (
        status is not FixStatus.DISMISSED and draw(st.booleans())
    )
    fix = make_fix(
        "not_applied",
        status=status,
        applied_at=APPLIED_AT if applied else None,
        ai_drafted_script=draw(st.sampled_from([None, "echo {{x}}", "echo hi"])),
        script_template_id=draw(st.sampled_from([None, uuid.uuid4()])),
        script_decision=draw(st.sampled_from([None, *ScriptDecision])),
        ai_drafted_parameters=draw(st.sampled_from([None, {"x": "a"}, {"x": 3}])),
        outcome_notes=draw(st.sampled_from([None, "notes"])),
    )
    if applied and not fix.is_terminal and draw(st.booleans()):
        outcome = draw(st.sampled_from(list(Outcome)))
        fix = replace(fix, ai_outcome_proposal=OutcomeProposal(outcome, "why", T0))
    return fix


@settings(max_examples=400, deadline=None)
@given(fix=fixes(), session_status=st.sampled_from(list(SessionStatus)))
def test_any_fix_lists_exactly_what_succeeds(fix: Fix, session_status: SessionStatus):
    check_agrees(fix, session_status)


@pytest.mark.parametrize("state", STATES)
def test_viewers_are_offered_nothing(state: str):
    view = model.view_fix(make_fix(state), SessionStatus.ACTIVE, can_write=False)
    assert view.allowed_actions == ()


# --- sessions -------------------------------------------------------------------


def awaiting(fixes_: list[Fix]) -> tuple[AwaitingOutcome, ...]:
    """What a read of the session says (the repository's subquery)."""
    return tuple(
        AwaitingOutcome(f.id, f.stage)
        for f in fixes_
        if f.stage in (FixStage.VERIFYING, FixStage.PARTIAL)
    )


def with_fixes(status: SessionStatus, fixes_: list[Fix]) -> AiSession:
    return replace(make_session(status), awaiting_outcome=awaiting(fixes_))


def entry(fix: Fix, choice: EscalationChoice) -> EscalationEntry:
    return EscalationEntry(fix.id, choice, "mailbox only")


@settings(max_examples=300, deadline=None)
@given(
    session_status=st.sampled_from(list(SessionStatus)),
    fixes_=st.lists(fixes(), max_size=5),
    pick=st.randoms(use_true_random=False),
)
def test_session_actions_and_escalation_choices_agree_with_the_rules(
    session_status: SessionStatus, fixes_: list[Fix], pick: Any
):
    session = with_fixes(session_status, fixes_)
    view = model.view_session(session, can_write=True)
    active = session_status is SessionStatus.ACTIVE

    assert (AiSessionAction.RESOLVE in view.allowed_actions) is active
    assert (AiSessionAction.PROPOSE_FIX in view.allowed_actions) is active
    assert (AiSessionAction.ESCALATE in view.allowed_actions) is active
    if not active:
        assert view.escalation_choices == ()
        for refused in (
            lambda: model.resolve(session, fixes_, now=NOW),
            lambda: model.escalate(session, fixes_, [], reason=None, now=NOW),
            lambda: model.ensure_session_active(session.status),
        ):
            with pytest.raises(FailedPrecondition):
                refused()
        return
    model.resolve(session, fixes_, now=NOW)
    by_id = {f.id: f for f in fixes_}
    listed = dict(view.escalation_choices)
    # Exactly the fixes escalating needs a choice for, oldest first.
    assert list(listed) == [f.id for f in fixes_ if f.id in listed]
    assert set(listed) == {
        f.id for f in fixes_ if f.stage in (FixStage.VERIFYING, FixStage.PARTIAL)
    }
    # A choice from each listed fix's list escalates.
    chosen = [entry(by_id[i], pick.choice(choices)) for i, choices in listed.items()]
    change = model.escalate(session, fixes_, chosen, reason=None, now=NOW)
    assert change.after.status is SessionStatus.ESCALATED
    for fix_id, choices in listed.items():
        others = [e for e in chosen if e.fix_id != fix_id]
        # Leaving a listed fix out is refused...
        with pytest.raises(FailedPrecondition) as missing:
            model.escalate(session, fixes_, others, reason=None, now=NOW)
        assert missing.value.reason == "FIX_OUTCOME_REQUIRED"
        # ...and so is every choice it does not list.
        for choice in set(EscalationChoice) - set(choices):
            with pytest.raises(FailedPrecondition):
                model.escalate(
                    session, fixes_, [*others, entry(by_id[fix_id], choice)], reason=None, now=NOW
                )
    # A fix it does not list takes no choice at all.
    for fix in fixes_:
        if fix.id not in listed:
            with pytest.raises(FailedPrecondition) as refused:
                model.escalate(
                    session,
                    fixes_,
                    [*chosen, entry(fix, EscalationChoice.APPLIED_FAILED)],
                    reason=None,
                    now=NOW,
                )
            assert refused.value.reason == "FIX_OUTCOME_NOT_APPLICABLE"


def test_viewers_see_no_session_actions_nor_choices():
    verifying = make_fix("verifying")
    session = with_fixes(SessionStatus.ACTIVE, [verifying])
    assert model.view_session(session, can_write=True).escalation_choices == (
        (verifying.id, tuple(EscalationChoice)),
    )
    view = model.view_session(session, can_write=False)
    assert view.allowed_actions == () and view.escalation_choices == ()


def test_partial_fixes_offer_success_or_failure_only():
    assert model.escalation_choices(FixStage.PARTIAL) == (
        EscalationChoice.APPLIED_FAILED,
        EscalationChoice.APPLIED_SUCCESS,
    )
    assert model.escalation_choices(FixStage.NOT_APPLIED) == ()
    assert model.escalation_choices(FixStage.TERMINAL) == ()
