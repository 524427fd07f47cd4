"""The fix lifecycle of CONTRACT §4 as pure code: no I/O, no SQL, no gRPC.

Every action takes the current fix (and the status of its session) and either
returns a `FixChange` (the new fix plus what the audit trail should say),
returns `None` for a no-op, or raises a `DomainError` whose `reason` names the
rule that refused it. The repository writes a change only if the session is
still at the `state_version` the rule saw (compare-and-swap; under contention
it runs the rule again on rows it has locked), so what a rule sees is what it
changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from flowpilot.kernel import ScriptLanguage
from flowpilot.runtime.errors import FailedPrecondition, InvalidArgument, NotFound


class SessionStatus(StrEnum):
    ACTIVE = "active"
    RESOLVED = "resolved"
    ESCALATED = "escalated"


class FixStatus(StrEnum):
    PROPOSED = "proposed"
    APPLIED_SUCCESS = "applied_success"
    APPLIED_FAILED = "applied_failed"
    APPLIED_PARTIAL = "applied_partial"
    DISMISSED = "dismissed"


TERMINAL_STATUSES = frozenset(
    {FixStatus.APPLIED_SUCCESS, FixStatus.APPLIED_FAILED, FixStatus.DISMISSED}
)


class FixStage(StrEnum):
    """The columns of the CONTRACT §4 table."""

    NOT_APPLIED = "not_applied"  # proposed, no applied_at
    VERIFYING = "verifying"  # proposed, applied_at set
    PARTIAL = "partial"  # applied_partial
    TERMINAL = "terminal"  # applied_success, applied_failed, dismissed


class Outcome(StrEnum):
    APPLIED_SUCCESS = "applied_success"
    APPLIED_FAILED = "applied_failed"
    APPLIED_PARTIAL = "applied_partial"


class ScriptDecision(StrEnum):
    ONE_OFF = "one_off"
    DRAFT_TEMPLATE = "draft_template"
    BUILD_TEMPLATE = "build_template"


# The NoTemplateDialog cards that declare "I'm running this now" (seed §5).
RUN_DECLARING_DECISIONS = frozenset({ScriptDecision.ONE_OFF, ScriptDecision.DRAFT_TEMPLATE})


class EscalationChoice(StrEnum):
    APPLIED_FAILED = "applied_failed"
    APPLIED_SUCCESS = "applied_success"
    NEVER_APPLIED = "never_applied"
    APPLIED_PARTIAL = "applied_partial"


class BannerMode(StrEnum):
    PROPOSED = "proposed"
    VERIFYING = "verifying"
    PARTIAL = "partial"
    SUCCESS = "success"
    FAILED = "failed"
    DISMISSED = "dismissed"


class ApplyRoute(StrEnum):
    TEMPLATE_MATCH_PANEL = "template_match_panel"
    NO_TEMPLATE_DIALOG = "no_template_dialog"
    SCRIPT_BUILDER_TAB = "script_builder_tab"
    NONE = "none"


class FixEventAction(StrEnum):
    CREATED = "created"
    SCRIPT_UPDATED = "script_updated"
    APPLIED = "applied"
    SCRIPT_DECISION_RECORDED = "script_decision_recorded"
    OUTCOME_RECORDED = "outcome_recorded"
    DISMISSED = "dismissed"
    OUTCOME_PROPOSED = "outcome_proposed"
    OUTCOME_PROPOSAL_CLEARED = "outcome_proposal_cleared"
    RESOLVE_AUTO_SUCCESS = "resolve_auto_success"
    ESCALATION_OUTCOME = "escalation_outcome"


@dataclass(frozen=True, slots=True)
class OutcomeProposal:
    outcome: Outcome
    rationale: str
    proposed_at: datetime


@dataclass(frozen=True, slots=True)
class AiSession:
    id: UUID
    owner_user_id: str
    account_id: str
    title: str
    status: SessionStatus
    state_version: int
    created_at: datetime
    updated_at: datetime
    escalation_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Fix:
    id: UUID
    ai_session_id: UUID
    title: str
    description: str
    script_language: ScriptLanguage
    status: FixStatus
    created_at: datetime
    updated_at: datetime
    ai_drafted_script: str | None = None
    ai_drafted_parameters: dict[str, Any] | None = None
    script_template_id: UUID | None = None
    applied_at: datetime | None = None
    outcome_notes: str | None = None
    ai_outcome_proposal: OutcomeProposal | None = None
    script_decision: ScriptDecision | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def stage(self) -> FixStage:
        if self.is_terminal:
            return FixStage.TERMINAL
        if self.status is FixStatus.APPLIED_PARTIAL:
            return FixStage.PARTIAL
        return FixStage.VERIFYING if self.applied_at is not None else FixStage.NOT_APPLIED

    @property
    def banner_mode(self) -> BannerMode:
        return _BANNER_BY_STATUS.get(self.status) or (
            BannerMode.VERIFYING if self.applied_at is not None else BannerMode.PROPOSED
        )

    @property
    def apply_route(self) -> ApplyRoute:
        # Seed §4: template first, then a drafted script, else the tab.
        if self.is_terminal:
            return ApplyRoute.NONE
        if self.script_template_id is not None:
            return ApplyRoute.TEMPLATE_MATCH_PANEL
        if self.ai_drafted_script:
            return ApplyRoute.NO_TEMPLATE_DIALOG
        return ApplyRoute.SCRIPT_BUILDER_TAB

    @property
    def needs_script(self) -> bool:
        # Exactly the seed's `showTabStrip`.
        return self.apply_route is ApplyRoute.SCRIPT_BUILDER_TAB


_BANNER_BY_STATUS: Mapping[FixStatus, BannerMode] = {
    FixStatus.APPLIED_PARTIAL: BannerMode.PARTIAL,
    FixStatus.APPLIED_SUCCESS: BannerMode.SUCCESS,
    FixStatus.APPLIED_FAILED: BannerMode.FAILED,
    FixStatus.DISMISSED: BannerMode.DISMISSED,
}


@dataclass(frozen=True, slots=True)
class FixChange:
    """One accepted transition: the fix before and after, and its audit entry."""

    before: Fix
    after: Fix
    action: FixEventAction
    details: dict[str, Any] = field(default_factory=dict)
    # `draft_template`: leave a template proposal in the outbox (at most one per fix).
    leaves_template_proposal: bool = False


@dataclass(frozen=True, slots=True)
class SessionChange:
    """Resolve or escalate: the new session and every fix it changed."""

    before: AiSession
    after: AiSession
    fix_changes: list[FixChange]


# --- guards ------------------------------------------------------------------


def ensure_session_active(status: SessionStatus) -> None:
    """A fix of a resolved or escalated session is frozen (CONTRACT §4: 409)."""
    if status is not SessionStatus.ACTIVE:
        raise FailedPrecondition(
            "SESSION_NOT_ACTIVE",
            f"the AI session is {status}; its fixes can no longer change",
            metadata={"session_status": str(status)},
        )


def _ensure_not_terminal(fix: Fix) -> None:
    if fix.is_terminal:
        raise FailedPrecondition(
            "FIX_TERMINAL",
            f"the fix is {fix.status} and can no longer change",
            metadata={"fix_id": str(fix.id), "status": str(fix.status)},
        )


def _ensure_applied(fix: Fix) -> None:
    if fix.stage is FixStage.NOT_APPLIED:
        raise FailedPrecondition(
            "NOT_APPLIED",
            "the fix was never applied; apply it (or dismiss it) first",
            metadata={"fix_id": str(fix.id)},
        )


def _changed(before: Fix, now: datetime, **changes: Any) -> Fix:
    return replace(before, updated_at=now, **changes)


def _proposal_details(fix: Fix) -> dict[str, Any]:
    if fix.ai_outcome_proposal is None:
        return {}
    return {"cleared_ai_outcome_proposal": str(fix.ai_outcome_proposal.outcome)}


# --- fix actions (one per row of the CONTRACT §4 table) -----------------------


def update_script(
    fix: Fix,
    *,
    session_status: SessionStatus,
    script: str,
    parameters: dict[str, Any] | None,
    now: datetime,
) -> FixChange:
    """PATCH script: sets the draft (and its parameters); never stamps `applied_at`."""
    ensure_session_active(session_status)
    _ensure_not_terminal(fix)
    after = _changed(fix, now, ai_drafted_script=script, ai_drafted_parameters=parameters)
    return FixChange(
        fix,
        after,
        FixEventAction.SCRIPT_UPDATED,
        {
            "script_chars": len(script),
            "had_script": fix.ai_drafted_script is not None,
            "parameters_set": parameters is not None,
        },
    )


def apply(fix: Fix, *, session_status: SessionStatus, now: datetime) -> FixChange | None:
    """ "✓ I ran this": stamps `applied_at` once; later calls are no-ops."""
    ensure_session_active(session_status)
    _ensure_not_terminal(fix)
    if fix.stage is not FixStage.NOT_APPLIED:
        return None  # keeps the first applied_at
    if fix.ai_drafted_script is None and fix.script_template_id is None:
        raise FailedPrecondition(
            "NOTHING_TO_RUN",
            "the fix has neither a drafted script nor a template; draft one first",
            metadata={"fix_id": str(fix.id)},
        )
    after = _changed(fix, now, applied_at=now)
    return FixChange(fix, after, FixEventAction.APPLIED, {"applied_at_stamped": True})


def record_script_decision(
    fix: Fix, *, session_status: SessionStatus, decision: ScriptDecision, now: datetime
) -> FixChange | None:
    """The NoTemplateDialog card. `one_off` / `draft_template` declare a run and
    stamp `applied_at` when not yet applied; `build_template` never stamps."""
    ensure_session_active(session_status)
    _ensure_not_terminal(fix)
    runs = decision in RUN_DECLARING_DECISIONS
    stamp = runs and fix.stage is FixStage.NOT_APPLIED
    # A template is made from the fix's script, and a run from the dialog runs
    # the drafted script: without one there is nothing to run or templatize.
    if fix.ai_drafted_script is None and (stamp or decision is ScriptDecision.DRAFT_TEMPLATE):
        raise FailedPrecondition(
            "NO_DRAFTED_SCRIPT",
            f"decision '{decision}' needs a drafted script; the fix has none",
            metadata={"fix_id": str(fix.id), "decision": str(decision)},
        )
    if fix.script_decision is decision and not stamp:
        return None  # the same card again changes nothing
    after = _changed(
        fix, now, script_decision=decision, applied_at=now if stamp else fix.applied_at
    )
    details: dict[str, Any] = {"decision": str(decision), "applied_at_stamped": stamp}
    if fix.script_decision is not None:
        details["previous_decision"] = str(fix.script_decision)
    return FixChange(
        fix,
        after,
        FixEventAction.SCRIPT_DECISION_RECORDED,
        details,
        leaves_template_proposal=decision is ScriptDecision.DRAFT_TEMPLATE,
    )


def record_outcome(
    fix: Fix,
    *,
    session_status: SessionStatus,
    outcome: Outcome,
    notes: str | None,
    now: datetime,
) -> FixChange:
    """How the run went. Clears any AI outcome proposal."""
    if outcome is Outcome.APPLIED_PARTIAL and not notes:
        raise InvalidArgument(
            "notes are required for applied_partial", field="notes", reason="NOTES_REQUIRED"
        )
    ensure_session_active(session_status)
    _ensure_not_terminal(fix)
    _ensure_applied(fix)
    if outcome is Outcome.APPLIED_PARTIAL and fix.status is FixStatus.APPLIED_PARTIAL:
        raise FailedPrecondition(
            "PARTIAL_TO_PARTIAL",
            "the fix is already applied_partial; record applied_success or applied_failed",
            metadata={"fix_id": str(fix.id)},
        )
    after = _changed(
        fix,
        now,
        status=FixStatus(outcome.value),
        outcome_notes=notes or None,
        ai_outcome_proposal=None,
    )
    details: dict[str, Any] = {"outcome": str(outcome), **_proposal_details(fix)}
    if notes:
        details["notes"] = notes
    return FixChange(fix, after, FixEventAction.OUTCOME_RECORDED, details)


def dismiss(fix: Fix, *, session_status: SessionStatus, now: datetime) -> FixChange:
    """Dismisses a fix that was never applied."""
    ensure_session_active(session_status)
    _ensure_not_terminal(fix)
    if fix.stage is not FixStage.NOT_APPLIED:
        raise FailedPrecondition(
            "ALREADY_APPLIED",
            "the fix was applied; record an outcome instead of dismissing it",
            metadata={"fix_id": str(fix.id), "status": str(fix.status)},
        )
    after = _changed(fix, now, status=FixStatus.DISMISSED)
    return FixChange(fix, after, FixEventAction.DISMISSED, {})


def propose_outcome(
    fix: Fix,
    *,
    session_status: SessionStatus,
    outcome: Outcome,
    rationale: str,
    now: datetime,
) -> FixChange:
    """The AI proposes an outcome for a fix in Verifying or `applied_partial`."""
    ensure_session_active(session_status)
    _ensure_not_terminal(fix)
    _ensure_applied(fix)
    proposal = OutcomeProposal(outcome=outcome, rationale=rationale, proposed_at=now)
    after = _changed(fix, now, ai_outcome_proposal=proposal)
    details: dict[str, Any] = {"outcome": str(outcome), "rationale": rationale}
    if fix.ai_outcome_proposal is not None:
        details["replaced_outcome"] = str(fix.ai_outcome_proposal.outcome)
    return FixChange(fix, after, FixEventAction.OUTCOME_PROPOSED, details)


def clear_outcome_proposal(
    fix: Fix, *, session_status: SessionStatus, now: datetime
) -> FixChange | None:
    """Idempotent: clearing an absent proposal is a no-op."""
    ensure_session_active(session_status)
    if fix.ai_outcome_proposal is None:
        return None
    # Unreachable through the lifecycle (outcomes clear proposals), kept as a guard.
    _ensure_not_terminal(fix)
    after = _changed(fix, now, ai_outcome_proposal=None)
    return FixChange(fix, after, FixEventAction.OUTCOME_PROPOSAL_CLEARED, _proposal_details(fix))


# --- session actions ------------------------------------------------------------


def resolve(session: AiSession, fixes: list[Fix], *, now: datetime) -> SessionChange:
    """Resolve auto-success: every Verifying fix becomes `applied_success`."""
    ensure_session_active(session.status)
    changes = [
        FixChange(
            fix,
            _changed(fix, now, status=FixStatus.APPLIED_SUCCESS, ai_outcome_proposal=None),
            FixEventAction.RESOLVE_AUTO_SUCCESS,
            {"outcome": str(Outcome.APPLIED_SUCCESS), **_proposal_details(fix)},
        )
        for fix in fixes
        if fix.stage is FixStage.VERIFYING
    ]
    after = replace(session, status=SessionStatus.RESOLVED, updated_at=now)
    return SessionChange(session, after, changes)


@dataclass(frozen=True, slots=True)
class EscalationEntry:
    fix_id: UUID
    choice: EscalationChoice
    notes: str | None = None


def escalate(
    session: AiSession,
    fixes: list[Fix],
    entries: list[EscalationEntry],
    *,
    reason: str | None,
    now: datetime,
) -> SessionChange:
    """EscalateInterceptDialog: every fix in Verifying or `applied_partial` needs
    a choice; the choices and the escalation are one change."""
    ensure_session_active(session.status)
    by_id = {fix.id: fix for fix in fixes}
    chosen: dict[UUID, EscalationEntry] = {}
    for entry in entries:
        if entry.fix_id in chosen:
            raise InvalidArgument(
                f"fix {entry.fix_id} appears twice in fix_outcomes",
                field="fix_outcomes",
                reason="DUPLICATE_FIX_OUTCOME",
                metadata={"fix_id": str(entry.fix_id)},
            )
        if entry.fix_id not in by_id:
            raise NotFound(
                "FIX_NOT_FOUND",
                f"fix {entry.fix_id} is not a fix of this AI session",
                metadata={"fix_id": str(entry.fix_id)},
            )
        chosen[entry.fix_id] = entry
    needing = [f for f in fixes if f.stage in (FixStage.VERIFYING, FixStage.PARTIAL)]
    missing = [str(f.id) for f in needing if f.id not in chosen]
    if missing:
        raise FailedPrecondition(
            "FIX_OUTCOME_REQUIRED",
            "every fix in Verifying or applied_partial needs an outcome before escalating: "
            + ", ".join(missing),
            metadata={"fix_ids": ",".join(missing)},
        )
    changes = [_escalation_change(by_id[e.fix_id], e, now) for e in entries]
    after = replace(
        session, status=SessionStatus.ESCALATED, updated_at=now, escalation_reason=reason or None
    )
    return SessionChange(session, after, changes)


def _escalation_change(fix: Fix, entry: EscalationEntry, now: datetime) -> FixChange:
    meta = {"fix_id": str(fix.id), "choice": str(entry.choice)}
    if fix.stage not in (FixStage.VERIFYING, FixStage.PARTIAL):
        raise FailedPrecondition(
            "FIX_OUTCOME_NOT_APPLICABLE",
            f"fix {fix.id} is not in Verifying or applied_partial; it takes no escalation choice",
            metadata={**meta, "status": str(fix.status)},
        )
    partial = fix.stage is FixStage.PARTIAL
    if entry.choice is EscalationChoice.APPLIED_PARTIAL:
        if partial:
            raise FailedPrecondition(
                "PARTIAL_TO_PARTIAL",
                f"fix {fix.id} is already applied_partial; choose applied_failed or "
                "applied_success",
                metadata=meta,
            )
        if not entry.notes:
            raise InvalidArgument(
                f"notes are required for the applied_partial choice of fix {fix.id}",
                field="fix_outcomes.notes",
                reason="NOTES_REQUIRED",
                metadata={"fix_id": str(fix.id)},
            )
    if entry.choice is EscalationChoice.NEVER_APPLIED and partial:
        raise FailedPrecondition(
            "NEVER_APPLIED_NOT_ALLOWED",
            f"fix {fix.id} is applied_partial, so it was applied; choose another outcome",
            metadata=meta,
        )
    details: dict[str, Any] = {"choice": str(entry.choice), **_proposal_details(fix)}
    if entry.notes:
        details["notes"] = entry.notes
    if entry.choice is EscalationChoice.NEVER_APPLIED:
        # Back to not-applied: clears applied_at, keeps the fix proposed.
        after = _changed(fix, now, applied_at=None, ai_outcome_proposal=None)
        details["applied_at_cleared"] = True
    else:
        after = _changed(
            fix,
            now,
            status=FixStatus(entry.choice.value),
            outcome_notes=entry.notes or None,
            ai_outcome_proposal=None,
        )
    return FixChange(fix, after, FixEventAction.ESCALATION_OUTCOME, details)


# --- read models ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FixEvent:
    """One row of a fix's append-only audit trail."""

    id: int
    fix_id: UUID
    ai_session_id: UUID
    actor_user_id: str
    action: FixEventAction
    from_status: FixStatus | None
    to_status: FixStatus
    details: dict[str, Any]
    state_version: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TemplateProposal:
    """A `draft_template` decision waiting in the outbox for the script builder."""

    id: UUID
    fix_id: UUID
    ai_session_id: UUID
    account_id: str
    requested_by_user_id: str
    title: str
    description: str
    language: ScriptLanguage
    script: str
    parameters: dict[str, Any] | None
    created_at: datetime
    template_id: UUID | None = None


def ensure_acked_with(proposal: TemplateProposal, template_id: UUID) -> None:
    """Acknowledging is idempotent for the template it named first; a proposal
    already turned into another template refuses a second one."""
    if proposal.template_id != template_id:
        raise FailedPrecondition(
            "TEMPLATE_PROPOSAL_ALREADY_ACKED",
            "the proposal was already turned into another template",
            metadata={"template_id": str(proposal.template_id)},
        )
