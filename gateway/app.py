"""The gateway application: REST+JSON in, gRPC out.

`create_app` takes its backends as data — each a gRPC service descriptor and
the target to dial — reads the route table from their `google.api.http`
annotations, opens one long-lived channel per backend when the app starts
(lifespan) and closes it on shutdown. A new service behind the gateway is its
proto and one line in `SERVICES`.

A request goes: route match (precompiled regexes) → request id → body-size
check → JWT at the edge → JSON/path/query decoded into the request message →
the RPC with the caller's token, the request id and a deadline → the response
encoded, or the gRPC status mapped to the CONTRACT §6 error body.

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
from fastapi.openapi.docs import get_swagger_ui_html
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2
from starlette.convertors import StringConvertor
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from flowpilot.fixes.v1 import fixes_pb2
from flowpilot.runtime.auth import Role, TokenVerifier, bearer_token
from flowpilot.runtime.context import (
    REQUEST_ID_HEADER,
    RESOURCE_CREATED_KEY,
    new_request_id,
    request_id_var,
)
from flowpilot.runtime.errors import DomainError, InvalidArgument, PermissionDenied
from flowpilot.runtime.logging import configure_logging
from flowpilot.runtime.server import (
    dependency_health_name,
    open_channel,
    retry_service_config,
)
from flowpilot.runtime.settings import Settings, get_settings
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2
from gateway.codec.messages import CodecRegistry
from gateway.codec.query import set_text_field
from gateway.console import console_routes
from gateway.errors import (
    domain_error_response,
    rpc_error_response,
    simple_error,
)
from gateway.observability import observe_app
from gateway.openapi import build_openapi
from gateway.routes import RpcRoute, build_routes

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
_JSON_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
HEALTH_CHECK_METHOD = "/grpc.health.v1.Health/Check"
READY_TIMEOUT_SECONDS = 2.0
# Process-local readiness (the Kubernetes probe); /readyz is the aggregate view.
LOCAL_READINESS_PATH = "/readyz/local"


class BodyTooLarge(Exception):
    pass


def _reject_constant(name: str) -> Any:
    # json.loads accepts NaN/Infinity, which are not JSON.
    raise ValueError(f"{name} is not valid JSON")


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

    __slots__ = ("call", "channel", "route")

    def __init__(self, route: RpcRoute) -> None:
        self.route = route
        self.call: grpc.aio.UnaryUnaryMultiCallable | None = None
        self.channel: grpc.aio.Channel | None = None

    def bind(self, channel: grpc.aio.Channel) -> None:
        route = self.route
        self.channel = channel
        self.call = channel.unary_unary(
            route.full_method,
            request_serializer=route.request_codec.cls.SerializeToString,
            response_deserializer=route.response_codec.cls.FromString,
        )

    def build_request(self, request: Request, body: bytes) -> Message:
        route = self.route
        codec = route.request_codec
        message = codec.cls()
        path_params = request.path_params
        for group, field_path in route.path.variables:
            set_text_field(codec, message, field_path, [path_params[group]], allow_repeated=False)
        if route.body:
            self._fill_body(message, body)
        if request.scope.get("query_string"):
            self._fill_query(message, request)
        return message

    def _fill_body(self, message: Message, body: bytes) -> None:
        route = self.route
        if not body.strip():
            return  # no body: every field keeps its zero value
        try:
            value = json.loads(body, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise InvalidArgument(
                f"the request body is not valid JSON: {exc}", reason="INVALID_JSON"
            ) from exc
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
            try:
                route.request_codec.fill_fields(message, value.items(), "")
            except RecursionError as exc:
                raise InvalidArgument("the request body is nested too deeply") from exc
        else:
            assert route.body_field is not None
            route.body_field.assign(message, value, route.body)

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

    def encode(self, response: Message) -> bytes:
        route = self.route
        if route.response_body:
            value = route.response_codec.by_name[route.response_body].encoder()(response)
        else:
            value = route.response_codec.encode(response)
        return _JSON_DUMPS(value).encode()


class Gateway:
    """Edge concerns shared by every route: auth, limits, deadlines, errors."""

    def __init__(self, settings: Settings, backends: Sequence[Backend]) -> None:
        self.settings = settings
        self.verifier = TokenVerifier(settings)
        self.timeout = settings.backend_timeout_seconds
        self.max_body = settings.max_body_bytes
        self.backends = list(backends)

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
            assert handler.call is not None, "the app's lifespan did not run"
            call = handler.call(
                message,
                timeout=self.timeout,
                metadata=(
                    ("authorization", f"Bearer {principal.token}"),
                    (REQUEST_ID_HEADER, request_id),
                ),
                # A service restarting (or not reached yet) is waited for,
                # within the deadline, rather than failed at once.
                wait_for_ready=True,
            )
            response = await call
            status = route.success_code
            if route.may_create and not await _created(call):
                status = 200
            headers = {REQUEST_ID_HEADER: request_id}
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
                return simple_error(
                    503,
                    "BACKEND_UNAVAILABLE",
                    "a backend service is unavailable",
                    request_id=request_id,
                )
            return rpc_error_response(error, request_id=request_id)
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
        finally:
            request_id_var.reset(context_token)

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
            str(exc),
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

    async def docs(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{API_TITLE} — API")

    app.router.routes.extend(
        [
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route(LOCAL_READINESS_PATH, readyz_local, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            Route("/docs", docs, methods=["GET"]),
        ]
    )
    # One Starlette route per path template, dispatching on the HTTP method, so
    # that a wrong method is a 405 naming every allowed one. Templates with
    # more literal segments go first (`/x/search` before `/x/{id}`).
    by_pattern: dict[str, dict[str, RpcHandler]] = {}
    first_route: dict[str, RpcRoute] = {}
    for route in routes:
        by_pattern.setdefault(route.path.regex.pattern, {})[route.http_method] = handlers[id(route)]
        first_route.setdefault(route.path.regex.pattern, route)
    ordered = sorted(first_route.items(), key=lambda item: (len(item[1].path.variables), item[0]))
    for pattern, route in ordered:
        app.router.routes.append(_starlette_route(gateway, by_pattern[pattern], route))
    # The web console last: its paths never overlap the API's (docs/gateway.md).
    app.router.routes.extend(console_routes(settings))
    return app


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


def main() -> None:
    """`flowpilot serve gateway`: serve until SIGTERM/SIGINT, then drain and close."""
    import uvicorn

    settings = get_settings()
    configure_logging("gateway", settings.log_level, settings.log_format)
    app = create_app(settings, backends_from_settings(settings))
    config = uvicorn_config(app, settings)
    log.info("gateway listening", extra={"host": settings.bind_host, "port": settings.http_port})
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
