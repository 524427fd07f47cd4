"""Database rows as domain values.

Rows come from SQLAlchemy (`Row`) or, on the hot path, straight from asyncpg
(`Record`, a mapping); both read the same here. asyncpg hands JSONB over as
text there (SQLAlchemy's codec on the connection), SQLAlchemy as decoded JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.engine import Row

from fixes_service.domain.model import (
    AiSession,
    AwaitingOutcome,
    Fix,
    FixEvent,
    FixEventAction,
    FixNote,
    FixRun,
    FixStage,
    FixStatus,
    Outcome,
    OutcomeProposal,
    PlannedRun,
    RunKind,
    RunSource,
    ScriptDecision,
    SessionStatus,
    TemplateProposal,
)
from flowpilot.kernel import ScriptLanguage
from flowpilot.kernel.provenance import Provenance
from flowpilot.kernel.scripts import Parameter

AnyRow = Row[Any] | Mapping[str, Any]


def _mapping(row: AnyRow) -> Mapping[str, Any]:
    return row._mapping if isinstance(row, Row) else row


def _json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# --- JSON columns ---------------------------------------------------------------------


def parameters_json(parameters: Sequence[Parameter]) -> list[dict[str, Any]] | None:
    return [p.to_json() for p in parameters] if parameters else None


def notes_json(notes: Sequence[FixNote]) -> list[dict[str, Any]] | None:
    return [n.to_json() for n in notes] if notes else None


def run_json(run: FixRun) -> dict[str, Any]:
    """The `last_run` copy on the fix row (the same fields as `fix_runs`)."""
    planned = run.run
    return {
        "id": str(run.id),
        "state_version": run.state_version,
        "kind": planned.kind.value,
        "source": planned.source.value,
        "script_template_id": (
            str(planned.script_template_id) if planned.script_template_id else None
        ),
        "language": planned.language.value,
        "script": planned.script,
        "parameters": planned.parameters,
        "rendered": planned.rendered,
        "declared_by_user_id": planned.declared_by_user_id,
        "declared_at": planned.declared_at.isoformat(),
        "script_template_version": planned.script_template_version,
        "provenance": provenance_json(planned.provenance),
    }


def provenance_json(provenance: Provenance | None) -> dict[str, Any] | None:
    return provenance.to_json() if provenance is not None else None


def _provenance(value: Any) -> Provenance | None:
    data = _json_value(value)
    return Provenance.from_json(data) if data else None


def _run(m: Mapping[str, Any]) -> FixRun:
    """A run from `run_json`'s shape or from a `fix_runs` row (`declared_at` a datetime)."""
    declared_at = m["declared_at"]
    template_id = m["script_template_id"]
    return FixRun(
        id=UUID(str(m["id"])),
        state_version=m["state_version"],
        run=PlannedRun(
            kind=RunKind(m["kind"]),
            source=RunSource(m["source"]),
            language=ScriptLanguage(m["language"]),
            script=m["script"],
            parameters=_json_value(m["parameters"]),
            rendered=m["rendered"],
            declared_by_user_id=m["declared_by_user_id"],
            declared_at=(
                declared_at
                if isinstance(declared_at, datetime)
                else datetime.fromisoformat(declared_at)
            ),
            script_template_id=UUID(str(template_id)) if template_id else None,
            script_template_version=m.get("script_template_version"),
            provenance=_provenance(m.get("provenance")),
        ),
    )


def _awaiting(value: Any) -> tuple[AwaitingOutcome, ...]:
    """`[[fix id, status], ...]` of the fixes in Verifying or partial."""
    return tuple(
        AwaitingOutcome(
            fix_id=UUID(fix_id),
            stage=FixStage.PARTIAL if status == FixStatus.APPLIED_PARTIAL else FixStage.VERIFYING,
        )
        for fix_id, status in (_json_value(value) or ())
    )


# --- rows ------------------------------------------------------------------------------


def session_from_row(row: AnyRow) -> AiSession:
    m = _mapping(row)
    return AiSession(
        id=m["id"],
        owner_user_id=m["owner_user_id"],
        account_id=m["account_id"],
        title=m["title"],
        status=SessionStatus(m["status"]),
        state_version=m["state_version"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        escalation_reason=m["escalation_reason"],
        awaiting_outcome=_awaiting(m["awaiting_outcome"]) if "awaiting_outcome" in m else (),
    )


def fix_from_row(row: AnyRow) -> Fix:
    m = _mapping(row)
    proposal = None
    if m["ai_outcome_proposal_outcome"] is not None:
        proposal = OutcomeProposal(
            outcome=Outcome(m["ai_outcome_proposal_outcome"]),
            rationale=m["ai_outcome_proposal_rationale"] or "",
            proposed_at=m["ai_outcome_proposal_at"],
        )
    decision = m["script_decision"]
    typed = _json_value(m["script_parameters"])
    notes = _json_value(m["notes_history"])
    last_run = _json_value(m["last_run"])
    return Fix(
        id=m["id"],
        ai_session_id=m["ai_session_id"],
        title=m["title"],
        description=m["description"],
        script_language=ScriptLanguage(m["script_language"]),
        status=FixStatus(m["status"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        ai_drafted_script=m["ai_drafted_script"],
        ai_drafted_parameters=_json_value(m["ai_drafted_parameters"]),
        script_template_id=m["script_template_id"],
        applied_at=m["applied_at"],
        outcome_notes=m["outcome_notes"],
        ai_outcome_proposal=proposal,
        script_decision=ScriptDecision(decision) if decision else None,
        state_version=m["state_version"],
        script_parameters=tuple(Parameter.from_json(p) for p in typed or ()),
        notes_history=tuple(FixNote.from_json(n) for n in notes or ()),
        last_run=_run(last_run) if last_run else None,
        script_template_version=m["script_template_version"],
        script_template_recipe_id=m["script_template_recipe_id"],
        script_provenance=_provenance(m["script_provenance"]),
        ai_script_basis=m["ai_script_basis"],
        title_cluster=m["title_cluster"] or "",
    )


def event_from_row(row: AnyRow) -> FixEvent:
    """An audit row, with its run when the row was read joined to `fix_runs`
    (columns `run_*`)."""
    m = _mapping(row)
    run = None
    if m.get("run_id") is not None:
        run = _run({name[4:]: m[name] for name in m if name.startswith("run_")})
    return FixEvent(
        id=m["id"],
        fix_id=m["fix_id"],
        ai_session_id=m["ai_session_id"],
        actor_user_id=m["actor_user_id"],
        action=FixEventAction(m["action"]),
        from_status=FixStatus(m["from_status"]) if m["from_status"] else None,
        to_status=FixStatus(m["to_status"]) if m["to_status"] else None,
        details=_json_value(m["details"]) or {},
        state_version=m["state_version"],
        created_at=m["created_at"],
        run=run,
    )


def proposal_from_row(row: AnyRow) -> TemplateProposal:
    m = _mapping(row)
    return TemplateProposal(
        id=m["id"],
        fix_id=m["fix_id"],
        ai_session_id=m["ai_session_id"],
        account_id=m["account_id"],
        requested_by_user_id=m["requested_by_user_id"],
        title=m["title"],
        description=m["description"],
        language=ScriptLanguage(m["language"]),
        script=m["script"],
        parameters=m["parameters"],
        created_at=m["created_at"],
        template_id=m["template_id"],
    )
