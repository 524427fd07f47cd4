"""Every process's /metrics, scraped from the real processes (`flowpilot serve
...` with a real PostgreSQL, the gateway over HTTP): the series exist, they
move with the requests a support engineer makes, their labels stay bounded,
and every series the monitoring component's rules and dashboard query is one
of them."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from flowpilot.runtime.auth import mint_token
from flowpilot.runtime.embedded_pg import free_port
from flowpilot.runtime.settings import Settings
from tests.conftest import DatabaseFactory
from tests.deploy.monitoring import referenced_metrics
from tests.processes import SERVICES, Stack
from tests.support.sse import read_events
from tests.support.tokens import TEST_JWT_SECRET

pytestmark = pytest.mark.e2e

API = "/api/v1"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class Scraper:
    def __init__(self, ports: dict[str, int]) -> None:
        self.ports = ports

    async def scrape(self, process: str) -> Samples:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"http://127.0.0.1:{self.ports[process]}/metrics")
        assert response.status_code == 200, process
        samples: Samples = {}
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
        return samples

    async def all(self) -> dict[str, Samples]:
        return {name: await self.scrape(name) for name in SERVICES}


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


async def fixes_has_no_call_in_flight(scraper: Scraper) -> None:
    """The fixes service's in-flight gauge reaches 0. It also answers the
    relay's poll (every 0.2 s), which a scrape can catch in flight, so the
    gauge is read until it comes back to 0 between polls (a gauge that never
    decrements, or counts a stream, stays up and fails here)."""
    for _ in range(50):
        if value(await scraper.scrape("fixes"), "flowpilot_inflight_requests") == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the fixes service's in-flight gauge never returns to 0")


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


@pytest.fixture(scope="module")
def metrics_ports() -> dict[str, int]:
    return {name: free_port() for name in SERVICES}


@pytest.fixture(scope="module")
def stack(database_factory: DatabaseFactory, metrics_ports: dict[str, int]) -> Iterator[Stack]:
    """Started, not awaited (a sync fixture: migrating a template runs its own loop)."""
    env = {f"FLOWPILOT_{name.upper()}_METRICS_PORT": str(p) for name, p in metrics_ports.items()}
    env["FLOWPILOT_TEMPLATE_PROPOSAL_POLL_SECONDS"] = "0.2"
    with Stack(
        fixes_database_url=database_factory("fixes_service"),
        scriptbuilder_database_url=database_factory("scriptbuilder_service"),
        jwt_secret=TEST_JWT_SECRET,
        extra_env=env,
    ) as started:
        for name in SERVICES:
            started.start(name)
        yield started


@pytest.fixture
async def running(stack: Stack) -> Stack:
    await stack.wait_ready(within=60)
    return stack


@pytest.fixture
async def api(running: Stack, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    token = mint_token(
        settings, user_id=f"eng-{uuid.uuid4().hex[:6]}", account_id="acct-1", role="engineer"
    )
    async with httpx.AsyncClient(
        base_url=running.url + API, headers={"authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        yield client


async def call(api: httpx.AsyncClient, method: str, path: str, expect: int, **kw: Any) -> Any:
    response = await api.request(method, path, **kw)
    assert response.status_code == expect, f"{method} {path}: {response.text}"
    return response.json() if response.content else None


async def support_engineer_story(api: httpx.AsyncClient) -> None:
    """A fix proposed with an AI script and run; one that needs a script,
    drafted by the AI and by hand in an inline session, then kept as a draft
    template (which the relay turns into one); a failed outcome."""
    session = await call(api, "POST", "/ai-sessions", 201, json={"title": "VPN drops"})
    sid = session["id"]
    fixes = f"/ai-sessions/{sid}/suggested-fixes"
    scripted = await call(
        api,
        "POST",
        fixes,
        201,
        json={
            "title": "Flush DNS",
            "script_language": "powershell",
            "ai_drafted_script": "ipconfig /flushdns",
        },
    )
    await call(api, "POST", f"{fixes}/{scripted['id']}/apply", 200)
    await call(
        api, "PATCH", f"{fixes}/{scripted['id']}/outcome", 200, json={"outcome": "applied_failed"}
    )
    needs = await call(
        api, "POST", fixes, 201, json={"title": "Renew lease", "script_language": "powershell"}
    )
    inline = await call(
        api,
        "POST",
        "/script-builder/sessions",
        201,
        json={"origin": "pilot_inline", "ai_session_id": sid, "language": "powershell"},
    )
    answer = await call(
        api,
        "POST",
        f"/script-builder/sessions/{inline['id']}/messages",
        201,
        json={"content": "Write a script that renews the DHCP lease"},
    )
    script = answer["assistant_message"]["script"]
    await call(
        api,
        "PATCH",
        f"/script-builder/sessions/{inline['id']}/draft",
        200,
        json={"editor_buffer": script + "\n# checked", "mode": "editor"},
    )
    await call(
        api, "PATCH", f"{fixes}/{needs['id']}/script", 200, json={"ai_drafted_script": script}
    )
    await call(
        api,
        "POST",
        f"{fixes}/{needs['id']}/script-decision",
        200,
        json={"decision": "draft_template"},
    )
    # A refusal and an unknown route count too (by template, never by path).
    await call(api, "GET", f"/ai-sessions/{uuid.uuid4()}", 404)
    await call(api, "GET", f"/no-such-route/{uuid.uuid4()}", 404)


async def test_every_process_serves_metrics_that_move(
    running: Stack, metrics_ports: dict[str, int], api: httpx.AsyncClient
) -> None:
    scraper = Scraper(metrics_ports)
    before = await scraper.all()
    await support_engineer_story(api)
    # The relay turns the draft_template decision into a template (polls every 0.2 s).
    for _ in range(100):
        after = await scraper.all()
        if value(after["scriptbuilder"], "flowpilot_template_relay_lag_seconds_count") >= 1:
            break
        await asyncio.sleep(0.1)
    gateway, scriptbuilder = after["gateway"], after["scriptbuilder"]

    def moved(process: str, name: str, by: float = 1, **labels: str) -> None:
        grown = value(after[process], name, **labels) - value(before[process], name, **labels)
        assert grown >= by, f"{process}: {name}{labels} grew by {grown}, expected {by}"

    # The gateway: HTTP by route template and status, its gRPC client calls.
    moved(
        "gateway",
        "flowpilot_http_requests_total",
        method="POST",
        route="/api/v1/ai-sessions/{session_id}/suggested-fixes",
        status="201",
        by=2,
    )
    moved("gateway", "flowpilot_http_requests_total", route="unmatched", status="404")
    moved("gateway", "flowpilot_http_request_duration_seconds_count", status="404", by=2)
    moved(
        "gateway",
        "grpc_client_handled_total",
        grpc_service="flowpilot.scriptbuilder.v1.ScriptBuilderService",
        grpc_method="CreateSession",
        grpc_code="OK",
    )
    moved("gateway", "grpc_client_handled_total", grpc_method="GetAiSession", grpc_code="NOT_FOUND")
    # The services: server calls by method and code; the script-builder's own
    # calls to the fixes service (access check, relay).
    moved("fixes", "grpc_server_started_total", grpc_method="CreateSuggestedFix", by=2)
    moved("fixes", "grpc_server_handled_total", grpc_method="ApplyFix", grpc_code="OK")
    moved(
        "fixes",
        "grpc_server_handling_seconds_count",
        grpc_method="CheckAiSessionAccess",
        grpc_code="OK",
    )
    moved("scriptbuilder", "grpc_server_handled_total", grpc_method="SendMessage", grpc_code="OK")
    moved(
        "scriptbuilder",
        "grpc_client_handled_total",
        grpc_method="CheckAiSessionAccess",
        grpc_code="OK",
    )
    moved(
        "scriptbuilder",
        "grpc_client_handled_total",
        grpc_method="ListPendingTemplateProposals",
        grpc_code="OK",
    )
    # The database: its health probe, statements, pool waits, pool gauges.
    for process in ("fixes", "scriptbuilder"):
        assert value(after[process], "flowpilot_db_up") == 1, process
        moved(process, "flowpilot_db_statement_duration_seconds_count", operation="SELECT")
        moved(process, "flowpilot_db_pool_wait_seconds_count")
        # FLOWPILOT_DB_POOL_SIZE 2 + the default overflow 2: the pool keeps
        # every connection it may open (flowpilot.runtime.db.create_engine).
        assert value(after[process], "flowpilot_db_pool_size") == 4
        assert value(after[process], "flowpilot_db_pool_open_connections") >= 1
    # Product counters.
    moved("fixes", "flowpilot_fixes_proposed_total", apply_route="no_template_dialog")
    moved("fixes", "flowpilot_fixes_proposed_total", apply_route="script_builder_tab")
    moved("fixes", "flowpilot_fix_runs_declared_total", apply_route="no_template_dialog", by=2)
    moved(
        "fixes",
        "flowpilot_fix_outcomes_total",
        result="applied_failed",
        apply_route="no_template_dialog",
    )
    moved("scriptbuilder", "flowpilot_scripts_drafted_total", author="ai", language="powershell")
    moved("scriptbuilder", "flowpilot_scripts_drafted_total", author="hand", language="powershell")
    # The relay: the proposal became a template; the last poll is recent.
    moved("scriptbuilder", "flowpilot_template_relay_lag_seconds_count")
    assert value(scriptbuilder, "flowpilot_template_relay_last_success_timestamp_seconds") > 0
    # Nothing in flight once answered; every process exports the gauge.
    for process in SERVICES:
        assert (
            "flowpilot_inflight_requests",
            frozenset(),
        ) in after[process], process
    assert value(gateway, "flowpilot_inflight_requests") == 0
    await fixes_has_no_call_in_flight(scraper)


async def test_labels_are_bounded(running: Stack, metrics_ports: dict[str, int], api) -> None:
    """No id and no raw path in any label: route templates, method names, codes."""
    await support_engineer_story(api)
    for process, samples in (await Scraper(metrics_ports).all()).items():
        for name, labels in samples:
            for key, label in labels:
                assert not UUID.search(label), f"{process}: {name}{{{key}={label!r}}}"
                if key == "route":
                    assert label == "unmatched" or label.startswith("/"), label
                if key == "database":  # every statement knows its database
                    assert label != "unknown", name


async def test_rules_and_dashboard_query_only_exported_series(
    running: Stack, metrics_ports: dict[str, int], api
) -> None:
    await support_engineer_story(api)
    exported: set[str] = set()
    for samples in (await Scraper(metrics_ports).all()).values():
        exported |= names(samples)
    missing = sorted(referenced_metrics() - exported)
    assert not missing, f"the monitoring component queries series nobody exports: {missing}"


async def test_live_updates_are_subscribers_and_a_streamed_answer_is_counted(
    running: Stack, metrics_ports: dict[str, int], api: httpx.AsyncClient
) -> None:
    """An open watch is a subscriber in the gateway (SSE) and in the fixes
    service (WatchAiSession), not a request in flight; a streamed chat answer
    is a server-streaming call like any other, and its script is counted."""
    scraper = Scraper(metrics_ports)
    session = await call(api, "POST", "/ai-sessions", 201, json={"title": "Disk full"})
    before = await scraper.all()
    async with api.stream("GET", f"/ai-sessions/{session['id']}/events:watch") as watch:
        assert watch.status_code == 200
        # Held for the whole block: a dropped reader closes the stream.
        events = read_events(watch.aiter_lines())
        first = await anext(events)
        assert first.event == "snapshot"
        open_ = await scraper.all()
        assert value(open_["gateway"], "flowpilot_live_update_subscribers", stream="sse") == 1
        assert value(open_["gateway"], "flowpilot_inflight_requests") == 0
        fixes = open_["fixes"]
        assert value(fixes, "flowpilot_live_update_subscribers", stream="WatchAiSession") == 1
        # With the watch still open: a watch counted in flight never lets it reach 0.
        await fixes_has_no_call_in_flight(scraper)
    for _ in range(100):  # the gateway ends the gRPC stream once the client left
        after = await scraper.all()
        if (
            value(after["fixes"], "flowpilot_live_update_subscribers", stream="WatchAiSession") == 0
            and value(after["gateway"], "flowpilot_live_update_subscribers", stream="sse") == 0
        ):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the watch is still counted after it ended")
    handled = value(
        after["fixes"], "grpc_server_handled_total", grpc_method="WatchAiSession"
    ) - value(before["fixes"], "grpc_server_handled_total", grpc_method="WatchAiSession")
    assert handled == 1

    inline = await call(
        api,
        "POST",
        "/script-builder/sessions",
        201,
        json={"origin": "pilot_inline", "ai_session_id": session["id"], "language": "bash"},
    )
    drafted_before = value(
        after["scriptbuilder"], "flowpilot_scripts_drafted_total", author="ai", language="bash"
    )
    async with api.stream(
        "POST",
        f"/script-builder/sessions/{inline['id']}/messages:stream",
        json={"content": "Write a script that frees disk space in /var/log"},
    ) as answer:
        assert answer.status_code == 200
        answered = [event async for event in read_events(answer.aiter_lines())]
    assert answered, "no events"
    done = await scraper.all()
    sb = done["scriptbuilder"]
    assert value(sb, "flowpilot_scripts_drafted_total", author="ai", language="bash") == (
        drafted_before + 1
    )
    assert (
        value(
            sb,
            "grpc_server_handled_total",
            grpc_method="StreamMessage",
            grpc_type="server_stream",
            grpc_code="OK",
        )
        >= 1
    )
    assert value(sb, "flowpilot_inflight_requests") == 0
