"""OpenTelemetry traces across gateway → script-builder → fixes → PostgreSQL.

Off unless the standard `OTEL_EXPORTER_OTLP_ENDPOINT` is set: then each
process exports its spans over OTLP/gRPC (the exporter reads the other
standard `OTEL_EXPORTER_OTLP_*` variables itself), under the service name
`flowpilot-<process>` (`OTEL_SERVICE_NAME` overrides it). While off, nothing
is instrumented, so requests pay nothing for it.

Context crosses processes the W3C way (`traceparent`/`tracestate`): in HTTP
headers at the gateway, in gRPC metadata between processes. The pieces, each
added only while tracing is on:

* gRPC: the OpenTelemetry grpc-aio server interceptor (first, so the call's
  log lines carry its trace id) and client interceptors on every channel
  `open_channel` opens;
* the gateway: the ASGI middleware (one server span per request, named by
  the route template, `instrument_asgi`);
* PostgreSQL: a span per statement (SQLAlchemy engine events, `instrument_engine`).

Tests install an exporter of their own with `use_exporter` (an in-memory one)
instead of OTLP.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from opentelemetry import trace

ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"
SERVICE_NAME_VARIABLE = "OTEL_SERVICE_NAME"


class _State:
    provider: Any = None  # an SDK TracerProvider while tracing is on


_state = _State()


def tracing_enabled() -> bool:
    return _state.provider is not None


def configure_tracing(process: str) -> bool:
    """Turns tracing on for `process` when OTEL_EXPORTER_OTLP_ENDPOINT is set
    (the process entry points call it); True when on."""
    if not os.environ.get(ENDPOINT_VARIABLE):
        return False
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get(SERVICE_NAME_VARIABLE) or f"flowpilot-{process}"
    provider = _provider(name)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    _state.provider = provider
    trace.set_tracer_provider(provider)
    return True


def use_exporter(exporter: Any, service_name: str = "flowpilot") -> Callable[[], None]:
    """Turns tracing on with `exporter` (spans exported as each ends); returns
    the function that turns it off again. For tests."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = _provider(service_name)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _state.provider = provider

    def off() -> None:
        provider.shutdown()
        _state.provider = None

    return off


def _provider(service_name: str) -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    return TracerProvider(resource=Resource.create({"service.name": service_name}))


def tracer(name: str) -> trace.Tracer:
    """A tracer of the current provider (a no-op one while tracing is off)."""
    if _state.provider is None:
        return trace.NoOpTracer()
    return _state.provider.get_tracer(name)


def server_interceptors() -> list[Any]:
    if _state.provider is None:
        return []
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    return [aio_server_interceptor(tracer_provider=_state.provider)]


def client_interceptors() -> list[Any]:
    if _state.provider is None:
        return []
    from opentelemetry.instrumentation.grpc import aio_client_interceptors

    return list(aio_client_interceptors(tracer_provider=_state.provider))


def instrument_engine(engine: Any) -> None:
    """A span per statement on `engine` (an AsyncEngine) while tracing is on."""
    if _state.provider is None:
        return
    from opentelemetry.instrumentation.sqlalchemy import __version__
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpMeterProvider

    # The instrumentation's connection gauge: the pool gauges of
    # flowpilot.runtime.metrics already say that.
    unused = NoOpMeterProvider().get_meter("flowpilot").create_up_down_counter("unused")
    EngineTracer(
        _state.provider.get_tracer("opentelemetry.instrumentation.sqlalchemy", __version__),
        engine.sync_engine,
        unused,
    )


def asgi_middleware() -> tuple[type, dict[str, Any]] | None:
    """The ASGI server-span middleware and its options while tracing is on
    (for `app.add_middleware`): a span per HTTP request, its parent read from
    `traceparent`. `name_span_after_route` names it by route template."""
    if _state.provider is None:
        return None
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.metrics import NoOpMeterProvider

    options = {
        "tracer_provider": _state.provider,
        # Metrics are Prometheus' (flowpilot.runtime.metrics), not OTel's.
        "meter_provider": NoOpMeterProvider(),
        # The ASGI send/receive events as child spans would only add noise.
        "exclude_spans": ["receive", "send"],
    }
    return OpenTelemetryMiddleware, options


def name_span_after_route(method: str, route: str) -> None:
    """Names the current (HTTP server) span `METHOD /route/template` once the
    router has matched the request: the raw path would be unbounded."""
    span = trace.get_current_span()
    if span.is_recording():
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)


@contextlib.contextmanager
def database_span(database: str, operation: str, statement: str) -> Iterator[None]:
    """A client span for a statement SQLAlchemy's events do not see (run on
    the driver connection), like the engine's own spans; nothing while off."""
    if _state.provider is None:
        yield
        return
    span_tracer = _state.provider.get_tracer("flowpilot.runtime.tracing")
    attributes = {
        "db.system": "postgresql",
        "db.name": database,
        "db.operation": operation,
        "db.statement": statement,
    }
    with span_tracer.start_as_current_span(
        f"{operation} {database}", kind=trace.SpanKind.CLIENT, attributes=attributes
    ):
        yield
