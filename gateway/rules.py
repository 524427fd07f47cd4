"""HTTP rules read from the descriptors alone: update masks, entity tags and
event-stream fields (docs/gateway.md, "Update masks", "ETag and If-Match",
"Server-sent events").

No route is named here. A rule applies to every binding whose messages have
the field it needs, so a new RPC gets it by having the field:

- a PATCH whose request has exactly one top-level `google.protobuf.FieldMask`
  field gets that mask filled from the body's top-level keys when the client
  sent none (grpc-gateway's rule, also for `body: "*"`);
- a request with a top-level string `etag` takes the `If-Match` header;
  a response with one sets the `ETag` header;
- a streamed message's `event_id` is the SSE `id:`, its `kind` enum (else the
  member set in its one `oneof`) the `event:`; a request's `last_event_id`
  takes the `Last-Event-ID` header.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from flowpilot.runtime.errors import InvalidArgument
from flowpilot.runtime.etags import INVALID_ETAG
from gateway.codec.wellknown import FIELD_MASK

ETAG_FIELD = "etag"
EVENT_ID_FIELD = "event_id"
KIND_FIELD = "kind"
LAST_EVENT_ID_FIELD = "last_event_id"

F = FieldDescriptor


def _single_string(descriptor: Descriptor, name: str) -> str | None:
    field = descriptor.fields_by_name.get(name)
    if field is None or field.type != F.TYPE_STRING or field.is_repeated:
        return None
    return name


_ID_TYPES = frozenset(
    {
        F.TYPE_INT32,
        F.TYPE_INT64,
        F.TYPE_UINT32,
        F.TYPE_UINT64,
        F.TYPE_SINT32,
        F.TYPE_SINT64,
        F.TYPE_FIXED32,
        F.TYPE_FIXED64,
        F.TYPE_SFIXED32,
        F.TYPE_SFIXED64,
        F.TYPE_STRING,
    }
)


def _id_field(descriptor: Descriptor, name: str) -> FieldDescriptor | None:
    """`name` when it is a single integer or string field (an event id)."""
    field = descriptor.fields_by_name.get(name)
    if field is None or field.is_repeated or field.type not in _ID_TYPES:
        return None
    return field


def update_mask_field(descriptor: Descriptor) -> str | None:
    """The request's one top-level FieldMask field (None with none or several)."""
    masks = [
        f.name
        for f in descriptor.fields
        if f.type == F.TYPE_MESSAGE and not f.is_repeated and f.message_type.full_name == FIELD_MASK
    ]
    return masks[0] if len(masks) == 1 else None


def etag_field(descriptor: Descriptor) -> str | None:
    """`etag` when the message has it as a plain string field."""
    return _single_string(descriptor, ETAG_FIELD)


def last_event_id_field(descriptor: Descriptor) -> FieldDescriptor | None:
    """The request field `Last-Event-ID` fills: `last_event_id`, an integer or a string."""
    return _id_field(descriptor, LAST_EVENT_ID_FIELD)


def event_id_field(descriptor: Descriptor) -> FieldDescriptor | None:
    return _id_field(descriptor, EVENT_ID_FIELD)


def kind_field(descriptor: Descriptor) -> str | None:
    field = descriptor.fields_by_name.get(KIND_FIELD)
    if field is None or field.type != F.TYPE_ENUM or field.is_repeated:
        return None
    return KIND_FIELD


def event_oneof(descriptor: Descriptor) -> str | None:
    """The message's one real `oneof` (proto3 `optional` makes synthetic ones,
    which do not count); None with none or several."""
    real = [o.name for o in descriptor.oneofs if not _synthetic(o.name, o.fields)]
    return real[0] if len(real) == 1 else None


def _synthetic(name: str, fields: list[FieldDescriptor]) -> bool:
    # protoc names the oneof of `optional T x` `_x` (or `X_x` on a clash).
    return len(fields) == 1 and name.endswith(f"_{fields[0].name}")


# Update masks (AIP-134): which paths a PATCH body implies
# (`paths_from_body`) lives beside the services' rule, in
# `flowpilot.runtime.update_mask`; here only which field is the mask.

# Entity tags (AIP-154): the header and the field are parsed and compared by
# `flowpilot.runtime.etags`, shared with the services.


def conflicting_etag() -> InvalidArgument:
    return InvalidArgument(
        "If-Match and the body's etag differ; send one of them",
        field=ETAG_FIELD,
        reason=INVALID_ETAG,
    )


def unsupported_if_match() -> InvalidArgument:
    return InvalidArgument(
        "this operation takes no precondition: its request has no etag",
        field="If-Match",
        reason="PRECONDITION_NOT_SUPPORTED",
    )


@dataclass(frozen=True, slots=True)
class EventFields:
    """Where a streamed message keeps its SSE `id:` and `event:`."""

    event_id: FieldDescriptor | None
    kind: str | None
    oneof: str | None

    @classmethod
    def of(cls, descriptor: Descriptor) -> EventFields:
        kind = kind_field(descriptor)
        return cls(
            event_id=event_id_field(descriptor),
            kind=kind,
            oneof=None if kind else event_oneof(descriptor),
        )
