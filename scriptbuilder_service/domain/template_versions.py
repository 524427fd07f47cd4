"""Template versions (issue 16) as pure rules: an edit is a new immutable
version, two versions diff as a unified diff, a version can be deprecated.

A version is never changed once written (the database refuses it too, see
migration 0008); deprecating one only marks it, so fixes pinned to it keep
rendering exactly what they were proposed with.
"""

from __future__ import annotations

import difflib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flowpilot.kernel import ScriptLanguage
from flowpilot.kernel.scripts import Parameter, check_parameters, check_placeholders
from flowpilot.runtime.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound
from scriptbuilder_service.domain.model import MAX_DESCRIPTION, MAX_SCRIPT, check_text
from scriptbuilder_service.domain.templates import Template

MAX_CHANGE_NOTE = MAX_DESCRIPTION
MAX_CONTEXT_LINES = 100


@dataclass(frozen=True, slots=True)
class TemplateVersion:
    template_id: uuid.UUID
    version: int
    language: ScriptLanguage
    body: str
    parameters: tuple[Parameter, ...]
    author_user_id: str
    created_at: datetime
    change_note: str
    deprecated_at: datetime | None = None
    deprecated_by_user_id: str | None = None
    deprecation_reason: str = ""
    source_recipe_id: str | None = None

    @property
    def deprecated(self) -> bool:
        return self.deprecated_at is not None


@dataclass(frozen=True, slots=True)
class NewVersion:
    """An edit that passed every schema check (the template's own)."""

    language: ScriptLanguage
    body: str
    parameters: tuple[Parameter, ...]
    change_note: str


def check_version_number(version: int, field: str = "version") -> int:
    if version < 1:
        raise InvalidArgument(
            f"{field} must be a version number (1 or more)",
            field=field,
            reason="INVALID_VERSION",
        )
    return version


def new_version(
    *,
    language: ScriptLanguage,
    body: str,
    parameters: Sequence[Parameter],
    change_note: str,
) -> NewVersion:
    """The same checks as a new template's body and parameters: every later
    render can succeed."""
    note = check_text(change_note.strip(), "change_note", max_len=MAX_CHANGE_NOTE)
    body = check_text(body, "body", max_len=MAX_SCRIPT, not_blank=True)
    checked = check_parameters(parameters)
    check_placeholders(body, checked)
    return NewVersion(language=language, body=body, parameters=checked, change_note=note)


def same_content(template: Template, edit: NewVersion) -> bool:
    return (template.language, template.body, template.parameters) == (
        edit.language,
        edit.body,
        edit.parameters,
    )


def check_base_version(template: Template, base_version: int) -> None:
    """An edit made from an older version than the current one would silently
    undo someone else's edit: refused (0 means "no check")."""
    if base_version and base_version != template.current_version:
        raise Aborted(
            "TEMPLATE_VERSION_CONFLICT",
            f"the template is at version {template.current_version}, not {base_version}: "
            "someone edited it meanwhile; diff, then edit the current version",
            metadata={
                "current_version": str(template.current_version),
                "base_version": str(base_version),
            },
        )


def version_not_found(template_id: uuid.UUID, version: int) -> NotFound:
    return NotFound(
        "TEMPLATE_VERSION_NOT_FOUND",
        f"the template has no version {version}",
        metadata={"template_id": str(template_id), "version": str(version)},
    )


def check_pinnable(version: TemplateVersion) -> None:
    """A new fix may not pin a deprecated version (fixes already pinned keep it)."""
    if version.deprecated:
        raise FailedPrecondition(
            "TEMPLATE_VERSION_DEPRECATED",
            f"version {version.version} of the template is deprecated"
            + (f": {version.deprecation_reason}" if version.deprecation_reason else ""),
            metadata={"template_id": str(version.template_id), "version": str(version.version)},
        )


@dataclass(frozen=True, slots=True)
class VersionDiff:
    from_version: int
    to_version: int
    diff: str
    added_lines: int
    removed_lines: int
    language_changed: bool
    parameters_changed: bool


def _parameter_lines(parameters: Sequence[Parameter]) -> list[str]:
    return [json.dumps(p.to_json(), sort_keys=True, ensure_ascii=False) + "\n" for p in parameters]


def _lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines


def diff_versions(old: TemplateVersion, new: TemplateVersion, *, context: int = 3) -> VersionDiff:
    """A unified diff of two versions: the body, then (when they differ) the
    parameters as one JSON object per line, then the language. Pure."""
    if not 0 <= context <= MAX_CONTEXT_LINES:
        raise InvalidArgument(
            f"context_lines must be 0..{MAX_CONTEXT_LINES}",
            field="context_lines",
            reason="INVALID_ARGUMENT",
        )
    a, b = f"v{old.version}", f"v{new.version}"
    body = list(
        difflib.unified_diff(
            _lines(old.body), _lines(new.body), f"{a}/body", f"{b}/body", n=context
        )
    )
    added = sum(1 for line in body if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in body if line.startswith("-") and not line.startswith("---"))
    parts = body
    parameters_changed = old.parameters != new.parameters
    if parameters_changed:
        parts += difflib.unified_diff(
            _parameter_lines(old.parameters),
            _parameter_lines(new.parameters),
            f"{a}/parameters",
            f"{b}/parameters",
            n=context,
        )
    language_changed = old.language is not new.language
    if language_changed:
        parts += difflib.unified_diff(
            [f"{old.language}\n"], [f"{new.language}\n"], f"{a}/language", f"{b}/language"
        )
    return VersionDiff(
        from_version=old.version,
        to_version=new.version,
        diff="".join(parts),
        added_lines=added,
        removed_lines=removed,
        language_changed=language_changed,
        parameters_changed=parameters_changed,
    )
