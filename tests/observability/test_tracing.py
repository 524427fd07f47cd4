"""One trace for an inline get-or-create: the caller's `traceparent` → the
gateway's HTTP span → its gRPC call to the script-builder → the
script-builder's access check on the fixes service → PostgreSQL, with the
context carried over the wire (W3C `traceparent` in HTTP headers and gRPC
metadata), collected by an in-memory exporter. The three servers run
in-process on port 0 and talk over real sockets; nothing shares a context
but what the wire carries."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from flowpilot.runtime import tracing
from flowpilot.runtime.settings import Settings
from tests.conftest import serve_http
from tests.support.gateway import both_services

pytestmark = pytest.mark.e2e

SESSIONS = "/api/v1/script-builder/sessions"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    off = tracing.use_exporter(exporter)
    try:
        yield exporter
    finally:
        off()


def _rpc(spans: list[ReadableSpan], kind: SpanKind, method: str) -> ReadableSpan:
    found = [
        s for s in spans if s.kind is kind and (s.attributes or {}).get("rpc.method") == method
    ]
    assert len(found) == 1, f"{kind.name} {method}: {[s.name for s in spans]}"
    return found[0]


def _is_database(span: ReadableSpan) -> bool:
    attributes = span.attributes or {}
    system = attributes.get("db.system") or attributes.get("db.system.name")
    return span.kind is SpanKind.CLIENT and system == "postgresql"


def _child_of(child: ReadableSpan, parent: ReadableSpan, *, remote: bool) -> None:
    assert child.parent is not None, child.name
    assert child.parent.span_id == parent.context.span_id, f"{child.name} under {parent.name}"
    assert child.parent.is_remote is remote, child.name


def _under(span: ReadableSpan, ancestor: ReadableSpan, spans: list[ReadableSpan]) -> bool:
    by_id = {s.context.span_id: s for s in spans}
    current: ReadableSpan | None = span
    while current is not None and current.parent is not None:
        if current.parent.span_id == ancestor.context.span_id:
            return True
        current = by_id.get(current.parent.span_id)
    return False


@pytest.fixture
async def api(
    exporter: InMemorySpanExporter,
    settings: Settings,
    fixes_db_url: str,
    scriptbuilder_db_url: str,
    make_token,
) -> AsyncIterator[httpx.AsyncClient]:
    """The three servers, traced, and a client of the gateway."""
    from fixes_service.main import create_server as create_fixes
    from gateway.app import create_app
    from scriptbuilder_service.main import create_server as create_scriptbuilder

    fixes = await create_fixes(settings, database_url=fixes_db_url)
    await fixes.start()
    scriptbuilder = await create_scriptbuilder(
        settings,
        database_url=scriptbuilder_db_url,
        fixes_target=fixes.target,
        run_proposal_relay=False,
    )
    await scriptbuilder.start()
    app = create_app(settings, both_services(fixes.target, scriptbuilder.target))
    try:
        async with (
            serve_http(app) as url,
            httpx.AsyncClient(
                base_url=url, headers={"authorization": f"Bearer {make_token()}"}, timeout=30
            ) as client,
        ):
            yield client
    finally:
        await scriptbuilder.stop(0)
        await fixes.stop(0)


def _traceparent() -> tuple[str, str, dict[str, str]]:
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, caller_span, {"traceparent": f"00-{trace_id}-{caller_span}-01"}


async def test_an_inline_get_or_create_is_one_trace_across_the_three_processes(
    exporter: InMemorySpanExporter, api: httpx.AsyncClient
) -> None:
    ai = await api.post("/api/v1/ai-sessions", json={"title": "Printer offline"})
    assert ai.status_code == 201, ai.text
    trace_id, caller_span, headers = _traceparent()
    exporter.clear()
    created = await api.post(
        SESSIONS,
        json={"origin": "pilot_inline", "ai_session_id": ai.json()["id"]},
        headers=headers,
    )
    assert created.status_code == 201, created.text

    spans = list(exporter.get_finished_spans())
    # One trace: the caller's, and every span of the request is in it.
    assert {format(s.context.trace_id, "032x") for s in spans} == {trace_id}

    (http,) = [s for s in spans if s.kind is SpanKind.SERVER and s.name.startswith("POST")]
    assert http.name == f"POST {SESSIONS}"
    assert http.parent is not None and format(http.parent.span_id, "016x") == caller_span
    # gateway → script-builder, over gRPC metadata.
    create_call = _rpc(spans, SpanKind.CLIENT, "CreateSession")
    create_served = _rpc(spans, SpanKind.SERVER, "CreateSession")
    assert _under(create_call, http, spans)
    _child_of(create_served, create_call, remote=True)
    # script-builder → fixes (may the caller use the AI session?).
    access_call = _rpc(spans, SpanKind.CLIENT, "CheckAiSessionAccess")
    access_served = _rpc(spans, SpanKind.SERVER, "CheckAiSessionAccess")
    assert _under(access_call, create_served, spans)
    _child_of(access_served, access_call, remote=True)
    # → PostgreSQL, in both services: the access check's read in the fixes
    # database, the get-or-create's statement in the script-builder's.
    database = [s for s in spans if _is_database(s)]
    assert any(_under(s, access_served, spans) for s in database), [s.name for s in database]
    assert any(
        _under(s, create_served, spans) and not _under(s, access_served, spans) for s in database
    ), [s.name for s in database]
    assert all(s.end_time is not None and s.end_time <= http.end_time for s in database)


async def test_the_fixes_hot_path_statements_are_spans_too(
    exporter: InMemorySpanExporter, api: httpx.AsyncClient
) -> None:
    """PATCH .../script runs on the driver connection, which SQLAlchemy's
    events do not see: its statements still appear under the call."""
    ai = (await api.post("/api/v1/ai-sessions", json={"title": "VPN"})).json()
    fixes = f"/api/v1/ai-sessions/{ai['id']}/suggested-fixes"
    fix = (await api.post(fixes, json={"title": "Renew", "script_language": "bash"})).json()
    trace_id, _, headers = _traceparent()
    exporter.clear()
    patched = await api.patch(
        f"{fixes}/{fix['id']}/script", json={"ai_drafted_script": "dhclient -r"}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    spans = list(exporter.get_finished_spans())
    assert {format(s.context.trace_id, "032x") for s in spans} == {trace_id}
    served = _rpc(spans, SpanKind.SERVER, "UpdateFixScript")
    statements = [s for s in spans if _is_database(s) and _under(s, served, spans)]
    operations = {(s.attributes or {}).get("db.operation") for s in statements}
    assert {"SELECT", "WITH"} <= operations, [s.name for s in statements]


async def test_tracing_is_off_unless_configured() -> None:
    """Without OTEL_EXPORTER_OTLP_ENDPOINT nothing is instrumented."""
    assert not tracing.tracing_enabled()
    assert tracing.server_interceptors() == [] and tracing.client_interceptors() == []
    assert tracing.asgi_middleware() is None


_GLOBAL_PROVIDER_APP = """
import asyncio

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from flowpilot.runtime.settings import Settings
from gateway.app import create_app

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)  # what configure_tracing does in a deployment
app = create_app(Settings(jwt_secret="x" * 32), [])


async def main() -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/api/v1/no-such-route")).status_code == 404


asyncio.run(main())
print(sorted(span.name for span in exporter.get_finished_spans()))
"""


def test_fastapi_adds_no_spans_of_its_own_once_a_global_provider_is_set() -> None:
    """Tracing sets OpenTelemetry's global provider; FastAPI's native
    telemetry would then open a second server span per request beside ours
    (and asks the providers on every request). It is off: only the spans of
    flowpilot.runtime.tracing (none here, it is not on) are made. In a
    process of its own: the global provider can be set once per process."""
    done = subprocess.run(
        [sys.executable, "-c", _GLOBAL_PROVIDER_APP],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
