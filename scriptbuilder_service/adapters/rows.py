"""Database rows as domain values."""

from __future__ import annotations

from typing import Any

from flowpilot.kernel import ScriptLanguage
from flowpilot.kernel.scripts import Parameter
from scriptbuilder_service.domain.drafting import Draft
from scriptbuilder_service.domain.model import (
    EditorMode,
    Message,
    Origin,
    Role,
    Session,
    SessionStatus,
)
from scriptbuilder_service.domain.template_versions import TemplateVersion
from scriptbuilder_service.domain.templates import Template, TemplateStatus


def session_from_row(row: Any) -> Session:
    m = getattr(row, "_mapping", row)  # a SQLAlchemy row, or asyncpg's record
    return Session(
        id=m["id"],
        user_id=m["user_id"],
        account_id=m["account_id"],
        ai_session_id=m["ai_session_id"],
        origin=Origin(m["origin"]),
        title=m["title"],
        language=ScriptLanguage(m["language"]),
        status=SessionStatus(m["status"]),
        editor_buffer=m["editor_buffer"],
        mode=EditorMode(m["mode"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        fix_id=m["fix_id"],
    )


def message_from_row(row: Any) -> Message:
    m = row._mapping
    return Message(
        id=m["id"],
        session_id=m["session_id"],
        role=Role(m["role"]),
        content=m["content"],
        script=m["script"],
        created_at=m["created_at"],
        language=ScriptLanguage(m["language"]) if m["language"] else None,
        parameters=tuple(Parameter.from_json(p) for p in m["parameters"]),
        explanation=m["explanation"],
        recipe_id=m["recipe_id"],
        fix_id=m["fix_id"],
    )


def draft_columns(draft: Draft | None) -> dict[str, Any]:
    """The drafter's output contract, as stored with an assistant message."""
    if draft is None:
        return {
            "script": None,
            "language": None,
            "parameters": [],
            "explanation": "",
            "recipe_id": None,
        }
    return {
        "script": draft.script,
        "language": draft.language.value if draft.language else None,
        "parameters": [p.to_json() for p in draft.parameters],
        "explanation": draft.explanation,
        "recipe_id": draft.recipe_id,
    }


def template_from_row(row: Any) -> Template:
    m = row._mapping
    return Template(
        id=m["id"],
        account_id=m["account_id"],
        created_by_user_id=m["created_by_user_id"],
        name=m["name"],
        description=m["description"],
        language=ScriptLanguage(m["language"]),
        body=m["body"],
        parameters=tuple(Parameter.from_json(p) for p in m["parameters"]),
        status=TemplateStatus(m["status"]),
        source_fix_id=m["source_fix_id"],
        source_session_id=m["source_session_id"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        source_recipe_id=m["source_recipe_id"],
        current_version=m["current_version"],
        current_version_deprecated=bool(m.get("current_version_deprecated")),
    )


def version_from_row(row: Any) -> TemplateVersion:
    m = row._mapping
    return TemplateVersion(
        template_id=m["template_id"],
        version=m["version"],
        language=ScriptLanguage(m["language"]),
        body=m["body"],
        parameters=tuple(Parameter.from_json(p) for p in m["parameters"]),
        author_user_id=m["author_user_id"],
        created_at=m["created_at"],
        change_note=m["change_note"],
        deprecated_at=m["deprecated_at"],
        deprecated_by_user_id=m["deprecated_by_user_id"],
        deprecation_reason=m["deprecation_reason"],
        source_recipe_id=m.get("source_recipe_id"),
    )
