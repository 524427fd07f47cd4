"""AI drafting conversation, draft persistence and the template library
through real gRPC (CONTRACT §3 second table)."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import json_format, struct_pb2

from flowpilot.api.v1 import types_pb2
from flowpilot.fixes.v1 import fixes_pb2
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2 as sb
from tests.scriptbuilder.conftest import STRUCTURED_ANSWER
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
    # The default drafter answers from the vetted recipe, with its contract.
    assert assistant.recipe_id == "flush-dns-linux"
    assert assistant.language == BASH
    assert assistant.script.startswith("#!/usr/bin/env bash")
    assert "resolvectl flush-caches" in assistant.script
    assert [p.name for p in assistant.parameters] == ["test_name", "dry_run"]
    assert assistant.explanation and assistant.explanation in assistant.content
    assert f"```bash\n{assistant.script}\n```" in assistant.content
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
    # The draft's fields are stored, not only returned once.
    assert listed.messages[1] == assistant
    assert not listed.messages[0].HasField("recipe_id") and not listed.messages[0].parameters
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
    # "draft it" says nothing by itself: the fix being drafted does.
    assistant = reply.assistant_message
    assert assistant.recipe_id == "clear-print-queue"
    assert assistant.language == types_pb2.SCRIPT_LANGUAGE_POWERSHELL
    assert "Stop-Service -Name Spooler" in assistant.script


async def _template(stub, token, **kw) -> sb.ScriptTemplate:
    request = sb.CreateTemplateRequest(
        name="Restart service",
        description="Restarts one service",
        language=types_pb2.SCRIPT_LANGUAGE_POWERSHELL,
        body="Restart-Service -Name {{service}} -Force:{{force}} # retries {{retries}}",
        parameters=[
            types_pb2.ScriptParameter(
                name="service", type=types_pb2.PARAMETER_TYPE_STRING, required=True
            ),
            types_pb2.ScriptParameter(
                name="force",
                type=types_pb2.PARAMETER_TYPE_BOOLEAN,
                default=struct_pb2.Value(bool_value=False),
            ),
            types_pb2.ScriptParameter(
                name="retries",
                type=types_pb2.PARAMETER_TYPE_ENUM,
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
                    parameters=[
                        types_pb2.ScriptParameter(name="a", type=types_pb2.PARAMETER_TYPE_STRING)
                    ],
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
                parameters=[types_pb2.ScriptParameter(name="a")],
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
    reply = await stub.SendMessage(
        sb.SendMessageRequest(session_id=session.id, content="/var is full, what is eating it?"),
        metadata=auth_metadata(token),
    )
    # The draft's typed parameters are exactly what a template needs.
    drafted = reply.assistant_message
    from_ai = await stub.SaveSessionAsTemplate(
        sb.SaveSessionAsTemplateRequest(
            session_id=session.id, name="Disk check", parameters=list(drafted.parameters)
        ),
        metadata=auth_metadata(token),
    )
    assert from_ai.source_session_id == session.id and from_ai.body == drafted.script
    assert "du -xh" in from_ai.body and from_ai.language == BASH
    assert list(from_ai.parameters) == list(drafted.parameters)
    assert json_format.MessageToDict(drafted.parameters[0].default) == "/var"
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
                types_pb2.ScriptParameter(
                    name="mount",
                    type=types_pb2.PARAMETER_TYPE_STRING,
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
    from scriptbuilder_service.recipes import load_index

    provider = OpenAIChatProvider(
        base_url=chat_server.url, model="m", timeout_seconds=0.3, index=load_index()
    )
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
                sb.SendMessageRequest(
                    session_id=session.id, content="the cups service is down, restart it"
                ),
                metadata=auth_metadata(token),
            )
            # The model's structured answer arrives with the same contract.
            drafted = reply.assistant_message
            assert drafted.script == STRUCTURED_ANSWER["script"]
            assert drafted.language == BASH and drafted.recipe_id == "restart-systemd-unit"
            assert [(p.name, p.default.string_value) for p in drafted.parameters] == [
                ("unit", "cups")
            ]
            assert drafted.explanation == STRUCTURED_ANSWER["explanation"]
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


async def test_a_follow_up_refines_the_stored_draft(stub, make_token):
    """The previous draft comes back from the database (recipe, language,
    parameters) and the follow-up changes it instead of repeating it."""
    token = make_token()
    session, _ = await create_session(stub, token)

    async def send(content: str) -> sb.Message:
        reply = await stub.SendMessage(
            sb.SendMessageRequest(session_id=session.id, content=content),
            metadata=auth_metadata(token),
        )
        return reply.assistant_message

    def values(message: sb.Message) -> dict[str, object]:
        return {p.name: json_format.MessageToDict(p.default) for p in message.parameters}

    first = await send("Nothing prints on PRN-SRV02, jobs stuck in the queue. Clear it.")
    assert first.recipe_id == "clear-print-queue"
    assert values(first)["computer_name"] == "PRN-SRV02"
    second = await send("same on PRN-SRV03 please")
    assert second.recipe_id == "clear-print-queue" and second.script == first.script
    assert values(second) == {"computer_name": "PRN-SRV03", "dry_run": False}
    third = await send("just show me, don't change anything")
    assert values(third) == {"computer_name": "PRN-SRV03", "dry_run": True}
    question = await send("and order pizza")
    assert not question.HasField("script") and not question.HasField("recipe_id")
    assert question.language == types_pb2.SCRIPT_LANGUAGE_UNSPECIFIED
    assert not question.parameters and question.explanation == question.content
    listed = await stub.ListMessages(
        sb.ListMessagesRequest(session_id=session.id), metadata=auth_metadata(token)
    )
    assert list(listed.messages)[1::2] == [first, second, third, question]
