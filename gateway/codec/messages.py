"""JSON ⇄ protobuf messages over descriptors, with the REST shapes of CONTRACT §3.

`google.protobuf.json_format` is close but not what the UI gets: it drops unset
fields, spells enums `FIX_STATUS_APPLIED_PARTIAL` and uses camelCase. The rules
here instead:

* field names are the proto names (snake_case), on input and output;
* an enum value is its wire name (`applied_partial`, see `scalars`); the zero
  value is `null`, and `null` or an absent field on input means zero;
* every field of a response is present: unset messages (Timestamp, Struct, any
  message) and unset proto3 `optional` scalars are `null`, repeated fields `[]`;
* well-known types have their JSON forms (see `wellknown`);
* 64-bit integers are JSON numbers on output (IDs here are UUID strings, counters
  stay far below 2^53) and are accepted as numbers or decimal strings on input;
* on input, unknown fields, wrong JSON types, out-of-range numbers, unknown
  enum names and invalid UTF-8 are refused with INVALID_ARGUMENT naming the
  field (`fix_outcomes[0].choice`).

Every table is built once per message type at startup (`CodecRegistry`);
encoding and decoding are plain loops over precomputed closures (no
reflection per request).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from gateway.codec.scalars import (
    FLOAT_TYPES,
    INT_RANGES,
    Decoder,
    Encoder,
    EnumCodec,
    F,
    bad_value,
    decode_bool,
    decode_bytes,
    decode_float,
    decode_string,
    encode_bytes,
    encode_float,
    identity,
    int_decoder,
    json_type_name,
)
from gateway.codec.wellknown import VALUE, WKT_NAMES, install_well_known


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
            raise bad_value(path, f"expected an object, got {json_type_name(value)}")
        self.fill_fields(message, value.items(), path)

    def fill_fields(self, message: Message, items: Iterable[tuple[str, Any]], path: str) -> None:
        by_name = self.by_name
        for key, value in items:
            field = by_name.get(key)
            sub_path = f"{path}.{key}" if path else key
            if field is None:
                raise bad_value(
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
                    raise bad_value(path, f"expected an object, got {json_type_name(value)}")
                container = getattr(message, name)
                for raw_key, item in value.items():
                    key = key_decoder(raw_key, f"{path}.{raw_key}")
                    item_path = f"{path}.{raw_key}"
                    if value_field.message is not None:
                        if item is None and value_field.message.full_name != VALUE:
                            raise bad_value(item_path, "null is not allowed in a map")
                        value_field.message.fill(container[key], item, item_path)
                    else:
                        if item is None:
                            raise bad_value(item_path, "null is not allowed in a map")
                        container[key] = value_field.scalar_decoder(item, item_path)  # type: ignore[misc]

            return assign_map
        if d.is_repeated:
            sub = self.message
            scalar = self.scalar_decoder

            def assign_list(message: Message, value: Any, path: str) -> None:
                if value is None:
                    return
                if not isinstance(value, list):
                    raise bad_value(path, f"expected an array, got {json_type_name(value)}")
                container = getattr(message, name)
                for index, item in enumerate(value):
                    item_path = f"{path}[{index}]"
                    if sub is not None:
                        if item is None and sub.full_name != VALUE:
                            raise bad_value(item_path, "null is not allowed in an array")
                        sub.fill(container.add(), item, item_path)
                    else:
                        if item is None:
                            raise bad_value(item_path, "null is not allowed in an array")
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
        if item_encode is identity:
            return operator.attrgetter(name)  # C: a third of a lambda's cost

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
            return encode_float
        if d.type == F.TYPE_BYTES:
            return encode_bytes
        return identity


def is_map_field(d: FieldDescriptor) -> bool:
    return d.is_repeated and d.type == F.TYPE_MESSAGE and d.message_type.GetOptions().map_entry


def _scalar_decoder(field: FieldCodec) -> Decoder:
    d = field.descriptor
    if field.enum is not None:
        return field.enum.decode
    if d.type == F.TYPE_STRING:
        return decode_string
    if d.type == F.TYPE_BOOL:
        return decode_bool
    if d.type in INT_RANGES:
        return int_decoder(d.type)
    if d.type in FLOAT_TYPES:
        return decode_float
    if d.type == F.TYPE_BYTES:
        return decode_bytes
    raise RuntimeError(f"unsupported field type {d.type} of {d.full_name}")  # pragma: no cover


def _key_decoder(d: FieldDescriptor) -> Decoder:
    """Map keys are JSON object keys (strings): parse them per key type."""
    if d.type == F.TYPE_STRING:
        return decode_string
    if d.type == F.TYPE_BOOL:

        def decode_bool_key(value: Any, path: str) -> bool:
            if value in ("true", "false"):
                return value == "true"
            raise bad_value(path, "map key must be 'true' or 'false'")

        return decode_bool_key
    return int_decoder(d.type)


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

    def field(self, descriptor: FieldDescriptor) -> FieldCodec:
        """A codec for one field (the value field of a wrapper type)."""
        return FieldCodec(self, descriptor)

    def messages(self) -> list[MessageCodec]:
        return list(self._messages.values())

    def message(self, descriptor: Descriptor) -> MessageCodec:
        codec = self._messages.get(descriptor.full_name)
        if codec is not None:
            return codec
        codec = self._messages[descriptor.full_name] = MessageCodec(descriptor)
        if codec.full_name in WKT_NAMES:
            install_well_known(codec, self)
            return codec
        for field_descriptor in descriptor.fields:
            field = FieldCodec(self, field_descriptor)
            codec.by_name[field.name] = field
            codec._encode_fields.append((field.name, field.encoder()))
        return codec
