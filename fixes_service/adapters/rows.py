"""Database rows as domain values.

Rows come from SQLAlchemy (`Row`) or, on the hot path, straight from asyncpg
(`Record`, a mapping); both read the same here. asyncpg hands JSONB over as
text there (SQLAlchemy's codec on the connection), SQLAlchemy as decoded JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Row

from fixes_service.domain.model import (
    AiSession,
    Fix,
    FixEvent,
    FixEventAction,
    FixStatus,
    Outcome,
    OutcomeProposal,
    ScriptDecision,
    SessionStatus,
    TemplateProposal,
)
from flowpilot.kernel import ScriptLanguage

AnyRow = Row[Any] | Mapping[str, Any]


def _mapping(row: AnyRow) -> Mapping[str, Any]:
    return row._mapping if isinstance(row, Row) else row


def _json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


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
    )


def event_from_row(row: AnyRow) -> FixEvent:
    m = _mapping(row)
    return FixEvent(
        id=m["id"],
        fix_id=m["fix_id"],
        ai_session_id=m["ai_session_id"],
        actor_user_id=m["actor_user_id"],
        action=FixEventAction(m["action"]),
        from_status=FixStatus(m["from_status"]) if m["from_status"] else None,
        to_status=FixStatus(m["to_status"]),
        details=m["details"] or {},
        state_version=m["state_version"],
        created_at=m["created_at"],
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
