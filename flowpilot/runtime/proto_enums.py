"""Domain enums ⇄ proto enums, by name, one helper for every service.

The style guide prefixes every value of a proto enum with the enum's type name
in UPPER_SNAKE_CASE (`FixStatus` → `FIX_STATUS_APPLIED_PARTIAL`); the domain's
`StrEnum` spells the rest in lower case (`applied_partial`). So the pairs need
no hand-written tables, and a domain value without a proto twin fails at
import rather than on a request. The gateway's REST codec uses the same prefix
rule for the wire names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Generic, TypeVar

from flowpilot.runtime.errors import InvalidArgument

E = TypeVar("E", bound=StrEnum)


def camel_to_upper_snake(name: str) -> str:
    """`AiSessionStatus` → `AI_SESSION_STATUS`."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).upper()


def enum_value_prefix(enum_name: str) -> str:
    """The prefix the style guide puts on every value of the enum `enum_name`."""
    return camel_to_upper_snake(enum_name) + "_"


class ProtoEnum(Generic[E]):
    """One domain `StrEnum` and its proto enum (a generated `EnumTypeWrapper`)."""

    __slots__ = ("_from_proto", "get", "to_proto")

    def __init__(self, domain: type[E], proto: Any) -> None:
        prefix = enum_value_prefix(proto.DESCRIPTOR.name)
        # proto.Value raises ValueError for a domain value the proto lacks.
        to_proto: dict[E, int] = {m: proto.Value(prefix + m.value.upper()) for m in domain}
        self._from_proto: dict[int, E] = {n: m for m, n in to_proto.items()}
        # Bound dict lookups: answers build several enums per message, and this
        # costs no Python call per field (the fixes hot path encodes four).
        self.to_proto: Callable[[E], int] = to_proto.__getitem__
        # Lenient: None for unset or unknown (an answer from a newer peer).
        self.get: Callable[[int], E | None] = self._from_proto.get

    def optional(self, number: int, field: str) -> E | None:
        """A request's value: None when unset (zero), refused when unknown."""
        if number == 0:
            return None
        member = self._from_proto.get(number)
        if member is None:
            raise InvalidArgument(
                f"{field} has an unknown value {number}", field=field, reason="INVALID_ENUM"
            )
        return member

    def required(self, number: int, field: str) -> E:
        """Like `optional`, but unset is a missing field."""
        member = self.optional(number, field)
        if member is None:
            raise InvalidArgument(f"{field} is required", field=field, reason="MISSING_FIELD")
        return member
