"""Provenance through every path (issue 16, points 1, 2 and 5), on both real
services: an AI draft submitted as is, edited in the editor, a template
rendered and run ("I ran this"), a hand-written script, an AI-proposed
script edited over the fixes API; the fix pins its template version while the
template moves on; bad submits are refused with nothing written."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import struct_pb2

from flowpilot.api.v1 import types_pb2
from flowpilot.fixes.v1 import fixes_pb2 as pb
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2 as sb
from tests.fixes.helpers import TEMPLATE_BODY, Client, create_template
from tests.scriptbuilder.helpers import create_session, sb_stub
from tests.support.grpc_client import auth_metadata, refused

pytestmark = pytest.mark.integration

ORIGIN = types_pb2.ScriptOrigin


@pytest.fixture
def token(make_token) -> str:
    return make_token(user_id="engineer-1")


@pytest.fixture
def client(fixes_channel, token) -> Client:
    return Client(fixes_channel, token)


@pytest.fixture
def builder(scriptbuilder_channel):
    return sb_stub(scriptbuilder_channel)


async def _drafted(builder, token: str, ai_session_id: str) -> tuple[sb.Session, sb.Message]:
    """An inline session whose AI drafted a script (the recipe drafter)."""
    session, _ = await create_session(builder, token, ai_session_id=ai_session_id)
    answer = await builder.SendMessage(
        sb.SendMessageRequest(
            session_id=session.id, content="restart the print spooler service on PRN-SRV03"
        ),
        metadata=auth_metadata(token),
    )
    assert answer.assistant_message.HasField("script")
    return session, answer.assistant_message


async def _submit(builder, token: str, session_id: str, fix_id: str, **more):
    return await builder.SubmitDraft(
        sb.SubmitDraftRequest(session_id=session_id, fix_id=fix_id, **more),
        metadata=auth_metadata(token),
    )


async def test_an_ai_draft_submitted_as_is_then_run(client: Client, builder, token) -> None:
    ai = await client.new_session()
    fix = await client.new_fix(ai.id, script=None, title="Restart the print spooler")
    session, draft = await _drafted(builder, token, ai.id)
    submitted = await _submit(builder, token, session.id, fix.id, source=sb.SUBMIT_SOURCE_AI)
    assert submitted.script == draft.script
    assert submitted.provenance.origin == ORIGIN.Value("SCRIPT_ORIGIN_AI_DRAFT")
    assert submitted.provenance.ai_message_id == draft.id
    assert submitted.provenance.script_builder_session_id == session.id
    assert submitted.provenance.recipe_id == draft.recipe_id
    assert submitted.provenance.edit.changed_chars == 0
    stored = await client.GetSuggestedFix(session_id=ai.id, fix_id=fix.id)
    assert stored.ai_drafted_script == draft.script
    assert stored.provenance == submitted.provenance
    assert stored.etag == submitted.etag
    ran = await client.RecordScriptDecision(
        session_id=ai.id, fix_id=fix.id, decision=pb.SCRIPT_DECISION_ONE_OFF
    )
    assert ran.last_run.provenance == submitted.provenance
    events = await client.ListFixEvents(session_id=ai.id, fix_id=fix.id)
    assert events.events[-1].run.provenance == submitted.provenance


async def test_an_ai_draft_edited_in_the_editor_then_run(client: Client, builder, token) -> None:
    ai = await client.new_session()
    fix = await client.new_fix(ai.id, script=None)
    session, draft = await _drafted(builder, token, ai.id)
    edited = draft.script + "\nWrite-Host 'spooler restarted'"
    await builder.UpdateDraft(
        sb.UpdateDraftRequest(
            session_id=session.id, editor_buffer=edited, mode=sb.EDITOR_MODE_EDITOR
        ),
        metadata=auth_metadata(token),
    )
    submitted = await _submit(builder, token, session.id, fix.id)  # the session's mode: editor
    provenance = submitted.provenance
    assert provenance.origin == ORIGIN.Value("SCRIPT_ORIGIN_AI_DRAFT_EDITED")
    assert (provenance.edit.changed_lines, provenance.edit.changed_chars) == (
        1,
        len("Write-Host 'spooler restarted'") + 1,
    )
    assert provenance.ai_message_id == draft.id
    applied = await client.ApplyFix(session_id=ai.id, fix_id=fix.id)
    assert applied.last_run.provenance == provenance
    assert applied.last_run.script.endswith("Write-Host 'spooler restarted'")


async def test_a_hand_written_script_from_the_editor(client: Client, builder, token) -> None:
    ai = await client.new_session()
    fix = await client.new_fix(
        ai.id, script=None, script_language=types_pb2.SCRIPT_LANGUAGE_BASH, title="Clear tmp"
    )
    session, _ = await create_session(builder, token, ai_session_id=ai.id)
    await builder.UpdateDraft(
        sb.UpdateDraftRequest(
            session_id=session.id,
            editor_buffer="rm -rf -- /tmp/{{folder}}",
            mode=sb.EDITOR_MODE_EDITOR,
        ),
        metadata=auth_metadata(token),
    )
    submitted = await _submit(builder, token, session.id, fix.id)
    assert submitted.provenance.origin == ORIGIN.Value("SCRIPT_ORIGIN_HAND_WRITTEN")
    assert not submitted.provenance.HasField("edit")
    stored = await client.GetSuggestedFix(session_id=ai.id, fix_id=fix.id)
    assert [p.name for p in stored.script_parameters] == ["folder"]
    applied = await client.ApplyFix(session_id=ai.id, fix_id=fix.id, parameters={"folder": "cache"})
    assert applied.last_run.script == "rm -rf -- /tmp/'cache'"
    assert applied.last_run.provenance.origin == ORIGIN.Value("SCRIPT_ORIGIN_HAND_WRITTEN")


async def test_an_ai_proposed_script_edited_over_the_fixes_api(client: Client) -> None:
    ai = await client.new_session()
    fix = await client.new_fix(ai.id)
    assert fix.provenance.origin == ORIGIN.Value("SCRIPT_ORIGIN_AI_DRAFT")
    patched = await client.UpdateFixScript(
        session_id=ai.id, fix_id=fix.id, ai_drafted_script=fix.ai_drafted_script + " -Verbose"
    )
    assert patched.provenance.origin == ORIGIN.Value("SCRIPT_ORIGIN_AI_DRAFT_EDITED")
    assert patched.provenance.edit.changed_chars == len(" -Verbose")
    # Back to the AI's text: as the AI wrote it again.
    back = await client.UpdateFixScript(
        session_id=ai.id, fix_id=fix.id, ai_drafted_script=fix.ai_drafted_script
    )
    assert back.provenance.origin == ORIGIN.Value("SCRIPT_ORIGIN_AI_DRAFT")
    # A script on a fix that had none, with no basis stated: hand-written.
    bare = await client.new_fix(ai.id, script=None, title="Something else")
    written = await client.UpdateFixScript(
        session_id=ai.id, fix_id=bare.id, ai_drafted_script="Get-Date"
    )
    assert written.provenance.origin == ORIGIN.Value("SCRIPT_ORIGIN_HAND_WRITTEN")


async def test_a_template_fix_is_pinned_to_its_version_while_the_template_moves_on(
    client: Client, scriptbuilder_channel, token
) -> None:
    template_id = await create_template(scriptbuilder_channel, token)
    ai = await client.new_session()
    fix = await client.new_fix(ai.id, script=None, template_id=template_id)
    assert fix.script_template_version == 1
    assert fix.provenance.origin == ORIGIN.Value("SCRIPT_ORIGIN_TEMPLATE")
    assert (fix.provenance.template_id, fix.provenance.template_version) == (template_id, 1)
    builder = sb_stub(scriptbuilder_channel)
    await builder.CreateTemplateVersion(
        sb.CreateTemplateVersionRequest(
            template_id=template_id,
            body="Stop-Service -Name {{service}} # force={{force}}",
            parameters=[
                types_pb2.ScriptParameter(
                    name="service", type=types_pb2.PARAMETER_TYPE_STRING, required=True
                ),
                types_pb2.ScriptParameter(
                    name="force",
                    type=types_pb2.PARAMETER_TYPE_BOOLEAN,
                    default=struct_pb2.Value(bool_value=True),
                ),
            ],
            change_note="stop instead",
        ),
        metadata=auth_metadata(token),
    )
    applied = await client.ApplyFix(
        session_id=ai.id, fix_id=fix.id, parameters={"service": "Spooler"}
    )
    run = applied.last_run
    assert run.script == TEMPLATE_BODY.replace("{{service}}", "'Spooler'").replace(
        "{{force}}", "$true"
    )
    assert (run.script_template_version, run.provenance.template_version) == (1, 1)
    assert dict(run.parameters) == {"service": "Spooler", "force": True}
    # A new fix pins the current version, or the one it names.
    newer = await client.new_fix(ai.id, script=None, template_id=template_id, title="Again")
    assert newer.script_template_version == 2
    older = await client.new_fix(
        ai.id, script=None, template_id=template_id, title="Old", script_template_version=1
    )
    assert older.script_template_version == 1


async def test_pinning_refusals_write_nothing(client: Client, scriptbuilder_channel, token) -> None:
    template_id = await create_template(scriptbuilder_channel, token)
    builder = sb_stub(scriptbuilder_channel)
    await builder.DeprecateTemplateVersion(
        sb.DeprecateTemplateVersionRequest(template_id=template_id, version=1, reason="unsafe"),
        metadata=auth_metadata(token),
    )
    ai = await client.new_session()
    deprecated = await refused(client.new_fix(ai.id, script=None, template_id=template_id))
    assert (deprecated.code, deprecated.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "TEMPLATE_VERSION_DEPRECATED",
    )
    missing = await refused(
        client.new_fix(ai.id, script=None, template_id=template_id, script_template_version=9)
    )
    assert (missing.code, missing.reason) == (
        grpc.StatusCode.NOT_FOUND,
        "TEMPLATE_VERSION_NOT_FOUND",
    )
    negative = await refused(
        client.new_fix(ai.id, script=None, template_id=template_id, script_template_version=-1)
    )
    assert (negative.code, negative.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_VERSION")
    assert await client.version(ai.id) == 0


async def test_bad_submits_are_refused_and_write_nothing(
    client: Client, builder, token, make_token
) -> None:
    ai = await client.new_session()
    fix = await client.new_fix(ai.id, script=None)
    other_ai = await client.new_session("Another ticket")
    foreign_fix = await client.new_fix(other_ai.id, script=None)
    session, _ = await create_session(builder, token, ai_session_id=ai.id)
    nothing = await refused(_submit(builder, token, session.id, fix.id, source=sb.SUBMIT_SOURCE_AI))
    assert (nothing.code, nothing.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "NO_SCRIPT_TO_SUBMIT",
    )
    await _drafted(builder, token, ai.id)
    await builder.UpdateDraft(
        sb.UpdateDraftRequest(
            session_id=session.id, editor_buffer="Get-Date", mode=sb.EDITOR_MODE_EDITOR
        ),
        metadata=auth_metadata(token),
    )
    # Something to submit, but to a fix of another AI session: the fixes service says 404.
    elsewhere = await refused(_submit(builder, token, session.id, foreign_fix.id))
    assert (elsewhere.code, elsewhere.reason) == (grpc.StatusCode.NOT_FOUND, "FIX_NOT_FOUND")
    stale = await refused(_submit(builder, token, session.id, fix.id, etag='"999"'))
    assert (stale.code, stale.reason) == (grpc.StatusCode.ABORTED, "ETAG_MISMATCH")
    viewer = make_token(user_id="engineer-1", role="viewer")
    denied = await refused(_submit(builder, viewer, session.id, fix.id))
    assert (denied.code, denied.reason) == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_CANNOT_WRITE")
    bad_fix = await refused(_submit(builder, token, session.id, "not-a-uuid"))
    assert (bad_fix.code, bad_fix.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_UUID")
    for fix_id in (fix.id, foreign_fix.id):
        stored = await client.GetSuggestedFix(
            session_id=ai.id if fix_id == fix.id else other_ai.id, fix_id=fix_id
        )
        assert not stored.HasField("ai_drafted_script") and not stored.HasField("provenance")


async def test_a_bad_basis_is_400_and_writes_nothing(client: Client) -> None:
    ai = await client.new_session()
    fix = await client.new_fix(ai.id, script=None)
    for basis, reason in (
        (pb.DraftBasis(ai_script=""), "SCRIPT_EMPTY"),
        (pb.DraftBasis(ai_script="x\x00"), "INVALID_CHARACTERS"),
        (pb.DraftBasis(ai_message_id="nope"), "INVALID_UUID"),
        (pb.DraftBasis(recipe_id="r" * 101), "FIELD_TOO_LONG"),
    ):
        refusal = await refused(
            client.UpdateFixScript(
                session_id=ai.id, fix_id=fix.id, ai_drafted_script="Get-Date", basis=basis
            )
        )
        assert (refusal.code, refusal.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
    assert await client.version(ai.id) == 1  # the fix's creation only


async def test_fix_targeted_drafting_submits_each_fix_its_own_draft(
    client: Client, builder, token
) -> None:
    """Two fixes drafted in one inline session (issue 10's fix-targeted
    drafting): each submit sends the script the AI drafted for that fix; a
    submit naming no fix goes to the fix the session drafts for now."""
    ai = await client.new_session()
    spooler = await client.new_fix(ai.id, script=None, title="Restart the print spooler")
    dns = await client.new_fix(ai.id, script=None, title="Flush the DNS cache")
    session, _ = await create_session(builder, token, ai_session_id=ai.id)
    answers = {}
    for fix, content in (
        (spooler, "restart the print spooler service on PRN-SRV03"),
        (dns, "flush the dns cache"),
    ):
        answer = await builder.SendMessage(
            sb.SendMessageRequest(session_id=session.id, content=content, fix_id=fix.id),
            metadata=auth_metadata(token),
        )
        answers[fix.id] = answer.assistant_message
    first = await _submit(builder, token, session.id, spooler.id, source=sb.SUBMIT_SOURCE_AI)
    assert first.script == answers[spooler.id].script
    assert first.provenance.ai_message_id == answers[spooler.id].id
    # No fix named: the one the session drafts for now (the last message's).
    second = await _submit(builder, token, session.id, "", source=sb.SUBMIT_SOURCE_AI)
    assert (second.fix_id, second.script) == (dns.id, answers[dns.id].script)
    assert second.provenance.origin == ORIGIN.Value("SCRIPT_ORIGIN_AI_DRAFT")
