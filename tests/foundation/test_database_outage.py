"""PostgreSQL stopped, started and restarted under the real processes
(`flowpilot serve ...` each), and one tenant holding a row (issue 9, points 4
and 5).

- Database down: every data call answers 503 `DATABASE_UNAVAILABLE` (never
  500), each service reports NOT_SERVING over `grpc.health.v1`, the gateway's
  `/readyz` is 503 and `/healthz` stays 200; no process exits.
- Back: both serve again and `/readyz` is 200.
- `pg_ctl restart` with every pooled connection open: the first request to
  each service succeeds.
- A row held locked and 30 writes to it (an AI session; a script-builder
  session; a script template): each is refused with a reason (409
  `RESOURCE_BUSY`, or 503 `DATABASE_BUSY` if it never got a connection)
  instead of 504 after the gateway's deadline, at most one waits in
  PostgreSQL, and another tenant's read is served meanwhile.

The figures (how long each takes) are printed by `python -m
tests.measure_database`; tests assert outcomes, with bounds only against hangs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from flowpilot.runtime.auth import mint_token
from flowpilot.runtime.embedded_pg import EmbeddedPostgres
from flowpilot.runtime.migrations import upgrade
from flowpilot.runtime.server import GrpcServer
from flowpilot.runtime.settings import Settings
from tests.conftest import postgres_dir, serve_http
from tests.processes import SERVICES, Stack
from tests.support.gateway import both_services
from tests.support.tokens import TEST_JWT_SECRET

pytestmark = pytest.mark.e2e

API = "/api/v1"
WITHIN = 30.0  # against hangs only
DATA_CALLS = (
    ("GET", "/ai-sessions", None),
    ("POST", "/ai-sessions", {"title": "t"}),
    ("GET", "/script-builder/sessions", None),
    ("POST", "/script-templates", {"name": "n", "language": "bash", "body": "echo"}),
)


def token(user: str = "u", account: str = "a") -> str:
    settings = Settings(jwt_secret=TEST_JWT_SECRET)
    return mint_token(settings, user_id=user, account_id=account, role="engineer")


def client(url: str, user: str = "u", account: str = "a") -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {token(user, account)}"}
    return httpx.AsyncClient(base_url=url + API, headers=headers, timeout=WITHIN)


def reason(response: httpx.Response) -> str:
    details = response.json()["error"]["details"]
    return str(details[0]["reason"]) if details else ""


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedPostgres]:
    """A cluster of its own: stopping the suite's would stop every other test."""
    with postgres_dir() as directory:
        pg = EmbeddedPostgres(directory, fsync=False)
        pg.start()
        try:
            yield pg
        finally:
            pg.stop("immediate")


@pytest.fixture(scope="module")
def stack(cluster: EmbeddedPostgres) -> Iterator[Stack]:
    urls = {}
    for package in ("fixes_service", "scriptbuilder_service"):
        urls[package] = cluster.create_database(package)
        upgrade(package, urls[package])
    with Stack(urls["fixes_service"], urls["scriptbuilder_service"], TEST_JWT_SECRET) as running:
        for name in SERVICES:
            running.start(name)
        asyncio.run(running.wait_ready())
        yield running


async def until(check: Any, what: str) -> None:
    deadline = time.monotonic() + WITHIN
    while not await check():
        assert time.monotonic() < deadline, f"{what} within {WITHIN} s"
        await asyncio.sleep(0.05)


async def status_of(stack: Stack, path: str) -> int:
    async with httpx.AsyncClient(timeout=5) as http:
        return (await http.get(stack.url + path)).status_code


async def issue_10_calls(
    api: httpx.AsyncClient,
) -> list[tuple[str, str, Any, dict[str, str], str]]:
    """The calls issue 10 added, on resources made while the database is up:
    the watch and the drafting stream (server-sent events), render, a masked
    PATCH with If-Match, fix-targeted inline drafting (which asks the fixes
    service first, so it is that dependency that is unavailable)."""
    session = (await api.post("/ai-sessions", json={"title": "t"})).json()
    fix = (
        await api.post(
            f"/ai-sessions/{session['id']}/suggested-fixes",
            json={"title": "f", "script_language": "bash", "ai_drafted_script": "echo hi"},
        )
    ).json()
    draft = (await api.post("/script-builder/sessions", json={"title": "d"})).json()
    fix_path = f"/ai-sessions/{session['id']}/suggested-fixes/{fix['id']}"
    sse = {"accept": "text/event-stream"}
    down = "DATABASE_UNAVAILABLE"
    stream = f"/script-builder/sessions/{draft['id']}/messages:stream"
    masked = {"ai_drafted_script": "echo"}
    return [
        ("GET", f"/ai-sessions/{session['id']}/events:watch", None, sse, down),
        ("POST", f"{fix_path}:render", {}, {}, down),
        ("PATCH", f"{fix_path}/script", masked, {"if-match": fix["etag"]}, down),
        ("POST", stream, {"content": "x"}, sse, down),
        (
            "POST",
            "/script-builder/sessions",
            {"origin": "pilot_inline", "ai_session_id": session["id"], "fix_id": fix["id"]},
            {},
            "FIXES_SERVICE_UNAVAILABLE",
        ),
    ]


async def test_the_database_down_is_503_not_ready_and_alive_then_back(
    stack: Stack, cluster: EmbeddedPostgres
) -> None:
    async with client(stack.url) as api:
        newer = await issue_10_calls(api)
    await asyncio.to_thread(cluster.stop, "fast")
    try:
        async with client(stack.url) as api:
            calls = [(m, p, b, {}, "DATABASE_UNAVAILABLE") for m, p, b in DATA_CALLS] + newer
            for method, path, body, headers, why in calls:
                response = await api.request(method, path, json=body, headers=headers)
                assert response.status_code == 503, (path, response.text)
                assert reason(response) == why, (path, response.text)
                assert response.json()["error"]["status"] == "UNAVAILABLE"
        for name in ("fixes", "scriptbuilder"):

            async def not_serving(name: str = name) -> bool:
                return not await stack.serving(name)

            await until(not_serving, f"{name} NOT_SERVING")

        async def not_ready() -> bool:
            return await status_of(stack, "/readyz") == 503

        await until(not_ready, "/readyz 503")
        assert await status_of(stack, "/healthz") == 200
        assert all(stack.processes[name].poll() is None for name in SERVICES)
    finally:
        await asyncio.to_thread(cluster.start)

    async def ready() -> bool:
        return await status_of(stack, "/readyz") == 200

    await until(ready, "/readyz 200 again")
    async with client(stack.url) as api:
        for method, path, body in DATA_CALLS:
            response = await api.request(method, path, json=body)
            assert response.status_code in (200, 201), (path, response.text)


async def test_the_first_request_after_a_restart_succeeds(
    stack: Stack, cluster: EmbeddedPostgres
) -> None:
    async with client(stack.url) as api:
        # Every pooled connection of both services open before the restart.
        await asyncio.gather(*(api.get("/ai-sessions") for _ in range(6)))
        await asyncio.gather(*(api.get("/script-builder/sessions") for _ in range(6)))
        await asyncio.to_thread(cluster.stop, "fast")
        await asyncio.to_thread(cluster.start)
        for method, path, body in DATA_CALLS:
            response = await api.request(method, path, json=body)
            assert response.status_code in (200, 201), (path, response.text)


@pytest.fixture
async def held_system(
    settings: Settings, fixes_db_url: str, scriptbuilder_db_url: str
) -> AsyncIterator[tuple[str, str, str]]:
    """The system in-process, with the default pools (3 + 2 per service):
    (gateway URL, fixes database URL, script-builder database URL)."""
    from fixes_service.main import create_server as fixes_server
    from gateway.app import create_app
    from scriptbuilder_service.main import create_server as scriptbuilder_server

    servers: list[GrpcServer] = [await fixes_server(settings, database_url=fixes_db_url)]
    await servers[0].start()
    servers.append(
        await scriptbuilder_server(
            settings,
            database_url=scriptbuilder_db_url,
            fixes_target=servers[0].target,
        )
    )
    await servers[1].start()
    try:
        app = create_app(settings, both_services(servers[0].target, servers[1].target))
        async with serve_http(app) as url:
            yield url, fixes_db_url, scriptbuilder_db_url
    finally:
        for server in reversed(servers):
            await server.stop(0)


async def flood_a_held_row(
    url: str,
    database_url: str,
    *,
    table: str,
    row_id: str,
    write: Any,
    bystander_read: str,
) -> None:
    """Holds `table`'s row `row_id` locked and sends 30 `write(api, number)`
    calls as the victim tenant. Watched until every write has its answer, at
    most one of them ever waits on the row in PostgreSQL (without the turns,
    five: the whole pool), and another tenant's `bystander_read` is served
    meanwhile. Every write must be refused with a reason."""
    holder = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        async with holder.transaction():
            await holder.execute(f"SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE", row_id)

            async def one(number: int) -> httpx.Response:
                async with client(url, "victim", "tenant-a") as api:
                    return await write(api, number)

            async def bystander() -> None:
                async with client(url, "bystander", "tenant-b") as other:
                    read = await other.get(bystander_read)
                assert read.status_code == 200, read.text

            most, answers = await watch_lock_queue(
                holder, [one(n) for n in range(30)], bystander=bystander, once=1
            )
    finally:
        await holder.close()
    assert most == 1, f"{most} writes waited on the row in PostgreSQL at once"
    seen = {(a.status_code, reason(a)) for a in answers}
    assert seen <= {(409, "RESOURCE_BUSY"), (503, "DATABASE_BUSY")}, seen
    assert (409, "RESOURCE_BUSY") in seen


async def watch_lock_queue(
    holder: asyncpg.Connection,
    calls: list[Awaitable[httpx.Response]],
    *,
    bystander: Callable[[], Awaitable[None]],
    once: int,
) -> tuple[int, list[httpx.Response]]:
    """Runs `calls` at once while `holder` holds what they need, and watches
    PostgreSQL's lock queue until every call has its answer, running
    `bystander` once `once` of them wait there. (The most that waited at
    once, the answers.)"""
    answers = asyncio.gather(*calls)
    most = 0
    served = False
    while not answers.done():
        waiting = int(await holder.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted"))
        most = max(most, waiting)
        if most >= once and not served:
            served = True
            await bystander()
        await asyncio.sleep(0.05)
    assert served, "the bystander was served while the calls waited"
    return most, await answers


async def test_one_held_row_does_not_starve_other_tenants(
    held_system: tuple[str, str, str],
) -> None:
    """Issue 9: a row held locked plus 30 requests on it filled the pool; an
    unrelated tenant's read then took 9.55 s, and the 30 got 504 after 10 s.
    Now the writes of one session take turns in the fixes process: one waits
    on the row in PostgreSQL, the others wait for their turn without a
    connection, so the pool (five connections) stays free for others."""
    url, fixes_url, _ = held_system
    async with client(url, "victim", "tenant-a") as api:
        session = (await api.post("/ai-sessions", json={"title": "hot"})).json()
        fix = (
            await api.post(
                f"/ai-sessions/{session['id']}/suggested-fixes",
                json={"title": "f", "script_language": "bash", "ai_drafted_script": "echo"},
            )
        ).json()
    path = f"/ai-sessions/{session['id']}/suggested-fixes/{fix['id']}/script"

    async def write(api: httpx.AsyncClient, number: int) -> httpx.Response:
        return await api.patch(path, json={"ai_drafted_script": f"echo {number}"})

    await flood_a_held_row(
        url,
        fixes_url,
        table="ai_sessions",
        row_id=session["id"],
        write=write,
        bystander_read="/ai-sessions",
    )


async def test_one_held_script_builder_session_does_not_starve_other_tenants(
    held_system: tuple[str, str, str],
) -> None:
    """The same in the script builder: 30 editor saves to one held session
    row took every connection of its five, so another tenant's list waited
    3.75 s and 23 saves got 503 (`python -m tests.measure_database
    scriptbuilder-starvation`). Its writers of one row take turns too."""
    url, _, scriptbuilder_url = held_system
    async with client(url, "victim", "tenant-a") as api:
        created = await api.post(
            "/script-builder/sessions", json={"origin": "standalone", "title": "hot"}
        )
        assert created.status_code == 201, created.text
    path = f"/script-builder/sessions/{created.json()['id']}/draft"

    async def write(api: httpx.AsyncClient, number: int) -> httpx.Response:
        return await api.patch(path, json={"editor_buffer": f"echo {number}"})

    await flood_a_held_row(
        url,
        scriptbuilder_url,
        table="script_builder_sessions",
        row_id=created.json()["id"],
        write=write,
        bystander_read="/script-builder/sessions",
    )


async def test_one_held_template_does_not_starve_other_tenants(
    held_system: tuple[str, str, str],
) -> None:
    """A template's writers (new versions, publish, deprecate) take the
    template's turn: 30 new versions of one held template."""
    url, _, scriptbuilder_url = held_system
    async with client(url, "victim", "tenant-a") as api:
        created = await api.post(
            "/script-templates", json={"name": "n", "language": "bash", "body": "echo 0"}
        )
        assert created.status_code == 201, created.text
    template_id = created.json()["id"]

    async def write(api: httpx.AsyncClient, number: int) -> httpx.Response:
        return await api.post(
            f"/script-templates/{template_id}/versions", json={"body": f"echo {number + 1}"}
        )

    await flood_a_held_row(
        url,
        scriptbuilder_url,
        table="script_templates",
        row_id=template_id,
        write=write,
        bystander_read="/script-templates",
    )


async def test_slow_analytics_reads_leave_the_pool_to_other_calls(
    held_system: tuple[str, str, str],
) -> None:
    """Analytics over a year of runs may take a third of a second each; ten
    at once would hold all five connections that long. Here they are made
    slow for real (their table locked), and at most two
    (`FLOWPILOT_ANALYTICS_CONCURRENCY`) ever wait in PostgreSQL, while another
    tenant's calls are served."""
    url, fixes_url, _ = held_system
    holder = await asyncpg.connect(fixes_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        async with holder.transaction():
            await holder.execute("LOCK TABLE run_facts IN ACCESS EXCLUSIVE MODE")

            async def analytics() -> httpx.Response:
                async with client(url, "analyst", "tenant-a") as api:
                    return await api.get("/analytics/outcomes", params={"group_by": "template"})

            async def bystander() -> None:
                async with client(url, "bystander", "tenant-b") as other:
                    listed = await other.get("/ai-sessions")
                    created = await other.post("/ai-sessions", json={"title": "mine"})
                assert listed.status_code == 200, listed.text
                assert created.status_code == 201, created.text

            # Without the slots, five (the whole pool) wait on the lock at once.
            most, answers = await watch_lock_queue(
                holder, [analytics() for _ in range(10)], bystander=bystander, once=2
            )
    finally:
        await holder.close()
    assert most == 2, f"{most} analytics reads waited in PostgreSQL at once"
    # Two at a time wait out the lock timeout (2 s) while the rest wait for
    # a slot (at most the pool timeout, 3 s): some of each, and never a 504.
    seen = {(a.status_code, reason(a)) for a in answers}
    assert seen == {(409, "RESOURCE_BUSY"), (429, "ANALYTICS_BUSY")}, seen
