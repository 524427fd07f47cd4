"""The route table, read from the `google.api.http` annotations of the services.

Each annotated RPC (and each of its `additional_bindings`) becomes one binding:
an HTTP method, a path template compiled to a regular expression as
`google/api/http.proto` defines it (`{var}`, `{var=pattern}`, `*`, `**`, a
trailing `:verb`), the body mapping (`*`, a field name, or none: then every
field not bound by the path comes from the query string) and the success status
(`flowpilot.api.v1.http_success_code`, default 200). Everything is computed once
at startup and checked against the request message, so a bad annotation fails
the gateway's start rather than a request. The descriptor-driven rules of
`gateway.rules` (update mask, entity tags, event fields) are looked up here
too, once per binding.

Server-streaming RPCs are served as server-sent events; client-streaming and
bidirectional RPCs cannot be transcoded and refuse the start.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from google.api import annotations_pb2 as google_annotations
from google.api import http_pb2
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor, ServiceDescriptor

from flowpilot.api.v1 import annotations_pb2 as flowpilot_annotations
from gateway.codec.messages import CodecRegistry, FieldCodec, MessageCodec
from gateway.codec.query import field_by_path
from gateway.codec.wellknown import WKT_NAMES
from gateway.rules import (
    EventFields,
    etag_field,
    last_event_id_field,
    update_mask_field,
)

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
# RFC 9110 §9.2.2: the methods whose repetition has the same effect as one
# call. Only these are retried on UNAVAILABLE.
IDEMPOTENT_HTTP_METHODS = frozenset({"GET", "PUT", "DELETE"})

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_FIELD_PATH = re.compile(rf"{_IDENT}(?:\.{_IDENT})*")


class TemplateError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class PathTemplate:
    """A compiled `google.api.http` path template."""

    template: str
    regex: re.Pattern[str]
    # (regex group name, request field path) per variable, in order.
    variables: tuple[tuple[str, str], ...]
    # The template with each variable as `{field.path}` (OpenAPI form).
    openapi_path: str
    # The trailing `:verb` (custom method), if any.
    verb: str = ""


def compile_template(template: str) -> PathTemplate:
    """Parses `/v1/{name=shelves/*}/books/{book_id}:publish` and the like."""
    if not template.startswith("/"):
        raise TemplateError(f"template must start with '/': {template!r}")
    body, verb = template[1:], ""
    # The verb is a ':' after the last segment, outside any variable.
    depth = 0
    for index in range(len(body) - 1, -1, -1):
        char = body[index]
        if char == "}":
            depth += 1
        elif char == "{":
            depth -= 1
        elif char == "/" and depth == 0:
            break
        elif char == ":" and depth == 0:
            body, verb = body[:index], body[index + 1 :]
            break
    variables: list[tuple[str, str]] = []
    regex_parts: list[str] = []
    openapi_parts: list[str] = []
    for segment in _split_top_level(body):
        if segment.startswith("{"):
            if not segment.endswith("}"):
                raise TemplateError(f"unclosed variable in {template!r}")
            inner = segment[1:-1]
            field_path, _, pattern = inner.partition("=")
            if not _FIELD_PATH.fullmatch(field_path):
                raise TemplateError(f"bad field path {field_path!r} in {template!r}")
            group = f"v{len(variables)}"
            variables.append((group, field_path))
            sub = _segments_regex(pattern.split("/"), template) if pattern else r"[^/]+"
            regex_parts.append(f"(?P<{group}>{sub})")
            openapi_parts.append("{" + field_path + "}")
        else:
            regex_parts.append(_segments_regex([segment], template))
            openapi_parts.append(segment)
    regex = "^/" + "/".join(regex_parts)
    openapi_path = "/" + "/".join(openapi_parts)
    if verb:
        regex += ":" + re.escape(verb)
        openapi_path += ":" + verb
    return PathTemplate(template, re.compile(regex + "$"), tuple(variables), openapi_path, verb)


def _split_top_level(body: str) -> list[str]:
    """Splits on '/' outside `{...}`."""
    parts: list[str] = []
    depth, start = 0, 0
    for index, char in enumerate(body):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "/" and depth == 0:
            parts.append(body[start:index])
            start = index + 1
    parts.append(body[start:])
    if any(not p for p in parts):
        raise TemplateError(f"empty segment in '/{body}'")
    return parts


def _segments_regex(segments: Sequence[str], template: str) -> str:
    out: list[str] = []
    for index, segment in enumerate(segments):
        if segment == "*":
            out.append(r"[^/]+")
        elif segment == "**":
            if index != len(segments) - 1:
                raise TemplateError(f"'**' must be the last segment in {template!r}")
            out.append(r".+")
        elif "{" in segment or "}" in segment or "*" in segment or not segment:
            raise TemplateError(f"bad segment {segment!r} in {template!r}")
        else:
            out.append(re.escape(segment))
    return "/".join(out)


@dataclass(slots=True)
class RpcRoute:
    """One HTTP binding of one RPC, with everything a request needs."""

    service: str  # `flowpilot.fixes.v1.FixesService`
    method: MethodDescriptor
    http_method: str  # upper case
    path: PathTemplate
    body: str  # "", "*" or a top-level field name
    response_body: str
    success_code: int
    request_codec: MessageCodec
    response_codec: MessageCodec
    # Top-level request fields bound by the path (never read from body/query).
    path_fields: frozenset[str]
    body_field: FieldCodec | None = None
    operation_id: str = ""
    # Fields (top-level) that the query string may set.
    query_fields: frozenset[str] = field(default_factory=frozenset)
    # A server-streaming RPC, answered as server-sent events.
    streaming: bool = False
    # The request's FieldMask that a PATCH body fills when the client sent none.
    update_mask: str | None = None
    # The request field `If-Match` fills; whether the response has an `etag`.
    etag_in: str | None = None
    etag_out: bool = False
    # Streams: the request field `Last-Event-ID` fills; each message's SSE fields.
    last_event_id: FieldDescriptor | None = None
    event_fields: EventFields | None = None

    @property
    def full_method(self) -> str:
        """`/package.Service/Method`, the gRPC path."""
        return f"/{self.service}/{self.method.name}"

    @property
    def retry_name(self) -> str:
        """`package.Service/Method`, as `retry_service_config` wants it."""
        return f"{self.service}/{self.method.name}"

    @property
    def idempotent(self) -> bool:
        return self.http_method in IDEMPOTENT_HTTP_METHODS

    @property
    def may_create(self) -> bool:
        """201 methods, whose answer the service may turn into 200."""
        return self.success_code == 201

    @property
    def summary(self) -> str:
        return self.method.name


def _success_code(method: MethodDescriptor) -> int:
    options = method.GetOptions()
    code = int(options.Extensions[flowpilot_annotations.http_success_code])
    return code or 200


def _rules(rule: http_pb2.HttpRule) -> Iterable[http_pb2.HttpRule]:
    yield rule
    for extra in rule.additional_bindings:
        yield from _rules(extra)


def routes_for_service(service: ServiceDescriptor, registry: CodecRegistry) -> list[RpcRoute]:
    routes: list[RpcRoute] = []
    for method in service.methods:
        options = method.GetOptions()
        if not options.HasExtension(google_annotations.http):
            continue  # gRPC only (internal)
        if method.client_streaming:
            raise TemplateError(f"{method.full_name}: client-streaming RPCs are not transcoded")
        rule = options.Extensions[google_annotations.http]
        request_codec = registry.message(method.input_type)
        response_codec = registry.message(method.output_type)
        for index, binding in enumerate(_rules(rule)):
            pattern = binding.WhichOneof("pattern")
            if pattern == "custom":
                http_method, template = binding.custom.kind.upper(), binding.custom.path
            elif pattern in HTTP_METHODS:
                http_method, template = pattern.upper(), getattr(binding, pattern)
            else:
                raise TemplateError(f"{method.full_name}: no HTTP method in its rule")
            compiled = compile_template(template)
            path_fields: set[str] = set()
            for _, field_path in compiled.variables:
                try:
                    bound = field_by_path(request_codec, field_path)
                except KeyError as exc:
                    raise TemplateError(
                        f"{method.full_name}: path variable {field_path!r} is not a request field"
                    ) from exc
                if bound.descriptor.is_repeated or (
                    bound.message is not None and bound.message.full_name not in WKT_NAMES
                ):
                    raise TemplateError(
                        f"{method.full_name}: path variable {field_path!r} must be a scalar"
                    )
                path_fields.add(field_path.split(".")[0])
            body = binding.body
            body_field: FieldCodec | None = None
            if body and body != "*":
                body_field = request_codec.by_name.get(body)
                if body_field is None:
                    raise TemplateError(f"{method.full_name}: body field {body!r} does not exist")
            if body == "*":
                query_fields: frozenset[str] = frozenset()
            else:
                query_fields = frozenset(
                    name
                    for name in request_codec.by_name
                    if name not in path_fields and name != body
                )
            response_body = binding.response_body
            if response_body and response_body not in response_codec.by_name:
                raise TemplateError(
                    f"{method.full_name}: response_body {response_body!r} does not exist"
                )
            suffix = "" if index == 0 else str(index + 1)
            streaming = method.server_streaming
            routes.append(
                RpcRoute(
                    service=service.full_name,
                    method=method,
                    http_method=http_method,
                    path=compiled,
                    body=body,
                    response_body=response_body,
                    success_code=_success_code(method),
                    request_codec=request_codec,
                    response_codec=response_codec,
                    path_fields=frozenset(path_fields),
                    body_field=body_field,
                    operation_id=f"{service.name}_{method.name}{suffix}",
                    query_fields=query_fields,
                    streaming=streaming,
                    update_mask=(
                        update_mask_field(method.input_type)
                        if http_method == "PATCH" and body
                        else None
                    ),
                    etag_in=etag_field(method.input_type),
                    etag_out=not streaming and etag_field(method.output_type) is not None,
                    last_event_id=last_event_id_field(method.input_type) if streaming else None,
                    event_fields=EventFields.of(method.output_type) if streaming else None,
                )
            )
    return routes


def build_routes(
    services: Sequence[ServiceDescriptor], registry: CodecRegistry | None = None
) -> list[RpcRoute]:
    registry = registry or CodecRegistry()
    routes: list[RpcRoute] = []
    for service in services:
        routes.extend(routes_for_service(service, registry))
    seen: dict[tuple[str, str], str] = {}
    for route in routes:
        key = (route.http_method, route.path.regex.pattern)
        if key in seen:
            raise TemplateError(
                f"{route.method.full_name} and {seen[key]} bind "
                f"the same {key[0]} {route.path.template}"
            )
        seen[key] = route.method.full_name
    return routes
