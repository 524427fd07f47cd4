"""Streaming drafts (issue 12, point 4): StreamMessage over gRPC and, through
the gateway, as server-sent events; with the recipe drafter and with a model
behind the OpenAI-compatible provider (the local fake chat-completions server
streaming its answer). The exchange is stored only when the answer is
complete: a client that goes away half-way leaves nothing behind."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest

from flowpilot.api.v1 import types_pb2
from flowpilot.runtime.server import GrpcServer
from flowpilot.runtime.settings import Settings
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2 as sb
from tests.conftest import serve_http
from tests.scriptbuilder.conftest import TEXT_ANSWER, ChatServer
from tests.scriptbuilder.helpers import create_session, sb_stub, sql
from tests.support.gateway import both_services
from tests.support.grpc_client import auth_metadata, refusal_of
from tests.support.sse import parse, read_events

pytestmark = pytest.mark.integration


async def stream(stub, token: str, session_id: str, content: str) -> list[sb.SendMessageEvent]:
    call = stub.StreamMessage(
        sb.SendMessageRequest(session_id=session_id, content=content),
        metadata=auth_metadata(token),
    )
    return [event async for event in call]


async def stored(url: str) -> int:
    return (await sql(url, "SELECT count(*) FROM script_builder_messages"))[0][0]


@pytest.fixture
def stub(scriptbuilder_channel):
    return sb_stub(scriptbuilder_channel)


@pytest.fixture
async def model_server(
    settings: Settings, scriptbuilder_db_url: str, fixes_server: GrpcServer, chat_server: ChatServer
) -> AsyncIterator[GrpcServer]:
    """The script-builder with a model behind it: the fake chat-completions server."""
    from scriptbuilder_service.adapters.drafting.openai import OpenAIChatProvider
    from scriptbuilder_service.main import create_server
    from scriptbuilder_service.recipes import load_index

    drafter = OpenAIChatProvider(base_url=chat_server.url, model="tiny", index=load_index())
    server = await create_server(
        settings,
        database_url=scriptbuilder_db_url,
        fixes_target=fixes_server.target,
        port=0,
        drafter=drafter,
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop(0)


async def test_the_recipe_drafter_streams_message_pieces_then_the_stored_answer(
    stub, make_token
) -> None:
    token = make_token()
    session, _ = await create_session(stub, token, language=types_pb2.SCRIPT_LANGUAGE_BASH)
    events = await stream(stub, token, session.id, "restart nginx on web01")
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds == ["user_message", "text_delta", "text_delta", "assistant_message"]
    user, answer = events[0].user_message, events[-1].assistant_message
    assert user.role == sb.MESSAGE_ROLE_USER and user.content == "restart nginx on web01"
    assert "".join(e.text_delta.text for e in events[1:-1]) == answer.content
    assert answer.script and answer.language == types_pb2.SCRIPT_LANGUAGE_BASH
    assert answer.parameters and answer.explanation
    # Stored as announced: the same ids, in order.
    listed = await stub.ListMessages(
        sb.ListMessagesRequest(session_id=session.id), metadata=auth_metadata(token)
    )
    assert [m.id for m in listed.messages] == [user.id, answer.id]
    assert listed.messages[0] == user and listed.messages[1] == answer


async def test_a_refusal_comes_before_any_event_and_stores_nothing(
    stub, make_token, scriptbuilder_db_url
) -> None:
    token = make_token()
    session, _ = await create_session(stub, token)
    for session_id, content, code in (
        (session.id, "   ", grpc.StatusCode.INVALID_ARGUMENT),
        (str(uuid.uuid4()), "hi", grpc.StatusCode.NOT_FOUND),
    ):
        call = stub.StreamMessage(
            sb.SendMessageRequest(session_id=session_id, content=content),
            metadata=auth_metadata(token),
        )
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call.read()
        assert info.value.code() is code
    viewer = stub.StreamMessage(
        sb.SendMessageRequest(session_id=session.id, content="hi"),
        metadata=auth_metadata(make_token(role="viewer")),
    )
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await viewer.read()
    assert refusal_of(info.value).reason == "ROLE_CANNOT_WRITE"
    # The shared interceptor authenticates streaming calls like unary ones.
    anonymous = stub.StreamMessage(sb.SendMessageRequest(session_id=session.id, content="hi"))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await anonymous.read()
    assert refusal_of(info.value).code is grpc.StatusCode.UNAUTHENTICATED
    assert await stored(scriptbuilder_db_url) == 0


async def test_a_model_streams_its_answer_through_stream_message(
    model_server, chat_server: ChatServer, make_token
) -> None:
    token = make_token()
    async with grpc.aio.insecure_channel(model_server.target) as channel:
        stub = sb_stub(channel)
        session, _ = await create_session(stub, token, language=types_pb2.SCRIPT_LANGUAGE_BASH)
        events = await stream(stub, token, session.id, "restart the print spooler")
    assert chat_server.requests[-1]["stream"] is True
    deltas = [e.text_delta.text for e in events if e.WhichOneof("event") == "text_delta"]
    assert len(deltas) > 2 and "".join(deltas) == TEXT_ANSWER  # as the model sent them
    answer = events[-1].assistant_message
    assert answer.script == "systemctl restart cups"
    assert answer.language == types_pb2.SCRIPT_LANGUAGE_BASH
    assert answer.content == TEXT_ANSWER


async def test_a_cancelled_stream_stores_nothing(
    model_server, chat_server: ChatServer, make_token, scriptbuilder_db_url
) -> None:
    chat_server.stall_after = 3
    token = make_token()
    async with grpc.aio.insecure_channel(model_server.target) as channel:
        stub = sb_stub(channel)
        session, _ = await create_session(stub, token)
        call = stub.StreamMessage(
            sb.SendMessageRequest(session_id=session.id, content="restart the print spooler"),
            metadata=auth_metadata(token),
        )
        seen = [await call.read() for _ in range(4)]
        assert [e.WhichOneof("event") for e in seen] == ["user_message", *["text_delta"] * 3]
        call.cancel()
        # The model's request is abandoned too, not left to run.
        await asyncio.wait_for(chat_server.hung_up.wait(), 5)
    await asyncio.sleep(0.2)
    assert await stored(scriptbuilder_db_url) == 0


async def test_a_model_failure_after_the_first_event_ends_the_call_and_stores_nothing(
    model_server, chat_server: ChatServer, make_token, scriptbuilder_db_url
) -> None:
    chat_server.mode = "error"
    token = make_token()
    async with grpc.aio.insecure_channel(model_server.target) as channel:
        stub = sb_stub(channel)
        session, _ = await create_session(stub, token)
        call = stub.StreamMessage(
            sb.SendMessageRequest(session_id=session.id, content="restart the print spooler"),
            metadata=auth_metadata(token),
        )
        first = await call.read()
        assert first.WhichOneof("event") == "user_message"
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call.read()
    refusal = refusal_of(info.value)
    assert refusal.code is grpc.StatusCode.UNAVAILABLE and refusal.reason == "DRAFTER_UNAVAILABLE"
    assert await stored(scriptbuilder_db_url) == 0


# ------------------------------------------------- through the gateway, as SSE


@pytest.mark.e2e
async def test_a_draft_streams_through_the_gateway_as_server_sent_events(
    gateway_url, make_token
) -> None:
    token = make_token()
    async with httpx.AsyncClient(
        base_url=gateway_url + "/api/v1", headers={"authorization": f"Bearer {token}"}
    ) as api:
        session = (await api.post("/script-builder/sessions", json={"language": "bash"})).json()
        response = await api.post(
            f"/script-builder/sessions/{session['id']}/messages:stream",
            json={"content": "restart nginx on web01"},
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/event-stream")
        events = parse(response.text)
        assert [e.event for e in events] == [
            "user_message",
            "text_delta",
            "text_delta",
            "assistant_message",
        ]
        answer = events[-1].json["assistant_message"]
        assert events[0].json["user_message"]["content"] == "restart nginx on web01"
        assert "".join(e.json["text_delta"]["text"] for e in events[1:-1]) == answer["content"]
        assert answer["language"] == "bash" and answer["script"] and answer["parameters"]
        listed = (await api.get(f"/script-builder/sessions/{session['id']}/messages")).json()
        assert listed["messages"][1] == answer
        # A refusal before any event is an ordinary JSON error.
        refused = await api.post(
            f"/script-builder/sessions/{session['id']}/messages:stream", json={"content": ""}
        )
        assert refused.status_code == 400
        assert refused.headers["content-type"] == "application/json"


@pytest.mark.e2e
async def test_a_model_draft_through_the_gateway_and_a_client_that_leaves(
    settings: Settings,
    fixes_server: GrpcServer,
    model_server: GrpcServer,
    chat_server: ChatServer,
    make_token,
    scriptbuilder_db_url: str,
) -> None:
    """The real end-to-end SSE path: browser-like client → gateway → script
    builder → a streaming model, and back; then a client that hangs up."""
    from gateway.app import create_app

    token = make_token()
    app = create_app(settings, both_services(fixes_server.target, model_server.target))
    async with (
        serve_http(app) as url,
        httpx.AsyncClient(
            base_url=url + "/api/v1", headers={"authorization": f"Bearer {token}"}, timeout=30
        ) as api,
    ):
        session = (await api.post("/script-builder/sessions", json={"language": "bash"})).json()
        path = f"/script-builder/sessions/{session['id']}/messages:stream"
        response = await api.post(path, json={"content": "restart the print spooler"})
        events = parse(response.text)
        deltas = [e.json["text_delta"]["text"] for e in events if e.event == "text_delta"]
        assert "".join(deltas) == TEXT_ANSWER and len(deltas) > 2
        assert events[-1].event == "assistant_message"
        assert events[-1].json["assistant_message"]["script"] == "systemctl restart cups"
        assert await stored(scriptbuilder_db_url) == 2

        chat_server.stall_after = 2
        async with api.stream("POST", path, json={"content": "again please"}) as live:
            received = read_events(live.aiter_lines())
            assert (await anext(received)).event == "user_message"
            assert (await anext(received)).event == "text_delta"
        # The client left: the gateway cancels the call, the service abandons
        # the model's answer, and nothing of the half exchange is stored.
        await asyncio.wait_for(chat_server.hung_up.wait(), 5)
        await asyncio.sleep(0.2)
        assert await stored(scriptbuilder_db_url) == 2
        assert app.state.gateway.streams.open == 0
        messages = (await api.get(f"/script-builder/sessions/{session['id']}/messages")).json()
        contents = [m["content"] for m in messages["messages"]]
        assert contents == ["restart the print spooler", TEXT_ANSWER]
        assert "again please" not in json.dumps(messages)
