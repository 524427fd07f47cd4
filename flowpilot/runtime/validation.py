"""Input checks every service applies the same way, so one bad input gets one
answer whichever service it reaches. Enum numbers are checked where they are
translated (`flowpilot.runtime.proto_enums`)."""

from __future__ import annotations

from uuid import UUID

from flowpilot.runtime.errors import InvalidArgument

CANONICAL_UUID_LENGTH = 36


def parse_uuid(value: str, field: str) -> UUID:
    """A UUID in its canonical 36-character text form (no braces, URN or bare hex)."""
    if not value:
        raise InvalidArgument(f"{field} is required", field=field, reason="MISSING_FIELD")
    try:
        if len(value) != CANONICAL_UUID_LENGTH:
            raise ValueError(value)
        return UUID(value)
    except ValueError:
        raise InvalidArgument(
            f"{field} must be a UUID", field=field, reason="INVALID_UUID"
        ) from None


def check_text(
    value: str, field: str, *, max_len: int, min_len: int = 0, not_blank: bool = False
) -> str:
    """Bounds a text and refuses NUL, which PostgreSQL `text` cannot store."""
    if "\x00" in value:
        raise InvalidArgument(
            f"{field} must not contain NUL characters", field=field, reason="INVALID_CHARACTERS"
        )
    if len(value) > max_len:
        raise InvalidArgument(
            f"{field} must be at most {max_len} characters",
            field=field,
            reason="FIELD_TOO_LONG",
            metadata={"max_chars": str(max_len)},
        )
    if len(value) < min_len or (not_blank and not value.strip()):
        raise InvalidArgument(f"{field} must not be empty", field=field, reason="FIELD_EMPTY")
    return value
