"""Recovery, against real processes (issue 9, points 7 and 8).

- A service killed and restarted on the same port is used again by its
  callers as soon as it serves: inline creates (gateway → script-builder →
  fixes) after a fixes restart, the gateway's calls after a script-builder
  restart, and `/readyz` after either. The issue saw 3.4 s, 1.9 s and 5.9 s;
  the target is 1 s. The bound asserted here is looser (a loaded 2-core
  machine); the measured figures are in docs/architecture.md.
- A fresh start: once `/readyz` is 200 the first inline get-or-create
  succeeds, even when the script-builder came up long before the fixes
  service (its channel then sits in reconnect backoff).
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from collections.abc import Iterator

import httpx
import pytest

from flowpilot.runtime.auth import mint_token
from flowpilot.runtime.settings import Settings
from tests.conftest import DatabaseFactory
from tests.processes import SERVICES, Stack
from tests.support.tokens import TEST_JWT_SECRET

RESUMED_WITHIN = 2.5  # seconds after the restarted peer serves (target: 1 s)
DOWN_FOR = 2.5  # long enough for gRPC's default backoff to have grown past 1 s
ROUNDS = 2
SESSIONS = "/api/v1/script-builder/sessions"


def _stack(database_factory: DatabaseFactory) -> Stack:
    return Stack(
        fixes_database_url=database_factory("fixes_service"),
        scriptbuilder_database_url=database_factory("scriptbuilder_service"),
        jwt_secret=TEST_JWT_SECRET,
    )


@pytest.fixture
def new_stack(database_factory: DatabaseFactory) -> Iterator[Stack]:
    """Nothing started yet (a sync fixture: migrating a template runs its own loop)."""
    with _stack(database_factory) as stack:
        yield stack


@pytest.fixture(scope="module")
def stack(database_factory: DatabaseFactory) -> Iterator[Stack]:
    with _stack(database_factory) as running:
        for name in SERVICES:
            running.start(name)
        yield running


def _client(stack: Stack, settings: Settings) -> httpx.AsyncClient:
    token = mint_token(settings, user_id="recovering", account_id="acct-1", role="engineer")
    return httpx.AsyncClient(
        base_url=stack.url, headers={"authorization": f"Bearer {token}"}, timeout=30
    )


async def _first_success(client: httpx.AsyncClient, method: str, path: str, **kw: object) -> float:
    """Repeats the request until it succeeds; the monotonic time it did."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = await client.request(method, path, **kw)  # type: ignore[arg-type]
        if response.status_code in (200, 201):
            return time.monotonic()
        await asyncio.sleep(0.01)
    raise AssertionError(f"{method} {path} never succeeded: {response.text}")


async def _ready(stack: Stack) -> float:
    return await stack.wait_ready(within=30)


async def _restart(stack: Stack, name: str) -> float:
    """SIGKILL, down for a while, started again on its port; when it serves."""
    stack.stop(name, signal.SIGKILL)
    await asyncio.sleep(DOWN_FOR)
    stack.start(name)
    return await stack.wait_serving(name)


@pytest.mark.parametrize(
    ("client", "peer"), [("gateway", "scriptbuilder"), ("scriptbuilder", "fixes")]
)
async def test_a_missing_peer_is_retried_at_least_every_second(
    new_stack: Stack, client: str, peer: str
) -> None:
    """The reason a process resumes within 1 s of its peer serving: while the
    peer is away, the process tries to connect to it again at least once a
    second (gRPC's default waits 1 s, then 1.6 s, 2.56 s, ... up to 120 s).
    The peer's port is held by a listener that takes each connection and
    drops it, recording when it came."""
    attempts: list[float] = []

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        attempts.append(time.monotonic())
        writer.close()

    stack = new_stack
    listener = await asyncio.start_server(drop, "127.0.0.1", stack.ports[peer])
    try:
        stack.start(client)
        await stack.wait_serving(client)
        watched_from = time.monotonic()
        async with httpx.AsyncClient(base_url=stack.url, timeout=5) as http:
            while time.monotonic() - watched_from < 4:
                # What `flowpilot up` and people do meanwhile (it also keeps
                # the gateway's channels connecting).
                if client == "gateway":
                    await http.get("/readyz")
                await asyncio.sleep(0.05)
    finally:
        listener.close()
        await listener.wait_closed()
    seen = [at for at in attempts if at >= watched_from]
    gaps = [later - earlier for earlier, later in itertools.pairwise([watched_from, *seen])]
    assert len(seen) >= 4, attempts
    assert max(gaps) < 1.0, [round(g, 2) for g in gaps]


async def test_inline_creates_and_readiness_resume_after_a_fixes_restart(
    stack: Stack, settings: Settings
) -> None:
    await _ready(stack)
    async with _client(stack, settings) as client:
        ai_session = (await client.post("/api/v1/ai-sessions", json={"title": "VPN"})).json()["id"]
        inline = {"origin": "pilot_inline", "ai_session_id": ai_session}
        for _ in range(ROUNDS):
            serving = await _restart(stack, "fixes")
            created, ready = await asyncio.gather(
                _first_success(client, "POST", SESSIONS, json=inline), _ready(stack)
            )
            assert created - serving < RESUMED_WITHIN
            assert ready - serving < RESUMED_WITHIN


async def test_the_gateway_resumes_after_a_scriptbuilder_restart(
    stack: Stack, settings: Settings
) -> None:
    await _ready(stack)
    async with _client(stack, settings) as client:
        for _ in range(ROUNDS):
            serving = await _restart(stack, "scriptbuilder")
            listed, ready = await asyncio.gather(
                _first_success(client, "GET", SESSIONS), _ready(stack)
            )
            assert listed - serving < RESUMED_WITHIN
            assert ready - serving < RESUMED_WITHIN


@pytest.mark.parametrize("order", ["all at once", "fixes long after the others"])
async def test_first_inline_create_after_ready_succeeds(
    new_stack: Stack, settings: Settings, order: str
) -> None:
    stack = new_stack
    if order == "all at once":  # as `flowpilot up` starts them
        for name in SERVICES:
            stack.start(name)
    else:
        stack.start("scriptbuilder")
        stack.start("gateway")
        await stack.wait_serving("scriptbuilder")
        await asyncio.sleep(DOWN_FOR)  # its channel to fixes is in backoff by now
        stack.start("fixes")
    await stack.wait_ready(within=60)
    async with _client(stack, settings) as client:
        created = await client.post("/api/v1/ai-sessions", json={"title": "VPN"})
        assert created.status_code == 201, created.text
        inline = await client.post(
            SESSIONS, json={"origin": "pilot_inline", "ai_session_id": created.json()["id"]}
        )
        assert inline.status_code == 201, inline.text
