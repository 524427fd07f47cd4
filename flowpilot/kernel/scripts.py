"""Typed script parameters and rendering (CONTRACT §3), shared by both services.

A script body marks each parameter as `{{name}}`; a `Parameter` types it
(`string`, `integer`, `boolean`, `enum` with `choices`), may make it
`required` or give it a `default`. Rendering checks values against the
parameters and replaces every placeholder with a literal quoted for the
script's language (`flowpilot.kernel.quoting`), so that no value can leave
its literal. The script-builder renders templates with it, the fixes service
drafted fix scripts: one set of rules, one quoting.

`Parameter` is the domain twin of `flowpilot.api.v1.ScriptParameter`.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flowpilot.kernel import ScriptLanguage
from flowpilot.kernel.quoting import quote_string, render_bool, render_null
from flowpilot.runtime.errors import InvalidArgument
from flowpilot.runtime.validation import check_text

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


def check_parameter(raw: Parameter, index: int, field: str = "parameters") -> Parameter:
    """One parameter's schema: an identifier, choices for enums only, a
    default that fits (and none on a required parameter)."""
    where = f"{field}[{index}]"
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


def check_parameters(
    parameters: Sequence[Parameter], field: str = "parameters"
) -> tuple[Parameter, ...]:
    """A parameter list: at most `MAX_PARAMETERS`, each valid, names unique."""
    if len(parameters) > MAX_PARAMETERS:
        raise InvalidArgument(f"at most {MAX_PARAMETERS} parameters", field=field)
    checked = tuple(check_parameter(p, i, field) for i, p in enumerate(parameters))
    names = [p.name for p in checked]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidArgument(
            f"duplicate parameter names: {', '.join(duplicates)}",
            field=field,
            reason="DUPLICATE_PARAMETER",
        )
    return checked


def placeholders(body: str) -> list[str]:
    """Parameter names the body marks as `{{name}}`, in order of first use."""
    return list(dict.fromkeys(PLACEHOLDER.findall(body)))


def check_placeholders(
    body: str,
    parameters: Sequence[Parameter],
    *,
    body_field: str = "body",
    parameters_field: str = "parameters",
) -> None:
    """Every `{{name}}` of the body is declared and every parameter is used,
    so that every render can succeed and no value is silently dropped."""
    names = [p.name for p in parameters]
    used = placeholders(body)
    undeclared = [n for n in used if n not in names]
    if undeclared:
        raise InvalidArgument(
            f"the {body_field} uses undeclared parameters: {', '.join(undeclared)}",
            field=body_field,
            reason="UNDECLARED_PARAMETER",
            metadata={"parameters": ",".join(undeclared)},
        )
    unused = [n for n in names if n not in used]
    if unused:
        raise InvalidArgument(
            f"parameters not used in the {body_field} (mark them as {{{{name}}}}): "
            f"{', '.join(unused)}",
            field=parameters_field,
            reason="UNUSED_PARAMETER",
            metadata={"parameters": ",".join(unused)},
        )


def resolve_values(
    parameters: Sequence[Parameter], values: Mapping[str, Any], field: str = "parameters"
) -> dict[str, Any]:
    """Checks render values against the schema; fills defaults. A JSON null is "not given"."""
    declared = {p.name: p for p in parameters}
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise InvalidArgument(
            f"unknown parameters: {', '.join(unknown)}",
            field=field,
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
                field=f"{field}.{param.name}",
                reason="INVALID_PARAMETER_VALUE",
            ) from None
    if missing:
        raise InvalidArgument(
            f"missing required parameters: {', '.join(missing)}",
            field=field,
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


def substitute(language: ScriptLanguage, body: str, resolved: Mapping[str, Any]) -> str:
    """Replaces every `{{name}}` of `resolved` with its quoted literal, in one
    pass so that a value containing `{{other}}` stays text."""
    rendered = {name: literal(language, value) for name, value in resolved.items()}
    return PLACEHOLDER.sub(lambda m: rendered.get(m.group(1), m.group(0)), body)


def render(
    language: ScriptLanguage,
    body: str,
    parameters: Sequence[Parameter],
    values: Mapping[str, Any],
    field: str = "parameters",
) -> str:
    """The body with every placeholder replaced by its checked, quoted value."""
    return substitute(language, body, resolve_values(parameters, values, field))


def inferred_parameter(name: str, hint: Any) -> Parameter:
    """A parameter for a `{{name}}` that no schema declares, typed from a hint
    when it says something usable: a parameter's JSON shape, or a value (a
    boolean, an integer or a string, which becomes the default). Without a
    usable hint: a required string. Always a valid parameter."""
    candidates: list[Parameter] = []
    if isinstance(hint, Mapping) and isinstance(hint.get("type"), str):
        with contextlib.suppress(ValueError, KeyError, TypeError):
            candidates.append(Parameter.from_json({**hint, "name": name}))
    elif isinstance(hint, bool):
        candidates.append(Parameter(name, ParameterType.BOOLEAN, default=hint))
    elif isinstance(hint, int | float) and math.isfinite(hint) and float(hint).is_integer():
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


def inferred_parameters(
    body: str, hints: Mapping[str, Any] | None, limit: int = MAX_PARAMETERS
) -> tuple[Parameter, ...]:
    """One parameter per `{{name}}` of the body (at most `limit`), typed from
    `hints` (values or parameter shapes by name): for a script drafted
    without a typed schema."""
    hints = hints or {}
    return tuple(inferred_parameter(n, hints.get(n)) for n in placeholders(body)[:limit])
