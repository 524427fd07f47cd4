"""The gateway as Kubernetes and a load balancer see it: a readiness probe
that never asks the services, and an idle keep-alive longer than the proxy's."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from flowpilot.runtime.embedded_pg import free_port
from flowpilot.runtime.settings import Settings
from gateway.app import LOCAL_READINESS_PATH, create_app, uvicorn_config
from tests.conftest import serve_http
from tests.support.gateway import both_services

pytestmark = pytest.mark.integration  # a gateway on a real socket

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n"


async def test_local_readiness_ignores_unreachable_services(settings: Settings) -> None:
    """Both backends down: /readyz (people, `flowpilot up`) says so, while the
    probe keeps the gateway in the Service for whatever it can still answer."""
    dead = f"127.0.0.1:{free_port()}"
    app = create_app(settings, both_services(dead, dead))
    async with serve_http(app) as url, httpx.AsyncClient(base_url=url) as client:
        aggregate = await client.get("/readyz")
        assert aggregate.status_code == 503
        assert set(aggregate.json()["services"].values()) == {"UNAVAILABLE"}
        local = await client.get(LOCAL_READINESS_PATH)
        assert local.status_code == 200 and local.json() == {"status": "ready"}


@contextlib.asynccontextmanager
async def _gateway(settings: Settings) -> AsyncIterator[int]:
    """The app under the very uvicorn configuration `flowpilot serve gateway` uses."""
    import uvicorn

    port = free_port()
    config = uvicorn_config(
        create_app(settings, both_services("127.0.0.1:1", "127.0.0.1:1")),
        settings.model_copy(update={"bind_host": "127.0.0.1", "http_port": port}),
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


async def _idle_connection_survives(port: int, idle_seconds: float) -> bool:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(REQUEST)
        await writer.drain()
        first = await asyncio.wait_for(reader.readuntil(b'{"status":"ok"}'), 5)
        assert first.startswith(b"HTTP/1.1 200")
        await asyncio.sleep(idle_seconds)
        writer.write(REQUEST)
        await writer.drain()
        try:
            second = await asyncio.wait_for(reader.readuntil(b'{"status":"ok"}'), 5)
        except (asyncio.IncompleteReadError, ConnectionResetError):
            return False
        return second.startswith(b"HTTP/1.1 200")
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_default_keep_alive_outlasts_load_balancer_idle_timeouts(settings: Settings) -> None:
    # 620 s > AWS ALB's 60 s and Google Cloud LB's 600 s.
    assert Settings.model_fields["http_keep_alive_seconds"].default > 600
    async with _gateway(settings) as port:
        assert await _idle_connection_survives(port, idle_seconds=2.5)


@pytest.mark.parametrize("keep_alive", [1])
async def test_keep_alive_setting_reaches_uvicorn(settings: Settings, keep_alive: int) -> None:
    """The check above can fail: with a 1 s keep-alive the idle connection is closed."""
    async with _gateway(
        settings.model_copy(update={"http_keep_alive_seconds": keep_alive})
    ) as port:
        assert not await _idle_connection_survives(port, idle_seconds=2.5)
