"""The input checks both services share: one bad input, one answer."""

from __future__ import annotations

import uuid
from enum import Enum

import pytest

from flowpilot.runtime.errors import InvalidArgument
from flowpilot.runtime.validation import optional_enum, parse_uuid, required_enum


def test_uuid_parser_accepts_canonical_forms_only() -> None:
    value = uuid.uuid4()
    assert parse_uuid(str(value), "id") == value
    assert parse_uuid(str(value).upper(), "id") == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "MISSING_FIELD"),
        ("not-a-uuid", "INVALID_UUID"),
        ("12345678123456781234567812345678", "INVALID_UUID"),  # bare hex
        ("{12345678-1234-5678-1234-567812345678}", "INVALID_UUID"),
        ("urn:uuid:12345678-1234-5678-1234-567812345678", "INVALID_UUID"),
        ("12345678-1234-5678-1234-56781234567g", "INVALID_UUID"),
    ],
)
def test_uuid_parser_refuses(text: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as refusal:
        parse_uuid(text, "fix_id")
    assert refusal.value.reason == reason
    assert refusal.value.metadata["field"] == "fix_id"


class Colour(Enum):
    RED = "red"


def test_enums() -> None:
    mapping = {1: Colour.RED}
    assert optional_enum(0, mapping, "colour") is None
    assert optional_enum(1, mapping, "colour") is Colour.RED
    assert required_enum(1, mapping, "colour") is Colour.RED
    with pytest.raises(InvalidArgument) as unknown:
        optional_enum(7, mapping, "colour")
    assert unknown.value.reason == "INVALID_ENUM"
    with pytest.raises(InvalidArgument) as missing:
        required_enum(0, mapping, "colour")
    assert missing.value.reason == "MISSING_FIELD"
