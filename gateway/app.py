"""The gateway application: REST+JSON in, gRPC out.

`create_app` takes its backends as data — each a gRPC service descriptor and
the target to dial — reads the route table from their `google.api.http`
annotations, opens one long-lived channel per backend when the app starts
(lifespan) and closes it on shutdown. A new service behind the gateway is its
proto and one line in `SERVICES`.

A request goes: route match (precompiled regexes) → request id → body-size
check → JWT at the edge → JSON/path/query decoded into the request message
(a PATCH's update mask filled from its body, `If-Match` into `etag`) → the RPC
with the caller's token, the request id and a deadline → the response encoded
(its `etag` as the `ETag` header), or the gRPC status mapped to the CONTRACT §6
error body. A server-streaming RPC is answered as server-sent events
(`gateway.sse`).

Routes are plain Starlette routes, not FastAPI's pydantic-validated ones: the
protos are the schema, and the codec validates against them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2
from starlette.convertors import StringConvertor
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from flowpilot.fixes.v1 import fixes_pb2
from flowpilot.runtime.auth import Role, TokenVerifier, bearer_token
from flowpilot.runtime.context import (
    REQUEST_ID_HEADER,
    RESOURCE_CREATED_KEY,
    new_request_id,
    request_id_var,
)
from flowpilot.runtime.errors import DomainError, InvalidArgument, PermissionDenied
from flowpilot.runtime.etags import ENTITY_TAG, if_none_match, parse_if_match
from flowpilot.runtime.heap import freeze_startup_heap
from flowpilot.runtime.logging import configure_logging
from flowpilot.runtime.server import (
    dependency_health_name,
    open_channel,
    retry_service_config,
)
from flowpilot.runtime.settings import Settings, get_settings
from flowpilot.runtime.update_mask import paths_from_body
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2
from gateway.codec.document import parse_body
from gateway.codec.messages import CodecRegistry
from gateway.codec.query import set_text_field
from gateway.console import console_routes
from gateway.docs import docs_routes
from gateway.errors import (
    domain_error_response,
    rpc_error_response,
    simple_error,
)
from gateway.observability import observe_app
from gateway.openapi import build_openapi
from gateway.routes import PathTemplate, RpcRoute, build_routes
from gateway.rules import (
    conflicting_etag,
    unsupported_if_match,
)
from gateway.sse import (
    ERROR_EVENT,
    HEARTBEAT,
    EventStreamResponse,
    StreamLimiter,
    event_frame,
)

log = logging.getLogger("flowpilot.gateway")

FIXES_SERVICE: ServiceDescriptor = fixes_pb2.DESCRIPTOR.services_by_name["FixesService"]
SCRIPTBUILDER_SERVICE: ServiceDescriptor = scriptbuilder_pb2.DESCRIPTOR.services_by_name[
    "ScriptBuilderService"
]
API_TITLE = "FlowPilot fix services"
API_VERSION = "1.0.0"
JSON_MEDIA_TYPE = "application/json"
# A client's request id is reused only when it is safe as gRPC metadata and in logs.
_REQUEST_ID_OK = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
# An SSE field value ends at a line break (or a NUL, which `id:` refuses).
_LINE_BREAK = re.compile(r"[\r\n\x00]")
# How long a streaming call's client waits before retrying a full gateway.
STREAM_RETRY_AFTER_SECONDS = 5
_JSON_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
HEALTH_CHECK_METHOD = "/grpc.health.v1.Health/Check"
READY_TIMEOUT_SECONDS = 2.0
# Process-local readiness (the Kubernetes probe); /readyz is the aggregate view.
LOCAL_READINESS_PATH = "/readyz/local"


class BodyTooLarge(Exception):
    pass


class BackendNotReached(Exception):
    """A stream's service did not answer within the deadline and its channel
    is not connected: the time went waiting for the service."""


# A request without a body (no bytes at all), as `_fill_body` reports it.
_NO_BODY = object()


def _request_id(header: str | None) -> str:
    if header and _REQUEST_ID_OK.fullmatch(header):
        return header
    return new_request_id()


# Every service the gateway serves, with the setting that says where it runs.
# (service, the setting naming its target, the services it needs for part of
# its API: inline creates need the script-builder to reach the fixes service).
SERVICES: tuple[tuple[ServiceDescriptor, str, tuple[str, ...]], ...] = (
    (FIXES_SERVICE, "fixes_target", ()),
    (SCRIPTBUILDER_SERVICE, "scriptbuilder_target", (FIXES_SERVICE.full_name,)),
)


@dataclass(frozen=True, slots=True)
class BackendService:
    """A gRPC service behind the gateway: its descriptor, the target to dial,
    and the services it reports as dependencies in its health."""

    descriptor: ServiceDescriptor
    target: str
    dependencies: Sequence[str] = ()


def backends_from_settings(settings: Settings) -> list[BackendService]:
    return [BackendService(d, getattr(settings, setting), deps) for d, setting, deps in SERVICES]


@dataclass
class Backend:
    """One backend service at run time: its routes and its long-lived channel."""

    descriptor: ServiceDescriptor
    target: str
    routes: list[RpcRoute] = field(default_factory=list)
    channel: grpc.aio.Channel | None = None
    # Services this one needs for part of its API; its health reports them
    # (`dependency:<name>`), and the aggregate /readyz requires them.
    dependencies: Sequence[str] = ()

    def service_config(self) -> str:
        idempotent = [r.retry_name for r in self.routes if r.idempotent]
        return retry_service_config([self.descriptor.full_name], methods=idempotent)


class RpcHandler:
    """Serves one HTTP binding of one RPC; its stub is set when the app starts."""

    __slots__ = ("call", "channel", "route", "stream")

    def __init__(self, route: RpcRoute) -> None:
        self.route = route
        self.call: grpc.aio.UnaryUnaryMultiCallable | None = None
        self.stream: grpc.aio.UnaryStreamMultiCallable | None = None
        self.channel: grpc.aio.Channel | None = None

    def bind(self, channel: grpc.aio.Channel) -> None:
        route = self.route
        self.channel = channel
        serializer = route.request_codec.cls.SerializeToString
        deserializer = route.response_codec.cls.FromString
        if route.streaming:
            self.stream = channel.unary_stream(
                route.full_method,
                request_serializer=serializer,
                response_deserializer=deserializer,
            )
        else:
            self.call = channel.unary_unary(
                route.full_method,
                request_serializer=serializer,
                response_deserializer=deserializer,
            )

    def build_request(self, request: Request, body: bytes) -> Message:
        route = self.route
        codec = route.request_codec
        message = codec.cls()
        path_params = request.path_params
        for group, field_path in route.path.variables:
            set_text_field(codec, message, field_path, [path_params[group]], allow_repeated=False)
        parsed = self._fill_body(message, body) if route.body else _NO_BODY
        if request.scope.get("query_string"):
            self._fill_query(message, request)
        if route.update_mask is not None:
            self._fill_update_mask(message, parsed)
        if route.etag_in is not None or request.headers.get("if-match") is not None:
            self._apply_if_match(message, request)
        if route.last_event_id is not None:
            self._apply_last_event_id(message, request)
        return message

    def _fill_body(self, message: Message, body: bytes) -> Any:
        """Sets the body's fields; returns the parsed JSON (`_NO_BODY` for none)."""
        route = self.route
        if not body.strip():
            return _NO_BODY  # no body: every field keeps its zero value
        value = parse_body(body)
        if route.body == "*":
            if not isinstance(value, dict):
                raise InvalidArgument(
                    "the request body must be a JSON object", reason="INVALID_JSON"
                )
            for key in route.path_fields.intersection(value):
                raise InvalidArgument(
                    f"{key}: bound by the URL path, not accepted in the body",
                    field=key,
                    reason="UNKNOWN_FIELD",
                )
            route.request_codec.fill_fields(message, value.items(), "")
        else:
            assert route.body_field is not None
            route.body_field.assign(message, value, route.body)
        return value

    def _fill_query(self, message: Message, request: Request) -> None:
        route = self.route
        grouped: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            grouped.setdefault(key, []).append(value)
        for key, values in grouped.items():
            if key.split(".", 1)[0] not in route.query_fields:
                raise InvalidArgument(
                    f"unknown query parameter {key!r}", field=key, reason="UNKNOWN_FIELD"
                )
            set_text_field(route.request_codec, message, key, values, allow_repeated=True)

    def _fill_update_mask(self, message: Message, parsed: Any) -> None:
        """grpc-gateway's PATCH rule: without a mask from the client, the
        body's top-level keys are the mask (JSON `null` included: cleared).
        The mask is always set, so "no body" reaches the service as "no
        field", never as "every field"."""
        name = self.route.update_mask
        assert name is not None
        mask = getattr(message, name)
        if mask.paths:
            return  # the client's own mask
        mask.SetInParent()
        keys = parsed.keys() if isinstance(parsed, dict) else ()
        mask.paths.extend(paths_from_body(keys, name))

    def _apply_if_match(self, message: Message, request: Request) -> None:
        """`If-Match` → the request's `etag` (AIP-154)."""
        tag = parse_if_match(request.headers.getlist("if-match"))
        if tag is None:
            return
        name = self.route.etag_in
        if name is None:
            raise unsupported_if_match()
        sent = getattr(message, name)
        if sent and sent != tag:
            raise conflicting_etag()
        setattr(message, name, tag)

    def _apply_last_event_id(self, message: Message, request: Request) -> None:
        """`Last-Event-ID` (an EventSource reconnecting) → `last_event_id`;
        it wins over the query string, which still has the first request's."""
        header = request.headers.get("last-event-id")
        if header is None or not header.strip():
            return
        field = self.route.last_event_id
        assert field is not None
        message.ClearField(field.name)
        set_text_field(
            self.route.request_codec, message, field.name, [header.strip()], allow_repeated=False
        )

    def encode(self, response: Message) -> bytes:
        route = self.route
        if route.response_body:
            value = route.response_codec.by_name[route.response_body].encoder()(response)
        else:
            value = route.response_codec.encode(response)
        return _JSON_DUMPS(value).encode()

    def event(self, message: Message) -> bytes:
        """One streamed message as one server-sent event."""
        fields = self.route.event_fields
        assert fields is not None
        event_id: str | None = None
        if fields.event_id is not None:
            value = getattr(message, fields.event_id.name)
            if value and not _LINE_BREAK.search(str(value)):
                event_id = str(value)
        event: str | None = None
        if fields.kind is not None:
            kind = self.route.response_codec.by_name[fields.kind]
            assert kind.enum is not None
            event = kind.enum.encode(getattr(message, fields.kind))
        elif fields.oneof is not None:
            event = message.WhichOneof(fields.oneof)
        return event_frame(self.encode(message), event_id=event_id, event=event)


class Gateway:
    """Edge concerns shared by every route: auth, limits, deadlines, errors."""

    def __init__(self, settings: Settings, backends: Sequence[Backend]) -> None:
        self.settings = settings
        self.verifier = TokenVerifier(settings)
        self.timeout = settings.backend_timeout_seconds
        self.max_body = settings.max_body_bytes
        self.backends = list(backends)
        self.heartbeat = settings.sse_heartbeat_seconds
        self.streams = StreamLimiter(settings.sse_max_streams)

    async def _read_body(self, request: Request) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                raise BodyTooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    def _declared_too_large(self, request: Request) -> bool:
        declared = request.headers.get("content-length")
        if declared is None:
            return False
        try:
            return int(declared) > self.max_body
        except ValueError:
            return False  # h11/httptools reject malformed lengths before us

    async def dispatch(self, handler: RpcHandler, request: Request) -> Response:
        request_id = _request_id(request.headers.get(REQUEST_ID_HEADER))
        context_token = request_id_var.set(request_id)
        route = handler.route
        try:
            if route.body and self._declared_too_large(request):
                raise BodyTooLarge
            # The edge: no backend call without a valid user token.
            principal = self.verifier.verify(bearer_token(request.headers.get("authorization")))
            if principal.role is Role.SERVICE:
                raise PermissionDenied(
                    "SERVICE_IDENTITY_REFUSED", "service identities cannot use the REST API"
                )
            body = await self._read_body(request) if route.body else b""
            message = handler.build_request(request, body)
            metadata = (
                ("authorization", f"Bearer {principal.token}"),
                (REQUEST_ID_HEADER, request_id),
            )
            if route.streaming:
                return await self._open_stream(handler, message, metadata, request_id)
            assert handler.call is not None, "the app's lifespan did not run"
            call = handler.call(
                message,
                timeout=self.timeout,
                metadata=metadata,
                # A service restarting (or not reached yet) is waited for,
                # within the deadline, rather than failed at once.
                wait_for_ready=True,
            )
            response = await call
            status = route.success_code
            if route.may_create and not await _created(call):
                status = 200
            headers = {REQUEST_ID_HEADER: request_id}
            etag = _entity_tag(route, response)
            if etag is not None:
                headers["ETag"] = etag
                if request.method in ("GET", "HEAD") and if_none_match(
                    request.headers.getlist("if-none-match"), etag
                ):
                    return Response(status_code=304, headers=headers)
            if status == 204:
                return Response(status_code=204, headers=headers)
            return Response(
                handler.encode(response),
                status_code=status,
                media_type=JSON_MEDIA_TYPE,
                headers=headers,
            )
        except DomainError as error:
            return domain_error_response(error, request_id=request_id)
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.DEADLINE_EXCEEDED and not _connected(handler):
                # The deadline passed waiting for the service, not in it.
                return _backend_unavailable(request_id)
            return rpc_error_response(error, request_id=request_id)
        except BackendNotReached:
            return _backend_unavailable(request_id)
        except ClientDisconnect:
            # The client left (or was cut off as too slow) mid-body: nobody
            # reads this answer and nothing was called.
            return Response(status_code=499)
        except BodyTooLarge:
            return simple_error(
                413,
                "REQUEST_TOO_LARGE",
                f"the request body exceeds {self.max_body} bytes",
                request_id=request_id,
            )
        except Exception:
            # Answered here, not by Starlette's last-resort handler, which
            # re-raises after answering and so ends the client's keep-alive
            # connection. Nothing of the exception reaches the client.
            log.exception("unhandled error", extra={"route": route.full_method})
            return simple_error(500, "INTERNAL", "internal error", request_id=request_id)
        finally:
            request_id_var.reset(context_token)

    # Server-sent events.

    async def _open_stream(
        self,
        handler: RpcHandler,
        message: Message,
        metadata: tuple[tuple[str, str], ...],
        request_id: str,
    ) -> Response:
        """Starts the streaming call and answers 200 `text/event-stream` once
        the service accepted it; a refusal before that is an ordinary error."""
        if not self.streams.try_acquire():
            return simple_error(
                503,
                "TOO_MANY_STREAMS",
                f"this gateway serves at most {self.streams.capacity} event streams at once; "
                "retry shortly",
                request_id=request_id,
                headers={"Retry-After": str(STREAM_RETRY_AFTER_SECONDS)},
            )
        assert handler.stream is not None, "the app's lifespan did not run"
        # No deadline: a stream lasts as long as the client listens. Waiting
        # for the service to accept it is bounded below instead.
        call = handler.stream(message, metadata=metadata, wait_for_ready=True)
        try:
            ended = await self._accepted(handler, call)
        except BaseException:
            call.cancel()
            self.streams.release()
            raise

        async def close() -> None:
            call.cancel()
            self.streams.release()

        return EventStreamResponse(
            self._events(handler, call, ended, request_id),
            headers={REQUEST_ID_HEADER: request_id},
            on_close=close,
        )

    async def _accepted(self, handler: RpcHandler, call: grpc.aio.UnaryStreamCall) -> _Ended | None:
        """Waits for the service's initial metadata (sent with its first
        message, or on its own once it accepted the call). Returns None while
        the call goes on, else how it ended (its messages, then its error if
        it failed after one). Raises the call's error when it failed before
        any message: that is an ordinary error response."""
        accepted = asyncio.ensure_future(call.initial_metadata())
        done, _ = await asyncio.wait({accepted}, timeout=self.timeout)
        if not done:
            accepted.cancel()
            if not _connected(handler):
                raise BackendNotReached
            return None  # connected, quiet: stream on, with heartbeats
        if not call.done():
            return None
        # Ended already (trailers-only on a refusal): the error, or what it sent.
        messages: list[Message] = []
        try:
            while (item := await call.read()) is not grpc.aio.EOF:
                messages.append(item)
        except grpc.aio.AioRpcError as error:
            if not messages:
                raise
            return _Ended(messages, error)
        return _Ended(messages, None)

    async def _events(
        self,
        handler: RpcHandler,
        call: grpc.aio.UnaryStreamCall,
        ended: _Ended | None,
        request_id: str,
    ) -> AsyncIterator[bytes]:
        if ended is not None:
            for message in ended.messages:
                yield handler.event(message)
            if ended.error is not None:
                yield _error_event(ended.error, request_id)
            return
        closing = asyncio.ensure_future(self.streams.closing.wait())
        reader: asyncio.Future[Any] | None = None
        try:
            while True:
                if reader is None:
                    reader = asyncio.ensure_future(call.read())
                done, _ = await asyncio.wait(
                    {reader, closing}, timeout=self.heartbeat, return_when=asyncio.FIRST_COMPLETED
                )
                if closing in done:
                    return  # the process stops: end cleanly; clients resume elsewhere
                if reader not in done:
                    yield HEARTBEAT
                    continue
                try:
                    item = reader.result()
                except grpc.aio.AioRpcError as error:
                    yield _error_event(error, request_id)
                    return
                reader = None
                if item is grpc.aio.EOF:
                    return
                yield handler.event(item)
        finally:
            closing.cancel()
            if reader is not None:
                reader.cancel()

    async def readiness(self) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
        """Each service's health, and each service's view of its dependencies."""

        async def check(backend: Backend, name: str) -> str:
            if backend.channel is None:
                return "NOT_STARTED"
            check_call = backend.channel.unary_unary(
                HEALTH_CHECK_METHOD,
                request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                response_deserializer=health_pb2.HealthCheckResponse.FromString,
            )
            try:
                answer = await check_call(
                    health_pb2.HealthCheckRequest(service=name),
                    timeout=min(READY_TIMEOUT_SECONDS, self.timeout),
                )
            except grpc.aio.AioRpcError as error:
                return error.code().name
            return health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)

        checks = [(backend, None, backend.descriptor.full_name) for backend in self.backends] + [
            (backend, dependency, dependency_health_name(dependency))
            for backend in self.backends
            for dependency in backend.dependencies
        ]
        results = await asyncio.gather(*(check(b, name) for b, _, name in checks))
        services: dict[str, str] = {}
        dependencies: dict[str, dict[str, str]] = {}
        for (backend, dependency, _), status in zip(checks, results, strict=True):
            own = backend.descriptor.full_name
            if dependency is None:
                services[own] = status
            else:
                dependencies.setdefault(own, {})[dependency] = status
        return services, dependencies


@dataclass(frozen=True, slots=True)
class _Ended:
    """A streaming call that had ended by the time the gateway looked."""

    messages: list[Message]
    error: grpc.aio.AioRpcError | None


def _error_event(error: grpc.aio.AioRpcError, request_id: str) -> bytes:
    """A failure after the first event: the usual error body, as `event: error`."""
    failed = rpc_error_response(error, request_id=request_id)
    return event_frame(bytes(failed.body), event=ERROR_EVENT)


def _backend_unavailable(request_id: str) -> Response:
    return simple_error(
        503, "BACKEND_UNAVAILABLE", "a backend service is unavailable", request_id=request_id
    )


def _entity_tag(route: RpcRoute, response: Message) -> str | None:
    """The response's `etag` as an `ETag` header value, when it has one."""
    if not route.etag_out:
        return None
    etag = getattr(response, "etag", "")
    if not etag:
        return None
    if not ENTITY_TAG.fullmatch(etag):
        log.warning("a response etag is not an entity tag", extra={"method": route.retry_name})
        return None
    return etag


def _connected(handler: RpcHandler) -> bool:
    channel = handler.channel
    return channel is not None and channel.get_state() is grpc.ChannelConnectivity.READY


async def _created(call: grpc.aio.UnaryUnaryCall) -> bool:
    """False when the service says the create call returned an existing resource."""
    for metadata in (await call.trailing_metadata(), await call.initial_metadata()):
        for key, value in metadata or ():
            if key == RESOURCE_CREATED_KEY and str(value).lower() == "false":
                return False
    return True


def _endpoint(gateway: Gateway, handlers: dict[str, RpcHandler]) -> Callable[[Request], Any]:
    get_handler = handlers.get("GET")

    async def endpoint(request: Request) -> Response:
        handler = handlers.get(request.method)
        if handler is None:  # HEAD, which Starlette adds beside GET
            handler = get_handler
            assert handler is not None
            if handler.route.streaming:  # an event stream has no head of its own
                return simple_error(
                    405,
                    "METHOD_NOT_ALLOWED",
                    "HEAD is not supported by an event stream",
                    request_id=_request_id(request.headers.get(REQUEST_ID_HEADER)),
                    headers={"Allow": ", ".join(sorted(handlers))},
                )
        assert handler is not None
        return await gateway.dispatch(handler, request)

    return endpoint


def _starlette_route(gateway: Gateway, handlers: dict[str, RpcHandler], route: RpcRoute) -> Route:
    starlette_route = Route(
        route.path.openapi_path, _endpoint(gateway, handlers), methods=list(handlers)
    )
    # Our own regex implements google.api.http templates (`{x=a/*}`, `:verb`).
    starlette_route.path_regex = route.path.regex
    convertor = StringConvertor()
    starlette_route.param_convertors = {group: convertor for group, _ in route.path.variables}
    return starlette_route


def _install_error_handlers(app: FastAPI) -> None:
    reasons = {404: "ROUTE_NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404:
            message = f"no route for {request.method} {request.url.path}"
        return simple_error(
            exc.status_code,
            reasons.get(exc.status_code, "HTTP_ERROR"),
            message,
            request_id=_request_id(request.headers.get(REQUEST_ID_HEADER)),
            headers=exc.headers,
        )

    async def validation_error(request: Request, exc: Exception) -> Response:
        return simple_error(
            400,
            "INVALID_ARGUMENT",
            "the request is not valid",
            request_id=_request_id(request.headers.get(REQUEST_ID_HEADER)),
        )

    async def internal_error(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", exc_info=exc)
        return simple_error(
            500,
            "INTERNAL",
            "internal error",
            request_id=_request_id(request.headers.get(REQUEST_ID_HEADER)),
        )

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, internal_error)


def create_app(settings: Settings, services: Sequence[BackendService]) -> FastAPI:
    registry = CodecRegistry()
    backends = [
        Backend(service.descriptor, service.target, dependencies=service.dependencies)
        for service in services
    ]
    routes = build_routes([b.descriptor for b in backends], registry)
    for backend in backends:
        backend.routes = [r for r in routes if r.service == backend.descriptor.full_name]
    gateway = Gateway(settings, backends)
    handlers = {id(r): RpcHandler(r) for r in routes}
    openapi_doc = build_openapi(routes, registry, title=API_TITLE, version=API_VERSION)
    openapi_bytes = _JSON_DUMPS(openapi_doc).encode()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for backend in backends:
            backend.channel = open_channel(backend.target, service_config=backend.service_config())
            for route in backend.routes:
                handlers[id(route)].bind(backend.channel)
        try:
            yield
        finally:
            for backend in backends:
                if backend.channel is not None:
                    await backend.channel.close()
                    backend.channel = None

    app = FastAPI(
        title=API_TITLE,
        version=API_VERSION,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        # Our own telemetry (flowpilot.runtime.tracing, the Prometheus
        # middleware) covers every request. FastAPI's native one would add a
        # second server span per request once tracing sets the global
        # provider, and asks the providers on every request whether it is on.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.gateway = gateway
    app.state.routes = routes
    app.state.openapi = openapi_doc
    _install_error_handlers(app)
    observe_app(app)

    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type=JSON_MEDIA_TYPE)

    async def readyz_local(request: Request) -> Response:
        # Kubernetes' readiness probe: this process can take requests (its
        # channels are open). Never asks the services, so one backend being
        # down does not take every gateway out of the Service.
        ready = all(backend.channel is not None for backend in backends)
        body = b'{"status":"ready"}' if ready else b'{"status":"starting"}'
        return Response(body, status_code=200 if ready else 503, media_type=JSON_MEDIA_TYPE)

    async def readyz(request: Request) -> Response:
        services, dependencies = await gateway.readiness()
        statuses = [*services.values(), *(s for d in dependencies.values() for s in d.values())]
        ready = all(status == "SERVING" for status in statuses)
        body = {
            "status": "ready" if ready else "not_ready",
            "services": services,
            "dependencies": dependencies,
        }
        status = 200 if ready else 503
        return Response(_JSON_DUMPS(body).encode(), status_code=status, media_type=JSON_MEDIA_TYPE)

    async def openapi(request: Request) -> Response:
        return Response(openapi_bytes, media_type=JSON_MEDIA_TYPE)

    app.router.routes.extend(
        [
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route(LOCAL_READINESS_PATH, readyz_local, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            *docs_routes(f"{API_TITLE} — API"),
        ]
    )
    # One Starlette route per path template, dispatching on the HTTP method, so
    # that a wrong method is a 405 naming every allowed one. Custom methods go
    # first (`/x/{id}:render` before `/x/{id}`, whose variable would match
    # `7:render` too), then templates with more literal segments (`/x/search`
    # before `/x/{id}`).
    by_pattern: dict[str, dict[str, RpcHandler]] = {}
    first_route: dict[str, RpcRoute] = {}
    for route in routes:
        by_pattern.setdefault(route.path.regex.pattern, {})[route.http_method] = handlers[id(route)]
        first_route.setdefault(route.path.regex.pattern, route)
    ordered = sorted(
        first_route.items(),
        key=lambda item: (not item[1].path.verb, len(item[1].path.variables), item[0]),
    )
    api_routes = [
        (route.path, _starlette_route(gateway, by_pattern[pattern], route))
        for pattern, route in ordered
    ]
    app.router.routes.extend(route for _, route in api_routes)
    # The web console last: its paths never overlap the API's (docs/gateway.md).
    app.router.routes.extend(console_routes(settings))
    # Inside the metrics (and tracing) middleware, which `observe_app` added
    # before it: `add_middleware` puts each one outside the ones before.
    app.user_middleware.append(Middleware(ApiFastPath, routes=api_routes))
    return app


def _by_shape(
    routes: Sequence[tuple[PathTemplate, Route]],
) -> dict[tuple[int, str | None], list[tuple[re.Pattern[str], Route]]]:
    """The routes a path may match, in the router's order, by the path's shape:
    its count of `/` and its last segment when some route ends in that
    literal (None: any other). A route whose variable may span segments
    (`{name=a/*}`) is a candidate for every shape."""
    shapes: list[tuple[int, str | None] | None] = []
    for template, _ in routes:
        if any("=" in part for part in template.template.split("{")[1:]):
            shapes.append(None)
            continue
        last = template.openapi_path.rpartition("/")[2]
        shapes.append((template.openapi_path.count("/"), None if "{" in last else last))
    keys = {shape for shape in shapes if shape is not None}
    keys |= {(count, None) for count, _ in keys}
    table = {}
    for count, last in keys:
        table[(count, last)] = [
            (route.path_regex, route)
            for shape, (_, route) in zip(shapes, routes, strict=True)
            if shape is None or shape == (count, last) or shape == (count, None)
        ]
    return table


class ApiFastPath:
    """Serves the API's routes without the framework's per-request layers
    (exception middleware, the route scan, the request-response wrapper):
    the same routes, in the router's order, answered by the same endpoints,
    which handle every error themselves. Anything else (a method a path does
    not take, the docs, the console) goes on to the app as before.

    Measured on the benchmark's PATCH: the layers it skips were 8% of the
    gateway's CPU."""

    def __init__(self, app: ASGIApp, routes: Sequence[tuple[PathTemplate, Route]]) -> None:
        self._app = app
        # The routes' first segments (`/api/`): other paths skip the lookup.
        self._prefixes = tuple({"/" + route.path.split("/")[1] + "/" for _, route in routes})
        self._candidates = _by_shape(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Behind a root path, the router's own matching knows how to strip it.
        if (
            scope["type"] == "http"
            and scope["path"].startswith(self._prefixes)
            and not scope.get("root_path")
        ):
            path = scope["path"]
            count, _, last = path.count("/"), *path.rpartition("/")[1:]
            candidates = self._candidates.get((count, last)) or self._candidates.get((count, None))
            for regex, route in candidates or ():
                match = regex.match(path)
                if match is None:
                    continue
                if route.methods is not None and scope["method"] not in route.methods:
                    break  # a 405, written by the router
                # What the router leaves in the scope (the metrics read it).
                scope["path_params"] = match.groupdict()
                scope["endpoint"] = route.endpoint
                scope["route"] = route
                response = await route.endpoint(Request(scope, receive, send))
                await response(scope, receive, send)
                return
        await self._app(scope, receive, send)


def uvicorn_config(app: FastAPI, settings: Settings) -> Any:
    """How `flowpilot serve gateway` runs the app (a `uvicorn.Config`)."""
    import functools

    import uvicorn

    from gateway.http_server import BoundedHttpProtocol

    return uvicorn.Config(
        app,
        host=settings.bind_host,
        port=settings.http_port,
        # httptools with deadlines on reading a request (slow clients).
        http=functools.partial(
            BoundedHttpProtocol,
            header_timeout=settings.http_header_timeout_seconds,
            body_timeout=settings.http_body_timeout_seconds,
            max_header_bytes=settings.http_max_header_bytes,
        ),
        # No WebSocket routes: an upgrade request is an ordinary request here.
        ws="none",
        lifespan="on",
        log_config=None,
        access_log=False,
        # Idle keep-alive above the proxies' own idle timeouts: the proxy
        # closes idle connections first, so it never reuses one we just closed.
        timeout_keep_alive=settings.http_keep_alive_seconds,
        # uvicorn stops accepting, lets in-flight requests finish, then runs
        # the lifespan shutdown (which closes the channels).
        timeout_graceful_shutdown=max(1, int(settings.shutdown_grace_seconds)),
    )


def gateway_server(app: FastAPI, settings: Settings) -> Any:
    """The uvicorn server that runs `app`, ending the event streams first when
    it shuts down: an open stream would otherwise hold the graceful stop for
    its whole grace period. Clients resume with `Last-Event-ID`, elsewhere."""
    import uvicorn

    gateway: Gateway = app.state.gateway

    class GatewayServer(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            gateway.streams.closing.set()
            await super().shutdown(sockets)

    return GatewayServer(uvicorn_config(app, settings))


def main() -> None:
    """`flowpilot serve gateway`: serve until SIGTERM/SIGINT, then drain and close."""
    settings = get_settings()
    configure_logging("gateway", settings.log_level, settings.log_format)
    app = create_app(settings, backends_from_settings(settings))
    server = gateway_server(app, settings)
    freeze_startup_heap()
    log.info("gateway listening", extra={"host": settings.bind_host, "port": settings.http_port})
    server.run()


if __name__ == "__main__":
    main()
