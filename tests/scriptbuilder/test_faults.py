"""Faults (CONTRACT §5): with the fixes service down or silent, inline create
answers UNAVAILABLE within its deadline and writes nothing, while everything
that needs no AI-session check keeps working."""

from __future__ import annotations

import asyncio
import time
import uuid

import grpc
import pytest

from flowpilot.api.v1 import types_pb2
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2 as sb
from scriptbuilder_service.main import create_server
from tests.scriptbuilder.helpers import count_sessions, create_ai_session, create_session, sb_stub
from tests.support.grpc_client import auth_metadata, refusal_of

pytestmark = pytest.mark.integration


async def _everything_else_works(stub, token: str) -> None:
    session, created = await create_session(stub, token, title="still works")
    assert created
    listed = await stub.ListSessions(sb.ListSessionsRequest(), metadata=auth_metadata(token))
    assert session.id in [s.id for s in listed.sessions]
    template = await stub.CreateTemplate(
        sb.CreateTemplateRequest(
            name="ping",
            language=types_pb2.SCRIPT_LANGUAGE_BASH,
            body="ping -c 1 {{host}}",
            parameters=[
                types_pb2.ScriptParameter(name="host", type=types_pb2.PARAMETER_TYPE_STRING)
            ],
        ),
        metadata=auth_metadata(token),
    )
    rendered = await stub.RenderTemplate(
        sb.RenderTemplateRequest(template_id=template.id, parameters={"host": "10.0.0.1"}),
        metadata=auth_metadata(token),
    )
    assert rendered.script == "ping -c 1 '10.0.0.1'"
    # The recipe drafter needs no fixes service for a standalone session.
    reply = await stub.SendMessage(
        sb.SendMessageRequest(
            session_id=session.id, content="is port 443 on web01 reachable from here?"
        ),
        metadata=auth_metadata(token),
    )
    assert reply.assistant_message.recipe_id == "test-port-connectivity"
    assert reply.assistant_message.script


async def test_fixes_service_stopped(
    scriptbuilder_channel, fixes_server, fixes_channel, make_token, settings, scriptbuilder_db_url
):
    stub = sb_stub(scriptbuilder_channel)
    token = make_token()
    ai = await create_ai_session(fixes_channel, token)
    # Warm the script builder's channel to the fixes service, then stop it.
    await create_session(stub, token, ai_session_id=ai)
    before = await count_sessions(scriptbuilder_db_url)
    await fixes_server.stop(0)
    other_ai = str(uuid.uuid4())
    started = time.perf_counter()
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await create_session(stub, token, ai_session_id=other_ai)
    elapsed = time.perf_counter() - started
    assert info.value.code() is grpc.StatusCode.UNAVAILABLE
    assert refusal_of(info.value).reason == "FIXES_SERVICE_UNAVAILABLE"
    assert elapsed < settings.fixes_call_timeout_seconds + 0.5
    assert await count_sessions(scriptbuilder_db_url) == before
    await _everything_else_works(stub, token)


@pytest.fixture
async def silent_fixes_target():
    """A listener that accepts connections and never answers: the deadline case."""
    writers: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.read(-1)

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    try:
        yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        for writer in writers:
            writer.close()
        server.close()


async def test_fixes_service_silent_hits_the_deadline(
    settings, scriptbuilder_db_url, silent_fixes_target, make_token
):
    fast = settings.model_copy(update={"fixes_call_timeout_seconds": 0.5})
    server = await create_server(
        fast,
        database_url=scriptbuilder_db_url,
        fixes_target=silent_fixes_target,
        run_proposal_relay=False,
    )
    await server.start()
    try:
        async with grpc.aio.insecure_channel(server.target) as channel:
            stub = sb_stub(channel)
            token = make_token()
            started = time.perf_counter()
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await create_session(
                    stub, token, ai_session_id="6b1f0a59-37f4-4c5b-9a58-3a5e0d1f4b11"
                )
            elapsed = time.perf_counter() - started
            assert info.value.code() is grpc.StatusCode.UNAVAILABLE
            assert 0.4 < elapsed < 1.5
            assert await count_sessions(scriptbuilder_db_url) == 0
            await _everything_else_works(stub, token)
    finally:
        await server.stop(0)
