"""The input checks both services share: one bad input, one answer."""

from __future__ import annotations

import uuid
from enum import StrEnum

import pytest

from flowpilot.api.v1 import types_pb2
from flowpilot.kernel import ScriptLanguage
from flowpilot.runtime.errors import InvalidArgument
from flowpilot.runtime.proto_enums import ProtoEnum
from flowpilot.runtime.validation import parse_uuid


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


def test_enums_map_by_name_both_ways() -> None:
    language = ProtoEnum(ScriptLanguage, types_pb2.ScriptLanguage)
    assert language.to_proto(ScriptLanguage.BASH) == types_pb2.SCRIPT_LANGUAGE_BASH
    assert language.get(types_pb2.SCRIPT_LANGUAGE_PYTHON) is ScriptLanguage.PYTHON
    assert language.get(99) is None  # lenient: an answer from a newer peer
    assert language.optional(0, "language") is None
    assert language.required(1, "language") is ScriptLanguage.POWERSHELL
    with pytest.raises(InvalidArgument) as unknown:
        language.optional(7, "language")
    assert unknown.value.reason == "INVALID_ENUM"
    with pytest.raises(InvalidArgument) as missing:
        language.required(0, "language")
    assert missing.value.reason == "MISSING_FIELD"


class Colour(StrEnum):
    RED = "red"
    POWERSHELL = "powershell"


def test_a_domain_value_without_a_proto_twin_fails_at_import() -> None:
    with pytest.raises(ValueError, match="SCRIPT_LANGUAGE_RED"):
        ProtoEnum(Colour, types_pb2.ScriptLanguage)
