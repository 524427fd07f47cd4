"""Fix-targeted inline drafting (issue 10, point 2) through real gRPC, with the
real fixes service: one inline session per (user, AI session), get-or-create
and each message naming the fix being drafted, the drafter working on that
fix (title, description, language) and the conversation about it."""

from __future__ import annotations

import uuid

import grpc
import pytest

from flowpilot.api.v1 import types_pb2
from flowpilot.fixes.v1 import fixes_pb2
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2 as sb
from tests.scriptbuilder.helpers import (
    count_sessions,
    create_ai_session,
    fixes_stub,
    sb_stub,
    sql,
)
from tests.support.grpc_client import auth_metadata, refusal_of

pytestmark = pytest.mark.integration

POWERSHELL = types_pb2.SCRIPT_LANGUAGE_POWERSHELL
BASH = types_pb2.SCRIPT_LANGUAGE_BASH


@pytest.fixture
def stub(scriptbuilder_channel):
    return sb_stub(scriptbuilder_channel)


async def propose(
    fixes_channel: grpc.aio.Channel,
    token: str,
    ai: str,
    title: str,
    language: int,
    description: str = "",
) -> str:
    fix = await fixes_stub(fixes_channel).CreateSuggestedFix(
        fixes_pb2.CreateSuggestedFixRequest(
            session_id=ai, title=title, description=description, script_language=language
        ),
        metadata=auth_metadata(token),
    )
    return fix.id


async def inline(stub, token: str, ai: str, fix_id: str = "") -> tuple[sb.Session, bool]:
    call = stub.CreateSession(
        sb.CreateSessionRequest(origin=sb.ORIGIN_PILOT_INLINE, ai_session_id=ai, fix_id=fix_id),
        metadata=auth_metadata(token),
    )
    session = await call
    trailing = dict(await call.trailing_metadata() or ())
    return session, trailing.get("flowpilot-resource-created") != "false"


async def send(stub, token: str, session_id: str, content: str, fix_id: str = ""):
    return await stub.SendMessage(
        sb.SendMessageRequest(session_id=session_id, content=content, fix_id=fix_id),
        metadata=auth_metadata(token),
    )


@pytest.fixture
async def two_fixes(fixes_channel, make_token):
    """The issue's AI session: the spooler (PowerShell) and DNS (bash) fixes."""
    token = make_token()
    ai = await create_ai_session(fixes_channel, token, title="Printing and name lookups fail")
    spooler = await propose(fixes_channel, token, ai, "Restart the print spooler", POWERSHELL)
    dns = await propose(fixes_channel, token, ai, "Flush DNS cache", BASH)
    return token, ai, spooler, dns


async def test_the_issues_two_fixes_each_drafted_for_itself(
    stub, two_fixes, scriptbuilder_db_url
) -> None:
    token, ai, spooler, dns = two_fixes
    session, created = await inline(stub, token, ai, spooler)
    assert created
    assert session.fix_id == spooler and session.language == POWERSHELL

    answer = (await send(stub, token, session.id, "draft it", spooler)).assistant_message
    assert answer.recipe_id == "clear-print-queue"
    assert answer.language == POWERSHELL
    assert "Spooler" in answer.script and "dns" not in answer.script.lower()
    assert answer.fix_id == spooler

    # The same tab moves to the other fix: the same row, now drafting for it.
    moved, created = await inline(stub, token, ai, dns)
    assert not created and moved.id == session.id
    assert moved.fix_id == dns and moved.language == BASH

    answer = (await send(stub, token, session.id, "draft it", dns)).assistant_message
    assert answer.recipe_id == "flush-dns-linux"
    assert answer.language == BASH
    assert answer.script.startswith("#!/usr/bin/env bash")
    assert "resolvectl flush-caches" in answer.script
    assert "spooler" not in answer.content.lower()
    assert answer.fix_id == dns
    assert await count_sessions(scriptbuilder_db_url) == 1


async def test_a_message_naming_a_fix_moves_the_session_to_it(stub, two_fixes) -> None:
    token, ai, spooler, dns = two_fixes
    session, _ = await inline(stub, token, ai, spooler)
    reply = await send(stub, token, session.id, "draft it", dns)
    assert reply.user_message.fix_id == dns and reply.assistant_message.language == BASH
    got = await stub.GetSession(
        sb.GetSessionRequest(session_id=session.id), metadata=auth_metadata(token)
    )
    assert got.fix_id == dns and got.language == BASH
    # Without a fix, a message drafts for the session's: it refines that draft.
    follow_up = (await send(stub, token, session.id, "test it with example.org")).assistant_message
    assert follow_up.fix_id == dns and follow_up.language == BASH
    assert follow_up.recipe_id == "flush-dns-linux" and "example.org" in follow_up.content


async def test_the_drafter_sees_the_conversation_about_that_fix_only(stub, two_fixes) -> None:
    token, ai, spooler, dns = two_fixes
    session, _ = await inline(stub, token, ai, spooler)
    first = await send(stub, token, session.id, "clear the queue on printsrv01", spooler)
    assert "printsrv01" in first.assistant_message.content
    await send(stub, token, session.id, "draft it", dns)
    # Back on the spooler: a follow-up refines the spooler draft, not the DNS one.
    back = await send(stub, token, session.id, "now on printsrv02", spooler)
    answer = back.assistant_message
    assert answer.recipe_id == "clear-print-queue" and answer.language == POWERSHELL
    assert "printsrv01 → printsrv02" in answer.content.replace("“", "").replace("”", "")
    listed = await stub.ListMessages(
        sb.ListMessagesRequest(session_id=session.id), metadata=auth_metadata(token)
    )
    assert [m.fix_id for m in listed.messages] == [spooler, spooler, dns, dns, spooler, spooler]


async def test_a_fix_of_another_ai_session_is_not_found_and_writes_nothing(
    stub, fixes_channel, two_fixes, scriptbuilder_db_url
) -> None:
    token, ai, spooler, _ = two_fixes
    other_ai = await create_ai_session(fixes_channel, token, title="Another ticket")
    foreign = await propose(fixes_channel, token, other_ai, "Reboot", POWERSHELL)
    for fix_id in (foreign, str(uuid.uuid4())):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await inline(stub, token, ai, fix_id)
        refusal = refusal_of(info.value)
        assert refusal.code is grpc.StatusCode.NOT_FOUND and refusal.reason == "FIX_NOT_FOUND"
    assert await count_sessions(scriptbuilder_db_url) == 0

    session, _ = await inline(stub, token, ai, spooler)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await send(stub, token, session.id, "draft it", foreign)
    assert refusal_of(info.value).reason == "FIX_NOT_FOUND"
    rows = await sql(scriptbuilder_db_url, "SELECT count(*) FROM script_builder_messages")
    assert rows == [(0,)]
    got = await stub.GetSession(
        sb.GetSessionRequest(session_id=session.id), metadata=auth_metadata(token)
    )
    assert got.fix_id == spooler


async def test_someone_elses_fix_is_not_found(stub, two_fixes, make_token) -> None:
    _, ai, spooler, _ = two_fixes
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await inline(stub, make_token(), ai, spooler)
    assert refusal_of(info.value).reason == "AI_SESSION_NOT_FOUND"


async def test_only_an_inline_session_drafts_for_a_fix(stub, two_fixes) -> None:
    token, ai, spooler, _ = two_fixes
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.CreateSession(
            sb.CreateSessionRequest(fix_id=spooler, ai_session_id=ai),
            metadata=auth_metadata(token),
        )
    assert refusal_of(info.value).reason == "FIX_ID_NEEDS_INLINE"
    standalone = await stub.CreateSession(
        sb.CreateSessionRequest(title="mine"), metadata=auth_metadata(token)
    )
    assert not standalone.HasField("fix_id")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await send(stub, token, standalone.id, "draft it", spooler)
    assert refusal_of(info.value).reason == "FIX_ID_NEEDS_INLINE"
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await inline(stub, token, ai, "not-a-uuid")
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert refusal_of(info.value).metadata["field"] == "fix_id"


async def test_without_a_named_fix_two_candidates_are_not_guessed(stub, two_fixes) -> None:
    token, ai, _, _ = two_fixes
    session, _ = await inline(stub, token, ai)
    assert not session.HasField("fix_id")
    answer = (await send(stub, token, session.id, "draft it")).assistant_message
    # Two fixes need a script: the drafter asks instead of drafting for one.
    assert not answer.HasField("script") and not answer.HasField("fix_id")
