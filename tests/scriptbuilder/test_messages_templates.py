"""AI drafting conversation, draft persistence and the template library
through real gRPC (CONTRACT §3 second table)."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import struct_pb2

from flowpilot.api.v1 import types_pb2
from flowpilot.fixes.v1 import fixes_pb2
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2 as sb
from tests.scriptbuilder.helpers import create_ai_session, create_session, fixes_stub, sb_stub
from tests.support.grpc_client import auth_metadata, refusal_of

pytestmark = pytest.mark.integration

BASH = types_pb2.SCRIPT_LANGUAGE_BASH


@pytest.fixture
def stub(scriptbuilder_channel):
    return sb_stub(scriptbuilder_channel)


async def test_send_message_stores_both_and_extracts_the_script(stub, make_token):
    token = make_token()
    session, _ = await create_session(stub, token, language=BASH)
    reply = await stub.SendMessage(
        sb.SendMessageRequest(session_id=session.id, content="flush the DNS cache"),
        metadata=auth_metadata(token),
    )
    assert reply.user_message.role == sb.MESSAGE_ROLE_USER
    assert reply.user_message.content == "flush the DNS cache"
    assert not reply.user_message.HasField("script")
    assistant = reply.assistant_message
    assert assistant.role == sb.MESSAGE_ROLE_ASSISTANT
    assert "offline drafter" in assistant.content
    assert assistant.script.startswith("#!/usr/bin/env bash")
    await stub.SendMessage(
        sb.SendMessageRequest(session_id=session.id, content="and restart nscd"),
        metadata=auth_metadata(token),
    )
    listed = await stub.ListMessages(
        sb.ListMessagesRequest(session_id=session.id), metadata=auth_metadata(token)
    )
    assert [m.role for m in listed.messages] == [
        sb.MESSAGE_ROLE_USER,
        sb.MESSAGE_ROLE_ASSISTANT,
    ] * 2
    assert listed.messages[0].id == reply.user_message.id
    page = await stub.ListMessages(
        sb.ListMessagesRequest(session_id=session.id, page_size=3), metadata=auth_metadata(token)
    )
    assert len(page.messages) == 3 and page.next_page_token
    rest = await stub.ListMessages(
        sb.ListMessagesRequest(session_id=session.id, page_token=page.next_page_token),
        metadata=auth_metadata(token),
    )
    assert [m.id for m in [*page.messages, *rest.messages]] == [m.id for m in listed.messages]


async def test_message_validation_and_ownership(stub, make_token):
    token = make_token()
    session, _ = await create_session(stub, token)
    for content in ("", "   ", "x" * 20_001, "a\x00b"):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.SendMessage(
                sb.SendMessageRequest(session_id=session.id, content=content),
                metadata=auth_metadata(token),
            )
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    for call in (
        stub.SendMessage(
            sb.SendMessageRequest(session_id=session.id, content="hi"),
            metadata=auth_metadata(make_token()),
        ),
        stub.ListMessages(
            sb.ListMessagesRequest(session_id=session.id), metadata=auth_metadata(make_token())
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call
        assert info.value.code() is grpc.StatusCode.NOT_FOUND


async def test_inline_drafts_from_the_fix_context(stub, fixes_channel, make_token):
    token = make_token()
    ai = await create_ai_session(fixes_channel, token)
    await fixes_stub(fixes_channel).CreateSuggestedFix(
        fixes_pb2.CreateSuggestedFixRequest(
            session_id=ai,
            title="Clear the stuck print queue",
            description="Jobs pile up in the spooler",
            script_language=types_pb2.SCRIPT_LANGUAGE_POWERSHELL,
        ),
        metadata=auth_metadata(token),
    )
    session, _ = await create_session(stub, token, ai_session_id=ai)
    reply = await stub.SendMessage(
        sb.SendMessageRequest(session_id=session.id, content="draft it"),
        metadata=auth_metadata(token),
    )
    assert "Clear the stuck print queue" in reply.assistant_message.content
    assert "# Fix: Clear the stuck print queue" in reply.assistant_message.script


async def _template(stub, token, **kw) -> sb.ScriptTemplate:
    request = sb.CreateTemplateRequest(
        name="Restart service",
        description="Restarts one service",
        language=types_pb2.SCRIPT_LANGUAGE_POWERSHELL,
        body="Restart-Service -Name {{service}} -Force:{{force}} # retries {{retries}}",
        parameters=[
            sb.TemplateParameter(name="service", type=sb.PARAMETER_TYPE_STRING, required=True),
            sb.TemplateParameter(
                name="force",
                type=sb.PARAMETER_TYPE_BOOLEAN,
                default=struct_pb2.Value(bool_value=False),
            ),
            sb.TemplateParameter(
                name="retries",
                type=sb.PARAMETER_TYPE_ENUM,
                choices=["1", "3"],
                default=struct_pb2.Value(string_value="1"),
            ),
        ],
    )
    for key, value in kw.items():
        setattr(request, key, value)
    return await stub.CreateTemplate(request, metadata=auth_metadata(token))


async def test_template_create_list_get_render(stub, make_token):
    token = make_token()
    template = await _template(stub, token)
    assert template.status == sb.TEMPLATE_STATUS_PUBLISHED
    assert template.parameters[1].default.bool_value is False
    assert template.parameters[1].HasField("default")
    assert not template.parameters[0].HasField("default")
    # The whole account sees it, including a viewer; another account does not.
    colleague = make_token(role="viewer")
    listed = await stub.ListTemplates(sb.ListTemplatesRequest(), metadata=auth_metadata(colleague))
    assert template.id in [t.id for t in listed.templates]
    got = await stub.GetTemplate(
        sb.GetTemplateRequest(template_id=template.id), metadata=auth_metadata(colleague)
    )
    assert got == template
    stranger = make_token(account_id="acct-2")
    assert template.id not in [
        t.id
        for t in (
            await stub.ListTemplates(sb.ListTemplatesRequest(), metadata=auth_metadata(stranger))
        ).templates
    ]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.GetTemplate(
            sb.GetTemplateRequest(template_id=template.id), metadata=auth_metadata(stranger)
        )
    assert info.value.code() is grpc.StatusCode.NOT_FOUND
    rendered = await stub.RenderTemplate(
        sb.RenderTemplateRequest(
            template_id=template.id, parameters={"service": "O'Brien’s svc", "force": True}
        ),
        metadata=auth_metadata(colleague),
    )
    assert rendered.script == "Restart-Service -Name 'O''Brien’’s svc' -Force:$true # retries '1'"
    assert rendered.language == types_pb2.SCRIPT_LANGUAGE_POWERSHELL


@pytest.mark.parametrize(
    ("values", "why"),
    [
        ({}, "MISSING_PARAMETER"),
        ({"service": "s", "nope": 1}, "UNKNOWN_PARAMETER"),
        ({"service": 3}, "INVALID_PARAMETER_VALUE"),
        ({"service": "s", "force": "yes"}, "INVALID_PARAMETER_VALUE"),
        ({"service": "s", "retries": "2"}, "INVALID_PARAMETER_VALUE"),
        ({"service": "a\x00b"}, "INVALID_PARAMETER_VALUE"),
    ],
)
async def test_render_refuses_bad_values(stub, make_token, values, why):
    token = make_token()
    template = await _template(stub, token)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.RenderTemplate(
            sb.RenderTemplateRequest(template_id=template.id, parameters=values),
            metadata=auth_metadata(token),
        )
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert refusal_of(info.value).reason == why


async def test_template_schema_is_checked_at_creation(stub, make_token):
    token = make_token()
    cases = {
        "UNDECLARED_PARAMETER": {"body": "echo {{a}} {{b}}"},
        "INVALID_ARGUMENT": {"language": 0},
    }
    for why, change in cases.items():
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.CreateTemplate(
                sb.CreateTemplateRequest(
                    name="t",
                    language=change.get("language", BASH),
                    body=change.get("body", "echo {{a}}"),
                    parameters=[sb.TemplateParameter(name="a", type=sb.PARAMETER_TYPE_STRING)],
                ),
                metadata=auth_metadata(token),
            )
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert refusal_of(info.value).reason == why
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.CreateTemplate(
            sb.CreateTemplateRequest(
                name="t",
                language=BASH,
                body="echo {{a}}",
                parameters=[sb.TemplateParameter(name="a")],
            ),
            metadata=auth_metadata(token),
        )
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_save_session_as_template(stub, make_token):
    token = make_token()
    session, _ = await create_session(stub, token, language=BASH)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.SaveSessionAsTemplate(
            sb.SaveSessionAsTemplateRequest(session_id=session.id, name="empty"),
            metadata=auth_metadata(token),
        )
    assert info.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert refusal_of(info.value).reason == "NO_SCRIPT_TO_SAVE"
    # From the AI's latest script when the editor is empty.
    await stub.SendMessage(
        sb.SendMessageRequest(session_id=session.id, content="check disk space"),
        metadata=auth_metadata(token),
    )
    from_ai = await stub.SaveSessionAsTemplate(
        sb.SaveSessionAsTemplateRequest(
            session_id=session.id,
            name="Disk check",
            parameters=[
                sb.TemplateParameter(name="target", type=sb.PARAMETER_TYPE_STRING, required=True)
            ],
        ),
        metadata=auth_metadata(token),
    )
    assert from_ai.source_session_id == session.id and "target={{target}}" in from_ai.body
    assert from_ai.language == BASH
    # The editor buffer wins when it has text.
    await stub.UpdateDraft(
        sb.UpdateDraftRequest(
            session_id=session.id, editor_buffer="df -h {{mount}}", mode=sb.EDITOR_MODE_EDITOR
        ),
        metadata=auth_metadata(token),
    )
    from_editor = await stub.SaveSessionAsTemplate(
        sb.SaveSessionAsTemplateRequest(
            session_id=session.id,
            name="df",
            parameters=[
                sb.TemplateParameter(
                    name="mount",
                    type=sb.PARAMETER_TYPE_STRING,
                    default=struct_pb2.Value(string_value="/"),
                )
            ],
        ),
        metadata=auth_metadata(token),
    )
    assert from_editor.body == "df -h {{mount}}"
    rendered = await stub.RenderTemplate(
        sb.RenderTemplateRequest(template_id=from_editor.id), metadata=auth_metadata(token)
    )
    assert rendered.script == "df -h '/'"
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.SaveSessionAsTemplate(
            sb.SaveSessionAsTemplateRequest(session_id=session.id, name="x"),
            metadata=auth_metadata(make_token()),
        )
    assert info.value.code() is grpc.StatusCode.NOT_FOUND


async def test_model_endpoint_down_is_unavailable_and_stores_nothing(
    settings, scriptbuilder_db_url, fixes_server, make_token, chat_server
):
    from scriptbuilder_service.adapters.drafting.openai import OpenAIChatProvider
    from scriptbuilder_service.main import create_server

    provider = OpenAIChatProvider(base_url=chat_server.url, model="m", timeout_seconds=0.3)
    server = await create_server(
        settings,
        database_url=scriptbuilder_db_url,
        fixes_target=fixes_server.target,
        drafter=provider,
        run_proposal_relay=False,
    )
    await server.start()
    try:
        async with grpc.aio.insecure_channel(server.target) as channel:
            stub = sb_stub(channel)
            token = make_token()
            session, _ = await create_session(stub, token, language=BASH)
            reply = await stub.SendMessage(
                sb.SendMessageRequest(session_id=session.id, content="restart cups"),
                metadata=auth_metadata(token),
            )
            assert reply.assistant_message.script == "systemctl restart cups"
            for mode in ("error", "slow"):
                chat_server.mode = mode
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await stub.SendMessage(
                        sb.SendMessageRequest(session_id=session.id, content="again"),
                        metadata=auth_metadata(token),
                    )
                assert info.value.code() is grpc.StatusCode.UNAVAILABLE
            listed = await stub.ListMessages(
                sb.ListMessagesRequest(session_id=session.id), metadata=auth_metadata(token)
            )
            assert len(listed.messages) == 2
    finally:
        await server.stop(0)
