"""JSON ⇄ protobuf over descriptors, with the REST shapes of CONTRACT §3.

`google.protobuf.json_format` is close but not what the UI gets: it drops unset
fields, spells enums `FIX_STATUS_APPLIED_PARTIAL` and uses camelCase. The rules
here instead:

* field names are the proto names (snake_case), on input and output;
* an enum value is its name without the enum's type prefix, lower-cased
  (`FixStatus.FIX_STATUS_APPLIED_PARTIAL` → `applied_partial`); the zero value
  is `null`, and `null` or an absent field on input means zero;
* every field of a response is present: unset messages (Timestamp, Struct, any
  message) and unset proto3 `optional` scalars are `null`, repeated fields `[]`;
* Timestamps are RFC 3339 in UTC with `Z`; Duration `"1.5s"`;
  `google.protobuf.Struct`/`Value`/`ListValue` are plain JSON;
* 64-bit integers are JSON numbers on output (IDs here are UUID strings, counters
  stay far below 2^53) and are accepted as numbers or decimal strings on input;
* on input, unknown fields, wrong JSON types, out-of-range numbers, unknown
  enum names and invalid UTF-8 are refused with INVALID_ARGUMENT naming the
  field (`fix_outcomes[0].choice`).

Every table is built once per message type at startup; encoding and decoding
are plain loops over precomputed closures (no reflection per request).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from flowpilot.runtime.errors import InvalidArgument

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
_INT_TEXT = re.compile(r"-?[0-9]+")
_FLOAT_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
# JSON numbers beyond this are not exactly representable as doubles.
_MAX_SAFE_INT = 2**53

TIMESTAMP = "google.protobuf.Timestamp"
DURATION = "google.protobuf.Duration"
STRUCT = "google.protobuf.Struct"
VALUE = "google.protobuf.Value"
LIST_VALUE = "google.protobuf.ListValue"
EMPTY = "google.protobuf.Empty"
FIELD_MASK = "google.protobuf.FieldMask"
WRAPPERS = frozenset(
    f"google.protobuf.{name}"
    for name in (
        "DoubleValue",
        "FloatValue",
        "Int64Value",
        "UInt64Value",
        "Int32Value",
        "UInt32Value",
        "BoolValue",
        "StringValue",
        "BytesValue",
    )
)
# Well-known types whose JSON form is a string (usable in paths and queries).
STRING_WKTS = frozenset({TIMESTAMP, DURATION, FIELD_MASK})

Encoder = Callable[[Any], Any]
# (JSON value, field path) → Python value to assign to the field.
Decoder = Callable[[Any, str], Any]


def _bad(path: str, message: str, reason: str = "INVALID_FIELD_VALUE") -> InvalidArgument:
    return InvalidArgument(
        f"{path}: {message}" if path else message, field=path or None, reason=reason
    )


def _type_name(value: Any) -> str:
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


def camel_to_upper_snake(name: str) -> str:
    """`AiSessionStatus` → `AI_SESSION_STATUS`."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).upper()


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
        prefix = camel_to_upper_snake(descriptor.name) + "_"
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
            raise _bad(path, f"expected one of {self.names} or null, got {_type_name(value)}")
        number = self.by_name.get(value)
        if number is None:
            raise _bad(
                path, f"unknown value {value!r}; expected one of {self.names}", "INVALID_ENUM_VALUE"
            )
        return number


# --------------------------------------------------------------------------- scalars


def _decode_string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _bad(path, f"expected a string, got {_type_name(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _bad(path, "not valid UTF-8 (lone surrogate)") from exc
    return value


def _decode_bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _bad(path, f"expected a boolean, got {_type_name(value)}")
    return value


def _int_decoder(field_type: int) -> Decoder:
    low, high = INT_RANGES[field_type]

    def decode(value: Any, path: str) -> int:
        if isinstance(value, bool):
            raise _bad(path, "expected an integer, got boolean")
        if isinstance(value, int):
            number = value
        elif (isinstance(value, float) and value.is_integer()) or (
            isinstance(value, str) and _INT_TEXT.fullmatch(value)
        ):
            number = int(value)
        else:
            raise _bad(path, f"expected an integer, got {_type_name(value)}")
        if not low <= number <= high:
            raise _bad(path, f"integer out of range [{low}, {high}]")
        return number

    return decode


def _decode_float(value: Any, path: str) -> float:
    if isinstance(value, bool):
        raise _bad(path, "expected a number, got boolean")
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError as exc:
            raise _bad(path, "number out of range") from exc
    if isinstance(value, str):
        if value in _FLOAT_SPECIAL:
            return _FLOAT_SPECIAL[value]
        try:
            return float(value)
        except ValueError:
            pass
    raise _bad(path, f"expected a number, got {_type_name(value)}")


def _decode_bytes(value: Any, path: str) -> bytes:
    if not isinstance(value, str):
        raise _bad(path, f"expected base64 text, got {_type_name(value)}")
    text = value.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _bad(path, "invalid base64") from exc


def _encode_float(value: float) -> Any:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _encode_bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _identity(value: Any) -> Any:
    return value


# --------------------------------------------------------------------- Struct/Value


def value_to_json(value: Message) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        number = value.number_value
        # Struct numbers are doubles; integral ones read better as integers.
        if number.is_integer() and abs(number) <= _MAX_SAFE_INT:
            return int(number)
        return _encode_float(number)
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return struct_to_json(value.struct_value)
    if kind == "list_value":
        return [value_to_json(v) for v in value.list_value.values]
    return None


def struct_to_json(struct: Message) -> dict[str, Any]:
    return {key: value_to_json(v) for key, v in struct.fields.items()}


def fill_value(target: Message, value: Any, path: str, depth: int = 0) -> None:
    if depth > 64:
        raise _bad(path, "nested too deeply")
    if value is None:
        target.null_value = 0
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError as exc:
            raise _bad(path, "number out of range") from exc
        if not math.isfinite(number):
            raise _bad(path, "number out of range")
        target.number_value = number
    elif isinstance(value, str):
        target.string_value = _decode_string(value, path)
    elif isinstance(value, dict):
        target.struct_value.SetInParent()
        fill_struct(target.struct_value, value, path, depth + 1)
    elif isinstance(value, list):
        target.list_value.SetInParent()
        for index, item in enumerate(value):
            fill_value(target.list_value.values.add(), item, f"{path}[{index}]", depth + 1)
    else:  # pragma: no cover - json.loads yields nothing else
        raise _bad(path, f"unsupported JSON value {_type_name(value)}")


def fill_struct(target: Message, value: Any, path: str, depth: int = 0) -> None:
    if not isinstance(value, dict):
        raise _bad(path, f"expected an object, got {_type_name(value)}")
    for key, item in value.items():
        _decode_string(key, f"{path}.{key}" if path else key)
        fill_value(target.fields[key], item, f"{path}.{key}" if path else key, depth + 1)


# ----------------------------------------------------------------------- messages


class MessageCodec:
    """Encoder/decoder tables of one message type."""

    __slots__ = ("_encode_fields", "by_name", "cls", "descriptor", "encode", "fill", "full_name")

    def __init__(self, descriptor: Descriptor) -> None:
        self.descriptor = descriptor
        self.full_name = descriptor.full_name
        self.cls: type[Message] = message_factory.GetMessageClass(descriptor)
        self.by_name: dict[str, FieldCodec] = {}
        self._encode_fields: list[tuple[str, Callable[[Message], Any]]] = []
        # Overridden for well-known types.
        self.encode: Callable[[Message], Any] = self._encode_message
        self.fill: Callable[[Message, Any, str], None] = self._fill_message

    def _encode_message(self, message: Message) -> dict[str, Any]:
        return {name: getter(message) for name, getter in self._encode_fields}

    def _fill_message(self, message: Message, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise _bad(path, f"expected an object, got {_type_name(value)}")
        self.fill_fields(message, value.items(), path)

    def fill_fields(self, message: Message, items: Iterable[tuple[str, Any]], path: str) -> None:
        by_name = self.by_name
        for key, value in items:
            field = by_name.get(key)
            sub_path = f"{path}.{key}" if path else key
            if field is None:
                raise _bad(
                    sub_path, f"unknown field {key!r} for {self.descriptor.name}", "UNKNOWN_FIELD"
                )
            field.assign(message, value, sub_path)

    def decode(self, value: Any, path: str = "") -> Message:
        message = self.cls()
        self.fill(message, value, path)
        return message


class FieldCodec:
    """How one field is read from and written to JSON."""

    __slots__ = (
        "assign",
        "descriptor",
        "enum",
        "map_key",
        "map_value",
        "message",
        "name",
        "scalar_decoder",
    )

    def __init__(self, registry: CodecRegistry, descriptor: FieldDescriptor) -> None:
        self.descriptor = descriptor
        self.name = descriptor.name
        self.enum: EnumCodec | None = None
        self.message: MessageCodec | None = None
        self.map_key: Decoder | None = None
        self.map_value: FieldCodec | None = None
        if is_map_field(descriptor):
            entry = descriptor.message_type
            self.map_key = _key_decoder(entry.fields_by_name["key"])
            self.map_value = FieldCodec(registry, entry.fields_by_name["value"])
        elif descriptor.type == F.TYPE_ENUM:
            self.enum = registry.enum(descriptor.enum_type)
        elif descriptor.type in (F.TYPE_MESSAGE, F.TYPE_GROUP):
            self.message = registry.message(descriptor.message_type)
        self.scalar_decoder: Decoder | None = (
            None if self.message or self.map_value else _scalar_decoder(self)
        )
        self.assign: Callable[[Message, Any, str], None] = self._build_assign()

    @property
    def is_map(self) -> bool:
        return self.map_value is not None

    def _build_assign(self) -> Callable[[Message, Any, str], None]:
        d = self.descriptor
        name = self.name
        if self.map_value is not None:
            key_decoder = self.map_key
            value_field = self.map_value
            assert key_decoder is not None

            def assign_map(message: Message, value: Any, path: str) -> None:
                if value is None:
                    return
                if not isinstance(value, dict):
                    raise _bad(path, f"expected an object, got {_type_name(value)}")
                container = getattr(message, name)
                for raw_key, item in value.items():
                    key = key_decoder(raw_key, f"{path}.{raw_key}")
                    item_path = f"{path}.{raw_key}"
                    if value_field.message is not None:
                        if item is None and value_field.message.full_name != VALUE:
                            raise _bad(item_path, "null is not allowed in a map")
                        value_field.message.fill(container[key], item, item_path)
                    else:
                        if item is None:
                            raise _bad(item_path, "null is not allowed in a map")
                        container[key] = value_field.scalar_decoder(item, item_path)  # type: ignore[misc]

            return assign_map
        if d.is_repeated:
            sub = self.message
            scalar = self.scalar_decoder

            def assign_list(message: Message, value: Any, path: str) -> None:
                if value is None:
                    return
                if not isinstance(value, list):
                    raise _bad(path, f"expected an array, got {_type_name(value)}")
                container = getattr(message, name)
                for index, item in enumerate(value):
                    item_path = f"{path}[{index}]"
                    if sub is not None:
                        if item is None and sub.full_name != VALUE:
                            raise _bad(item_path, "null is not allowed in an array")
                        sub.fill(container.add(), item, item_path)
                    else:
                        if item is None:
                            raise _bad(item_path, "null is not allowed in an array")
                        container.append(scalar(item, item_path))  # type: ignore[misc]

            return assign_list
        if self.message is not None:
            sub = self.message
            is_value = sub.full_name == VALUE

            def assign_message(message: Message, value: Any, path: str) -> None:
                if value is None and not is_value:
                    return  # null: leave the field unset
                target = getattr(message, name)
                target.SetInParent()
                sub.fill(target, value, path)

            return assign_message
        scalar = self.scalar_decoder
        assert scalar is not None

        def assign_scalar(message: Message, value: Any, path: str) -> None:
            if value is None:
                return  # null means the zero value (or unset, for `optional`)
            setattr(message, name, scalar(value, path))

        return assign_scalar

    def encoder(self) -> Callable[[Message], Any]:
        """A getter that renders this field of a message as JSON."""
        d = self.descriptor
        name = self.name
        if self.map_value is not None:
            value_encode = self.map_value.item_encoder()

            def get_map(message: Message) -> dict[str, Any]:
                return {str(k): value_encode(v) for k, v in getattr(message, name).items()}

            return get_map
        item_encode = self.item_encoder()
        if d.is_repeated:

            def get_list(message: Message) -> list[Any]:
                return [item_encode(v) for v in getattr(message, name)]

            return get_list
        if self.message is not None or d.containing_oneof is not None:
            # Messages, proto3 `optional` scalars and oneof members: unset is null.
            def get_optional(message: Message) -> Any:
                if message.HasField(name):
                    return item_encode(getattr(message, name))
                return None

            return get_optional
        if item_encode is _identity:
            return lambda message: getattr(message, name)

        def get_plain(message: Message) -> Any:
            return item_encode(getattr(message, name))

        return get_plain

    def item_encoder(self) -> Encoder:
        """Encoder of one value (one item, for repeated fields)."""
        d = self.descriptor
        if self.enum is not None:
            return self.enum.encode
        if self.message is not None:
            return self.message.encode
        if d.type in FLOAT_TYPES:
            return _encode_float
        if d.type == F.TYPE_BYTES:
            return _encode_bytes
        return _identity


def is_map_field(d: FieldDescriptor) -> bool:
    return d.is_repeated and d.type == F.TYPE_MESSAGE and d.message_type.GetOptions().map_entry


def _scalar_decoder(field: FieldCodec) -> Decoder:
    d = field.descriptor
    if field.enum is not None:
        return field.enum.decode
    if d.type == F.TYPE_STRING:
        return _decode_string
    if d.type == F.TYPE_BOOL:
        return _decode_bool
    if d.type in INT_RANGES:
        return _int_decoder(d.type)
    if d.type in FLOAT_TYPES:
        return _decode_float
    if d.type == F.TYPE_BYTES:
        return _decode_bytes
    raise RuntimeError(f"unsupported field type {d.type} of {d.full_name}")  # pragma: no cover


def _key_decoder(d: FieldDescriptor) -> Decoder:
    """Map keys are JSON object keys (strings): parse them per key type."""
    if d.type == F.TYPE_STRING:
        return _decode_string
    if d.type == F.TYPE_BOOL:

        def decode_bool_key(value: Any, path: str) -> bool:
            if value in ("true", "false"):
                return value == "true"
            raise _bad(path, "map key must be 'true' or 'false'")

        return decode_bool_key
    return _int_decoder(d.type)


# ------------------------------------------------------------------ well-known types


def _install_wkt(codec: MessageCodec, registry: CodecRegistry) -> None:
    name = codec.full_name
    if name == TIMESTAMP:

        def encode_ts(message: Message) -> str:
            return message.ToJsonString()  # type: ignore[attr-defined, no-any-return]

        def fill_ts(message: Message, value: Any, path: str) -> None:
            if not isinstance(value, str):
                raise _bad(path, f"expected an RFC 3339 timestamp, got {_type_name(value)}")
            try:
                message.FromJsonString(value)  # type: ignore[attr-defined]
            except (ValueError, TypeError) as exc:
                raise _bad(path, f"invalid RFC 3339 timestamp: {exc}") from exc

        codec.encode, codec.fill = encode_ts, fill_ts
    elif name in (DURATION, FIELD_MASK):

        def encode_str(message: Message) -> str:
            return message.ToJsonString()  # type: ignore[attr-defined, no-any-return]

        def fill_str(message: Message, value: Any, path: str) -> None:
            if not isinstance(value, str):
                raise _bad(path, f"expected a string, got {_type_name(value)}")
            try:
                message.FromJsonString(value)  # type: ignore[attr-defined]
            except (ValueError, TypeError) as exc:
                raise _bad(path, f"invalid value: {exc}") from exc

        codec.encode, codec.fill = encode_str, fill_str
    elif name == STRUCT:
        codec.encode, codec.fill = struct_to_json, fill_struct
    elif name == VALUE:
        codec.encode, codec.fill = value_to_json, fill_value
    elif name == LIST_VALUE:

        def encode_list(message: Message) -> list[Any]:
            return [value_to_json(v) for v in message.values]  # type: ignore[attr-defined]

        def fill_list(message: Message, value: Any, path: str) -> None:
            if not isinstance(value, list):
                raise _bad(path, f"expected an array, got {_type_name(value)}")
            for index, item in enumerate(value):
                fill_value(message.values.add(), item, f"{path}[{index}]")  # type: ignore[attr-defined]

        codec.encode, codec.fill = encode_list, fill_list
    elif name in WRAPPERS:
        inner = FieldCodec(registry, codec.descriptor.fields_by_name["value"])
        inner_encode = inner.item_encoder()
        inner_decode = inner.scalar_decoder
        assert inner_decode is not None

        def encode_wrapper(message: Message) -> Any:
            return inner_encode(message.value)  # type: ignore[attr-defined]

        def fill_wrapper(message: Message, value: Any, path: str) -> None:
            message.value = inner_decode(value, path)  # type: ignore[attr-defined]

        codec.encode, codec.fill = encode_wrapper, fill_wrapper


WKT_NAMES = frozenset({TIMESTAMP, DURATION, FIELD_MASK, STRUCT, VALUE, LIST_VALUE, *WRAPPERS})


class CodecRegistry:
    """Codecs by full name, built once; safe for recursive message types."""

    def __init__(self) -> None:
        self._messages: dict[str, MessageCodec] = {}
        self._enums: dict[str, EnumCodec] = {}

    def enum(self, descriptor: EnumDescriptor) -> EnumCodec:
        codec = self._enums.get(descriptor.full_name)
        if codec is None:
            codec = self._enums[descriptor.full_name] = EnumCodec.build(descriptor)
        return codec

    def messages(self) -> list[MessageCodec]:
        return list(self._messages.values())

    def message(self, descriptor: Descriptor) -> MessageCodec:
        codec = self._messages.get(descriptor.full_name)
        if codec is not None:
            return codec
        codec = self._messages[descriptor.full_name] = MessageCodec(descriptor)
        if codec.full_name in WKT_NAMES:
            _install_wkt(codec, self)
            return codec
        for field_descriptor in descriptor.fields:
            field = FieldCodec(self, field_descriptor)
            codec.by_name[field.name] = field
            codec._encode_fields.append((field.name, field.encoder()))
        return codec


# ----------------------------------------------------------------- text (path/query)


def decode_text(field: FieldCodec, text: str, path: str) -> Any:
    """A path or query value (always text) as the field's Python value."""
    d = field.descriptor
    if field.message is not None:
        name = field.message.full_name
        if name in STRING_WKTS or name in (
            "google.protobuf.StringValue",
            "google.protobuf.BytesValue",
        ):
            return text
        raise _bad(path, "this field cannot be given as text")
    if field.enum is not None:
        return field.enum.decode(text, path)
    if d.type == F.TYPE_STRING:
        return _decode_string(text, path)
    if d.type == F.TYPE_BOOL:
        if text in ("true", "false"):
            return text == "true"
        raise _bad(path, "expected 'true' or 'false'")
    if d.type in INT_RANGES:
        if not _INT_TEXT.fullmatch(text):
            raise _bad(path, f"expected an integer, got {text!r}")
        return _int_decoder(d.type)(int(text), path)
    if d.type in FLOAT_TYPES:
        return _decode_float(text, path)
    if d.type == F.TYPE_BYTES:
        return _decode_bytes(text, path)
    raise _bad(path, "unsupported field type")  # pragma: no cover


def set_text_field(
    codec: MessageCodec, message: Message, dotted: str, texts: list[str], *, allow_repeated: bool
) -> None:
    """Sets `a.b.c` of `message` from one (or, for repeated leaves, several) text values."""
    parts = dotted.split(".")
    current_codec, current = codec, message
    for depth, part in enumerate(parts):
        path = ".".join(parts[: depth + 1])
        field = current_codec.by_name.get(part)
        if field is None:
            raise _bad(path, f"unknown field {part!r}", "UNKNOWN_FIELD")
        last = depth == len(parts) - 1
        if not last:
            if (
                field.message is None
                or field.descriptor.is_repeated
                or field.message.full_name in WKT_NAMES
            ):
                raise _bad(path, "not a message field")
            current = getattr(current, part)
            current.SetInParent()
            current_codec = field.message
            continue
        if field.is_map:
            raise _bad(path, "map fields cannot be given as text")
        if field.descriptor.is_repeated:
            if not allow_repeated:
                raise _bad(path, "a repeated field cannot be bound to a path variable")
            values = [decode_text(field, t, path) for t in texts]
            if field.message is not None:
                for v in values:
                    field.message.fill(getattr(current, part).add(), v, path)
            else:
                getattr(current, part).extend(values)
            return
        if len(texts) != 1:
            raise _bad(path, "given more than once", "DUPLICATE_FIELD")
        value = decode_text(field, texts[0], path)
        if field.message is not None:
            target = getattr(current, part)
            target.SetInParent()
            field.message.fill(target, value, path)
        else:
            setattr(current, part, value)


def field_by_path(codec: MessageCodec, dotted: str) -> FieldCodec:
    """The field at `a.b.c` (for startup checks of path templates)."""
    field: FieldCodec | None = None
    current: MessageCodec | None = codec
    for part in dotted.split("."):
        if current is None:
            raise KeyError(dotted)
        field = current.by_name[part]
        current = field.message
    if field is None:  # pragma: no cover
        raise KeyError(dotted)
    return field
