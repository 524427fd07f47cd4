"""The request body's one set of limits (`gateway.codec.document`): depth,
Unicode, JSON itself. Pure: no server.

The depth limit must sit below what protobuf accepts: every Struct or Value
field of every request, filled as deep as the limit allows, still
serialises and parses back with protobuf's own recursion limit (issue 9:
Structs nested 49 to 62 levels passed the gateway and failed in the
service, with protobuf's DecodeError text in the answer).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from hypothesis import given, settings
from hypothesis import strategies as st

from flowpilot.fixes.v1 import fixes_pb2
from flowpilot.runtime.errors import InvalidArgument
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2
from gateway.codec.document import (
    MAX_DEPTH,
    MESSAGE_LEVELS_PER_JSON_LEVEL,
    PROTOBUF_RECURSION_LIMIT,
    parse_body,
)
from gateway.codec.messages import CodecRegistry, is_map_field

JSON_VALUES = ("google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue")
REGISTRY = CodecRegistry()


def requests() -> list[Descriptor]:
    return [
        method.input_type
        for module in (fixes_pb2, scriptbuilder_pb2)
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    ]


def refusal(body: bytes) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as info:
        parse_body(body)
    return info.value


def nested_objects(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"k": value}
    return value


def nested_arrays(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def test_the_limit_is_below_what_protobuf_parses() -> None:
    assert MAX_DEPTH * MESSAGE_LEVELS_PER_JSON_LEVEL < PROTOBUF_RECURSION_LIMIT - 10


@pytest.mark.parametrize(("opening", "closing"), [(b'{"k":', b"}"), (b"[", b"]")])
def test_depth_is_counted_over_objects_and_arrays(opening: bytes, closing: bytes) -> None:
    def nested(levels: int) -> bytes:
        return opening * levels + b"1" + closing * levels

    assert parse_body(nested(MAX_DEPTH)) is not None
    # Past the limit, up to deeper than the parser's own recursion: all refused alike.
    for levels in (MAX_DEPTH + 1, 49, 62, 1000, 100_000):
        assert refusal(nested(levels)).reason == "NESTED_TOO_DEEPLY"


def json_paths(descriptor: Descriptor, depth: int = 1) -> Iterator[tuple[list[Any], int]]:
    """(body skeleton path, JSON depth of the value there) of every Struct or
    Value field a request can carry, through nested messages and lists."""
    for field in descriptor.fields:
        if field.type != FieldDescriptor.TYPE_MESSAGE or is_map_field(field):
            continue
        name = field.message_type.full_name
        repeated = field.is_repeated
        inner = depth + (2 if repeated else 1)  # an array, then the element
        if name in JSON_VALUES:
            yield [(field.name, repeated, name)], inner
        elif not name.startswith("google.protobuf."):
            for path, at in json_paths(field.message_type, inner):
                yield [(field.name, repeated, None), *path], at


def body_at(path: list[Any], shape: Any, levels: int) -> dict[str, Any]:
    """A body with a JSON value of `levels` levels of `shape` at `path`."""
    kind = path[-1][2]
    if kind == "google.protobuf.Struct":
        value = {"p": shape(levels - 1)}  # a Struct is an object
    elif kind == "google.protobuf.ListValue":
        value = [shape(levels - 1)]
    else:
        value = shape(levels)
    for name, repeated, *_ in reversed(path):
        value = {name: [value] if repeated else value}
    return value  # type: ignore[no-any-return]


CASES = [
    (request, path, at)
    for request in requests()
    for path, at in json_paths(request)
    if request.full_name.endswith("Request")
]


def test_the_requests_have_json_fields_to_check() -> None:
    names = {request.name for request, _, _ in CASES}
    assert {"CreateSuggestedFixRequest", "UpdateFixScriptRequest"} <= names
    assert {"RenderTemplateRequest", "CreateTemplateRequest"} <= names


@pytest.mark.parametrize(
    ("request_type", "path", "at"),
    CASES,
    ids=[f"{r.name}.{'.'.join(p[0] for p in path)}" for r, path, _ in CASES],
)
@pytest.mark.parametrize("shape", [nested_objects, nested_arrays])
def test_the_deepest_accepted_body_parses_in_the_service(
    request_type: Descriptor, path: list[Any], at: int, shape: Any
) -> None:
    """As deep as the limit lets a body go, at every JSON field of every request."""
    body = body_at(path, shape, MAX_DEPTH - at + 1)
    assert _depth(body) == MAX_DEPTH
    raw = json.dumps(body).encode()
    value = parse_body(raw)  # accepted at the edge
    codec = REGISTRY.message(request_type)
    message = codec.decode(value)
    wire = message.SerializeToString()
    assert type(message).FromString(wire) == message  # and parsed by the service
    # One level more is refused at the edge.
    deeper = json.dumps(body_at(path, shape, MAX_DEPTH - at + 2)).encode()
    assert refusal(deeper).reason == "NESTED_TOO_DEEPLY"


@pytest.mark.parametrize(
    "body",
    [
        b'{"\\ud800": "a"}',
        b'{"title": "\\udfff"}',
        b'{"a": {"b": ["x", "\\ud83d"]}}',
        b'["\\udc00\\ud800"]',
    ],
)
def test_lone_surrogates_are_refused_in_keys_and_values(body: bytes) -> None:
    error = refusal(body)
    assert error.reason == "INVALID_JSON"
    # The message names the problem without carrying it.
    error.message.encode("utf-8")


def test_a_surrogate_pair_is_text() -> None:
    assert parse_body(b'{"emoji": "\\ud83d\\ude00"}') == {"emoji": "\U0001f600"}


@pytest.mark.parametrize("body", [b"NaN", b'{"a": Infinity}', b"{", b"\xff\xfe", b"[1,]"])
def test_what_is_not_json_is_refused(body: bytes) -> None:
    assert refusal(body).reason == "INVALID_JSON"


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=40,
)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(JSON, st.integers(min_value=0, max_value=40))
def test_any_json_is_accepted_within_the_limits_or_refused_with_a_reason(
    value: Any, wrap: int
) -> None:
    for _ in range(wrap):
        value = {"w": value}
    body = {"title": "t", "ai_drafted_parameters": {"p": value}}
    try:
        parsed = parse_body(json.dumps(body).encode())
    except InvalidArgument as error:
        assert error.reason == "NESTED_TOO_DEEPLY"
        assert _depth(body) > MAX_DEPTH
        return
    assert _depth(body) <= MAX_DEPTH
    # Whatever is accepted fills the request, and protobuf parses it back.
    codec = REGISTRY.message(fixes_pb2.CreateSuggestedFixRequest.DESCRIPTOR)
    message = codec.decode(parsed)
    assert type(message).FromString(message.SerializeToString()) == message


ESCAPES = st.integers(min_value=0, max_value=0xFFFF).map(lambda unit: f"\\u{unit:04x}")
ESCAPED_TEXT = st.lists(ESCAPES | st.sampled_from(["a", "é", "\\n", '\\"']), max_size=4).map(
    lambda parts: '"' + "".join(parts) + '"'
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(ESCAPED_TEXT, ESCAPED_TEXT), min_size=1, max_size=4))
def test_any_escape_in_keys_and_values_is_text_or_refused(
    members: list[tuple[str, str]],
) -> None:
    """Every \\uXXXX escape, lone surrogates among them, in keys and values:
    what is accepted is Unicode text end to end (it encodes as UTF-8, as
    protobuf and gRPC metadata need); the rest is INVALID_JSON."""
    raw = ("{" + ",".join(f"{k}:[{v}]" for k, v in members) + "}").encode()
    try:
        value = parse_body(raw)
    except InvalidArgument as error:
        assert error.reason == "INVALID_JSON"
        return
    for key, items in value.items():
        key.encode("utf-8")
        for item in items:
            item.encode("utf-8")
