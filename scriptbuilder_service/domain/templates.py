"""Script templates: the typed parameter schema, its checks and rendering."""

from __future__ import annotations

import contextlib
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from flowpilot.kernel import ScriptLanguage
from flowpilot.runtime.errors import InvalidArgument, PermissionDenied
from scriptbuilder_service.domain.model import (
    MAX_DESCRIPTION,
    MAX_SCRIPT,
    MAX_TEMPLATE_NAME,
    check_text,
)
from scriptbuilder_service.domain.quoting import quote_string, render_bool, render_null

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
# `{{name}}`, with optional spaces inside the braces.
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

MAX_PARAMETERS = 50
MAX_PARAMETER_NAME = 64
MAX_PARAMETER_DESCRIPTION = 500
MAX_CHOICES = 100
MAX_CHOICE = 200
MAX_STRING_VALUE = 10_000
# Integers travel as JSON numbers (doubles); beyond 2^53 they are not exact.
MAX_SAFE_INTEGER = 2**53 - 1


class ParameterType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    ENUM = "enum"


class TemplateStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    type: ParameterType
    required: bool = False
    # None when there is no default (a JSON null default means the same).
    default: str | int | bool | None = None
    choices: tuple[str, ...] = ()
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": str(self.type),
            "required": self.required,
            "default": self.default,
            "choices": list(self.choices),
            "description": self.description,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Parameter:
        return cls(
            name=data["name"],
            type=ParameterType(data["type"]),
            required=bool(data.get("required", False)),
            default=data.get("default"),
            choices=tuple(data.get("choices") or ()),
            description=data.get("description") or "",
        )


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


@dataclass(frozen=True, slots=True)
class NewTemplate:
    """A template that passed every schema check."""

    name: str
    description: str
    language: ScriptLanguage
    body: str
    parameters: tuple[Parameter, ...] = field(default=())
    status: TemplateStatus = TemplateStatus.PUBLISHED


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


def _fits(ptype: ParameterType, value: Any, choices: Sequence[str]) -> Any:
    """The value as its type, or raises ValueError with why it does not fit."""
    if ptype is ParameterType.BOOLEAN:
        if not isinstance(value, bool):
            raise ValueError("must be a boolean")
        return value
    if ptype is ParameterType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be an integer")
        if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
            raise ValueError("must be an integer")
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"must be between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}")
        return int(value)
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if "\x00" in value:
        # NUL cannot pass through bash, argv or PostgreSQL: refused, never mangled.
        raise ValueError("must not contain NUL characters")
    if len(value) > MAX_STRING_VALUE:
        raise ValueError(f"must be at most {MAX_STRING_VALUE} characters")
    if ptype is ParameterType.ENUM and value not in choices:
        raise ValueError(f"must be one of {', '.join(repr(c) for c in choices)}")
    return value


def check_parameter(raw: Parameter, index: int) -> Parameter:
    where = f"parameters[{index}]"
    name = raw.name
    if not name or len(name) > MAX_PARAMETER_NAME or not IDENTIFIER.match(name):
        raise InvalidArgument(
            f"{where}.name must be an identifier (a letter or '_', then letters, digits "
            f"or '_', at most {MAX_PARAMETER_NAME} characters)",
            field=f"{where}.name",
            reason="INVALID_PARAMETER_NAME",
        )
    check_text(raw.description, f"{where}.description", max_len=MAX_PARAMETER_DESCRIPTION)
    choices = tuple(raw.choices)
    if raw.type is ParameterType.ENUM:
        if not choices:
            raise InvalidArgument(
                f"{where}: an enum parameter needs choices", field=f"{where}.choices"
            )
        if len(choices) > MAX_CHOICES:
            raise InvalidArgument(
                f"{where}: at most {MAX_CHOICES} choices", field=f"{where}.choices"
            )
        if len(set(choices)) != len(choices):
            raise InvalidArgument(f"{where}: duplicate choices", field=f"{where}.choices")
        for choice in choices:
            check_text(choice, f"{where}.choices", max_len=MAX_CHOICE, min_len=1)
    elif choices:
        raise InvalidArgument(
            f"{where}: only enum parameters take choices", field=f"{where}.choices"
        )
    default = raw.default
    if default is not None:
        if raw.required:
            raise InvalidArgument(
                f"{where}: a required parameter cannot have a default",
                field=f"{where}.default",
            )
        try:
            default = _fits(raw.type, default, choices)
        except ValueError as exc:
            raise InvalidArgument(
                f"{where}.default {exc}", field=f"{where}.default", reason="INVALID_DEFAULT"
            ) from None
    return Parameter(
        name=name,
        type=raw.type,
        required=raw.required,
        default=default,
        choices=choices,
        description=raw.description,
    )


def placeholders(body: str) -> list[str]:
    """Parameter names the body marks as `{{name}}`, in order of first use."""
    return list(dict.fromkeys(PLACEHOLDER.findall(body)))


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
    if len(parameters) > MAX_PARAMETERS:
        raise InvalidArgument(f"at most {MAX_PARAMETERS} parameters", field="parameters")
    checked = [check_parameter(p, i) for i, p in enumerate(parameters)]
    names = [p.name for p in checked]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidArgument(
            f"duplicate parameter names: {', '.join(duplicates)}",
            field="parameters",
            reason="DUPLICATE_PARAMETER",
        )
    used = placeholders(body)
    undeclared = [n for n in used if n not in names]
    if undeclared:
        raise InvalidArgument(
            f"the body uses undeclared parameters: {', '.join(undeclared)}",
            field="body",
            reason="UNDECLARED_PARAMETER",
            metadata={"parameters": ",".join(undeclared)},
        )
    unused = [n for n in names if n not in used]
    if unused:
        raise InvalidArgument(
            f"parameters not used in the body (mark them as {{{{name}}}}): {', '.join(unused)}",
            field="parameters",
            reason="UNUSED_PARAMETER",
            metadata={"parameters": ",".join(unused)},
        )
    return NewTemplate(
        name=name,
        description=description,
        language=language,
        body=body,
        parameters=tuple(checked),
        status=status,
    )


def resolve_values(parameters: Sequence[Parameter], values: Mapping[str, Any]) -> dict[str, Any]:
    """Checks render values against the schema; fills defaults. A JSON null is "not given"."""
    declared = {p.name: p for p in parameters}
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise InvalidArgument(
            f"unknown parameters: {', '.join(unknown)}",
            field="parameters",
            reason="UNKNOWN_PARAMETER",
            metadata={"parameters": ",".join(unknown)},
        )
    resolved: dict[str, Any] = {}
    missing: list[str] = []
    for param in parameters:
        value = values.get(param.name)
        if value is None:
            if param.required:
                missing.append(param.name)
            resolved[param.name] = param.default
            continue
        try:
            resolved[param.name] = _fits(param.type, value, param.choices)
        except ValueError as exc:
            raise InvalidArgument(
                f"parameter {param.name} {exc}",
                field=f"parameters.{param.name}",
                reason="INVALID_PARAMETER_VALUE",
            ) from None
    if missing:
        raise InvalidArgument(
            f"missing required parameters: {', '.join(missing)}",
            field="parameters",
            reason="MISSING_PARAMETER",
            metadata={"parameters": ",".join(missing)},
        )
    return resolved


def literal(language: ScriptLanguage, value: Any) -> str:
    if value is None:
        return render_null(language)
    if isinstance(value, bool):
        return render_bool(language, value)
    if isinstance(value, int):
        return str(value)
    return quote_string(language, value)


def render(
    language: ScriptLanguage, body: str, parameters: Sequence[Parameter], values: Mapping[str, Any]
) -> str:
    """Replaces every `{{name}}` with its quoted literal, in one pass so that a
    value containing `{{other}}` stays text."""
    resolved = resolve_values(parameters, values)
    rendered = {name: literal(language, value) for name, value in resolved.items()}
    return PLACEHOLDER.sub(lambda m: rendered.get(m.group(1), m.group(0)), body)


def _clean(value: str, limit: int) -> str:
    return value.replace("\x00", "")[:limit]


def _proposed_parameter(name: str, hint: Any) -> Parameter:
    """A parameter for a `{{name}}` of a fix's script, typed from the fix's
    drafted parameters when they say something usable."""
    candidates: list[Parameter] = []
    if isinstance(hint, Mapping) and isinstance(hint.get("type"), str):
        with contextlib.suppress(ValueError, KeyError, TypeError):
            candidates.append(Parameter.from_json({**hint, "name": name}))
    elif isinstance(hint, bool):
        candidates.append(Parameter(name, ParameterType.BOOLEAN, default=hint))
    elif isinstance(hint, int | float) and float(hint).is_integer():
        candidates.append(Parameter(name, ParameterType.INTEGER, default=int(hint)))
    elif isinstance(hint, str):
        candidates.append(Parameter(name, ParameterType.STRING, default=hint))
    candidates.append(Parameter(name, ParameterType.STRING, required=True))
    for index, candidate in enumerate(candidates):
        try:
            return check_parameter(candidate, index)
        except InvalidArgument:
            continue
    return candidates[-1]


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
    hints = drafted_parameters or {}
    body = _clean(script, MAX_SCRIPT)
    if not body.strip():
        body = "# The fix had no script when the template was proposed."
    params = tuple(_proposed_parameter(n, hints.get(n)) for n in placeholders(body))
    name = _clean(title, MAX_TEMPLATE_NAME).strip() or f"Draft from fix {fix_id}"
    return NewTemplate(
        name=name,
        description=_clean(description, MAX_DESCRIPTION),
        language=language or ScriptLanguage.POWERSHELL,
        body=body,
        parameters=params[:MAX_PARAMETERS],
        status=TemplateStatus.DRAFT,
    )
