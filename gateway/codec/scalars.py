"""JSON ⇄ protobuf scalars: numbers, strings, booleans, bytes and enums.

Each decoder takes the JSON value and the field's path (for the error) and
returns the Python value to assign; each refusal is INVALID_ARGUMENT naming
the field. Enums travel by their wire name: the value's name without the
enum's type prefix, lower-cased (`FIX_STATUS_APPLIED_PARTIAL` →
`applied_partial`), the same prefix rule the services' enum mapping uses.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor

from flowpilot.runtime.errors import InvalidArgument
from flowpilot.runtime.proto_enums import enum_value_prefix

F = FieldDescriptor

INT_RANGES: dict[int, tuple[int, int]] = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1),
    F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1),
    F.TYPE_FIXED32: (0, 2**32 - 1),
    F.TYPE_INT64: (-(2**63), 2**63 - 1),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1),
    F.TYPE_FIXED64: (0, 2**64 - 1),
}
FLOAT_TYPES = frozenset({F.TYPE_FLOAT, F.TYPE_DOUBLE})
INT_TEXT = re.compile(r"-?[0-9]+")
_FLOAT_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
# JSON numbers beyond this are not exactly representable as doubles.
MAX_SAFE_INT = 2**53

Encoder = Callable[[Any], Any]
# (JSON value, field path) → Python value to assign to the field.
Decoder = Callable[[Any, str], Any]


def bad_value(path: str, message: str, reason: str = "INVALID_FIELD_VALUE") -> InvalidArgument:
    return InvalidArgument(
        f"{path}: {message}" if path else message, field=path or None, reason=reason
    )


def json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


@dataclass(frozen=True, slots=True)
class EnumCodec:
    """The wire names of one enum: `applied_partial` ⇄ 4; zero is `null`."""

    descriptor: EnumDescriptor
    by_number: dict[int, str | None]
    by_name: dict[str, int]

    @property
    def names(self) -> list[str]:
        return list(self.by_name)

    @classmethod
    def build(cls, descriptor: EnumDescriptor) -> EnumCodec:
        prefix = enum_value_prefix(descriptor.name)
        values = descriptor.values
        if not all(v.name.startswith(prefix) for v in values):
            prefix = ""  # an enum not following the style guide keeps its names
        by_number: dict[int, str | None] = {}
        by_name: dict[str, int] = {}
        for value in values:
            if value.number == 0:
                by_number[0] = None
                continue
            wire = value.name[len(prefix) :].lower()
            by_number.setdefault(value.number, wire)
            by_name[wire] = value.number
        by_number.setdefault(0, None)
        return cls(descriptor, by_number, by_name)

    def encode(self, number: int) -> str | None:
        # A number this build does not know (version skew) reads as unset.
        return self.by_number.get(number)

    def decode(self, value: Any, path: str) -> int:
        if value is None:
            return 0
        if not isinstance(value, str):
            raise bad_value(
                path, f"expected one of {self.names} or null, got {json_type_name(value)}"
            )
        number = self.by_name.get(value)
        if number is None:
            raise bad_value(
                path, f"unknown value {value!r}; expected one of {self.names}", "INVALID_ENUM_VALUE"
            )
        return number


# --------------------------------------------------------------------------- scalars


def decode_string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise bad_value(path, f"expected a string, got {json_type_name(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise bad_value(path, "not valid UTF-8 (lone surrogate)") from exc
    return value


def decode_bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise bad_value(path, f"expected a boolean, got {json_type_name(value)}")
    return value


def int_decoder(field_type: int) -> Decoder:
    low, high = INT_RANGES[field_type]

    def decode(value: Any, path: str) -> int:
        if isinstance(value, bool):
            raise bad_value(path, "expected an integer, got boolean")
        if isinstance(value, int):
            number = value
        elif (isinstance(value, float) and value.is_integer()) or (
            isinstance(value, str) and INT_TEXT.fullmatch(value)
        ):
            number = int(value)
        else:
            raise bad_value(path, f"expected an integer, got {json_type_name(value)}")
        if not low <= number <= high:
            raise bad_value(path, f"integer out of range [{low}, {high}]")
        return number

    return decode


def decode_float(value: Any, path: str) -> float:
    if isinstance(value, bool):
        raise bad_value(path, "expected a number, got boolean")
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError as exc:
            raise bad_value(path, "number out of range") from exc
    if isinstance(value, str):
        if value in _FLOAT_SPECIAL:
            return _FLOAT_SPECIAL[value]
        try:
            return float(value)
        except ValueError:
            pass
    raise bad_value(path, f"expected a number, got {json_type_name(value)}")


def decode_bytes(value: Any, path: str) -> bytes:
    if not isinstance(value, str):
        raise bad_value(path, f"expected base64 text, got {json_type_name(value)}")
    text = value.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise bad_value(path, "invalid base64") from exc


def encode_float(value: float) -> Any:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def encode_bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def identity(value: Any) -> Any:
    return value
