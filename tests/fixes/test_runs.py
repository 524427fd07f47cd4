"""Runnable drafts through the real stack: typed script parameters, the
fix-level render (the same quoting as templates), run records kept with the
fix and on its audit row, notes that outlive the next outcome, frozen fixes
and session-level audit rows."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import grpc
import pytest
from google.protobuf import struct_pb2

from flowpilot.api.v1 import types_pb2
from flowpilot.fixes.v1 import fixes_pb2 as pb
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2 as sb
from flowpilot.scriptbuilder.v1.scriptbuilder_pb2_grpc import ScriptBuilderServiceStub
from tests.fixes.helpers import Client, audit_rows, fix_row, make_state
from tests.support.grpc_client import auth_metadata, refused

pytestmark = pytest.mark.integration

STRING, BOOLEAN = types_pb2.PARAMETER_TYPE_STRING, types_pb2.PARAMETER_TYPE_BOOLEAN
SPOOLER = "Restart-Service -Name {{service}} -Force:{{force}}"
TYPED = [
    types_pb2.ScriptParameter(name="service", type=STRING, required=True),
    types_pb2.ScriptParameter(
        name="force", type=BOOLEAN, default=struct_pb2.Value(bool_value=True)
    ),
]


@pytest.fixture
def client(fixes_channel, make_token) -> Client:
    return Client(fixes_channel, make_token(user_id="engineer-1"))


async def typed_fix(client: Client, session_id: str, **more) -> pb.SuggestedFix:
    return await client.new_fix(
        session_id,
        script=SPOOLER,
        script_parameters=TYPED,
        parameters={"service": "Spooler"},
        **more,
    )


# --- typed parameters and render -----------------------------------------------------


async def test_a_fix_carries_typed_parameters_and_renders_like_a_template(
    client: Client, scriptbuilder_channel, make_token
) -> None:
    session = await client.new_session()
    fix = await typed_fix(client, session.id)
    assert [p.name for p in fix.script_parameters] == ["service", "force"]
    rendered = await client.RenderSuggestedFix(session_id=session.id, fix_id=fix.id)
    assert rendered.script == "Restart-Service -Name 'Spooler' -Force:$true"
    assert rendered.language == types_pb2.SCRIPT_LANGUAGE_POWERSHELL
    nasty = "it's ‘quoted’; $(rm -rf /)"
    values = struct_pb2.Struct()
    values.update({"service": nasty, "force": False})
    rendered = await client.RenderSuggestedFix(
        session_id=session.id, fix_id=fix.id, parameters=values
    )
    # The script-builder renders the same body, parameters and values the same.
    templates = ScriptBuilderServiceStub(scriptbuilder_channel)
    metadata = auth_metadata(make_token(user_id="engineer-1"))
    template = await templates.CreateTemplate(
        sb.CreateTemplateRequest(
            name="spooler",
            language=types_pb2.SCRIPT_LANGUAGE_POWERSHELL,
            body=SPOOLER,
            parameters=TYPED,
        ),
        metadata=metadata,
    )
    generated = await templates.RenderTemplate(
        sb.RenderTemplateRequest(template_id=template.id, parameters=values), metadata=metadata
    )
    assert rendered.script == generated.script
    assert "''" in rendered.script and "\u2018\u2018" in rendered.script
    # Rendering never stamps nor changes anything.
    assert (await client.GetSuggestedFix(session_id=session.id, fix_id=fix.id)) == fix


async def test_untyped_placeholders_render_from_the_stored_values(client: Client) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id, script="Get-Service {{name}}", parameters={"name": "x"})
    rendered = await client.RenderSuggestedFix(session_id=session.id, fix_id=fix.id)
    assert rendered.script == "Get-Service 'x'"
    bare = await client.new_fix(session.id, script="Get-Service {{name}}")
    refusal = await refused(client.RenderSuggestedFix(session_id=session.id, fix_id=bare.id))
    assert (refusal.code, refusal.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "MISSING_PARAMETER",
    )


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"nope": 1}, "UNKNOWN_PARAMETER"),
        ({"service": 5}, "INVALID_PARAMETER_VALUE"),
        ({"force": "yes"}, "INVALID_PARAMETER_VALUE"),
    ],
)
async def test_render_values_are_checked(client: Client, values, reason) -> None:
    session = await client.new_session()
    fix = await typed_fix(client, session.id)
    struct = struct_pb2.Struct()
    struct.update(values)
    refusal = await refused(
        client.RenderSuggestedFix(session_id=session.id, fix_id=fix.id, parameters=struct)
    )
    assert (refusal.code, refusal.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)


async def test_a_fix_without_a_script_has_nothing_to_render(client: Client, template_id) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id, script=None, template_id=template_id)
    refusal = await refused(client.RenderSuggestedFix(session_id=session.id, fix_id=fix.id))
    assert (refusal.code, refusal.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "NO_DRAFTED_SCRIPT",
    )


@pytest.mark.parametrize(
    ("script", "names", "reason"),
    [
        ("echo {{a}} {{b}}", ["a"], "UNDECLARED_PARAMETER"),
        ("echo {{a}}", ["a", "b"], "UNUSED_PARAMETER"),
        (None, ["a"], "UNUSED_PARAMETER"),
        ("echo {{a}} {{a}}", ["a", "a"], "DUPLICATE_PARAMETER"),
        ("echo {{1a}}", ["1a"], "INVALID_PARAMETER_NAME"),
    ],
)
async def test_typed_parameters_must_describe_the_script(
    client: Client, db, script, names, reason
) -> None:
    session = await client.new_session()
    params = [types_pb2.ScriptParameter(name=n, type=STRING) for n in names]
    refusal = await refused(client.new_fix(session.id, script=script, script_parameters=params))
    assert (refusal.code, refusal.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
    fix = await client.new_fix(session.id, script="echo 1")
    refusal = await refused(
        client.UpdateFixScript(
            session_id=session.id,
            fix_id=fix.id,
            ai_drafted_script=script or "",
            script_parameters=params,
        )
    )
    assert refusal.code is grpc.StatusCode.INVALID_ARGUMENT
    assert len(await audit_rows(db, fix.id)) == 1


# --- run records ---------------------------------------------------------------------


async def test_i_ran_this_keeps_the_exact_script_and_values(client: Client, db) -> None:
    session = await client.new_session()
    fix = await typed_fix(client, session.id)
    applied = await client.ApplyFix(session_id=session.id, fix_id=fix.id)
    run = applied.last_run
    assert run.kind == pb.FIX_RUN_KIND_APPLY
    assert run.source == pb.FIX_RUN_SOURCE_DRAFTED_SCRIPT
    assert run.script == "Restart-Service -Name 'Spooler' -Force:$true"
    assert dict(run.parameters) == {"service": "Spooler", "force": True}
    assert run.rendered and run.declared_by_user_id == "engineer-1"
    assert run.state_version == applied.state_version
    # On the fix (GET), on its audit row, and in its own append-only table.
    got = await client.GetSuggestedFix(session_id=session.id, fix_id=fix.id)
    assert got.last_run == run
    events = (await client.ListFixEvents(session_id=session.id, fix_id=fix.id)).events
    assert [e.HasField("run") for e in events] == [False, True]
    assert events[1].run == run
    stored = await db.fetchrow("SELECT * FROM fix_runs WHERE fix_id = $1", uuid.UUID(fix.id))
    assert stored["script"] == run.script and stored["id"] == uuid.UUID(run.id)
    for statement in ("UPDATE fix_runs SET script = 'rm -rf /'", "DELETE FROM fix_runs"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await db.execute(statement)


async def test_one_off_with_values_keeps_them_and_bad_values_write_nothing(
    client: Client, db
) -> None:
    session = await client.new_session()
    fix = await typed_fix(client, session.id)
    values = struct_pb2.Struct()
    values.update({"service": "wuauserv", "nope": 1})
    refusal = await refused(
        client.RecordScriptDecision(
            session_id=session.id,
            fix_id=fix.id,
            decision=pb.SCRIPT_DECISION_ONE_OFF,
            parameters=values,
        )
    )
    assert refusal.reason == "UNKNOWN_PARAMETER"
    assert (await fix_row(db, fix.id))["applied_at"] is None
    del values["nope"]
    decided = await client.RecordScriptDecision(
        session_id=session.id, fix_id=fix.id, decision=pb.SCRIPT_DECISION_ONE_OFF, parameters=values
    )
    assert decided.last_run.kind == pb.FIX_RUN_KIND_ONE_OFF
    assert decided.last_run.script == "Restart-Service -Name 'wuauserv' -Force:$true"
    # draft_template declares another run: two records, the latest on the fix.
    drafted = await client.RecordScriptDecision(
        session_id=session.id, fix_id=fix.id, decision=pb.SCRIPT_DECISION_DRAFT_TEMPLATE
    )
    assert drafted.last_run.kind == pb.FIX_RUN_KIND_DRAFT_TEMPLATE
    assert drafted.last_run.script == "Restart-Service -Name 'Spooler' -Force:$true"
    kinds = await db.fetch(
        "SELECT kind FROM fix_runs WHERE fix_id = $1 ORDER BY state_version", uuid.UUID(fix.id)
    )
    assert [k["kind"] for k in kinds] == ["one_off", "draft_template"]


async def test_a_run_without_values_for_its_placeholders_keeps_the_script_as_drafted(
    client: Client,
) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id, script="Remove-Item {{path}} -Recurse")
    decided = await client.RecordScriptDecision(
        session_id=session.id, fix_id=fix.id, decision=pb.SCRIPT_DECISION_DRAFT_TEMPLATE
    )
    assert decided.last_run.script == "Remove-Item {{path}} -Recurse"
    assert decided.last_run.rendered is False


async def test_a_template_run_keeps_the_rendered_template(
    client: Client, template_id: str, db
) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id, script=None, template_id=template_id)
    values = struct_pb2.Struct()
    values.update({"service": "Spooler"})
    applied = await client.ApplyFix(session_id=session.id, fix_id=fix.id, parameters=values)
    run = applied.last_run
    assert run.source == pb.FIX_RUN_SOURCE_TEMPLATE and run.script_template_id == template_id
    assert run.script == "Restart-Service -Name 'Spooler' -Force:$true"
    assert dict(run.parameters) == {"service": "Spooler", "force": True}
    # Without values, the run names the template but not a script it cannot know.
    other = await client.new_fix(session.id, script=None, template_id=template_id)
    applied = await client.ApplyFix(session_id=session.id, fix_id=other.id)
    assert applied.last_run.script_template_id == template_id
    assert not applied.last_run.HasField("script") and not applied.last_run.rendered
    # Values the template refuses refuse the declaration.
    third = await client.new_fix(session.id, script=None, template_id=template_id)
    refusal = await refused(
        client.ApplyFix(session_id=session.id, fix_id=third.id, parameters=struct_pb2.Struct())
    )
    assert refusal.reason == "MISSING_PARAMETER"
    assert (await fix_row(db, third.id))["applied_at"] is None


# --- notes, frozen fixes, session rows -----------------------------------------------


async def test_partial_notes_outlive_the_next_outcome(client: Client) -> None:
    session = await client.new_session()
    fix = await make_state(client, session.id, "partial")
    assert fix.outcome_notes == "only the mailbox"
    done = await client.RecordOutcome(
        session_id=session.id, fix_id=fix.id, outcome=pb.FIX_OUTCOME_APPLIED_SUCCESS
    )
    assert not done.HasField("outcome_notes")
    assert [(n.outcome, n.notes) for n in done.notes_history] == [
        (pb.FIX_OUTCOME_APPLIED_PARTIAL, "only the mailbox")
    ]
    assert done.notes_history[0].recorded_by_user_id == "engineer-1"


async def test_escalation_notes_join_the_history(client: Client) -> None:
    session = await client.new_session()
    fix = await make_state(client, session.id, "verifying")
    await client.EscalateAiSession(
        session_id=session.id,
        fix_outcomes=[
            pb.FixOutcomeChoice(
                fix_id=fix.id, choice=pb.ESCALATION_CHOICE_APPLIED_PARTIAL, notes="half"
            )
        ],
    )
    got = await client.GetSuggestedFix(session_id=session.id, fix_id=fix.id)
    assert [n.notes for n in got.notes_history] == ["half"]


async def test_fixes_of_a_resolved_session_say_they_are_frozen(client: Client, db) -> None:
    session = await client.new_session()
    bare = await client.new_fix(session.id, script=None)
    assert bare.needs_script and pb.FIX_ACTION_UPDATE_SCRIPT in bare.allowed_actions
    live = await client.GetAiSession(session_id=session.id)
    assert list(live.allowed_actions) == [
        pb.AI_SESSION_ACTION_RESOLVE,
        pb.AI_SESSION_ACTION_ESCALATE,
        pb.AI_SESSION_ACTION_PROPOSE_FIX,
    ]
    resolved = await client.ResolveAiSession(session_id=session.id)
    assert list(resolved.allowed_actions) == []
    frozen = await client.GetSuggestedFix(session_id=session.id, fix_id=bare.id)
    assert frozen.banner_mode == pb.BANNER_MODE_FROZEN
    assert frozen.apply_route == pb.APPLY_ROUTE_NONE
    assert frozen.needs_script is False and list(frozen.allowed_actions) == []
    # The resolve itself is on the audit trail, as a session row.
    row = await db.fetchrow(
        "SELECT * FROM fix_events WHERE ai_session_id = $1 AND fix_id IS NULL",
        uuid.UUID(session.id),
    )
    assert row["action"] == "session_resolved" and row["actor_user_id"] == "engineer-1"
    assert row["state_version"] == resolved.state_version


async def test_escalation_choices_name_the_fixes_that_need_one(client: Client) -> None:
    session = await client.new_session()
    verifying = await make_state(client, session.id, "verifying")
    partial = await make_state(client, session.id, "partial")
    await make_state(client, session.id, "not_applied")
    got = await client.GetAiSession(session_id=session.id)
    assert [(c.fix_id, list(c.allowed)) for c in got.escalation_choices] == [
        (
            verifying.id,
            [
                pb.ESCALATION_CHOICE_APPLIED_FAILED,
                pb.ESCALATION_CHOICE_APPLIED_SUCCESS,
                pb.ESCALATION_CHOICE_NEVER_APPLIED,
                pb.ESCALATION_CHOICE_APPLIED_PARTIAL,
            ],
        ),
        (partial.id, [pb.ESCALATION_CHOICE_APPLIED_FAILED, pb.ESCALATION_CHOICE_APPLIED_SUCCESS]),
    ]
    listed = (await client.ListAiSessions()).ai_sessions
    assert [s.escalation_choices for s in listed if s.id == session.id] == [got.escalation_choices]


async def test_concurrent_runs_keep_one_record_each(client: Client, db) -> None:
    """Runs declared on sibling fixes at once: one record per declaring change."""
    session = await client.new_session()
    fixes = [await typed_fix(client, session.id) for _ in range(5)]
    await asyncio.gather(*(client.ApplyFix(session_id=session.id, fix_id=f.id) for f in fixes))
    count = await db.fetchval(
        "SELECT count(*) FROM fix_runs WHERE ai_session_id = $1", uuid.UUID(session.id)
    )
    assert count == 5
