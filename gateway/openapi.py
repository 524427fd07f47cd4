"""The OpenAPI 3.1 document, generated from the same route table and codecs.

The schemas say exactly what the codec does: responses list every field as
required (unset messages, `optional` scalars and zero enums are `null`), enums
are their wire strings, inputs refuse unknown properties. Request schemas are
`<Message>Input` components; a body bound with `*` is the request message minus
the fields the path binds.
"""

from __future__ import annotations

from typing import Any

from google.api import field_behavior_pb2
from google.protobuf.descriptor import FieldDescriptor

from gateway.codec.messages import CodecRegistry, FieldCodec, MessageCodec
from gateway.codec.scalars import INT_RANGES
from gateway.codec.wellknown import (
    DURATION,
    EMPTY,
    FIELD_MASK,
    FIELD_MASK_PATTERN,
    LIST_VALUE,
    STRUCT,
    TIMESTAMP,
    VALUE,
    WRAPPERS,
)
from gateway.errors import GRPC_NAME_BY_HTTP
from gateway.routes import RpcRoute

F = FieldDescriptor
ERROR_STATUSES: dict[int, str] = {
    400: "Malformed request: bad JSON, wrong types, unknown fields or enum values, bad IDs",
    401: "Missing, expired or invalid bearer token",
    403: "The caller's role may not do this (a viewer writing)",
    404: "Absent, or not the caller's",
    409: "A lifecycle conflict, a cap reached or a concurrent update",
    429: "A rate or size limit of a service",
    500: "An internal error",
    503: "A backend service is unavailable",
    504: "A backend service did not answer in time",
}
PRECONDITION_FAILED = (
    "The resource changed since the `If-Match` entity tag (reason ETAG_MISMATCH): "
    "read it again, then retry"
)
_INT_FORMATS = {
    F.TYPE_INT32: "int32",
    F.TYPE_SINT32: "int32",
    F.TYPE_SFIXED32: "int32",
    F.TYPE_UINT32: "int64",
    F.TYPE_FIXED32: "int64",
    F.TYPE_INT64: "int64",
    F.TYPE_SINT64: "int64",
    F.TYPE_SFIXED64: "int64",
}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    kind = schema.get("type")
    if isinstance(kind, str):
        schema = {**schema, "type": [kind, "null"]}
    if "enum" in schema and None not in schema["enum"]:
        schema = {**schema, "enum": [*schema["enum"], None]}
    return schema


def _is_required_input(d: FieldDescriptor) -> bool:
    behaviors = d.GetOptions().Extensions[field_behavior_pb2.field_behavior]
    return field_behavior_pb2.REQUIRED in behaviors


class SchemaBuilder:
    """Builds component schemas on demand, output and input variants."""

    def __init__(self, codecs: list[MessageCodec]) -> None:
        self.components: dict[str, Any] = {}
        counts: dict[str, int] = {}
        for codec in codecs:
            counts[codec.descriptor.name] = counts.get(codec.descriptor.name, 0) + 1
        self._counts = counts

    def _name(self, codec: MessageCodec, *, output: bool) -> str:
        base = codec.descriptor.name
        if self._counts.get(base, 0) > 1:
            base = codec.full_name.replace(".", "_")
        return base if output else f"{base}Input"

    # ----------------------------------------------------------------- fields

    def message_ref(self, codec: MessageCodec, *, output: bool) -> dict[str, Any]:
        """A schema for a message value (WKTs inline, others as a $ref)."""
        wkt = self._wkt_schema(codec)
        if wkt is not None:
            return wkt
        name = self._name(codec, output=output)
        if name not in self.components:
            self.components[name] = {}  # placeholder: breaks recursion
            self.components[name] = self.object_schema(codec, output=output)
        return {"$ref": f"#/components/schemas/{name}"}

    def object_schema(
        self, codec: MessageCodec, *, output: bool, exclude: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        for name, field in codec.by_name.items():
            if name in exclude:
                continue
            properties[name] = self.field_schema(field, output=output)
            if output or _is_required_input(field.descriptor):
                required.append(name)
        schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }
        if required:
            schema["required"] = required
        return schema

    def field_schema(self, field: FieldCodec, *, output: bool) -> dict[str, Any]:
        d = field.descriptor
        if field.map_value is not None:
            return {
                "type": "object",
                "additionalProperties": self.value_schema(field.map_value, output=output),
            }
        item = self.value_schema(field, output=output)
        if d.is_repeated:
            schema: dict[str, Any] = {"type": "array", "items": item}
            return schema if output else _nullable(schema)
        required_input = not output and _is_required_input(d)
        if field.enum is not None:
            # Zero is null; an input the API requires cannot be null.
            return item if required_input else _nullable(item)
        if field.message is not None:
            if field.message.full_name == VALUE:
                return item
            return item if required_input else _nullable(item)
        if d.containing_oneof is not None:
            return _nullable(item)
        return item

    def value_schema(self, field: FieldCodec, *, output: bool) -> dict[str, Any]:
        """Schema of one value of the field (one item of a repeated field)."""
        d = field.descriptor
        if field.enum is not None:
            return {"type": "string", "enum": field.enum.names}
        if field.message is not None:
            return self.message_ref(field.message, output=output)
        return _scalar_schema(d)

    def _wkt_schema(self, codec: MessageCodec) -> dict[str, Any] | None:
        name = codec.full_name
        if name == TIMESTAMP:
            return {"type": "string", "format": "date-time"}
        if name == DURATION:
            return {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$"}
        if name == FIELD_MASK:
            return {"type": "string", "pattern": FIELD_MASK_PATTERN}
        if name == STRUCT:
            return {"type": "object", "additionalProperties": True}
        if name == VALUE:
            return {"description": "Any JSON value"}
        if name == LIST_VALUE:
            return {"type": "array"}
        if name == EMPTY:
            return {"type": "object", "additionalProperties": False}
        if name in WRAPPERS:
            return _scalar_schema(codec.descriptor.fields_by_name["value"])
        return None


def _scalar_schema(d: FieldDescriptor) -> dict[str, Any]:
    if d.type == F.TYPE_STRING:
        return {"type": "string"}
    if d.type == F.TYPE_BYTES:
        return {"type": "string", "format": "byte"}
    if d.type == F.TYPE_BOOL:
        return {"type": "boolean"}
    if d.type in INT_RANGES:
        low, high = INT_RANGES[d.type]
        schema: dict[str, Any] = {"type": "integer", "minimum": low, "maximum": high}
        if d.type in _INT_FORMATS:
            schema["format"] = _INT_FORMATS[d.type]
        return schema
    if d.type == F.TYPE_FLOAT:
        return {"type": "number", "format": "float"}
    return {"type": "number", "format": "double"}


def _query_parameters(builder: SchemaBuilder, route: RpcRoute) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []

    def walk(codec: MessageCodec, prefix: str, names: frozenset[str] | None, depth: int) -> None:
        for name, field in codec.by_name.items():
            if names is not None and name not in names:
                continue
            dotted = f"{prefix}{name}"
            if field.map_value is not None:
                continue
            if field.message is not None and builder._wkt_schema(field.message) is None:
                if not field.descriptor.is_repeated and depth < 3:
                    walk(field.message, f"{dotted}.", None, depth + 1)
                continue
            if field.message is not None and field.message.full_name in (STRUCT, VALUE, LIST_VALUE):
                continue
            schema = builder.value_schema(field, output=False)
            param: dict[str, Any] = {"name": dotted, "in": "query", "required": False}
            if field.descriptor.is_repeated:
                param["schema"] = {"type": "array", "items": schema}
                param["explode"] = True
                param["style"] = "form"
            else:
                param["schema"] = schema
            params.append(param)

    walk(route.request_codec, "", route.query_fields, 0)
    return params


def _header_parameters(route: RpcRoute) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    if route.etag_in:
        params.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "description": (
                    "Only if the resource is still at this entity tag (its `etag`, e.g. "
                    '`"7"`), or `*`; else 412. Fills the request\'s `etag`.'
                ),
                "schema": {"type": "string"},
            }
        )
    if route.etag_out and route.http_method == "GET":
        params.append(
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "description": "304 without a body when the resource is still at this tag",
                "schema": {"type": "string"},
            }
        )
    if route.last_event_id is not None:
        params.append(
            {
                "name": "Last-Event-ID",
                "in": "header",
                "required": False,
                "description": (
                    "The `id:` of the last event received: the stream resumes after it "
                    "(an EventSource sends it when it reconnects; it wins over the query)."
                ),
                "schema": _header_value_schema(route.last_event_id),
            }
        )
    return params


def _header_value_schema(field: FieldDescriptor) -> dict[str, Any]:
    """A header carrying a scalar field's value: its text form."""
    if field.type == F.TYPE_STRING:
        return {"type": "string"}
    # Empty is the same as no header (EventSource sends none before an id).
    return {"type": "string", "pattern": "^(-?[0-9]+)?$"}


def _operation(builder: SchemaBuilder, route: RpcRoute) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = []
    for _, field_path in route.path.variables:
        codec = route.request_codec
        field: FieldCodec | None = None
        for part in field_path.split("."):
            field = codec.by_name[part]
            if field.message is not None:
                codec = field.message
        assert field is not None
        schema = builder.value_schema(field, output=False)
        if schema.get("type") == "string" and "enum" not in schema:
            schema = {**schema, "minLength": 1}
        parameters.append({"name": field_path, "in": "path", "required": True, "schema": schema})
    parameters.extend(_query_parameters(builder, route))
    parameters.extend(_header_parameters(route))
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "description": f"gRPC `{route.retry_name}`.",
        "tags": [route.service.rsplit(".", 1)[-1]],
        "parameters": parameters,
    }
    if route.body:
        if route.body == "*":
            body_schema = builder.object_schema(
                route.request_codec, output=False, exclude=route.path_fields
            )
            required_body = bool(body_schema.get("required"))
        else:
            assert route.body_field is not None
            body_schema = builder.field_schema(route.body_field, output=False)
            required_body = _is_required_input(route.body_field.descriptor)
        operation["requestBody"] = {
            "required": required_body,
            "content": {"application/json": {"schema": body_schema}},
        }
    responses: dict[str, Any] = {}
    success = str(route.success_code)
    if route.streaming:
        event_schema = builder.message_ref(route.response_codec, output=True)
        responses[success] = {
            "description": (
                "Server-sent events, one per streamed message: `data:` is the message as "
                f"JSON (`{route.response_codec.descriptor.name}`), `id:` its `event_id`, "
                "`event:` its `kind` (or the member of its oneof that is set); `: ping` "
                "comments keep it alive; after a failure, `event: error` carries the error "
                "body and the stream ends. Errors before the first event are ordinary "
                "JSON errors."
            ),
            "content": {
                "text/event-stream": {
                    "schema": {"type": "string"},
                    "x-flowpilot-event-data": event_schema,
                }
            },
        }
        operation["x-flowpilot-streaming"] = "server-sent-events"
    elif route.response_codec.full_name == EMPTY and route.success_code == 204:
        responses[success] = {"description": "Done; no content"}
    else:
        if route.response_body:
            result_schema = builder.field_schema(
                route.response_codec.by_name[route.response_body], output=True
            )
        else:
            result_schema = builder.message_ref(route.response_codec, output=True)
        content = {"application/json": {"schema": result_schema}}
        responses[success] = {"description": "Success", "content": content}
        if route.may_create:
            responses["200"] = {
                "description": "The resource already existed and is returned as it is",
                "content": content,
            }
        if route.etag_out:
            etag_header = {
                "ETag": {
                    "description": "The resource's `etag`: send it back in `If-Match`",
                    "schema": {"type": "string"},
                }
            }
            for code in {success, "200"} & set(responses):
                responses[code]["headers"] = etag_header
            if route.http_method == "GET":
                responses["304"] = {
                    "description": "Unchanged since the `If-None-Match` entity tag",
                    "headers": etag_header,
                }
    statuses = dict(ERROR_STATUSES)
    if route.body:
        statuses[413] = "The request body is larger than the gateway accepts"
    if route.etag_in:
        statuses[412] = PRECONDITION_FAILED
    for status in sorted(statuses):
        responses[str(status)] = {"$ref": f"#/components/responses/Error{status}"}
    operation["responses"] = responses
    return operation


def _error_components() -> tuple[dict[str, Any], dict[str, Any]]:
    schemas = {
        "ErrorDetail": {
            "type": "object",
            "required": ["@type"],
            "properties": {"@type": {"type": "string"}},
            "additionalProperties": True,
        },
        "Error": {
            "type": "object",
            "required": ["error"],
            "additionalProperties": False,
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "status", "message", "details"],
                    "additionalProperties": False,
                    "properties": {
                        "code": {"type": "integer"},
                        "status": {"type": "string"},
                        "message": {"type": "string"},
                        "details": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/ErrorDetail"},
                        },
                    },
                }
            },
        },
    }
    descriptions = {
        **ERROR_STATUSES,
        412: PRECONDITION_FAILED,
        413: "The request body is too large",
    }
    responses = {
        f"Error{status}": {
            "description": f"{description} ({GRPC_NAME_BY_HTTP.get(status, 'INTERNAL')})",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status, description in sorted(descriptions.items())
    }
    return schemas, responses


def _health_paths() -> dict[str, Any]:
    plain = {"type": "object", "additionalProperties": True}
    return {
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "The gateway process is up",
                "tags": ["health"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "Up",
                        "content": {"application/json": {"schema": plain}},
                    }
                },
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "summary": "Both services answer SERVING over grpc.health.v1",
                "tags": ["health"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "Ready",
                        "content": {"application/json": {"schema": plain}},
                    },
                    "503": {
                        "description": "A service is not serving",
                        "content": {"application/json": {"schema": plain}},
                    },
                },
            }
        },
    }


def build_openapi(
    routes: list[RpcRoute], registry: CodecRegistry, *, title: str, version: str
) -> dict[str, Any]:
    builder = SchemaBuilder(list(registry.messages()))
    paths: dict[str, Any] = {}
    for route in routes:
        paths.setdefault(route.path.openapi_path, {})[route.http_method.lower()] = _operation(
            builder, route
        )
    paths.update(_health_paths())
    error_schemas, error_responses = _error_components()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": (
                "REST surface of the FlowPilot fix services, transcoded to their gRPC APIs. "
                "Field names are the proto names; enums are lower-case names without their "
                "type prefix, `null` for unspecified; every response field is present."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": {**dict(sorted(builder.components.items())), **error_schemas},
            "responses": error_responses,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
        "security": [{"bearerAuth": []}],
    }
