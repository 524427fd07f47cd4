"""The lifecycle rules as pure unit tests: every (action x state) cell of
CONTRACT §4, the derived banner fields for every state, and the session rules."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fixes_service.domain import model
from fixes_service.domain.model import (
    AiSession,
    ApplyRoute,
    BannerMode,
    EscalationChoice,
    EscalationEntry,
    Fix,
    FixEventAction,
    FixStage,
    FixStatus,
    Outcome,
    OutcomeProposal,
    ScriptDecision,
    ScriptLanguage,
    ScriptPatch,
    SessionStatus,
)
from flowpilot.runtime.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound
from tests.fixes.lifecycle_table import ACTIONS, CELLS, NOOP, STATES, Ok, expected, status_after

T0 = datetime(2026, 4, 23, 12, 0, tzinfo=UTC)
APPLIED_AT = T0 + timedelta(minutes=5)
NOW = T0 + timedelta(hours=1)


def make_fix(state: str = "not_applied", **overrides: Any) -> Fix:
    fix = Fix(
        id=uuid.uuid4(),
        ai_session_id=uuid.uuid4(),
        title="Restart the Outlook profile",
        description="Clears the cached profile",
        script_language=ScriptLanguage.POWERSHELL,
        status=FixStatus.PROPOSED,
        created_at=T0,
        updated_at=T0,
        ai_drafted_script="Remove-Item $env:LOCALAPPDATA\\Outlook -Recurse",
    )
    proposal = OutcomeProposal(Outcome.APPLIED_SUCCESS, "logs look clean", APPLIED_AT)
    match state:
        case "not_applied":
            pass
        case "not_applied_template":
            fix = replace(fix, ai_drafted_script=None, script_template_id=uuid.uuid4())
        case "not_applied_bare":
            fix = replace(fix, ai_drafted_script=None)
        case "verifying":
            fix = replace(fix, applied_at=APPLIED_AT)
        case "verifying_with_proposal":
            fix = replace(fix, applied_at=APPLIED_AT, ai_outcome_proposal=proposal)
        case "partial":
            fix = replace(
                fix, applied_at=APPLIED_AT, status=FixStatus.APPLIED_PARTIAL, outcome_notes="half"
            )
        case "applied_success" | "applied_failed":
            fix = replace(fix, applied_at=APPLIED_AT, status=FixStatus(state))
        case "dismissed":
            fix = replace(fix, status=FixStatus.DISMISSED)
        case _:
            raise AssertionError(state)
    return replace(fix, **overrides)


def run(action: str, fix: Fix, session_status: SessionStatus = SessionStatus.ACTIVE) -> Any:
    common: dict[str, Any] = {"session_status": session_status, "now": NOW, "actor": "u1"}
    match action:
        case "update_script":
            patch = ScriptPatch(script="echo new", parameters={"p": 1}, sets_parameters=True)
            return model.update_script(fix, patch=patch, **common)
        case "apply":
            return model.apply(fix, **common)
        case "decision_one_off" | "decision_draft_template" | "decision_build_template":
            decision = ScriptDecision(action.removeprefix("decision_"))
            return model.record_script_decision(fix, decision=decision, **common)
        case "outcome_success" | "outcome_failed" | "outcome_partial":
            outcome = Outcome(action.replace("outcome_", "applied_"))
            return model.record_outcome(fix, outcome=outcome, notes="some notes", **common)
        case "dismiss":
            return model.dismiss(fix, **common)
        case "propose_outcome":
            return model.propose_outcome(
                fix, outcome=Outcome.APPLIED_FAILED, rationale="error 0x80070005", **common
            )
        case "clear_proposal":
            return model.clear_outcome_proposal(fix, **common)
    raise AssertionError(action)


@pytest.mark.parametrize(("action", "state"), CELLS)
def test_lifecycle_cell(action: str, state: str) -> None:
    fix = make_fix(state)
    cell = expected(action, state)
    if isinstance(cell, str) and cell != NOOP:
        with pytest.raises(DomainError) as refused:
            run(action, fix)
        assert refused.value.reason == cell
        assert isinstance(refused.value, FailedPrecondition)
        return
    change = run(action, fix)
    if cell == NOOP:
        assert change is None
        return
    assert isinstance(cell, Ok)
    assert change is not None
    assert change.before == fix
    after = change.after
    assert after.status == FixStatus(status_after(action, state, cell))
    assert after.id == fix.id and after.created_at == fix.created_at
    assert after.updated_at == NOW
    expected_applied_at = {
        "stamp": NOW,
        "keep": fix.applied_at,
        "none": None,
        "clear": None,
    }[cell.applied_at]
    assert after.applied_at == expected_applied_at
    if cell.applied_at == "none":
        assert fix.applied_at is None


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("session_status", [SessionStatus.RESOLVED, SessionStatus.ESCALATED])
@pytest.mark.parametrize("state", STATES)
def test_inactive_session_freezes_every_fix(
    action: str, session_status: SessionStatus, state: str
) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        run(action, make_fix(state), session_status)
    assert refused.value.reason == "SESSION_NOT_ACTIVE"


# --- what each accepted action records -----------------------------------------------


def test_update_script_sets_draft_and_parameters_without_stamping() -> None:
    change = model.update_script(
        make_fix("not_applied_bare"),
        session_status=SessionStatus.ACTIVE,
        patch=ScriptPatch(
            script="Get-Process", parameters={"name": "outlook"}, sets_parameters=True
        ),
        now=NOW,
    )
    assert change is not None
    assert change.after.ai_drafted_script == "Get-Process"
    assert change.after.ai_drafted_parameters == {"name": "outlook"}
    assert change.after.applied_at is None
    assert change.action is FixEventAction.SCRIPT_UPDATED
    view = model.view_fix(change.after, SessionStatus.ACTIVE, can_write=True)
    assert view.needs_script is False


@pytest.mark.parametrize("decision", list(ScriptDecision))
def test_decision_records_choice_and_only_draft_template_leaves_a_proposal(
    decision: ScriptDecision,
) -> None:
    change = model.record_script_decision(
        make_fix("not_applied"), session_status=SessionStatus.ACTIVE, decision=decision, now=NOW
    )
    assert change is not None
    assert change.after.script_decision is decision
    assert change.leaves_template_proposal is (decision is ScriptDecision.DRAFT_TEMPLATE)
    assert change.details["applied_at_stamped"] is (decision is not ScriptDecision.BUILD_TEMPLATE)


def test_same_decision_again_is_a_noop_but_another_one_is_recorded() -> None:
    fix = make_fix("verifying", script_decision=ScriptDecision.ONE_OFF)
    assert (
        model.record_script_decision(
            fix, session_status=SessionStatus.ACTIVE, decision=ScriptDecision.ONE_OFF, now=NOW
        )
        is None
    )
    change = model.record_script_decision(
        fix, session_status=SessionStatus.ACTIVE, decision=ScriptDecision.DRAFT_TEMPLATE, now=NOW
    )
    assert change is not None
    assert change.after.applied_at == APPLIED_AT
    assert change.details["previous_decision"] == "one_off"


def test_one_off_in_verifying_without_script_records_it() -> None:
    # Applied through a template: the table says the decision is recorded.
    fix = make_fix("not_applied_template", applied_at=APPLIED_AT)
    change = model.record_script_decision(
        fix, session_status=SessionStatus.ACTIVE, decision=ScriptDecision.ONE_OFF, now=NOW
    )
    assert change is not None and change.after.applied_at == APPLIED_AT


@pytest.mark.parametrize("outcome", list(Outcome))
def test_outcome_clears_the_ai_proposal(outcome: Outcome) -> None:
    change = model.record_outcome(
        make_fix("verifying_with_proposal"),
        session_status=SessionStatus.ACTIVE,
        outcome=outcome,
        notes="notes",
        now=NOW,
    )
    assert change.after.ai_outcome_proposal is None
    assert change.after.outcome_notes == "notes"
    assert change.details["cleared_ai_outcome_proposal"] == "applied_success"


@pytest.mark.parametrize("notes", [None, ""])
def test_partial_outcome_needs_notes(notes: str | None) -> None:
    with pytest.raises(InvalidArgument) as refused:
        model.record_outcome(
            make_fix("verifying"),
            session_status=SessionStatus.ACTIVE,
            outcome=Outcome.APPLIED_PARTIAL,
            notes=notes,
            now=NOW,
        )
    assert refused.value.reason == "NOTES_REQUIRED"


def test_partial_fix_can_still_fail_or_succeed() -> None:
    for outcome in (Outcome.APPLIED_FAILED, Outcome.APPLIED_SUCCESS):
        change = model.record_outcome(
            make_fix("partial"),
            session_status=SessionStatus.ACTIVE,
            outcome=outcome,
            notes=None,
            now=NOW,
        )
        assert change.after.status == FixStatus(outcome.value)


def test_propose_outcome_stores_and_replaces() -> None:
    change = model.propose_outcome(
        make_fix("verifying_with_proposal"),
        session_status=SessionStatus.ACTIVE,
        outcome=Outcome.APPLIED_FAILED,
        rationale="still failing",
        now=NOW,
    )
    assert change.after.ai_outcome_proposal == OutcomeProposal(
        Outcome.APPLIED_FAILED, "still failing", NOW
    )
    assert change.details["replaced_outcome"] == "applied_success"
    assert change.after.status is FixStatus.PROPOSED


# --- derived fields ------------------------------------------------------------------------

DERIVED = {
    # state: (stage, banner_mode, apply_route, needs_script)
    "not_applied": (FixStage.NOT_APPLIED, "proposed", "no_template_dialog", False),
    "not_applied_template": (FixStage.NOT_APPLIED, "proposed", "template_match_panel", False),
    "not_applied_bare": (FixStage.NOT_APPLIED, "proposed", "script_builder_tab", True),
    "verifying": (FixStage.VERIFYING, "verifying", "no_template_dialog", False),
    "verifying_with_proposal": (FixStage.VERIFYING, "verifying", "no_template_dialog", False),
    "partial": (FixStage.PARTIAL, "partial", "no_template_dialog", False),
    "applied_success": (FixStage.TERMINAL, "success", "none", False),
    "applied_failed": (FixStage.TERMINAL, "failed", "none", False),
    "dismissed": (FixStage.TERMINAL, "dismissed", "none", False),
}


@pytest.mark.parametrize("state", STATES)
def test_derived_fields(state: str) -> None:
    fix = make_fix(state)
    stage, banner, route, needs_script = DERIVED[state]
    view = model.view_fix(fix, SessionStatus.ACTIVE, can_write=True)
    assert fix.stage is stage
    assert view.banner_mode is BannerMode(banner)
    assert view.apply_route is ApplyRoute(route)
    assert view.needs_script is needs_script


@pytest.mark.parametrize("session_status", [SessionStatus.RESOLVED, SessionStatus.ESCALATED])
@pytest.mark.parametrize("state", STATES)
def test_fixes_of_an_inactive_session_are_frozen(state: str, session_status: SessionStatus):
    fix = make_fix(state, ai_drafted_script=None)  # even one that would need a script
    view = model.view_fix(fix, session_status, can_write=True)
    _, banner, _, _ = DERIVED[state]
    terminal = fix.stage is FixStage.TERMINAL
    assert view.banner_mode is (BannerMode(banner) if terminal else BannerMode.FROZEN)
    assert view.apply_route is ApplyRoute.NONE
    assert view.needs_script is False
    assert view.allowed_actions == ()


def test_template_wins_over_drafted_script_for_apply_route() -> None:
    fix = make_fix("not_applied", script_template_id=uuid.uuid4())
    assert model.apply_route(fix, SessionStatus.ACTIVE) is ApplyRoute.TEMPLATE_MATCH_PANEL


@pytest.mark.parametrize("state", ["applied_success", "applied_failed", "dismissed"])
def test_terminal_fix_without_script_does_not_need_one(state: str) -> None:
    fix = make_fix(state, ai_drafted_script=None)
    assert model.view_fix(fix, SessionStatus.ACTIVE, can_write=True).needs_script is False


# --- resolve and escalate ----------------------------------------------------------------------


def make_session(status: SessionStatus = SessionStatus.ACTIVE) -> AiSession:
    return AiSession(
        id=uuid.uuid4(),
        owner_user_id="u1",
        account_id="acct-1",
        title="Outlook keeps crashing",
        status=status,
        state_version=7,
        created_at=T0,
        updated_at=T0,
    )


def test_resolve_turns_only_verifying_fixes_into_success() -> None:
    fixes = {state: make_fix(state) for state in STATES}
    change = model.resolve(make_session(), list(fixes.values()), now=NOW)
    assert change.after.status is SessionStatus.RESOLVED
    changed = {c.before.id: c for c in change.fix_changes}
    for state, fix in fixes.items():
        if state.startswith("verifying"):
            assert changed[fix.id].after.status is FixStatus.APPLIED_SUCCESS
            assert changed[fix.id].after.applied_at == APPLIED_AT
            assert changed[fix.id].after.ai_outcome_proposal is None
            assert changed[fix.id].action is FixEventAction.RESOLVE_AUTO_SUCCESS
        else:
            assert fix.id not in changed


@pytest.mark.parametrize("status", [SessionStatus.RESOLVED, SessionStatus.ESCALATED])
def test_session_actions_need_an_active_session(status: SessionStatus) -> None:
    for act in (
        lambda: model.resolve(make_session(status), [], now=NOW),
        lambda: model.escalate(make_session(status), [], [], reason=None, now=NOW),
    ):
        with pytest.raises(FailedPrecondition) as refused:
            act()
        assert refused.value.reason == "SESSION_NOT_ACTIVE"


def test_escalate_requires_an_outcome_for_every_verifying_or_partial_fix() -> None:
    verifying, partial, fresh = make_fix("verifying"), make_fix("partial"), make_fix()
    with pytest.raises(FailedPrecondition) as refused:
        model.escalate(
            make_session(),
            [verifying, partial, fresh],
            [EscalationEntry(verifying.id, EscalationChoice.APPLIED_FAILED)],
            reason="needs tier 2",
            now=NOW,
        )
    assert refused.value.reason == "FIX_OUTCOME_REQUIRED"
    assert refused.value.metadata["fix_ids"] == str(partial.id)


def test_escalate_with_nothing_applied_needs_no_outcomes() -> None:
    change = model.escalate(
        make_session(), [make_fix(), make_fix("dismissed")], [], reason="x", now=NOW
    )
    assert change.after.status is SessionStatus.ESCALATED
    assert change.after.escalation_reason == "x"
    assert change.fix_changes == []


ESCALATION = {
    # (state, choice): expected status / applied_at, or the refusal reason
    ("verifying", "applied_failed"): ("applied_failed", "keep"),
    ("verifying", "applied_success"): ("applied_success", "keep"),
    ("verifying", "never_applied"): ("proposed", "clear"),
    ("verifying", "applied_partial"): ("applied_partial", "keep"),
    ("partial", "applied_failed"): ("applied_failed", "keep"),
    ("partial", "applied_success"): ("applied_success", "keep"),
    ("partial", "never_applied"): "NEVER_APPLIED_NOT_ALLOWED",
    ("partial", "applied_partial"): "PARTIAL_TO_PARTIAL",
}


@pytest.mark.parametrize(("state", "choice"), list(ESCALATION))
def test_escalation_choice(state: str, choice: str) -> None:
    fix = make_fix(state)
    entry = EscalationEntry(fix.id, EscalationChoice(choice), "did half of it")
    want = ESCALATION[(state, choice)]
    if isinstance(want, str):
        with pytest.raises(FailedPrecondition) as refused:
            model.escalate(make_session(), [fix], [entry], reason=None, now=NOW)
        assert refused.value.reason == want
        return
    change = model.escalate(make_session(), [fix], [entry], reason=None, now=NOW)
    (fix_change,) = change.fix_changes
    assert fix_change.after.status == FixStatus(want[0])
    assert fix_change.after.applied_at == (APPLIED_AT if want[1] == "keep" else None)
    assert fix_change.action is FixEventAction.ESCALATION_OUTCOME


def test_escalation_partial_choice_needs_notes() -> None:
    fix = make_fix("verifying")
    with pytest.raises(InvalidArgument) as refused:
        model.escalate(
            make_session(),
            [fix],
            [EscalationEntry(fix.id, EscalationChoice.APPLIED_PARTIAL)],
            reason=None,
            now=NOW,
        )
    assert refused.value.reason == "NOTES_REQUIRED"


def test_escalation_partial_choice_writes_notes() -> None:
    fix = make_fix("verifying")
    change = model.escalate(
        make_session(),
        [fix],
        [EscalationEntry(fix.id, EscalationChoice.APPLIED_PARTIAL, "mailbox only")],
        reason=None,
        now=NOW,
    )
    assert change.fix_changes[0].after.outcome_notes == "mailbox only"


def test_escalation_refuses_unknown_duplicate_and_inapplicable_entries() -> None:
    verifying, fresh = make_fix("verifying"), make_fix()
    choice = EscalationChoice.APPLIED_FAILED
    cases: list[tuple[list[EscalationEntry], type[DomainError], str]] = [
        ([EscalationEntry(uuid.uuid4(), choice)], NotFound, "FIX_NOT_FOUND"),
        (
            [EscalationEntry(verifying.id, choice), EscalationEntry(verifying.id, choice)],
            InvalidArgument,
            "DUPLICATE_FIX_OUTCOME",
        ),
        (
            [EscalationEntry(verifying.id, choice), EscalationEntry(fresh.id, choice)],
            FailedPrecondition,
            "FIX_OUTCOME_NOT_APPLICABLE",
        ),
    ]
    for entries, error, reason in cases:
        with pytest.raises(error) as refused:
            model.escalate(make_session(), [verifying, fresh], entries, reason=None, now=NOW)
        assert refused.value.reason == reason


def test_a_template_proposal_carries_the_typed_parameters_with_their_values() -> None:
    """What the outbox hands the script-builder types the draft template's
    parameters (flowpilot.kernel.scripts.inferred_parameter reads shapes)."""
    from flowpilot.kernel.scripts import Parameter, ParameterType, inferred_parameter

    fix = make_fix(
        "verifying",
        ai_drafted_script="Restart-Service {{name}} -Force:{{force}}",
        ai_drafted_parameters={"name": "Spooler"},
        script_parameters=(
            Parameter("name", ParameterType.STRING, required=True),
            Parameter("force", ParameterType.BOOLEAN, default=False),
        ),
    )
    shapes = model.template_proposal_parameters(fix)
    assert shapes is not None
    assert inferred_parameter("name", shapes["name"]) == Parameter(
        "name", ParameterType.STRING, default="Spooler"
    )
    assert inferred_parameter("force", shapes["force"]) == Parameter(
        "force", ParameterType.BOOLEAN, default=False
    )
    untyped = make_fix("verifying", ai_drafted_parameters={"name": "x"})
    assert model.template_proposal_parameters(untyped) == {"name": "x"}
