"""Path variables and query parameters: text values set into a request message.

A path variable binds one scalar field (`{fix_id}`, or `{a.b}` for a nested
one); a query parameter sets any non-body field by its dotted path, repeated
fields by repeating the parameter (`?status=draft&status=published`).
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from gateway.codec.messages import FieldCodec, MessageCodec
from gateway.codec.scalars import (
    FLOAT_TYPES,
    INT_RANGES,
    INT_TEXT,
    F,
    bad_value,
    decode_bytes,
    decode_float,
    decode_string,
    int_decoder,
)
from gateway.codec.wellknown import STRING_WKTS, WKT_NAMES


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
        raise bad_value(path, "this field cannot be given as text")
    if field.enum is not None:
        return field.enum.decode(text, path)
    if d.type == F.TYPE_STRING:
        return decode_string(text, path)
    if d.type == F.TYPE_BOOL:
        if text in ("true", "false"):
            return text == "true"
        raise bad_value(path, "expected 'true' or 'false'")
    if d.type in INT_RANGES:
        if not INT_TEXT.fullmatch(text):
            raise bad_value(path, f"expected an integer, got {text!r}")
        return int_decoder(d.type)(int(text), path)
    if d.type in FLOAT_TYPES:
        return decode_float(text, path)
    if d.type == F.TYPE_BYTES:
        return decode_bytes(text, path)
    raise bad_value(path, "unsupported field type")  # pragma: no cover


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
            raise bad_value(path, f"unknown field {part!r}", "UNKNOWN_FIELD")
        last = depth == len(parts) - 1
        if not last:
            if (
                field.message is None
                or field.descriptor.is_repeated
                or field.message.full_name in WKT_NAMES
            ):
                raise bad_value(path, "not a message field")
            current = getattr(current, part)
            current.SetInParent()
            current_codec = field.message
            continue
        if field.is_map:
            raise bad_value(path, "map fields cannot be given as text")
        if field.descriptor.is_repeated:
            if not allow_repeated:
                raise bad_value(path, "a repeated field cannot be bound to a path variable")
            values = [decode_text(field, t, path) for t in texts]
            if field.message is not None:
                for v in values:
                    field.message.fill(getattr(current, part).add(), v, path)
            else:
                getattr(current, part).extend(values)
            return
        if len(texts) != 1:
            raise bad_value(path, "given more than once", "DUPLICATE_FIELD")
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
