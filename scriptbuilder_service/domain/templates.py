"""Script templates: the library's rules (schema checks at creation, who
publishes, the draft a fix proposes). Typed parameters and rendering are the
shared kernel's (`flowpilot.kernel.scripts`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from flowpilot.kernel import ScriptLanguage
from flowpilot.kernel.scripts import (
    MAX_PARAMETERS,
    Parameter,
    check_parameters,
    check_placeholders,
    inferred_parameters,
)
from flowpilot.runtime.errors import InvalidArgument, PermissionDenied
from scriptbuilder_service.domain.model import (
    MAX_DESCRIPTION,
    MAX_SCRIPT,
    MAX_TEMPLATE_NAME,
    check_text,
)


class TemplateStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


@dataclass(frozen=True, slots=True)
class Template:
    id: uuid.UUID
    account_id: str
    created_by_user_id: str
    name: str
    description: str
    language: ScriptLanguage
    body: str
    parameters: tuple[Parameter, ...]
    status: TemplateStatus
    source_fix_id: uuid.UUID | None
    source_session_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    # The catalogue recipe it was imported from (`flowpilot templates import`).
    source_recipe_id: str | None = None
    # The version `body`, `parameters` and `language` are.
    current_version: int = 1
    current_version_deprecated: bool = False


@dataclass(frozen=True, slots=True)
class NewTemplate:
    """A template that passed every schema check."""

    name: str
    description: str
    language: ScriptLanguage
    body: str
    parameters: tuple[Parameter, ...] = field(default=())
    status: TemplateStatus = TemplateStatus.PUBLISHED
    # The note of the version this write makes.
    change_note: str = ""


NOT_TEMPLATE_CREATOR = "NOT_TEMPLATE_CREATOR"


def required_publisher(*, user_id: str, is_admin: bool) -> str | None:
    """Whose templates the caller may publish: their own (the user id), or
    any of the account's when an admin (None). The account scope is the
    caller's own and is applied by every read anyway."""
    return None if is_admin else user_id


def check_may_publish(template: Template, *, user_id: str, is_admin: bool) -> None:
    """Only the creator or an admin of the account publishes a template; a
    colleague may use a draft but not promote someone else's proposal."""
    creator = required_publisher(user_id=user_id, is_admin=is_admin)
    if creator is not None and template.created_by_user_id != creator:
        raise PermissionDenied(
            NOT_TEMPLATE_CREATOR,
            "only the template's creator or an admin of the account may publish it",
            metadata={"template_id": str(template.id)},
        )


def new_template(
    *,
    name: str,
    description: str,
    language: ScriptLanguage | None,
    body: str,
    parameters: Sequence[Parameter],
    status: TemplateStatus = TemplateStatus.PUBLISHED,
) -> NewTemplate:
    """Checks a template at creation so that every later render can succeed."""
    name = check_text(name.strip(), "name", max_len=MAX_TEMPLATE_NAME, not_blank=True)
    description = check_text(description, "description", max_len=MAX_DESCRIPTION)
    if language is None:
        raise InvalidArgument("language must be powershell, bash or python", field="language")
    body = check_text(body, "body", max_len=MAX_SCRIPT, not_blank=True)
    checked = check_parameters(parameters)
    check_placeholders(body, checked)
    return NewTemplate(
        name=name,
        description=description,
        language=language,
        body=body,
        parameters=checked,
        status=status,
    )


def _clean(value: str, limit: int) -> str:
    return value.replace("\x00", "")[:limit]


def draft_from_fix(
    *,
    fix_id: str,
    title: str,
    description: str,
    language: ScriptLanguage | None,
    script: str,
    drafted_parameters: Mapping[str, Any] | None,
) -> NewTemplate:
    """The `draft` template a `draft_template` decision proposes.

    Total on purpose: the relay must be able to turn every proposal into a
    template (a proposal it cannot turn would be retried forever), so the
    fix's texts are trimmed to fit instead of refused.
    """
    body = _clean(script, MAX_SCRIPT)
    if not body.strip():
        body = "# The fix had no script when the template was proposed."
    name = _clean(title, MAX_TEMPLATE_NAME).strip() or f"Draft from fix {fix_id}"
    return NewTemplate(
        name=name,
        description=_clean(description, MAX_DESCRIPTION),
        language=language or ScriptLanguage.POWERSHELL,
        body=body,
        parameters=inferred_parameters(body, drafted_parameters, MAX_PARAMETERS),
        status=TemplateStatus.DRAFT,
        change_note=f"Proposed by fix {fix_id}",
    )
