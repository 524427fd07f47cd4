"""Input rules, checked before anything reaches SQL (CONTRACT §6: 400, never 5xx)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from flowpilot.kernel.scripts import Parameter, check_parameters
from flowpilot.runtime.errors import InvalidArgument
from flowpilot.runtime.etags import EntityTag, parse_precondition
from flowpilot.runtime.validation import check_text

MAX_SCRIPT_CHARS = 50_000
MAX_TITLE_CHARS = 200
MAX_DESCRIPTION_CHARS = 10_000
MAX_NOTES_CHARS = 5_000
MAX_REASON_CHARS = 5_000
MAX_PARAMETERS_BYTES = 64 * 1024
MAX_PARAMETERS_DEPTH = 10
MAX_ESCALATION_ENTRIES = 500


# A catalogue recipe id (kebab-case, as the script builder's recipes are named).
MAX_RECIPE_ID = 100


def script(value: str, field: str = "ai_drafted_script") -> str:
    if not value or not value.strip():
        raise InvalidArgument(
            f"{field} must not be empty or only white space", field=field, reason="SCRIPT_EMPTY"
        )
    if len(value) > MAX_SCRIPT_CHARS:
        raise InvalidArgument(
            f"{field} is longer than {MAX_SCRIPT_CHARS} characters",
            field=field,
            reason="SCRIPT_TOO_LONG",
            metadata={"max_chars": str(MAX_SCRIPT_CHARS), "chars": str(len(value))},
        )
    return check_text(value, field, max_len=MAX_SCRIPT_CHARS)


def title(value: str, field: str = "title") -> str:
    stripped = value.strip()
    if not stripped:
        raise InvalidArgument(f"{field} is required", field=field, reason="MISSING_FIELD")
    return check_text(stripped, field, max_len=MAX_TITLE_CHARS)


def optional_text(value: str, field: str, max_chars: int) -> str | None:
    """Empty means absent (proto3 strings have no presence)."""
    value = value.strip()
    return check_text(value, field, max_len=max_chars) if value else None


def parameters(value: Any, field: str = "ai_drafted_parameters") -> dict[str, Any]:
    """A JSON object of bounded size and depth, with finite numbers only."""
    if not isinstance(value, dict):
        raise InvalidArgument(f"{field} must be a JSON object", field=field)
    _check_depth(value, field, 1)
    try:
        encoded = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except ValueError:
        raise InvalidArgument(
            f"{field} must hold finite numbers only", field=field, reason="INVALID_PARAMETERS"
        ) from None
    size = len(encoded.encode())
    if size > MAX_PARAMETERS_BYTES:
        raise InvalidArgument(
            f"{field} is larger than {MAX_PARAMETERS_BYTES} bytes",
            field=field,
            reason="PARAMETERS_TOO_LARGE",
            metadata={"max_bytes": str(MAX_PARAMETERS_BYTES), "bytes": str(size)},
        )
    if "\\u0000" in encoded or "\x00" in encoded:
        raise InvalidArgument(
            f"{field} must not contain NUL characters", field=field, reason="INVALID_CHARACTERS"
        )
    return value


def _check_depth(value: Any, field: str, depth: int) -> None:
    """Depth counts containers: `{"a": 1}` is 1 deep, `{"a": {"b": 1}}` is 2."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidArgument(
            f"{field} must hold finite numbers only", field=field, reason="INVALID_PARAMETERS"
        )
    if not isinstance(value, dict | list):
        return
    if depth > MAX_PARAMETERS_DEPTH:
        raise InvalidArgument(
            f"{field} is nested deeper than {MAX_PARAMETERS_DEPTH} levels",
            field=field,
            reason="PARAMETERS_TOO_DEEP",
            metadata={"max_depth": str(MAX_PARAMETERS_DEPTH)},
        )
    for item in value.values() if isinstance(value, dict) else value:
        _check_depth(item, field, depth + 1)


def etag(value: str, field: str = "etag") -> EntityTag | None:
    """A write's precondition (`flowpilot.runtime.etags`): None for none
    (empty) or any version (`*`), else the entity tag sent; 400
    `INVALID_ETAG` for what is not an entity tag. A weak or foreign tag is
    well-formed: the comparison refuses it as a mismatch."""
    return parse_precondition(value, field=field)


def script_parameters(
    value: Sequence[Parameter], field: str = "script_parameters"
) -> tuple[Parameter, ...]:
    """Typed parameters: at most 50, each a valid schema, names unique."""
    return check_parameters(value, field)


def values(value: Any, field: str = "parameters") -> dict[str, Any]:
    """Render values: a JSON object (bounded like drafted parameters)."""
    return parameters(value, field)
