"""The gateway's descriptor-driven rules as pure code: If-Match parsing,
If-None-Match, update masks from a body, the FieldMask's REST form, which
fields name an event, and the SSE framing."""

from __future__ import annotations

import pytest
from google.protobuf import field_mask_pb2

from flowpilot.runtime.errors import InvalidArgument
from flowpilot.runtime.etags import INVALID_ETAG, if_none_match, parse_if_match
from flowpilot.runtime.update_mask import paths_from_body
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2 as sb
from gateway.codec.messages import CodecRegistry
from gateway.codec.wellknown import FIELD_MASK_PATTERN
from gateway.rules import EventFields, update_mask_field
from gateway.sse import event_frame


@pytest.mark.parametrize(
    ("lines", "tag"),
    [
        (['"7"'], '"7"'),
        (["*"], "*"),
        (['W/"7"'], 'W/"7"'),
        ([' "7" '], '"7"'),
        (['""'], '""'),
        (['"a-b_c.9"'], '"a-b_c.9"'),
        (['"a,b"'], '"a,b"'),  # a comma inside the quotes is the tag's
        (['"7", ,'], '"7"'),  # empty list elements are allowed
        ([], None),
    ],
)
def test_if_match_gives_one_entity_tag(lines: list[str], tag: str | None) -> None:
    assert parse_if_match(lines) == tag


@pytest.mark.parametrize(
    "lines",
    [
        ["7"],  # not quoted
        ['"7'],
        ['w/"7"'],  # W/ is case-sensitive
        ['"a"b"'],
        ['"7", "8"'],  # a request carries one etag
        ['"7"', '"8"'],  # two header lines are a list too
        ["*, *"],
        [""],
        [" , "],
        ['"7" "8"'],
    ],
)
def test_if_match_refuses_what_is_not_one_entity_tag(lines: list[str]) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_if_match(lines)
    assert info.value.reason == INVALID_ETAG
    assert info.value.metadata["field"] == "If-Match"


@pytest.mark.parametrize(
    ("lines", "matches"),
    [
        (['"7"'], True),
        (['W/"7"'], True),  # weak comparison
        (['"6", "7"'], True),
        (["*"], True),
        (['"6"'], False),
        (['"6,7"'], False),  # one tag, not two
        (["7"], False),  # malformed: matches nothing
        ([], False),
    ],
)
def test_if_none_match_uses_weak_comparison(lines: list[str], matches: bool) -> None:
    assert if_none_match(lines, '"7"') is matches


def test_the_mask_is_the_bodys_top_level_keys_in_order_without_itself() -> None:
    keys = ["mode", "editor_buffer", "update_mask", "mode"]
    assert paths_from_body(keys, "update_mask") == ["mode", "editor_buffer"]
    assert paths_from_body([], "update_mask") == []


def test_the_mask_field_is_the_one_fieldmask_of_the_request() -> None:
    assert update_mask_field(sb.UpdateDraftRequest.DESCRIPTOR) == "update_mask"
    assert update_mask_field(sb.SendMessageRequest.DESCRIPTOR) is None


@pytest.mark.parametrize(
    ("text", "paths"),
    [
        ("editor_buffer,mode", ["editor_buffer", "mode"]),
        ("size.width", ["size.width"]),
        ("*", ["*"]),
        ("", []),
    ],
)
def test_a_field_mask_is_snake_case_paths(text: str, paths: list[str]) -> None:
    import re

    codec = CodecRegistry().message(field_mask_pb2.FieldMask.DESCRIPTOR)
    mask = codec.decode(text)
    assert list(mask.paths) == paths  # type: ignore[attr-defined]
    assert codec.encode(mask) == text
    assert re.search(FIELD_MASK_PATTERN, text)


@pytest.mark.parametrize(
    "text", ["editorBuffer", "mode,", ",mode", "mode, editor_buffer", "a..b", "Mode", "1a", " "]
)
def test_a_field_mask_refuses_other_spellings(text: str) -> None:
    import re

    codec = CodecRegistry().message(field_mask_pb2.FieldMask.DESCRIPTOR)
    with pytest.raises(InvalidArgument):
        codec.decode(text, "update_mask")
    assert not re.search(FIELD_MASK_PATTERN, text)


def test_events_are_named_by_kind_else_by_their_oneof() -> None:
    send_event = EventFields.of(sb.SendMessageEvent.DESCRIPTOR)
    assert send_event.kind is None and send_event.event_id is None
    assert send_event.oneof == "event"
    # Only proto3 `optional` fields (synthetic oneofs): no event name.
    assert EventFields.of(sb.Message.DESCRIPTOR).oneof is None


def test_event_frames() -> None:
    assert event_frame(b'{"a":1}') == b'data: {"a":1}\n\n'
    assert (
        event_frame(b"{}", event_id="42", event="fix_updated")
        == b"id: 42\nevent: fix_updated\ndata: {}\n\n"
    )
