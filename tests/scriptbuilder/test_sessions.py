"""Script-builder sessions through real gRPC, with the real fixes service
(seed "Script Builder session create — inline semantics", "list/count filter
changes"; CONTRACT §5)."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf import field_mask_pb2

from flowpilot.api.v1 import types_pb2
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2 as sb
from tests.scriptbuilder.helpers import count_sessions, create_ai_session, create_session, sb_stub
from tests.support.grpc_client import auth_metadata, refusal_of

pytestmark = pytest.mark.integration


@pytest.fixture
def stub(scriptbuilder_channel):
    return sb_stub(scriptbuilder_channel)


async def test_inline_create_then_get_same_row(
    stub, fixes_channel, make_token, scriptbuilder_db_url
):
    user = f"u-{uuid.uuid4().hex[:6]}"
    token = make_token(user_id=user)
    ai = await create_ai_session(fixes_channel, token)
    first, created = await create_session(stub, token, ai_session_id=ai, title="Tab")
    assert created
    assert first.origin == sb.ORIGIN_PILOT_INLINE and first.ai_session_id == ai
    assert first.user_id == user and first.account_id == "acct-1"
    again, created_again = await create_session(stub, token, ai_session_id=ai)
    assert not created_again
    assert again.id == first.id and again.title == "Tab"
    assert await count_sessions(scriptbuilder_db_url, user) == 1


async def test_inline_needs_ai_session_id(stub, make_token, scriptbuilder_db_url):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.CreateSession(
            sb.CreateSessionRequest(origin=sb.ORIGIN_PILOT_INLINE),
            metadata=auth_metadata(make_token()),
        )
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert refusal_of(info.value).reason == "AI_SESSION_ID_REQUIRED"
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await create_session(stub, make_token(), ai_session_id="not-a-uuid")
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert await count_sessions(scriptbuilder_db_url) == 0


@pytest.mark.parametrize("owner", ["other_user", "other_account", "nobody"])
async def test_inline_on_someone_elses_ai_session_is_not_found(
    owner, stub, fixes_channel, make_token, scriptbuilder_db_url
):
    if owner == "nobody":
        ai = str(uuid.uuid4())
    else:
        account = "acct-1" if owner == "other_user" else "acct-2"
        ai = await create_ai_session(fixes_channel, make_token(account_id=account))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await create_session(stub, make_token(), ai_session_id=ai)
    assert info.value.code() is grpc.StatusCode.NOT_FOUND
    assert refusal_of(info.value).reason == "AI_SESSION_NOT_FOUND"
    assert await count_sessions(scriptbuilder_db_url) == 0


async def test_admin_may_attach_to_an_account_ai_session(stub, fixes_channel, make_token):
    # The fixes service decides with its own rules: an admin may use every AI
    # session of the account, so the check passes with the admin's own token.
    ai = await create_ai_session(fixes_channel, make_token())
    admin = make_token(role="admin")
    session, created = await create_session(stub, admin, ai_session_id=ai)
    assert created and session.ai_session_id == ai


async def test_five_inline_leave_room_for_five_standalone(stub, fixes_channel, make_token):
    user = f"u-{uuid.uuid4().hex[:6]}"
    token = make_token(user_id=user)
    for _ in range(5):
        ai = await create_ai_session(fixes_channel, token)
        await create_session(stub, token, ai_session_id=ai)
    for i in range(5):
        _, created = await create_session(stub, token, title=f"s{i}")
        assert created
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await create_session(stub, token)
    assert info.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert refusal_of(info.value).reason == "SCRIPT_BUILDER_SESSION_CAP"
    # Inline get-or-create still works at the cap.
    ai = await create_ai_session(fixes_channel, token)
    _, created = await create_session(stub, token, ai_session_id=ai)
    assert created


async def test_list_is_standalone_only_by_default(stub, fixes_channel, make_token):
    token = make_token()
    ai = await create_ai_session(fixes_channel, token)
    inline, _ = await create_session(stub, token, ai_session_id=ai)
    older, _ = await create_session(stub, token, title="older")
    newer, _ = await create_session(stub, token, title="newer")
    listed = await stub.ListSessions(sb.ListSessionsRequest(), metadata=auth_metadata(token))
    assert [s.id for s in listed.sessions] == [newer.id, older.id]
    assert all(s.origin == sb.ORIGIN_STANDALONE for s in listed.sessions)
    everything = await stub.ListSessions(
        sb.ListSessionsRequest(include_inline=True), metadata=auth_metadata(token)
    )
    assert {s.id for s in everything.sessions} == {inline.id, older.id, newer.id}
    # Someone else sees none of them.
    assert not (
        await stub.ListSessions(sb.ListSessionsRequest(), metadata=auth_metadata(make_token()))
    ).sessions


async def test_list_pages(stub, make_token):
    token = make_token()
    made = [(await create_session(stub, token, title=f"s{i}"))[0].id for i in range(5)]
    seen: list[str] = []
    page_token = ""
    while True:
        page = await stub.ListSessions(
            sb.ListSessionsRequest(page_size=2, page_token=page_token),
            metadata=auth_metadata(token),
        )
        seen += [s.id for s in page.sessions]
        page_token = page.next_page_token
        if not page_token:
            break
    assert seen == list(reversed(made))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.ListSessions(
            sb.ListSessionsRequest(page_token="!!"), metadata=auth_metadata(token)
        )
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_get_and_delete_are_scoped_to_the_owner(stub, make_token):
    owner = make_token()
    session, _ = await create_session(stub, owner, language=types_pb2.SCRIPT_LANGUAGE_BASH)
    got = await stub.GetSession(
        sb.GetSessionRequest(session_id=session.id), metadata=auth_metadata(owner)
    )
    assert got.language == types_pb2.SCRIPT_LANGUAGE_BASH and got.mode == sb.EDITOR_MODE_AI
    for other in (make_token(), make_token(account_id="acct-2"), make_token(role="admin")):
        for call in (
            stub.GetSession(
                sb.GetSessionRequest(session_id=session.id), metadata=auth_metadata(other)
            ),
            stub.DeleteSession(
                sb.DeleteSessionRequest(session_id=session.id), metadata=auth_metadata(other)
            ),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call
            assert info.value.code() is grpc.StatusCode.NOT_FOUND
    await stub.DeleteSession(
        sb.DeleteSessionRequest(session_id=session.id), metadata=auth_metadata(owner)
    )
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.GetSession(
            sb.GetSessionRequest(session_id=session.id), metadata=auth_metadata(owner)
        )
    assert info.value.code() is grpc.StatusCode.NOT_FOUND


async def test_delete_frees_a_cap_slot(stub, make_token):
    token = make_token()
    sessions = [(await create_session(stub, token))[0] for _ in range(5)]
    with pytest.raises(grpc.aio.AioRpcError):
        await create_session(stub, token)
    await stub.DeleteSession(
        sb.DeleteSessionRequest(session_id=sessions[0].id), metadata=auth_metadata(token)
    )
    _, created = await create_session(stub, token)
    assert created


async def test_viewer_reads_but_cannot_write(stub, make_token):
    user = f"u-{uuid.uuid4().hex[:6]}"
    engineer, viewer = make_token(user_id=user), make_token(user_id=user, role="viewer")
    session, _ = await create_session(stub, engineer)
    listed = await stub.ListSessions(sb.ListSessionsRequest(), metadata=auth_metadata(viewer))
    assert [s.id for s in listed.sessions] == [session.id]
    await stub.GetSession(
        sb.GetSessionRequest(session_id=session.id), metadata=auth_metadata(viewer)
    )
    writes = [
        stub.CreateSession(sb.CreateSessionRequest(), metadata=auth_metadata(viewer)),
        stub.DeleteSession(
            sb.DeleteSessionRequest(session_id=session.id), metadata=auth_metadata(viewer)
        ),
        stub.SendMessage(
            sb.SendMessageRequest(session_id=session.id, content="hi"),
            metadata=auth_metadata(viewer),
        ),
        stub.UpdateDraft(
            sb.UpdateDraftRequest(session_id=session.id, mode=sb.EDITOR_MODE_EDITOR),
            metadata=auth_metadata(viewer),
        ),
        stub.CreateTemplate(
            sb.CreateTemplateRequest(
                name="n", language=types_pb2.SCRIPT_LANGUAGE_BASH, body="echo"
            ),
            metadata=auth_metadata(viewer),
        ),
    ]
    for call in writes:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call
        assert info.value.code() is grpc.StatusCode.PERMISSION_DENIED


async def test_update_draft_persists_buffer_and_mode(stub, make_token):
    token = make_token()
    session, _ = await create_session(stub, token)
    buffer = "Get-Service Spooler\n" * 100
    updated = await stub.UpdateDraft(
        sb.UpdateDraftRequest(
            session_id=session.id, editor_buffer=buffer, mode=sb.EDITOR_MODE_EDITOR
        ),
        metadata=auth_metadata(token),
    )
    assert updated.editor_buffer == buffer and updated.mode == sb.EDITOR_MODE_EDITOR
    # A refresh loses nothing.
    got = await stub.GetSession(
        sb.GetSessionRequest(session_id=session.id), metadata=auth_metadata(token)
    )
    assert got.editor_buffer == buffer and got.mode == sb.EDITOR_MODE_EDITOR
    for bad in (
        sb.UpdateDraftRequest(
            session_id=session.id, editor_buffer="x" * 50_001, mode=sb.EDITOR_MODE_AI
        ),
        sb.UpdateDraftRequest(session_id=session.id, editor_buffer="ok"),
        sb.UpdateDraftRequest(
            session_id=session.id, editor_buffer="a\x00b", mode=sb.EDITOR_MODE_AI
        ),
        sb.UpdateDraftRequest(session_id=session.id, mode=9),
        sb.UpdateDraftRequest(session_id="nope", mode=sb.EDITOR_MODE_AI),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.UpdateDraft(bad, metadata=auth_metadata(token))
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    # Exactly at the bound is fine.
    await stub.UpdateDraft(
        sb.UpdateDraftRequest(
            session_id=session.id, editor_buffer="x" * 50_000, mode=sb.EDITOR_MODE_AI
        ),
        metadata=auth_metadata(token),
    )


async def test_bad_input_is_invalid_argument(stub, make_token):
    token = make_token()
    for request in (
        sb.CreateSessionRequest(title="t" * 201),
        sb.CreateSessionRequest(title="a\x00"),
        sb.CreateSessionRequest(language=42),
        sb.CreateSessionRequest(origin=42),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.CreateSession(request, metadata=auth_metadata(token))
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_unauthenticated_calls_are_refused(stub):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.ListSessions(sb.ListSessionsRequest())
    assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_update_draft_writes_only_the_masked_fields(stub, make_token):
    """Issue 10, point 3: switching modes never discards work."""
    token = make_token()
    session, _ = await create_session(stub, token)

    async def update(**fields: object) -> sb.Session:
        return await stub.UpdateDraft(
            sb.UpdateDraftRequest(session_id=session.id, **fields), metadata=auth_metadata(token)
        )

    mask = field_mask_pb2.FieldMask
    saved = await update(
        editor_buffer="Restart-Service Spooler", mode=sb.EDITOR_MODE_EDITOR, update_mask=mask()
    )
    assert saved.editor_buffer == "" and saved.mode == sb.EDITOR_MODE_AI  # named nothing
    assert saved.updated_at == session.updated_at  # and wrote nothing
    await update(editor_buffer="Restart-Service Spooler", update_mask=mask(paths=["editor_buffer"]))
    switched = await update(mode=sb.EDITOR_MODE_AI, update_mask=mask(paths=["mode"]))
    assert switched.editor_buffer == "Restart-Service Spooler"
    assert switched.mode == sb.EDITOR_MODE_AI
    typed = await update(editor_buffer="Get-Service", update_mask=mask(paths=["editor_buffer"]))
    assert typed.editor_buffer == "Get-Service" and typed.mode == sb.EDITOR_MODE_AI
    both = await update(editor_buffer="", mode=sb.EDITOR_MODE_EDITOR, update_mask=mask(paths=["*"]))
    assert both.editor_buffer == "" and both.mode == sb.EDITOR_MODE_EDITOR
    # No mask (a gRPC client from before masks): both fields, as before.
    legacy = await update(editor_buffer="x", mode=sb.EDITOR_MODE_AI)
    assert legacy.editor_buffer == "x" and legacy.mode == sb.EDITOR_MODE_AI

    for bad, reason in (
        ({"update_mask": mask(paths=["title"])}, "INVALID_UPDATE_MASK"),
        ({"update_mask": mask(paths=["*", "mode"])}, "INVALID_UPDATE_MASK"),
        ({"update_mask": mask(paths=["mode"])}, "INVALID_ARGUMENT"),  # mode cannot be cleared
        (
            {"editor_buffer": "x" * 50_001, "update_mask": mask(paths=["editor_buffer"])},
            "FIELD_TOO_LONG",
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await update(**bad)
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert refusal_of(info.value).reason == reason
    got = await stub.GetSession(
        sb.GetSessionRequest(session_id=session.id), metadata=auth_metadata(token)
    )
    assert got.editor_buffer == "x" and got.mode == sb.EDITOR_MODE_AI
