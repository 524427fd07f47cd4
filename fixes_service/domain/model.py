"""The fix lifecycle of CONTRACT §4 as pure code: no I/O, no SQL, no gRPC.

Every action takes the current fix (and the status of its session) and either
returns a `FixChange` (the new fix plus what the audit trail should say),
returns `None` for a no-op, or raises a `DomainError` whose `reason` names the
rule that refused it. Which action is refused in which state is decided in one
place, `refusal` (the lifecycle table); the actions apply it, and
`allowed_actions` lists what it accepts, so the two cannot disagree. The
repository writes a change only if the session is still at the
`state_version` the rule saw (compare-and-swap; under contention it runs the
rule again on rows it has locked), so what a rule sees is what it changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from flowpilot.kernel import ScriptLanguage
from flowpilot.kernel.provenance import (
    DraftBasis,
    Provenance,
    drafted_provenance,
    template_provenance,
)
from flowpilot.kernel.records import replacer
from flowpilot.kernel.scripts import (
    Parameter,
    check_placeholders,
    inferred_parameters,
    resolve_values,
    substitute,
)
from flowpilot.runtime.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound
from flowpilot.runtime.etags import EntityTag, version_tag


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
    # Not terminal, but the session was resolved or escalated.
    FROZEN = "frozen"


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
    # Session-level rows of the audit trail (no fix).
    SESSION_RESOLVED = "session_resolved"
    SESSION_ESCALATED = "session_escalated"


class FixAction(StrEnum):
    """The rows of the CONTRACT §4 table: what can be done to a fix."""

    UPDATE_SCRIPT = "update_script"
    APPLY = "apply"
    DECIDE_ONE_OFF = "decide_one_off"
    DECIDE_DRAFT_TEMPLATE = "decide_draft_template"
    DECIDE_BUILD_TEMPLATE = "decide_build_template"
    RECORD_SUCCESS = "record_success"
    RECORD_FAILED = "record_failed"
    RECORD_PARTIAL = "record_partial"
    DISMISS = "dismiss"
    PROPOSE_OUTCOME = "propose_outcome"
    CLEAR_OUTCOME_PROPOSAL = "clear_outcome_proposal"


DECISION_ACTIONS: Mapping[ScriptDecision, FixAction] = {
    ScriptDecision.ONE_OFF: FixAction.DECIDE_ONE_OFF,
    ScriptDecision.DRAFT_TEMPLATE: FixAction.DECIDE_DRAFT_TEMPLATE,
    ScriptDecision.BUILD_TEMPLATE: FixAction.DECIDE_BUILD_TEMPLATE,
}
OUTCOME_ACTIONS: Mapping[Outcome, FixAction] = {
    Outcome.APPLIED_SUCCESS: FixAction.RECORD_SUCCESS,
    Outcome.APPLIED_FAILED: FixAction.RECORD_FAILED,
    Outcome.APPLIED_PARTIAL: FixAction.RECORD_PARTIAL,
}


class AiSessionAction(StrEnum):
    RESOLVE = "resolve"
    ESCALATE = "escalate"
    PROPOSE_FIX = "propose_fix"


class RunKind(StrEnum):
    """How a run was declared."""

    APPLY = "apply"
    ONE_OFF = "one_off"
    DRAFT_TEMPLATE = "draft_template"


class RunSource(StrEnum):
    """Where the script of a run came from."""

    DRAFTED_SCRIPT = "drafted_script"
    TEMPLATE = "template"


@dataclass(frozen=True, slots=True)
class OutcomeProposal:
    outcome: Outcome
    rationale: str
    proposed_at: datetime


@dataclass(frozen=True, slots=True)
class FixNote:
    """Notes recorded with an outcome, kept when the fix moves on (point 8 of
    issue 10: `applied_partial` notes used to vanish with the next outcome)."""

    outcome: Outcome
    notes: str
    recorded_by_user_id: str
    recorded_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "notes": self.notes,
            "recorded_by_user_id": self.recorded_by_user_id,
            "recorded_at": self.recorded_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FixNote:
        return cls(
            outcome=Outcome(data["outcome"]),
            notes=data["notes"],
            recorded_by_user_id=data["recorded_by_user_id"],
            recorded_at=datetime.fromisoformat(data["recorded_at"]),
        )


@dataclass(frozen=True, slots=True)
class PlannedRun:
    """A declared run as the rule decides it: the exact script and values,
    before storage gives it an id and the session's new version."""

    kind: RunKind
    source: RunSource
    language: ScriptLanguage
    # None: not known (a template run declared without values).
    script: str | None
    # The values it ran with, defaults filled; None: not known.
    parameters: dict[str, Any] | None
    # False: `script` is not known, or is the drafted script with placeholders
    # left as written because values were missing.
    rendered: bool
    declared_by_user_id: str
    declared_at: datetime
    script_template_id: UUID | None = None
    # A template run: the version rendered (the one the fix pinned).
    script_template_version: int | None = None
    # Where the script came from (None: not known, for runs before issue 16).
    provenance: Provenance | None = None


@dataclass(frozen=True, slots=True)
class FixRun:
    """An immutable run record (`fix_runs`, append-only)."""

    id: UUID
    state_version: int
    run: PlannedRun


@dataclass(frozen=True, slots=True)
class RenderedTemplate:
    """A template rendered for a run by the service (the template belongs to
    the script-builder service): which one, and what it rendered to."""

    template_id: UUID
    language: ScriptLanguage
    script: str
    values: dict[str, Any]
    version: int | None = None


@dataclass(frozen=True, slots=True)
class RunClaim:
    """What a run-declaring request says the script ran with."""

    # The values given (None: the request gave none).
    values: Mapping[str, Any] | None = None
    # For a template fix given values: the template rendered with them.
    template: RenderedTemplate | None = None


@dataclass(frozen=True, slots=True)
class AwaitingOutcome:
    """A fix of a session in Verifying or partial: escalating needs a choice for it."""

    fix_id: UUID
    stage: FixStage


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
    # The fixes in Verifying or partial, oldest first (filled by reads that
    # answer with the session; empty otherwise).
    awaiting_outcome: tuple[AwaitingOutcome, ...] = ()


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
    # The session's state_version at this fix's latest change (its etag).
    state_version: int = 0
    # The typed parameters of `ai_drafted_script`; `ai_drafted_parameters` their values.
    script_parameters: tuple[Parameter, ...] = ()
    notes_history: tuple[FixNote, ...] = ()
    last_run: FixRun | None = None
    # The version of `script_template_id` the fix is pinned to, and its recipe.
    script_template_version: int | None = None
    script_template_recipe_id: str | None = None
    # Where `ai_drafted_script` came from, and the AI's text edits are measured against.
    script_provenance: Provenance | None = None
    ai_script_basis: str | None = None
    # The normalised title (`domain.analytics.title_cluster`).
    title_cluster: str = ""

    @property
    def template_provenance(self) -> Provenance | None:
        if self.script_template_id is None:
            return None
        return template_provenance(
            self.script_template_id, self.script_template_version, self.script_template_recipe_id
        )

    @property
    def provenance(self) -> Provenance | None:
        """Where what the fix runs came from: its template (apply runs the
        template first), else its drafted script."""
        return self.template_provenance or self.script_provenance

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
    def facts(self) -> FixFacts:
        """What the lifecycle table looks at."""
        return FixFacts(
            stage=self.stage,
            has_script=self.ai_drafted_script is not None,
            has_template=self.script_template_id is not None,
            has_proposal=self.ai_outcome_proposal is not None,
        )


# `replace` for the hot path: a script PATCH derives two `Fix`es (see `replacer`).
replace_fix = replacer(Fix)


@dataclass(frozen=True, slots=True)
class FixFacts:
    stage: FixStage
    has_script: bool
    has_template: bool
    has_proposal: bool


@dataclass(frozen=True, slots=True)
class FixChange:
    """One accepted transition: the fix before and after, and its audit entry."""

    before: Fix
    after: Fix
    action: FixEventAction
    details: dict[str, Any] = field(default_factory=dict)
    # `draft_template`: leave a template proposal in the outbox (at most one per fix).
    leaves_template_proposal: bool = False
    # A declared run: its record is written with the change.
    run: PlannedRun | None = None

    def written(self, state_version: int, run_id: UUID | None = None) -> Fix:
        """The fix as stored once the change landed at `state_version`."""
        last_run = self.after.last_run
        if self.run is not None:
            if run_id is None:
                raise ValueError("a change declaring a run needs the run's id")
            last_run = FixRun(id=run_id, state_version=state_version, run=self.run)
        return replace_fix(self.after, state_version=state_version, last_run=last_run)


@dataclass(frozen=True, slots=True)
class SessionChange:
    """Resolve or escalate: the new session, every fix it changed, and the
    session-level audit row."""

    before: AiSession
    after: AiSession
    fix_changes: list[FixChange]
    action: FixEventAction = FixEventAction.SESSION_RESOLVED
    details: dict[str, Any] = field(default_factory=dict)


# --- the lifecycle table -----------------------------------------------------------


def refusal(action: FixAction, facts: FixFacts, session_status: SessionStatus) -> str | None:
    """The CONTRACT §4 table in one place: why `action` is refused now (a
    reason), or None when it is accepted (a change or a no-op).

    Every action below asks it first, and `allowed_actions` lists the actions
    it accepts, so what a fix says it allows is what its actions do.
    """
    if session_status is not SessionStatus.ACTIVE:
        return "SESSION_NOT_ACTIVE"  # a resolved or escalated session is frozen
    stage = facts.stage
    if action is FixAction.CLEAR_OUTCOME_PROPOSAL:
        # Idempotent: clearing an absent proposal is a no-op, even on a
        # finished fix (outcomes clear proposals, so terminal fixes carry none).
        return "FIX_TERMINAL" if stage is FixStage.TERMINAL and facts.has_proposal else None
    if stage is FixStage.TERMINAL:
        return "FIX_TERMINAL"
    not_applied = stage is FixStage.NOT_APPLIED
    match action:
        case FixAction.UPDATE_SCRIPT | FixAction.DECIDE_BUILD_TEMPLATE:
            return None
        case FixAction.APPLY:
            if not_applied and not facts.has_script and not facts.has_template:
                return "NOTHING_TO_RUN"
            return None  # stamps, or a no-op that keeps the first applied_at
        case FixAction.DECIDE_ONE_OFF:
            # A run from the dialog runs the drafted script.
            return "NO_DRAFTED_SCRIPT" if not_applied and not facts.has_script else None
        case FixAction.DECIDE_DRAFT_TEMPLATE:
            # A template is made from the fix's script.
            return None if facts.has_script else "NO_DRAFTED_SCRIPT"
        case FixAction.RECORD_SUCCESS | FixAction.RECORD_FAILED | FixAction.PROPOSE_OUTCOME:
            return "NOT_APPLIED" if not_applied else None
        case FixAction.RECORD_PARTIAL:
            if not_applied:
                return "NOT_APPLIED"
            return "PARTIAL_TO_PARTIAL" if stage is FixStage.PARTIAL else None
        case FixAction.DISMISS:
            return None if not_applied else "ALREADY_APPLIED"
    raise AssertionError(f"no rule for {action}")


_REFUSAL_MESSAGES = {
    "FIX_TERMINAL": "the fix is {status} and can no longer change",
    "NOTHING_TO_RUN": "the fix has neither a drafted script nor a template; draft one first",
    "NO_DRAFTED_SCRIPT": "decision '{decision}' needs a drafted script; the fix has none",
    "NOT_APPLIED": "the fix was never applied; apply it (or dismiss it) first",
    "PARTIAL_TO_PARTIAL": (
        "the fix is already applied_partial; record applied_success or applied_failed"
    ),
    "ALREADY_APPLIED": "the fix was applied; record an outcome instead of dismissing it",
}

_DECISION_OF = {action: decision for decision, action in DECISION_ACTIONS.items()}


def _ensure_allowed(action: FixAction, fix: Fix, session_status: SessionStatus) -> None:
    reason = refusal(action, fix.facts, session_status)
    if reason is None:
        return
    if reason == "SESSION_NOT_ACTIVE":
        ensure_session_active(session_status)
    metadata = {"fix_id": str(fix.id)}
    decision = _DECISION_OF.get(action)
    if reason in ("FIX_TERMINAL", "ALREADY_APPLIED"):
        metadata["status"] = str(fix.status)
    if reason == "NO_DRAFTED_SCRIPT" and decision is not None:
        metadata["decision"] = str(decision)
    message = _REFUSAL_MESSAGES[reason].format(status=fix.status, decision=decision)
    raise FailedPrecondition(reason, message, metadata=metadata)


_ALLOWED_CACHE: dict[tuple[SessionStatus, FixFacts], tuple[FixAction, ...]] = {}


def allowed_actions(fix: Fix, session_status: SessionStatus) -> tuple[FixAction, ...]:
    """Every action `refusal` accepts now, in table order (pure CPU, cached
    per combination of what the table looks at: 96 of them)."""
    key = (session_status, fix.facts)
    allowed = _ALLOWED_CACHE.get(key)
    if allowed is None:
        allowed = tuple(a for a in FixAction if refusal(a, key[1], session_status) is None)
        _ALLOWED_CACHE[key] = allowed
    return allowed


# --- guards ------------------------------------------------------------------


def ensure_session_active(status: SessionStatus) -> None:
    """A fix of a resolved or escalated session is frozen (CONTRACT §4: 409)."""
    if status is not SessionStatus.ACTIVE:
        raise FailedPrecondition(
            "SESSION_NOT_ACTIVE",
            f"the AI session is {status}; its fixes can no longer change",
            metadata={"session_status": str(status)},
        )


def etag(state_version: int) -> str:
    """The entity tag of a session or fix version (AIP-154: a quoted strong tag)."""
    return version_tag(state_version)


def check_etag(expected: EntityTag | None, current: int) -> None:
    """A write's precondition: None (no etag, or `*`) matches anything; any
    other tag must be the current version's, compared strongly (a weak tag
    never matches, RFC 9110 §13.1.1), else the write is refused before
    anything is decided or written."""
    if expected is not None and not expected.strongly_matches(etag(current)):
        raise Aborted(
            "ETAG_MISMATCH",
            f"the etag {expected} is stale or not this version's (now {etag(current)}); "
            "read it again and retry",
            metadata={"etag": etag(current), "sent": str(expected)[:100]},
        )


def _changed(before: Fix, now: datetime, **changes: Any) -> Fix:
    return replace_fix(before, updated_at=now, **changes)


def _proposal_details(fix: Fix) -> dict[str, Any]:
    if fix.ai_outcome_proposal is None:
        return {}
    return {"cleared_ai_outcome_proposal": str(fix.ai_outcome_proposal.outcome)}


# --- derived fields -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FixView:
    """A fix as a caller sees it: its fields and the seed's UI rules, derived
    from the fix, its session's status and whether the caller may write."""

    fix: Fix
    banner_mode: BannerMode
    apply_route: ApplyRoute
    needs_script: bool
    allowed_actions: tuple[FixAction, ...]


_BANNER_BY_STATUS: Mapping[FixStatus, BannerMode] = {
    FixStatus.APPLIED_PARTIAL: BannerMode.PARTIAL,
    FixStatus.APPLIED_SUCCESS: BannerMode.SUCCESS,
    FixStatus.APPLIED_FAILED: BannerMode.FAILED,
    FixStatus.DISMISSED: BannerMode.DISMISSED,
}


def banner_mode(fix: Fix, session_status: SessionStatus) -> BannerMode:
    if fix.is_terminal:
        return _BANNER_BY_STATUS[fix.status]
    if session_status is not SessionStatus.ACTIVE:
        return BannerMode.FROZEN
    if fix.status is FixStatus.APPLIED_PARTIAL:
        return BannerMode.PARTIAL
    return BannerMode.VERIFYING if fix.applied_at is not None else BannerMode.PROPOSED


def apply_route(fix: Fix, session_status: SessionStatus) -> ApplyRoute:
    # Seed §4: template first, then a drafted script, else the tab; nothing
    # to apply on a terminal fix or a frozen one.
    if fix.is_terminal or session_status is not SessionStatus.ACTIVE:
        return ApplyRoute.NONE
    if fix.script_template_id is not None:
        return ApplyRoute.TEMPLATE_MATCH_PANEL
    if fix.ai_drafted_script:
        return ApplyRoute.NO_TEMPLATE_DIALOG
    return ApplyRoute.SCRIPT_BUILDER_TAB


def view_fix(fix: Fix, session_status: SessionStatus, *, can_write: bool) -> FixView:
    route = apply_route(fix, session_status)
    return FixView(
        fix=fix,
        banner_mode=banner_mode(fix, session_status),
        apply_route=route,
        # Exactly the seed's `showTabStrip`.
        needs_script=route is ApplyRoute.SCRIPT_BUILDER_TAB,
        allowed_actions=allowed_actions(fix, session_status) if can_write else (),
    )


def escalation_refusal(stage: FixStage, choice: EscalationChoice) -> str | None:
    """The EscalateInterceptDialog's table: why `choice` is refused for a fix
    in `stage`, or None when it is accepted (notes aside, an input rule)."""
    if stage not in (FixStage.VERIFYING, FixStage.PARTIAL):
        return "FIX_OUTCOME_NOT_APPLICABLE"
    if stage is FixStage.PARTIAL and choice is EscalationChoice.APPLIED_PARTIAL:
        return "PARTIAL_TO_PARTIAL"
    if stage is FixStage.PARTIAL and choice is EscalationChoice.NEVER_APPLIED:
        return "NEVER_APPLIED_NOT_ALLOWED"
    return None


def escalation_choices(stage: FixStage) -> tuple[EscalationChoice, ...]:
    return tuple(c for c in EscalationChoice if escalation_refusal(stage, c) is None)


def needs_escalation_choice(stage: FixStage) -> bool:
    return stage in (FixStage.VERIFYING, FixStage.PARTIAL)


@dataclass(frozen=True, slots=True)
class SessionView:
    session: AiSession
    allowed_actions: tuple[AiSessionAction, ...]
    # (fix id, the choices it allows), for every fix an escalation must settle.
    escalation_choices: tuple[tuple[UUID, tuple[EscalationChoice, ...]], ...]


def session_refusal(action: AiSessionAction, session: AiSession) -> str | None:
    """Resolve, escalate and proposing a fix need an active session (escalate
    also needs a choice for every awaiting fix: an input rule)."""
    return None if session.status is SessionStatus.ACTIVE else "SESSION_NOT_ACTIVE"


def view_session(session: AiSession, *, can_write: bool) -> SessionView:
    if not can_write:
        return SessionView(session, (), ())
    allowed = tuple(a for a in AiSessionAction if session_refusal(a, session) is None)
    choices = ()
    if AiSessionAction.ESCALATE in allowed:
        choices = tuple(
            (awaiting.fix_id, escalation_choices(awaiting.stage))
            for awaiting in session.awaiting_outcome
            if needs_escalation_choice(awaiting.stage)
        )
    return SessionView(session, allowed, choices)


# --- typed script parameters and rendering ---------------------------------------------


def effective_parameters(fix: Fix) -> tuple[Parameter, ...]:
    """The fix's typed parameters; for a script drafted without them, one per
    `{{name}}`, typed from the stored values (else a required string)."""
    if fix.script_parameters or fix.ai_drafted_script is None:
        return fix.script_parameters
    return inferred_parameters(fix.ai_drafted_script, fix.ai_drafted_parameters)


def _stored_values(fix: Fix, parameters: Sequence[Parameter]) -> dict[str, Any]:
    """The fix's own values (`ai_drafted_parameters`) of its declared
    parameters; anything but a scalar there is no value."""
    stored = fix.ai_drafted_parameters or {}
    return {
        p.name: stored[p.name]
        for p in parameters
        if isinstance(stored.get(p.name), str | bool | int | float)
    }


def check_script_parameters(
    script: str | None, parameters: Sequence[Parameter], *, script_field: str = "ai_drafted_script"
) -> None:
    """Typed parameters describe the script: every `{{name}}` declared, every
    parameter used. A script without typed parameters is left as it is."""
    if parameters:
        check_placeholders(
            script or "",
            parameters,
            body_field=script_field,
            parameters_field="script_parameters",
        )


def render_fix(fix: Fix, values: Mapping[str, Any]) -> str:
    """The drafted script with its values quoted for its language (the
    fix-level "Generate"): `values` first, then the fix's own, then the
    parameters' defaults. A JSON null is "not given"."""
    if fix.ai_drafted_script is None:
        raise FailedPrecondition(
            "NO_DRAFTED_SCRIPT",
            "the fix has no drafted script to render"
            + (" (render its script template instead)" if fix.script_template_id else ""),
            metadata={"fix_id": str(fix.id)},
        )
    parameters = effective_parameters(fix)
    given = {name: value for name, value in values.items() if value is not None}
    resolved = resolve_values(parameters, {**_stored_values(fix, parameters), **given})
    return substitute(fix.script_language, fix.ai_drafted_script, resolved)


def _drafted_run(fix: Fix, kind: RunKind, claim: RunClaim, actor: str, now: datetime) -> PlannedRun:
    """The run of the drafted script. Values the request gives are checked
    (a bad one refuses the declaration); without any, the fix's own values
    render it when they can, else the script is kept as drafted (`rendered`
    false: what replaced the placeholders is not known)."""
    assert fix.ai_drafted_script is not None  # the table refuses a run without one
    parameters = effective_parameters(fix)
    stored = _stored_values(fix, parameters)
    run = PlannedRun(
        kind=kind,
        source=RunSource.DRAFTED_SCRIPT,
        language=fix.script_language,
        script=fix.ai_drafted_script,
        parameters=stored,
        rendered=False,
        declared_by_user_id=actor,
        declared_at=now,
        provenance=fix.script_provenance,
    )
    if claim.values is not None:
        given = {name: value for name, value in claim.values.items() if value is not None}
        resolved = resolve_values(parameters, {**stored, **given})
    else:
        try:
            resolved = resolve_values(parameters, stored)
        except InvalidArgument:
            return run
    script = substitute(fix.script_language, fix.ai_drafted_script, resolved)
    return replace(run, script=script, parameters=resolved, rendered=True)


def _template_run(fix: Fix, claim: RunClaim, actor: str, now: datetime) -> PlannedRun:
    assert fix.script_template_id is not None
    template = claim.template
    if template is not None and template.template_id != fix.script_template_id:
        raise ValueError("the rendered template is not the fix's")
    return PlannedRun(
        kind=RunKind.APPLY,
        source=RunSource.TEMPLATE,
        language=template.language if template else fix.script_language,
        script=template.script if template else None,
        parameters=template.values if template else None,
        rendered=template is not None,
        declared_by_user_id=actor,
        declared_at=now,
        script_template_id=fix.script_template_id,
        script_template_version=fix.script_template_version,
        provenance=fix.template_provenance,
    )


def template_proposal_parameters(fix: Fix) -> dict[str, Any] | None:
    """What the outbox hands the script-builder for a draft template: each
    typed parameter's shape (its stored value as the default), else the
    stored values; the script-builder types the template's parameters from
    them (`flowpilot.kernel.scripts.inferred_parameter`)."""
    if not fix.script_parameters:
        return fix.ai_drafted_parameters
    stored = _stored_values(fix, fix.script_parameters)
    shapes: dict[str, Any] = {}
    for parameter in fix.script_parameters:
        shape = parameter.to_json()
        if parameter.name in stored:
            shape.update(default=stored[parameter.name], required=False)
        shapes[parameter.name] = shape
    return shapes


# --- fix actions (one per row of the CONTRACT §4 table) -----------------------


@dataclass(frozen=True, slots=True)
class ScriptPatch:
    """The fields a PATCH script changes (its update mask); the others are
    left alone. `script` None: not changed (the script cannot be cleared)."""

    script: str | None = None
    parameters: dict[str, Any] | None = None
    script_parameters: tuple[Parameter, ...] = ()
    sets_parameters: bool = False
    sets_script_parameters: bool = False
    # What the script started from, when the request says (see `script_origin`).
    basis: DraftBasis | None = None


def update_script(
    fix: Fix,
    *,
    session_status: SessionStatus,
    patch: ScriptPatch,
    now: datetime,
    actor: str = "",
) -> FixChange | None:
    """PATCH script: sets the draft, its values and its typed parameters (the
    fields the patch names); never stamps `applied_at`. The same again is a
    no-op."""
    _ensure_allowed(FixAction.UPDATE_SCRIPT, fix, session_status)
    script = patch.script if patch.script is not None else fix.ai_drafted_script
    parameters = patch.parameters if patch.sets_parameters else fix.ai_drafted_parameters
    typed = patch.script_parameters if patch.sets_script_parameters else fix.script_parameters
    check_script_parameters(script, typed)
    provenance, basis = script_origin(fix, script, patch.basis)
    if (script, parameters, typed, provenance) == (
        fix.ai_drafted_script,
        fix.ai_drafted_parameters,
        fix.script_parameters,
        fix.script_provenance,
    ):
        return None
    after = _changed(
        fix,
        now,
        ai_drafted_script=script,
        ai_drafted_parameters=parameters,
        script_parameters=typed,
        script_provenance=provenance,
        ai_script_basis=basis,
    )
    return FixChange(
        fix,
        after,
        FixEventAction.SCRIPT_UPDATED,
        {
            "script_chars": len(script) if script is not None else 0,
            "had_script": fix.ai_drafted_script is not None,
            "script_changed": script != fix.ai_drafted_script,
            "parameters_set": parameters is not None,
            "script_parameters": [p.name for p in typed],
            **({"origin": str(provenance.origin)} if provenance else {}),
        },
    )


def proposed_script_origin(script: str | None) -> tuple[Provenance | None, str | None]:
    """A script proposed with the fix is the AI's draft (CreateSuggestedFix
    is the AI side's call): its own basis."""
    if script is None:
        return None, None
    return drafted_provenance(DraftBasis(ai_script=script), script), script


def script_origin(
    fix: Fix, script: str | None, basis: DraftBasis | None
) -> tuple[Provenance | None, str | None]:
    """Where a fix's drafted script came from, and the AI text kept to measure
    later edits against. A stated basis decides (the script builder's submit
    states it); without one, the fix's own AI text is the basis (an AI draft
    the engineer edits stays measured against it), else the script counts
    as written by hand. The script builder knows both texts; the edit is
    measured here, once, for every path."""
    if script is None:
        return fix.script_provenance, fix.ai_script_basis
    if basis is None:
        if script == fix.ai_drafted_script:
            return fix.script_provenance, fix.ai_script_basis
        basis = DraftBasis(ai_script=fix.ai_script_basis)
    return drafted_provenance(basis, script), basis.ai_script


def apply(
    fix: Fix,
    *,
    session_status: SessionStatus,
    now: datetime,
    actor: str = "",
    claim: RunClaim | None = None,
) -> FixChange | None:
    """ "✓ I ran this": stamps `applied_at` once and keeps the run record;
    later calls are no-ops."""
    _ensure_allowed(FixAction.APPLY, fix, session_status)
    if fix.stage is not FixStage.NOT_APPLIED:
        return None  # keeps the first applied_at
    claim = claim or RunClaim()
    if fix.script_template_id is not None:
        run = _template_run(fix, claim, actor, now)
    else:
        run = _drafted_run(fix, RunKind.APPLY, claim, actor, now)
    after = _changed(fix, now, applied_at=now)
    return FixChange(
        fix,
        after,
        FixEventAction.APPLIED,
        {"applied_at_stamped": True, "run_source": str(run.source)},
        run=run,
    )


def record_script_decision(
    fix: Fix,
    *,
    session_status: SessionStatus,
    decision: ScriptDecision,
    now: datetime,
    actor: str = "",
    claim: RunClaim | None = None,
) -> FixChange | None:
    """The NoTemplateDialog card. `one_off` / `draft_template` declare a run
    of the drafted script (kept as a run record) and stamp `applied_at` when
    not yet applied; `build_template` never stamps."""
    _ensure_allowed(DECISION_ACTIONS[decision], fix, session_status)
    runs = decision in RUN_DECLARING_DECISIONS
    stamp = runs and fix.stage is FixStage.NOT_APPLIED
    if fix.script_decision is decision and not stamp:
        return None  # the same card again changes nothing
    run = None
    if runs and fix.ai_drafted_script is not None:
        run = _drafted_run(fix, RunKind(decision.value), claim or RunClaim(), actor, now)
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
        run=run,
    )


def _with_note(fix: Fix, outcome: Outcome, notes: str | None, actor: str, now: datetime) -> Any:
    if not notes:
        return fix.notes_history
    return (*fix.notes_history, FixNote(outcome, notes, actor, now))


def record_outcome(
    fix: Fix,
    *,
    session_status: SessionStatus,
    outcome: Outcome,
    notes: str | None,
    now: datetime,
    actor: str = "",
) -> FixChange:
    """How the run went. Clears any AI outcome proposal; notes join the
    fix's notes history."""
    if outcome is Outcome.APPLIED_PARTIAL and not notes:
        raise InvalidArgument(
            "notes are required for applied_partial", field="notes", reason="NOTES_REQUIRED"
        )
    _ensure_allowed(OUTCOME_ACTIONS[outcome], fix, session_status)
    after = _changed(
        fix,
        now,
        status=FixStatus(outcome.value),
        outcome_notes=notes or None,
        ai_outcome_proposal=None,
        notes_history=_with_note(fix, outcome, notes, actor, now),
    )
    details: dict[str, Any] = {"outcome": str(outcome), **_proposal_details(fix)}
    if notes:
        details["notes"] = notes
    return FixChange(fix, after, FixEventAction.OUTCOME_RECORDED, details)


def dismiss(
    fix: Fix, *, session_status: SessionStatus, now: datetime, actor: str = ""
) -> FixChange:
    """Dismisses a fix that was never applied."""
    _ensure_allowed(FixAction.DISMISS, fix, session_status)
    after = _changed(fix, now, status=FixStatus.DISMISSED)
    return FixChange(fix, after, FixEventAction.DISMISSED, {})


def propose_outcome(
    fix: Fix,
    *,
    session_status: SessionStatus,
    outcome: Outcome,
    rationale: str,
    now: datetime,
    actor: str = "",
) -> FixChange | None:
    """The AI proposes an outcome for a fix in Verifying or `applied_partial`;
    proposing the same outcome with the same rationale again is a no-op."""
    _ensure_allowed(FixAction.PROPOSE_OUTCOME, fix, session_status)
    current = fix.ai_outcome_proposal
    if current is not None and (current.outcome, current.rationale) == (outcome, rationale):
        return None  # PUT is idempotent (and the gateway may retry it)
    proposal = OutcomeProposal(outcome=outcome, rationale=rationale, proposed_at=now)
    after = _changed(fix, now, ai_outcome_proposal=proposal)
    details: dict[str, Any] = {"outcome": str(outcome), "rationale": rationale}
    if current is not None:
        details["replaced_outcome"] = str(current.outcome)
    return FixChange(fix, after, FixEventAction.OUTCOME_PROPOSED, details)


def clear_outcome_proposal(
    fix: Fix, *, session_status: SessionStatus, now: datetime, actor: str = ""
) -> FixChange | None:
    """Idempotent: clearing an absent proposal is a no-op."""
    _ensure_allowed(FixAction.CLEAR_OUTCOME_PROPOSAL, fix, session_status)
    if fix.ai_outcome_proposal is None:
        return None
    after = _changed(fix, now, ai_outcome_proposal=None)
    return FixChange(fix, after, FixEventAction.OUTCOME_PROPOSAL_CLEARED, _proposal_details(fix))


# --- session actions ------------------------------------------------------------


def _ensure_session_allowed(action: AiSessionAction, session: AiSession) -> None:
    if session_refusal(action, session) is not None:
        ensure_session_active(session.status)


def resolve(
    session: AiSession, fixes: list[Fix], *, now: datetime, actor: str = ""
) -> SessionChange:
    """Resolve auto-success: every Verifying fix becomes `applied_success`."""
    _ensure_session_allowed(AiSessionAction.RESOLVE, session)
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
    after = replace(session, status=SessionStatus.RESOLVED, updated_at=now, awaiting_outcome=())
    details = {"auto_success_fix_ids": [str(c.after.id) for c in changes]}
    return SessionChange(session, after, changes, FixEventAction.SESSION_RESOLVED, details)


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
    actor: str = "",
) -> SessionChange:
    """EscalateInterceptDialog: every fix in Verifying or `applied_partial` needs
    a choice; the choices and the escalation are one change."""
    _ensure_session_allowed(AiSessionAction.ESCALATE, session)
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
    needing = [f for f in fixes if needs_escalation_choice(f.stage)]
    missing = [str(f.id) for f in needing if f.id not in chosen]
    if missing:
        raise FailedPrecondition(
            "FIX_OUTCOME_REQUIRED",
            "every fix in Verifying or applied_partial needs an outcome before escalating: "
            + ", ".join(missing),
            metadata={"fix_ids": ",".join(missing)},
        )
    changes = [_escalation_change(by_id[e.fix_id], e, now, actor) for e in entries]
    after = replace(
        session,
        status=SessionStatus.ESCALATED,
        updated_at=now,
        escalation_reason=reason or None,
        awaiting_outcome=(),
    )
    details: dict[str, Any] = {
        "fix_outcomes": {str(e.fix_id): str(e.choice) for e in entries},
    }
    if reason:
        details["reason"] = reason
    return SessionChange(session, after, changes, FixEventAction.SESSION_ESCALATED, details)


_ESCALATION_MESSAGES = {
    "FIX_OUTCOME_NOT_APPLICABLE": (
        "fix {fix_id} is not in Verifying or applied_partial; it takes no escalation choice"
    ),
    "PARTIAL_TO_PARTIAL": (
        "fix {fix_id} is already applied_partial; choose applied_failed or applied_success"
    ),
    "NEVER_APPLIED_NOT_ALLOWED": (
        "fix {fix_id} is applied_partial, so it was applied; choose another outcome"
    ),
}


def _escalation_change(fix: Fix, entry: EscalationEntry, now: datetime, actor: str) -> FixChange:
    meta = {"fix_id": str(fix.id), "choice": str(entry.choice)}
    refused = escalation_refusal(fix.stage, entry.choice)
    if refused is not None:
        if refused == "FIX_OUTCOME_NOT_APPLICABLE":
            meta["status"] = str(fix.status)
        raise FailedPrecondition(
            refused, _ESCALATION_MESSAGES[refused].format(fix_id=fix.id), metadata=meta
        )
    if entry.choice is EscalationChoice.APPLIED_PARTIAL and not entry.notes:
        raise InvalidArgument(
            f"notes are required for the applied_partial choice of fix {fix.id}",
            field="fix_outcomes.notes",
            reason="NOTES_REQUIRED",
            metadata={"fix_id": str(fix.id)},
        )
    details: dict[str, Any] = {"choice": str(entry.choice), **_proposal_details(fix)}
    if entry.notes:
        details["notes"] = entry.notes
    if entry.choice is EscalationChoice.NEVER_APPLIED:
        # Back to not-applied: clears applied_at, keeps the fix proposed.
        after = _changed(fix, now, applied_at=None, ai_outcome_proposal=None)
        details["applied_at_cleared"] = True
    else:
        outcome = Outcome(entry.choice.value)
        after = _changed(
            fix,
            now,
            status=FixStatus(entry.choice.value),
            outcome_notes=entry.notes or None,
            ai_outcome_proposal=None,
            notes_history=_with_note(fix, outcome, entry.notes, actor, now),
        )
    return FixChange(fix, after, FixEventAction.ESCALATION_OUTCOME, details)


# --- read models ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FixEvent:
    """One row of the append-only audit trail: a change of a fix, or (no
    `fix_id`, no statuses) of the session itself."""

    id: int
    fix_id: UUID | None
    ai_session_id: UUID
    actor_user_id: str
    action: FixEventAction
    from_status: FixStatus | None
    to_status: FixStatus | None
    details: dict[str, Any]
    state_version: int
    created_at: datetime
    # The run this change declared.
    run: FixRun | None = None


class ChangeKind(StrEnum):
    """What a message of a session watch carries."""

    SNAPSHOT = "snapshot"
    FIX_CREATED = "fix_created"
    FIX_UPDATED = "fix_updated"
    SESSION_UPDATED = "session_updated"


def change_kind(event: FixEvent) -> ChangeKind:
    if event.fix_id is None:
        return ChangeKind.SESSION_UPDATED
    if event.action is FixEventAction.CREATED:
        return ChangeKind.FIX_CREATED
    return ChangeKind.FIX_UPDATED


@dataclass(frozen=True, slots=True)
class WatchedChange:
    """One message of a session watch: the audit row (none for a snapshot),
    the session as it is now, and the changed fix as it is now."""

    kind: ChangeKind
    event_id: int
    session: SessionView
    fix: FixView | None = None
    event: FixEvent | None = None


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


@dataclass(frozen=True, slots=True)
class ScriptTemplate:
    """A script template as the script-builder service holds it: what a fix
    pointing at it is checked against, and what a template run renders."""

    id: UUID
    language: ScriptLanguage
    body: str
    parameters: tuple[Parameter, ...]
    # The version these are (the current one, or the one asked for).
    version: int | None = None
    deprecated: bool = False
    recipe_id: str | None = None


def check_pinnable(template: ScriptTemplate) -> None:
    """A new fix may not pin a deprecated template version (fixes already
    pinned to it keep rendering it)."""
    if template.deprecated:
        raise FailedPrecondition(
            "TEMPLATE_VERSION_DEPRECATED",
            f"version {template.version} of the script template is deprecated; pin another version",
            metadata={"script_template_id": str(template.id), "version": str(template.version)},
        )


def render_template_run(template: ScriptTemplate, values: Mapping[str, Any]) -> RenderedTemplate:
    """The template rendered with the values a run declared (the same rules
    and quoting as the script-builder's "Generate": the shared kernel's)."""
    resolved = resolve_values(template.parameters, values)
    return RenderedTemplate(
        template_id=template.id,
        language=template.language,
        script=substitute(template.language, template.body, resolved),
        values=resolved,
        version=template.version,
    )


def template_language_mismatch(
    template_language: ScriptLanguage, script_language: ScriptLanguage
) -> InvalidArgument | None:
    """A fix points at a template of its own language (CONTRACT §3: a
    template has one language, the fix's script one too)."""
    if template_language is script_language:
        return None
    return InvalidArgument(
        f"the script template is {template_language}, the fix is {script_language}",
        field="script_template_id",
        reason="TEMPLATE_LANGUAGE_MISMATCH",
        metadata={
            "template_language": str(template_language),
            "script_language": str(script_language),
        },
    )
