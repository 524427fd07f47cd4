"""The observability pieces as pure code: the gateway's HTTP metrics
middleware on a stub ASGI app, bounded statement labels, and the trace id in
JSON log lines."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY
from starlette.routing import Route

from flowpilot.runtime import tracing
from flowpilot.runtime.logging import JsonFormatter
from flowpilot.runtime.metrics import statement_operation
from gateway.observability import HttpMetrics

TEMPLATE = "/api/v1/things/{thing_id}"
WATCH = "/api/v1/things/{thing_id}/events:watch"


async def _endpoint(request: Any) -> None:  # never called: the stub app answers
    raise AssertionError


async def _watch(request: Any) -> None:
    raise AssertionError


ROUTES = [Route(TEMPLATE, _endpoint), Route(WATCH, _watch)]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def stub_app(
    content_type: bytes, gate: asyncio.Event | None = None, fail: bool = False, endpoint: Any = None
) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope["endpoint"] = endpoint or _endpoint  # what the router leaves in the scope
        if fail:
            raise RuntimeError("boom")
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", content_type)],
            }
        )
        if gate is not None:
            await gate.wait()
        await send({"type": "http.response.body", "body": b"{}"})

    return app


async def request(
    app: Any, path: str = "/api/v1/things/0b6f2a4e-aaaa-bbbb-cccc-123456789abc"
) -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        return None

    scope = {"type": "http", "method": "GET", "path": path, "headers": []}
    await app(scope, receive, send)


async def test_requests_are_counted_by_route_template_and_status() -> None:
    before = sample("flowpilot_http_requests_total", method="GET", route=TEMPLATE, status="200")
    await request(HttpMetrics(stub_app(b"application/json"), routes=lambda: ROUTES))
    after = sample("flowpilot_http_requests_total", method="GET", route=TEMPLATE, status="200")
    assert after == before + 1
    assert sample("flowpilot_inflight_requests") == 0


async def test_an_unhandled_error_counts_as_500() -> None:
    before = sample("flowpilot_http_requests_total", method="GET", route=TEMPLATE, status="500")
    with pytest.raises(RuntimeError):
        await request(HttpMetrics(stub_app(b"", fail=True), routes=lambda: ROUTES))
    assert sample("flowpilot_http_requests_total", method="GET", route=TEMPLATE, status="500") == (
        before + 1
    )
    assert sample("flowpilot_inflight_requests") == 0


async def _while_streaming(endpoint: Any) -> tuple[float, float]:
    """(subscribers, requests in flight) while an event stream is open."""
    gate = asyncio.Event()
    app = HttpMetrics(
        stub_app(b"text/event-stream", gate, endpoint=endpoint), routes=lambda: ROUTES
    )
    streaming = asyncio.create_task(request(app))
    for _ in range(100):  # until the head is out
        await asyncio.sleep(0)
    seen = (
        sample("flowpilot_live_update_subscribers", stream="sse"),
        sample("flowpilot_inflight_requests"),
    )
    gate.set()
    await streaming
    assert sample("flowpilot_live_update_subscribers", stream="sse") == 0
    assert sample("flowpilot_inflight_requests") == 0
    return seen


async def test_a_watch_stream_is_a_subscriber_not_a_request_in_flight() -> None:
    assert await _while_streaming(_watch) == (1, 0)


async def test_another_event_stream_is_a_request_in_flight_until_it_ends() -> None:
    """A streamed chat answer: work being done, not a subscription."""
    assert await _while_streaming(_endpoint) == (0, 1)


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("SELECT 1", "SELECT"),
        ("  insert into x values (1)", "INSERT"),
        ("UPDATE fixes SET", "UPDATE"),
        ("DELETE FROM x", "DELETE"),
        ("WITH upsert AS (...) SELECT", "WITH"),
        ("LOCK TABLE x", "OTHER"),
        ("SELECTED", "SELECT"),
        ("", "OTHER"),
    ],
)
def test_statement_operations_are_a_bounded_set(statement: str, operation: str) -> None:
    assert statement_operation(statement) == operation


def _line(record_message: str) -> dict[str, Any]:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, record_message, None, None)
    return json.loads(JsonFormatter("fixes").format(record))


def test_json_log_lines_carry_the_trace_id_while_a_span_is_current() -> None:
    assert "trace_id" not in _line("outside any span")
    off = tracing.use_exporter(InMemorySpanExporter())
    try:
        with tracing.tracer("test").start_as_current_span("work") as span:
            line = _line("inside")
        context = span.get_span_context()
        assert line["trace_id"] == format(context.trace_id, "032x")
        assert line["span_id"] == format(context.span_id, "016x")
    finally:
        off()


def test_every_database_fault_reason_is_exported_from_the_start() -> None:
    """The reasons the unit of work gives are the ones pre-created at 0."""
    import inspect
    import re

    from flowpilot.runtime import uow
    from flowpilot.runtime.metrics import DB_FAULT_REASONS

    given = set(re.findall(r'"((?:DATABASE|RESOURCE|SCHEMA)_[A-Z_]+)"', inspect.getsource(uow)))
    assert given == set(DB_FAULT_REASONS)
    for reason in DB_FAULT_REASONS:
        assert (
            REGISTRY.get_sample_value("flowpilot_db_faults_total", {"reason": reason}) is not None
        )
