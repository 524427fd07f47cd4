"""Prometheus metrics every process exports, and the endpoint that serves them.

Each process serves `/metrics` on a port of its own (`FLOWPILOT_FIXES_METRICS_PORT`,
`FLOWPILOT_SCRIPTBUILDER_METRICS_PORT`, `FLOWPILOT_GATEWAY_METRICS_PORT`; `0`
turns it off), apart from its public HTTP or gRPC port, so a scrape never
competes with API traffic for the event loop and the network policy can admit
Prometheus to that port only.

What is measured here (the services add their product counters):

* gRPC, server and client side, the go-grpc-prometheus names:
  `grpc_{server,client}_started_total`, `..._handled_total` and the latency
  histogram `..._handling_seconds`, by service, method, call type and status
  code (histogram included: the latency objectives are per code class);
* `flowpilot_inflight_requests`: calls (services) or HTTP requests
  (gateway) being handled now; the `autoscaling-inflight` component scales on
  it. Live-update subscriptions (`Watch...` streams, `...:watch` event
  streams) are not requests in flight (they would pin the HPA high): they are
  `flowpilot_live_update_subscribers`;
* the database: pool size, connections checked out and overflow (read when
  scraped), the wait for a pooled connection, statement latency by operation,
  and errors by kind (`flowpilot_db_*`).

Labels are bounded by construction: method names come from the protos, HTTP
routes are templates, codes are enum names; never an id or a raw path. The hot
path does no `labels()` lookup: each (method, code) child is looked up once
and cached in a plain dict (the process is one event loop, so the cache needs
no lock; prometheus-client's own per-value lock is uncontended).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Sequence
from typing import Any

import grpc
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from flowpilot.runtime.interceptors import WrappingInterceptor

log = logging.getLogger("flowpilot.metrics")

# Latency buckets (seconds) for calls and requests: the objectives are 250 ms
# and 1 s (deploy/README.md), so both are bucket bounds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Waiting for a pooled connection is normally microseconds.
POOL_WAIT_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
STATEMENT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)

_GRPC_LABELS = ("grpc_type", "grpc_service", "grpc_method")

GRPC_SERVER_STARTED = Counter(
    "grpc_server_started_total", "RPCs started on the server.", _GRPC_LABELS
)
GRPC_SERVER_HANDLED = Counter(
    "grpc_server_handled_total",
    "RPCs completed on the server, by status code.",
    (*_GRPC_LABELS, "grpc_code"),
)
GRPC_SERVER_HANDLING = Histogram(
    "grpc_server_handling_seconds",
    "Time the server took to handle an RPC, by status code.",
    (*_GRPC_LABELS, "grpc_code"),
    buckets=LATENCY_BUCKETS,
)
GRPC_CLIENT_STARTED = Counter(
    "grpc_client_started_total", "RPCs started by this process as a client.", _GRPC_LABELS
)
GRPC_CLIENT_HANDLED = Counter(
    "grpc_client_handled_total",
    "RPCs this process made that completed, by status code.",
    (*_GRPC_LABELS, "grpc_code"),
)
GRPC_CLIENT_HANDLING = Histogram(
    "grpc_client_handling_seconds",
    "Time from starting an RPC to its status, as this process's client saw it.",
    (*_GRPC_LABELS, "grpc_code"),
    buckets=LATENCY_BUCKETS,
)
INFLIGHT = Gauge(
    "flowpilot_inflight_requests",
    "Requests being handled now (unary gRPC calls in a service, HTTP requests "
    "in the gateway); long-lived streams are not counted.",
)
LIVE_UPDATE_SUBSCRIBERS = Gauge(
    "flowpilot_live_update_subscribers",
    "Open live-update streams (server-streaming gRPC calls; SSE at the gateway).",
    ("stream",),
)
DB_POOL_WAIT = Histogram(
    "flowpilot_db_pool_wait_seconds",
    "Time a unit of work waited for a pooled database connection.",
    ("database",),
    buckets=POOL_WAIT_BUCKETS,
)
DB_STATEMENT = Histogram(
    "flowpilot_db_statement_duration_seconds",
    "Time PostgreSQL took to answer one statement, by its first keyword.",
    ("database", "operation"),
    buckets=STATEMENT_BUCKETS,
)
DB_UP = Gauge(
    "flowpilot_db_up",
    "1 while the service's database answers its health probe (every "
    "FLOWPILOT_DB_HEALTH_INTERVAL_SECONDS), 0 while it does not.",
)
# The reasons flowpilot.runtime.uow gives; exported at 0 from the start, so a
# rate over them is 0, not absent, until the first fault.
DB_FAULT_REASONS = (
    "DATABASE_UNAVAILABLE",
    "DATABASE_BUSY",
    "DATABASE_TIMEOUT",
    "RESOURCE_BUSY",
    "SCHEMA_CHANGED",
)
DB_FAULTS = Counter(
    "flowpilot_db_faults_total",
    "Calls refused because of the database, by the reason the caller gets "
    f"({', '.join(DB_FAULT_REASONS)}).",
    ("reason",),
)
for _reason in DB_FAULT_REASONS:
    DB_FAULTS.labels(_reason)
DB_ERRORS = Counter(
    "flowpilot_db_errors_total",
    "Database errors: kind=connection (the server could not be reached or "
    "dropped the connection) or statement (the statement failed).",
    ("database", "kind"),
)


# --- the endpoint ---------------------------------------------------------------


def serve_metrics(host: str, port: int) -> int | None:
    """Serves the default registry on `host:port` (a daemon thread); 0 turns
    it off. Returns the bound port, or None when off or the port is taken:
    metrics are not worth refusing traffic for, so that is logged, not fatal."""
    if port == 0:
        return None
    try:
        server, _ = start_http_server(port, addr=host)
    except OSError as exc:
        log.error("metrics endpoint not served on %s:%s: %s", host, port, exc.strerror)
        return None
    bound = int(server.server_address[1])
    log.info("metrics", extra={"address": f"{host}:{bound}", "path": "/metrics"})
    return bound


# --- gRPC -----------------------------------------------------------------------

_CallType = str
UNARY = "unary"
SERVER_STREAM = "server_stream"
# Server-streaming methods named Watch... are live-update subscriptions.
WATCH_PREFIX = "Watch"


class _MethodSeries:
    """The children of one method's series, looked up once."""

    __slots__ = ("_handled", "_handling", "_labels", "started")

    def __init__(
        self, started: Counter, handled: Counter, handling: Histogram, labels: tuple[str, ...]
    ) -> None:
        self._labels = labels
        self.started = started.labels(*labels)
        self._handled: dict[grpc.StatusCode, tuple[Any, Any]] = {}
        self._handling = (handled, handling)

    def done(self, code: grpc.StatusCode, seconds: float) -> None:
        children = self._handled.get(code)
        if children is None:
            handled, handling = self._handling
            children = (
                handled.labels(*self._labels, code.name),
                handling.labels(*self._labels, code.name),
            )
            self._handled[code] = children
        children[0].inc()
        children[1].observe(seconds)


def _split_method(full_method: str) -> tuple[str, str]:
    """`/pkg.Service/Method` → (`pkg.Service`, `Method`)."""
    service, _, method = full_method.lstrip("/").partition("/")
    return service, method


class _SeriesCache:
    def __init__(self, started: Counter, handled: Counter, handling: Histogram) -> None:
        self._metrics = (started, handled, handling)
        self._by_method: dict[tuple[str, str], _MethodSeries] = {}

    def get(self, full_method: str | bytes, call_type: _CallType) -> _MethodSeries:
        if isinstance(full_method, bytes):
            full_method = full_method.decode()
        series = self._by_method.get((full_method, call_type))
        if series is None:
            series = _MethodSeries(*self._metrics, (call_type, *_split_method(full_method)))
            self._by_method[(full_method, call_type)] = series
        return series


_SERVER_SERIES = _SeriesCache(GRPC_SERVER_STARTED, GRPC_SERVER_HANDLED, GRPC_SERVER_HANDLING)
_CLIENT_SERIES = _SeriesCache(GRPC_CLIENT_STARTED, GRPC_CLIENT_HANDLED, GRPC_CLIENT_HANDLING)


def _server_code(context: grpc.aio.ServicerContext) -> grpc.StatusCode:
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code
    return grpc.StatusCode.OK if code is None else grpc.StatusCode.UNKNOWN


class ServerMetricsInterceptor(WrappingInterceptor):
    """Counts and times every call the server handles, by method and code.

    Outermost (before the call interceptor that maps domain errors), so the
    code is the one the client receives. Calls are requests in flight, but
    for live-update subscriptions (server-streaming `Watch...` methods),
    which are subscribers instead."""

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _observed_unary(handler.unary_unary, _SERVER_SERIES.get(method, UNARY)),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            series = _SERVER_SERIES.get(method, SERVER_STREAM)
            name = _split_method(str(method))[1]
            # WatchX streams are subscriptions; other streams (a streamed
            # answer) are requests in flight until they end.
            gauge = (
                LIVE_UPDATE_SUBSCRIBERS.labels(name) if name.startswith(WATCH_PREFIX) else INFLIGHT
            )
            return grpc.unary_stream_rpc_method_handler(
                _observed_stream(handler.unary_stream, series, gauge),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


def _observed_unary(inner: Callable[..., Any], series: _MethodSeries) -> Callable[..., Any]:
    async def behavior(request: Any, context: grpc.aio.ServicerContext) -> Any:
        series.started.inc()
        INFLIGHT.inc()
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        try:
            response = await inner(request, context)
            code = _server_code(context)
            return response
        except BaseException as exc:
            code = _server_code(context)
            if code is grpc.StatusCode.OK:
                cancelled = isinstance(exc, asyncio.CancelledError)
                code = grpc.StatusCode.CANCELLED if cancelled else grpc.StatusCode.UNKNOWN
            raise
        finally:
            INFLIGHT.dec()
            series.done(code, time.perf_counter() - started)

    return behavior


def _observed_stream(
    inner: Callable[..., Any], series: _MethodSeries, open_streams: Gauge
) -> Callable[..., Any]:
    async def behavior(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        series.started.inc()
        open_streams.inc()
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        try:
            result = inner(request, context)
            if hasattr(result, "__aiter__"):
                async for message in result:
                    yield message
            else:  # a handler that writes with context.write() and returns
                await result
            code = _server_code(context)
        except BaseException as exc:
            code = _server_code(context)
            if code is grpc.StatusCode.OK:
                cancelled = isinstance(exc, GeneratorExit | asyncio.CancelledError)
                code = grpc.StatusCode.CANCELLED if cancelled else grpc.StatusCode.UNKNOWN
            raise
        finally:
            open_streams.dec()
            series.done(code, time.perf_counter() - started)

    return behavior


class _MeteredUnaryUnary:
    """A unary multicallable that counts and times its calls, by method and
    code. Not an interceptor: with one, grpc.aio runs every call behind an
    extra task of its own (measured: 15-40 us of CPU per call)."""

    __slots__ = ("_inner", "_series")

    def __init__(self, inner: grpc.aio.UnaryUnaryMultiCallable, series: _MethodSeries) -> None:
        self._inner = inner
        self._series = series

    def __call__(self, request: Any, **kwargs: Any) -> _MeteredCall:
        return _MeteredCall(self._inner(request, **kwargs), self._series)


class _MeteredCall:
    """The call, as the caller would have it; awaiting it records how it ended."""

    __slots__ = ("_call", "_series", "_started")

    def __init__(self, call: grpc.aio.UnaryUnaryCall, series: _MethodSeries) -> None:
        series.started.inc()
        self._call = call
        self._series = series
        self._started = time.perf_counter()

    def __await__(self) -> Generator[Any, None, Any]:
        code = grpc.StatusCode.CANCELLED
        try:
            response = yield from self._call.__await__()
            code = grpc.StatusCode.OK
            return response
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            raise
        finally:
            self._series.done(code, time.perf_counter() - self._started)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._call, name)


class MeteredChannel(grpc.aio._channel.Channel):
    """A channel whose unary calls are counted and timed
    (`flowpilot_grpc_client_*`); its streams are, by `UnaryStreamClientMetrics`."""

    def unary_unary(  # type: ignore[override]
        self,
        method: str,
        request_serializer: Callable[[Any], bytes] | None = None,
        response_deserializer: Callable[[bytes], Any] | None = None,
        _registered_method: bool | None = False,
    ) -> _MeteredUnaryUnary:
        inner = super().unary_unary(
            method, request_serializer, response_deserializer, _registered_method
        )
        return _MeteredUnaryUnary(inner, _CLIENT_SERIES.get(method, UNARY))


def metered_insecure_channel(
    target: str, *, options: Sequence[tuple[str, Any]], interceptors: Sequence[Any]
) -> grpc.aio.Channel:
    """`grpc.aio.insecure_channel`, metered (`MeteredChannel`)."""
    return MeteredChannel(
        target, tuple(options), None, None, [*interceptors, *client_interceptors()]
    )


class UnaryStreamClientMetrics(grpc.aio.UnaryStreamClientInterceptor):
    """Counts and times the server-streaming calls a channel makes; the
    status is awaited beside the stream, which the caller reads meanwhile."""

    async def intercept_unary_stream(
        self,
        continuation: Callable[..., Any],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        series = _CLIENT_SERIES.get(client_call_details.method, SERVER_STREAM)
        series.started.inc()
        started = time.perf_counter()
        try:
            call = await continuation(client_call_details, request)
        except grpc.aio.AioRpcError as exc:
            series.done(exc.code(), time.perf_counter() - started)
            raise

        async def record() -> None:
            try:
                code = await call.code()
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED
            series.done(code, time.perf_counter() - started)

        task = asyncio.ensure_future(record())
        _PENDING.add(task)
        task.add_done_callback(_PENDING.discard)
        return call


# Tasks awaiting a stream's status (kept referenced until they finish).
_PENDING: set[asyncio.Future[None]] = set()


def client_interceptors() -> list[grpc.aio.ClientInterceptor]:
    """Stream metrics; a `MeteredChannel` meters its unary calls itself."""
    return [UnaryStreamClientMetrics()]


def server_interceptors() -> list[grpc.aio.ServerInterceptor]:
    return [ServerMetricsInterceptor()]


# --- the database ---------------------------------------------------------------

_OPERATIONS = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"})


def statement_operation(statement: str) -> str:
    """The statement's first keyword if it is a common one, else OTHER (bounded)."""
    head = statement.lstrip()[:6].upper()
    for operation in _OPERATIONS:
        if head.startswith(operation):
            return operation
    return "OTHER"


class _PoolCollector(Collector):
    """Pool size, connections in use and overflow, read when scraped (so the
    hot path pays nothing for them)."""

    def __init__(self) -> None:
        self._engines: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()

    def track(self, database: str, engine: Any) -> None:
        self._engines[database] = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        size = GaugeMetricFamily(
            "flowpilot_db_pool_size", "Connections the pool keeps.", labels=["database"]
        )
        limit = GaugeMetricFamily(
            "flowpilot_db_pool_max_connections",
            "The most connections the pool opens (size + overflow).",
            labels=["database"],
        )
        in_use = GaugeMetricFamily(
            "flowpilot_db_pool_checked_out",
            "Connections checked out of the pool (in use) now.",
            labels=["database"],
        )
        opened = GaugeMetricFamily(
            "flowpilot_db_pool_open_connections",
            "Connections the pool holds open now (idle and in use).",
            labels=["database"],
        )
        for database, engine in list(self._engines.items()):
            pool = engine.pool
            if not hasattr(pool, "checkedout"):
                continue
            pool_size = pool.size()
            size.add_metric([database], pool_size)
            limit.add_metric([database], pool_size + max(pool._max_overflow, 0))
            in_use.add_metric([database], pool.checkedout())
            opened.add_metric([database], pool.checkedin() + pool.checkedout())
        yield from (size, limit, in_use, opened)


POOL_COLLECTOR = _PoolCollector()
REGISTRY.register(POOL_COLLECTOR)


def observe_engine(engine: Any, database: str) -> None:
    """Statement latency, errors and pool gauges for an async engine's pool."""
    from sqlalchemy import event

    sync_engine = engine.sync_engine
    POOL_COLLECTOR.track(database, sync_engine)
    by_operation = {op: DB_STATEMENT.labels(database, op) for op in (*_OPERATIONS, "OTHER")}
    connection_errors = DB_ERRORS.labels(database, "connection")
    statement_errors = DB_ERRORS.labels(database, "statement")

    @event.listens_for(sync_engine, "connect")
    def _named(dbapi_connection: Any, record: Any) -> None:
        record.info[DATABASE_INFO_KEY] = database

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _started(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info["flowpilot_statement_started"] = time.perf_counter()

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _finished(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        started = conn.info.pop("flowpilot_statement_started", None)
        if started is not None:
            by_operation[statement_operation(statement)].observe(time.perf_counter() - started)

    @event.listens_for(sync_engine, "handle_error")
    def _failed(context: Any) -> None:
        # Only counts: the failed statement's connection may be invalid by now,
        # and touching it here (its `info`) raises inside SQLAlchemy's error
        # handling, which then never returns the connection to the pool. The
        # start time left behind is overwritten by the next statement's.
        if context.is_disconnect or context.connection is None:
            connection_errors.inc()
        else:
            statement_errors.inc()


DATABASE_INFO_KEY = "flowpilot_database"


class DriverStatement:
    """Measures (and, while tracing is on, spans) a statement run on an
    asyncpg connection directly (both services' hot paths), which SQLAlchemy's
    events do not see, under the database's name. A class, not a generator:
    it runs on every request of the hot path."""

    __slots__ = ("_series", "_span", "_started")

    def __init__(self, database: str, statement: str) -> None:
        from flowpilot.runtime import tracing

        self._series = _statement_series(database, statement)
        self._span = (
            tracing.database_span(database, self._series[1], statement)
            if tracing.tracing_enabled()
            else None
        )

    def __enter__(self) -> None:
        if self._span is not None:
            self._span.__enter__()
        self._started = time.perf_counter()

    def __exit__(self, *exc_info: object) -> None:
        self._series[0].observe(time.perf_counter() - self._started)
        if self._span is not None:
            self._span.__exit__(*exc_info)


_STATEMENT_SERIES: dict[tuple[str, str], tuple[Any, str]] = {}


def _statement_series(database: str, statement: str) -> tuple[Any, str]:
    """The histogram child of (database, the statement's operation), and the
    operation; kept per statement text (the hot paths run a few, constant ones)."""
    key = (database, statement)
    found = _STATEMENT_SERIES.get(key)
    if found is None:
        operation = statement_operation(statement)
        found = (DB_STATEMENT.labels(database, operation), operation)
        if len(_STATEMENT_SERIES) < 10_000:  # a bound, should texts ever vary
            _STATEMENT_SERIES[key] = found
    return found


def counting_connection_failures(
    connect: Callable[[], Awaitable[Any]], database: str
) -> Callable[[], Awaitable[Any]]:
    """`connect` (an engine's creator), counting the attempts that fail (the
    server down, refusing, or unreachable): SQLAlchemy's error events do not
    see them, the creator being our own."""
    failures = DB_ERRORS.labels(database, "connection")

    async def counted() -> Any:
        try:
            return await connect()
        except asyncio.CancelledError:
            raise
        except BaseException:
            failures.inc()
            raise

    return counted


def observed_pool_class(base: type, database: str) -> type:
    """`base` (a QueuePool class) timing the wait for a connection. A class per
    database, because a pool re-creates itself (dispose) from its class."""
    wait = DB_POOL_WAIT.labels(database)

    def _do_get(self: Any) -> Any:
        started = time.perf_counter()
        try:
            return base._do_get(self)  # type: ignore[attr-defined]
        finally:
            wait.observe(time.perf_counter() - started)

    return type(f"Observed{base.__name__}", (base,), {"_do_get": _do_get})
