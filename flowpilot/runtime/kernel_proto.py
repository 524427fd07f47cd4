"""The shared kernel's values as their proto twins (`flowpilot.api.v1`):
typed parameters and script provenance, converted once for both services and
the clients between them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from google.protobuf import json_format, timestamp_pb2

from flowpilot.api.v1 import types_pb2
from flowpilot.kernel.provenance import EditSize, Provenance, ScriptOrigin
from flowpilot.kernel.scripts import Parameter, ParameterType
from flowpilot.runtime.proto_enums import ProtoEnum

ORIGIN = ProtoEnum(ScriptOrigin, types_pb2.ScriptOrigin)
PARAMETER_TYPE = ProtoEnum(ParameterType, types_pb2.ParameterType)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    """`moment` as a Timestamp, exactly (microseconds), naive read as UTC.
    Whole-number arithmetic: a third of the cost of protobuf's own
    `FromDatetime`, which every fix and session answer paid several times."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return timestamp_pb2.Timestamp(
        seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1000
    )


def parameter_out(p: Parameter) -> types_pb2.ScriptParameter:
    message = types_pb2.ScriptParameter(
        name=p.name,
        type=PARAMETER_TYPE.to_proto(p.type),
        required=p.required,
        choices=list(p.choices),
        description=p.description,
    )
    if p.default is not None:
        json_format.ParseDict(p.default, message.default)
    return message


def parameters_in(repeated: Iterable[types_pb2.ScriptParameter], field: str) -> list[Parameter]:
    """The typed parameters a request carries in `field`; a missing or
    unknown type is INVALID_ARGUMENT naming `field[i].type`."""
    return [
        Parameter(
            name=p.name,
            type=PARAMETER_TYPE.required(p.type, f"{field}[{index}].type"),
            required=p.required,
            default=json_format.MessageToDict(p.default) if p.HasField("default") else None,
            choices=tuple(p.choices),
            description=p.description,
        )
        for index, p in enumerate(repeated)
    ]


def provenance_out(p: Provenance) -> types_pb2.ScriptProvenance:
    message = types_pb2.ScriptProvenance(origin=ORIGIN.to_proto(p.origin))
    if p.edit is not None:
        message.edit.CopyFrom(
            types_pb2.EditSize(
                ai_chars=p.edit.ai_chars,
                final_chars=p.edit.final_chars,
                changed_chars=p.edit.changed_chars,
                changed_lines=p.edit.changed_lines,
                similarity=p.edit.similarity,
            )
        )
    if p.template_id is not None:
        message.template_id = str(p.template_id)
    if p.template_version is not None:
        message.template_version = p.template_version
    if p.recipe_id is not None:
        message.recipe_id = p.recipe_id
    if p.script_builder_session_id is not None:
        message.script_builder_session_id = str(p.script_builder_session_id)
    if p.ai_message_id is not None:
        message.ai_message_id = str(p.ai_message_id)
    return message


def provenance_in(m: types_pb2.ScriptProvenance) -> Provenance | None:
    """A provenance another service answered (None without an origin)."""
    origin = ORIGIN.get(m.origin)
    if origin is None:
        return None
    edit = None
    if m.HasField("edit"):
        edit = EditSize(
            ai_chars=m.edit.ai_chars,
            final_chars=m.edit.final_chars,
            changed_chars=m.edit.changed_chars,
            changed_lines=m.edit.changed_lines,
            similarity=m.edit.similarity,
        )
    return Provenance(
        origin=origin,
        edit=edit,
        template_id=uuid.UUID(m.template_id) if m.HasField("template_id") else None,
        template_version=m.template_version if m.HasField("template_version") else None,
        recipe_id=m.recipe_id if m.HasField("recipe_id") else None,
        script_builder_session_id=(
            uuid.UUID(m.script_builder_session_id)
            if m.HasField("script_builder_session_id")
            else None
        ),
        ai_message_id=uuid.UUID(m.ai_message_id) if m.HasField("ai_message_id") else None,
    )
