"""Streaming drafts (issue 12, point 4): StreamMessage over gRPC, with the
recipe drafter and with a model behind the OpenAI-compatible provider (the
local fake chat-completions server streaming its answer). The exchange is
stored only when the answer is complete: a call cancelled half-way leaves
nothing behind. Through the gateway: test_streaming_e2e.py."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest

from flowpilot.api.v1 import types_pb2
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2 as sb
from tests.scriptbuilder.conftest import TEXT_ANSWER, ChatServer
from tests.scriptbuilder.helpers import create_session, sb_stub, sql
from tests.support.grpc_client import auth_metadata, refusal_of

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
