"""What the script-builder's health says about the fixes service (issue 9,
point 8): its own entries stay SERVING without it (everything but inline
create works, CONTRACT §5), and `dependency:flowpilot.fixes.v1.FixesService`
follows whether it reaches the fixes service, across a fixes restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from fixes_service.main import create_server as create_fixes_server
from flowpilot.runtime.embedded_pg import free_port
from flowpilot.runtime.server import GrpcServer, dependency_health_name
from flowpilot.runtime.settings import Settings
from scriptbuilder_service.main import SERVICE_NAME
from scriptbuilder_service.main import create_server as create_scriptbuilder_server

from .helpers import create_ai_session, create_session, sb_stub

FIXES = "flowpilot.fixes.v1.FixesService"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class Fixes:
    """The fixes service on one port, stopped and started again like a restart."""

    def __init__(self, settings: Settings, database_url: str) -> None:
        self.settings = settings
        self.database_url = database_url
        self.port = free_port()
        self.server: GrpcServer | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.server = await create_fixes_server(
            self.settings, database_url=self.database_url, host="127.0.0.1", port=self.port
        )
        await self.server.start()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop(0)
            self.server = None


@pytest.fixture
async def fixes(settings: Settings, fixes_db_url: str) -> AsyncIterator[Fixes]:
    service = Fixes(settings, fixes_db_url)
    try:
        yield service
    finally:
        await service.stop()


@pytest.fixture
async def scriptbuilder(
    settings: Settings, scriptbuilder_db_url: str, fixes: Fixes
) -> AsyncIterator[grpc.aio.Channel]:
    """Started before the fixes service is."""
    server = await create_scriptbuilder_server(
        settings,
        database_url=scriptbuilder_db_url,
        fixes_target=fixes.target,
        run_proposal_relay=False,
    )
    await server.start()
    try:
        async with grpc.aio.insecure_channel(server.target) as channel:
            yield channel
    finally:
        await server.stop(0)


async def _status(channel: grpc.aio.Channel, name: str) -> int:
    answer = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=name), timeout=5
    )
    return answer.status


async def _becomes(channel: grpc.aio.Channel, name: str, status: int) -> None:
    """Waits (up to 10 s) until the health entry `name` reports `status`."""
    watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=name))
    try:
        async with asyncio.timeout(10):
            async for update in watch:
                if update.status == status:
                    return
    finally:
        watch.cancel()


async def test_dependency_health_follows_the_fixes_service(
    scriptbuilder: grpc.aio.Channel, fixes: Fixes, make_token
) -> None:
    dependency = dependency_health_name(FIXES)
    token = make_token()
    # No fixes service yet: the script-builder serves, inline create cannot.
    assert await _status(scriptbuilder, dependency) == NOT_SERVING
    assert await _status(scriptbuilder, SERVICE_NAME) == SERVING
    assert await _status(scriptbuilder, "") == SERVING
    standalone, _ = await create_session(sb_stub(scriptbuilder), token)
    assert standalone.id

    await fixes.start()
    await _becomes(scriptbuilder, dependency, SERVING)
    async with grpc.aio.insecure_channel(fixes.target) as to_fixes:
        ai_session = await create_ai_session(to_fixes, token)
    inline, created = await create_session(sb_stub(scriptbuilder), token, ai_session_id=ai_session)
    assert created

    await fixes.stop()
    await _becomes(scriptbuilder, dependency, NOT_SERVING)
    assert await _status(scriptbuilder, SERVICE_NAME) == SERVING

    await fixes.start()  # the same port, as a restarted process
    await _becomes(scriptbuilder, dependency, SERVING)
    again, created = await create_session(sb_stub(scriptbuilder), token, ai_session_id=ai_session)
    assert (again.id, created) == (inline.id, False)


async def test_inline_create_waits_for_a_fixes_service_coming_up(
    scriptbuilder: grpc.aio.Channel, fixes: Fixes, make_token, settings: Settings
) -> None:
    """A call made while the fixes service is not reachable yet waits for it
    within its deadline (wait_for_ready) instead of failing at once."""
    token = make_token()
    await fixes.start()
    async with grpc.aio.insecure_channel(fixes.target) as to_fixes:
        ai_session = await create_ai_session(to_fixes, token)
    await fixes.stop()
    await _becomes(scriptbuilder, dependency_health_name(FIXES), NOT_SERVING)

    inline = asyncio.create_task(
        create_session(sb_stub(scriptbuilder), token, ai_session_id=ai_session, deadline=30)
    )
    await asyncio.sleep(settings.fixes_call_timeout_seconds / 4)
    assert not inline.done()
    await fixes.start()
    session, created = await inline
    assert created and session.ai_session_id == ai_session
