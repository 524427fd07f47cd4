"""gRPC server bootstrap shared by both services.

`GrpcServer` wires what every service needs around its servicers: an
interceptor that authenticates every call and maps `DomainError`s to
`google.rpc.Status` (through `flowpilot.runtime.grpc_errors`, the one table of
status codes), for unary and server-streaming calls alike, `grpc.health.v1`,
reflection, and a graceful stop (health NOT_SERVING, the service's drain
callbacks such as ending its open streams, `server.stop(grace)` so in-flight
calls finish, then the service's own clean-up such as disposing the database
engine).

A service that calls another one names that dependency (`ServiceSpec.
dependencies`); its health then has one more entry, `dependency:<service>`,
SERVING while its channel to that service is connected. The service's own
entries do not depend on it: whether a process can serve without a
dependency is the service's decision (the script-builder can: CONTRACT §5).
A service with a database names its probe (`ServiceSpec.database`): every
`FLOWPILOT_DB_HEALTH_INTERVAL_SECONDS` the server asks it, and the service's
own entries are NOT_SERVING while the database does not answer. The overall
entry ("") stays SERVING: the process is alive, and restarting it would not
bring the database back (it is what liveness probes ask).

No exception text leaves the process: a request that cannot be parsed is
INVALID_ARGUMENT `INVALID_MESSAGE`, anything unexpected (in the handler, or
in serialising its answer) is INTERNAL "internal error" and logged here.
Parsing and serialising run inside the interceptor for that reason; left to
gRPC, a failure there reaches the client as "Unexpected <class ...>: <text>".
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import logging
import signal
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from typing import Any, cast

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from flowpilot.runtime import metrics, tracing
from flowpilot.runtime.auth import Principal, Role, TokenVerifier, bearer_token
from flowpilot.runtime.context import (
    REQUEST_ID_HEADER,
    new_request_id,
    principal_var,
    request_id_var,
)
from flowpilot.runtime.errors import DomainError, InvalidArgument, PermissionDenied
from flowpilot.runtime.grpc_errors import abort_with_error, status_code
from flowpilot.runtime.heap import freeze_startup_heap
from flowpilot.runtime.interceptors import WrappingInterceptor
from flowpilot.runtime.settings import Settings

log = logging.getLogger("flowpilot.grpc")

# Health checks and reflection answer without a token (probes carry none).
PUBLIC_METHOD_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
DEPENDENCY_HEALTH_PREFIX = "dependency:"


def dependency_health_name(service_name: str) -> str:
    """The health entry saying whether a process reaches `service_name`."""
    return DEPENDENCY_HEALTH_PREFIX + service_name


class CallInterceptor(WrappingInterceptor):
    """Authenticates every call, binds its context, maps domain errors.

    Unary calls and server-streaming calls get the same treatment: the token
    is checked before the handler runs, the caller is bound for the whole
    call (every message of a stream), and a `DomainError` raised before the
    first message or between two ends the call with its status and
    `ErrorInfo`; the request is parsed and every answer serialised inside
    that handling (`INVALID_MESSAGE`, never exception text). A streaming
    handler is an async generator. `internal_methods` (full method names)
    accept only the `service` role; every other method refuses it.
    """

    def __init__(
        self, verifier: TokenVerifier, *, error_domain: str, internal_methods: frozenset[str]
    ) -> None:
        super().__init__()
        self._verifier = verifier
        self._domain = error_domain
        self._internal = internal_methods

    def _authorize(self, method: str, principal: Principal) -> None:
        is_service = principal.role is Role.SERVICE
        if method in self._internal and not is_service:
            raise PermissionDenied("INTERNAL_METHOD", f"{method} is for internal services only")
        if method not in self._internal and is_service:
            raise PermissionDenied(
                "SERVICE_IDENTITY_REFUSED", "service identities cannot call user methods"
            )

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        if handler.unary_unary is not None:
            return self._unary(handler, method)
        if method.startswith(PUBLIC_METHOD_PREFIXES):
            return handler  # health's Watch, reflection's stream: gRPC's own, no token
        if handler.unary_stream is not None:
            return self._server_streaming(handler, method)
        # Client streaming is not part of either API; refuse it rather than
        # serve it unauthenticated.
        raise RuntimeError(f"{method}: client-streaming RPCs are not supported")

    def _unary(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        inner = handler.unary_unary
        parse = handler.request_deserializer or _unchanged
        serialize = handler.response_serializer or _unchanged
        if method.startswith(PUBLIC_METHOD_PREFIXES):
            return _parsed_inside(self._public(inner, parse, serialize))

        async def behavior(raw: bytes, context: grpc.aio.ServicerContext) -> Any:
            call = _CallScope(self, method, context)
            try:
                call.verify()
                return serialize(await inner(_parsed(parse, raw), context))
            except BaseException as error:  # classified: mapped, or re-raised
                await call.failed(error)
            finally:
                call.finish()

        return _parsed_inside(behavior)

    def _server_streaming(
        self, handler: grpc.RpcMethodHandler, method: str
    ) -> grpc.RpcMethodHandler:
        """The same checks and mapping for a server-streaming call: the token is
        verified before the request is parsed and the handler runs, and a
        `DomainError` raised before or between messages ends the call with its
        status (trailers-only when nothing was sent yet). The request is parsed
        and each message serialised here, as for unary calls; the handler is
        an async generator (it yields its messages) and is closed as soon as
        the call ends."""
        inner = handler.unary_stream
        parse = handler.request_deserializer or _unchanged
        serialize = handler.response_serializer or _unchanged

        async def behavior(raw: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            call = _CallScope(self, method, context)
            try:
                call.verify()
                produced = inner(_parsed(parse, raw), context)
                if inspect.isasyncgen(produced):
                    async with contextlib.aclosing(produced):
                        async for response in produced:
                            yield serialize(response)
                elif inspect.isawaitable(produced):  # a handler with no message
                    await produced
            except BaseException as error:  # classified: mapped, or re-raised
                await call.failed(error)
            finally:
                call.finish()

        return grpc.unary_stream_rpc_method_handler(
            behavior, request_deserializer=None, response_serializer=None
        )

    def _public(
        self,
        inner: Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]],
        parse: Callable[[bytes], Any],
        serialize: Callable[[Any], bytes],
    ) -> Callable[[bytes, grpc.aio.ServicerContext], Awaitable[Any]]:
        """Health checks and reflection: no token, the same parsing rules."""

        async def behavior(raw: bytes, context: grpc.aio.ServicerContext) -> Any:
            try:
                return serialize(await inner(_parsed(parse, raw), context))
            except DomainError as error:
                await abort_with_error(context, error, self._domain)
            except (asyncio.CancelledError, grpc.aio.AbortError):
                raise
            except Exception:
                log.exception("unhandled error in a health or reflection call")
                await context.abort(grpc.StatusCode.INTERNAL, "internal error")

        return behavior


def _unchanged(value: Any) -> Any:
    return value


def _parsed(parse: Callable[[bytes], Any], raw: bytes) -> Any:
    """The request message, or INVALID_ARGUMENT when the bytes are not one
    (malformed, or nested deeper than protobuf's recursion limit)."""
    try:
        return parse(raw)
    except Exception:
        raise InvalidArgument(
            "the request is not a valid message of this method (malformed or nested too deeply)",
            reason="INVALID_MESSAGE",
        ) from None


def _parsed_inside(
    behavior: Callable[[bytes, grpc.aio.ServicerContext], Awaitable[Any]],
) -> grpc.RpcMethodHandler:
    """A unary handler that gets the request's bytes and answers bytes:
    `behavior` parses and serialises, inside its own error handling."""
    return grpc.unary_unary_rpc_method_handler(
        behavior, request_deserializer=None, response_serializer=None
    )


class _CallScope:
    """One call's context (request id, caller), its error mapping and its log line."""

    __slots__ = (
        "_authorization",
        "_context",
        "_interceptor",
        "_method",
        "_principal_token",
        "_request_token",
        "_started",
        "code",
    )

    def __init__(
        self, interceptor: CallInterceptor, method: str, context: grpc.aio.ServicerContext
    ) -> None:
        request_id = authorization = None
        for key, value in context.invocation_metadata() or ():
            if isinstance(value, str):  # binary (-bin) values are bytes
                if key == REQUEST_ID_HEADER:
                    request_id = value
                elif key == "authorization":
                    authorization = value
        self._interceptor = interceptor
        self._method = method
        self._context = context
        self._request_token = request_id_var.set(request_id or new_request_id())
        self._started = time.perf_counter()
        self.code = grpc.StatusCode.OK
        self._authorization = authorization
        self._principal_token: contextvars.Token[Principal] | None = None

    def verify(self) -> None:
        """Verifies the caller and binds it until `finish` (a plain method, not
        a context manager: a generator per call cost more than the check)."""
        interceptor = self._interceptor
        principal = interceptor._verifier.verify(bearer_token(self._authorization))
        interceptor._authorize(self._method, principal)
        self._principal_token = principal_var.set(principal)

    async def failed(self, error: BaseException) -> None:
        """Maps a domain error to its status, records how the call ended, and
        re-raises what is not ours to map (cancellation, an abort)."""
        context = self._context
        if isinstance(error, DomainError):
            self.code = status_code(error)
            await abort_with_error(context, error, self._interceptor._domain)
        elif isinstance(error, asyncio.CancelledError | grpc.aio.AbortError | GeneratorExit):
            self.code = context.code() or grpc.StatusCode.CANCELLED  # type: ignore[assignment]
            raise error
        elif isinstance(error, Exception):
            self.code = grpc.StatusCode.INTERNAL
            log.error("unhandled error in %s", self._method, exc_info=error)
            await context.abort(grpc.StatusCode.INTERNAL, "internal error")
        else:
            raise error

    def finish(self) -> None:
        level = logging.DEBUG if self.code is grpc.StatusCode.OK else logging.INFO
        if log.isEnabledFor(level):
            log.log(
                level,
                "rpc",
                extra={
                    "method": self._method,
                    "code": self.code.name,
                    "ms": round((time.perf_counter() - self._started) * 1000, 2),
                    # On the record itself, so every handler sees it.
                    "request_id": request_id_var.get(),
                },
            )
        # A streaming call may be finalised in another context: ValueError.
        if self._principal_token is not None:
            with contextlib.suppress(ValueError):
                principal_var.reset(self._principal_token)
        with contextlib.suppress(ValueError):
            request_id_var.reset(self._request_token)


@dataclass
class ServiceSpec:
    """What a service contributes to its server."""

    name: str
    error_domain: str
    # Full names (`flowpilot.fixes.v1.FixesService`) for health and reflection.
    service_names: Sequence[str]
    register: Callable[[grpc.aio.Server], None]
    internal_methods: frozenset[str] = frozenset()
    # Run after health says NOT_SERVING, before in-flight calls get their
    # grace period: end what would never finish by itself (open streams).
    on_drain: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Run after the server stopped taking calls (close pools, stop workers).
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Services this one calls (full name → its channel), reported in health
    # as `dependency:<full name>`.
    dependencies: Mapping[str, grpc.aio.Channel] = field(default_factory=dict)
    # Does the service's database answer (`UnitOfWork.probe`)? True, False,
    # or None for "cannot tell now" (every connection busy).
    database: Callable[[float], Awaitable[bool | None]] | None = None


class _GenericRegistrar:
    """A server as the generated `add_*Servicer_to_server` functions see it,
    keeping only their generic handlers (see `generic_registrar`)."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, grpc.RpcMethodHandler]
    ) -> None:
        """Dropped: the same handlers were added as a generic handler just before."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)


def generic_registrar(server: grpc.aio.Server) -> grpc.aio.Server:
    """`server`, for registering services as generic handlers only.

    The generated `add_*Servicer_to_server` register each service twice: as a
    generic handler and as "registered methods". grpc.aio's server keeps one
    pending call request per registered method and, for every call that
    arrives, waits on all of them again (`asyncio.wait`: a done-callback added
    to and removed from each), so each RPC cost more the more methods a
    server had: 30 methods, about 15 us of CPU per call. With generic
    handlers alone there is one pending request, and the method is a dict
    lookup."""
    return cast(grpc.aio.Server, _GenericRegistrar(server))


class GrpcServer:
    def __init__(
        self,
        spec: ServiceSpec,
        settings: Settings,
        *,
        host: str | None = None,
        port: int = 0,
        verifier: TokenVerifier | None = None,
    ) -> None:
        self.spec = spec
        self._settings = settings
        self._address = f"{host or settings.bind_host}:{port}"
        self._verifier = verifier or TokenVerifier(settings)
        self._server: grpc.aio.Server | None = None
        self._health = health.aio.HealthServicer()
        self._stopped = asyncio.Event()
        self._watchers: list[asyncio.Task[None]] = []
        self.port = 0

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> int:
        max_age_ms = int(self._settings.grpc_max_connection_age_seconds * 1000)
        server = grpc.aio.server(
            interceptors=[
                # Spans, then metrics, outermost: they see the status the caller gets.
                *tracing.server_interceptors(),
                *metrics.server_interceptors(),
                CallInterceptor(
                    self._verifier,
                    error_domain=self.spec.error_domain,
                    internal_methods=self.spec.internal_methods,
                ),
            ],
            options=[
                ("grpc.so_reuseport", 0),
                ("grpc.http2.bdp_probe", 0),  # as on our channels (open_channel)
                ("grpc.max_connection_age_ms", max_age_ms),
                (
                    "grpc.max_connection_age_grace_ms",
                    int(self._settings.shutdown_grace_seconds * 1000),
                ),
                ("grpc.keepalive_permit_without_calls", 1),
                ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
            ],
        )
        registrar = generic_registrar(server)
        self.spec.register(registrar)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, registrar)
        names = [*self.spec.service_names, health.SERVICE_NAME, reflection.SERVICE_NAME]
        reflection.enable_server_reflection(names, registrar)
        self.port = server.add_insecure_port(self._address)
        if self.port == 0:
            raise RuntimeError(f"could not bind {self._address}")
        await server.start()
        self._server = server
        await self._set_health(health_pb2.HealthCheckResponse.SERVING)
        for name, channel in self.spec.dependencies.items():
            await self._health.set(
                dependency_health_name(name), health_pb2.HealthCheckResponse.NOT_SERVING
            )
            self._watchers.append(asyncio.create_task(self._watch_dependency(name, channel)))
        if self.spec.database is not None:
            self._watchers.append(asyncio.create_task(self._watch_database(self.spec.database)))
        log.info(
            "serving",
            extra={"grpc_service": self.spec.name, "address": self._address, "port": self.port},
        )
        return self.port

    async def _set_health(self, status: int) -> None:
        await self._health.set("", status)
        for name in self.spec.service_names:
            await self._health.set(name, status)

    async def _watch_database(self, probe: Callable[[float], Awaitable[bool | None]]) -> None:
        """The service's own health entries follow its database: NOT_SERVING
        from the first probe it does not answer, SERVING again from the first
        it does. One cheap probe per interval, never one per call."""
        interval = self._settings.db_health_interval_seconds
        # A probe waits at most this long for `SELECT 1` (the connect timeout
        # bounds reaching the database first).
        timeout = max(0.5, min(interval, 2.0))
        serving = True
        status = health_pb2.HealthCheckResponse
        while True:
            try:
                answered = await probe(timeout)
            except Exception:  # a probe must never end the watch
                log.exception("database probe failed unexpectedly")
                answered = False
            if answered is not None:
                metrics.DB_UP.set(1 if answered else 0)
            if answered is not None and answered != serving:
                serving = answered
                for name in self.spec.service_names:
                    await self._health.set(name, status.SERVING if serving else status.NOT_SERVING)
                log.log(
                    logging.INFO if serving else logging.WARNING,
                    "database answers" if serving else "database does not answer",
                    extra={"grpc_service": self.spec.name},
                )
            await asyncio.sleep(interval)

    async def _watch_dependency(self, name: str, channel: grpc.aio.Channel) -> None:
        """Reports the channel to `name` as the health of `dependency:<name>`:
        SERVING once connected, NOT_SERVING while it cannot connect. While it
        reconnects (IDLE, CONNECTING: a GOAWAY, a new replica) the last report
        stands. Asking for the state keeps the channel connecting."""
        connectivity = grpc.ChannelConnectivity
        serving = False
        while True:
            state = channel.get_state(try_to_connect=True)
            if state is connectivity.READY:
                now = True
            elif state in (connectivity.TRANSIENT_FAILURE, connectivity.SHUTDOWN):
                now = False
            else:
                now = serving
            if now != serving:
                serving = now
                status = health_pb2.HealthCheckResponse
                await self._health.set(
                    dependency_health_name(name), status.SERVING if now else status.NOT_SERVING
                )
                log.log(
                    logging.INFO if now else logging.WARNING,
                    "dependency reachable" if now else "dependency unreachable",
                    extra={"grpc_service": self.spec.name, "dependency": name},
                )
            if state is connectivity.SHUTDOWN:
                return
            await channel.wait_for_state_change(state)

    async def stop(self, grace: float | None = None) -> None:
        """Graceful: NOT_SERVING first, then in-flight calls get `grace` seconds."""
        if self._server is None or self._stopped.is_set():
            return
        self._stopped.set()
        for watcher in self._watchers:
            watcher.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)
        await self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        for drain in self.spec.on_drain:
            await drain()
        await self._server.stop(self._settings.shutdown_grace_seconds if grace is None else grace)
        for callback in self.spec.on_stop:
            await callback()
        log.info("stopped", extra={"grpc_service": self.spec.name})


def run_server(main: Coroutine[Any, Any, None]) -> None:
    """Runs a server process's main coroutine on uvloop, the event loop the
    gateway runs on too (uvicorn's): its loop, transports and timers are C,
    where asyncio's are Python on the hot path of every call."""
    import uvloop

    uvloop.run(main)


async def serve_until_signalled(
    server: GrpcServer, on_started: Callable[[int], None] | None = None
) -> None:
    """Runs `server` until SIGTERM or SIGINT, then stops it gracefully."""
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_requested.set)
    port = await server.start()
    freeze_startup_heap()
    if on_started is not None:
        on_started(port)
    await stop_requested.wait()
    await server.stop()


def retry_service_config(
    service_names: Sequence[str], *, methods: Sequence[str] | None = None
) -> str:
    """A channel service config: round_robin, and retries on UNAVAILABLE.

    Retries cover every method of `service_names` when `methods` is None, else
    exactly those full method names (`Service/Method`): none when it is empty.
    """
    import json

    config: dict[str, Any] = {"loadBalancingConfig": [{"round_robin": {}}]}
    if methods is None:
        names = [{"service": s} for s in service_names]
    else:
        names = [{"service": m.split("/")[0], "method": m.split("/")[1]} for m in methods]
    if names:
        config["methodConfig"] = [
            {
                "name": names,
                "retryPolicy": {
                    "maxAttempts": 3,
                    "initialBackoff": "0.05s",
                    "maxBackoff": "0.5s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    return json.dumps(config)


# Reconnecting. gRPC's defaults (first retry after 1 s, then x1.6 up to 120 s)
# left a process failing for seconds after its peer was back (issue 9: 3.4 s
# for inline creates, 5.9 s for /readyz). Retrying a refused connection is
# cheap, so: the first retry after 100 ms, then never more than 500 ms apart
# (plus gRPC's 20 % jitter), so a process resumes well within 1 s of its
# peer serving again.
INITIAL_RECONNECT_BACKOFF_MS = 100
MAX_RECONNECT_BACKOFF_MS = 500
# The least time one connection attempt is given (gRPC's default is 20 s): a
# peer that swallows the SYN (a pod IP gone) is given up on and retried
# after 2 s instead of 20.
MIN_CONNECT_TIMEOUT_MS = 2_000
# How often a `dns:///` target may be re-resolved after a failure (gRPC's
# default is 30 s): a replaced replica's new address is found within seconds.
DNS_MIN_RERESOLUTION_MS = 1_000


def open_channel(
    target: str, *, service_config: str | None = None, own_subchannels: bool = False
) -> grpc.aio.Channel:
    """One long-lived channel per target; share it for the process's life.

    Calls on it should pass `wait_for_ready=True` with a deadline: a call
    made while the channel (re)connects then waits for it, within its
    deadline, instead of failing at once.

    `own_subchannels`: connections of its own rather than gRPC's process-wide
    pool. For a channel that dials a peer before the peer is up (its backoff
    would otherwise be every other channel's to that address: in a process
    holding several servers, as the tests do)."""
    options: list[tuple[str, Any]] = [
        ("grpc.enable_retries", 1),
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.keepalive_permit_without_calls", 1),
        # No bandwidth-delay probing: our messages are small, and each probe
        # is a PING and its ACK, extra writes and wake-ups on both ends.
        ("grpc.http2.bdp_probe", 0),
        ("grpc.initial_reconnect_backoff_ms", INITIAL_RECONNECT_BACKOFF_MS),
        ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS),
        ("grpc.min_reconnect_backoff_ms", MIN_CONNECT_TIMEOUT_MS),
        ("grpc.dns_min_time_between_resolutions_ms", DNS_MIN_RERESOLUTION_MS),
    ]
    if service_config:
        options.append(("grpc.service_config", service_config))
    if own_subchannels:
        options.append(("grpc.use_local_subchannel_pool", 1))
    return metrics.metered_insecure_channel(
        target, options=options, interceptors=tracing.client_interceptors()
    )
