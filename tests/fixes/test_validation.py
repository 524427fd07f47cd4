"""Malformed input is INVALID_ARGUMENT, reaches no SQL and writes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest

from fixes_service.domain import validation
from flowpilot.api.v1 import types_pb2
from flowpilot.fixes.v1 import fixes_pb2 as pb
from flowpilot.runtime.paging import PageTokens
from flowpilot.runtime.settings import Settings
from tests.fixes.helpers import Client
from tests.support.grpc_client import refused

pytestmark = pytest.mark.integration

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOW = "2026-01-01T00:00:00+00:00"
NOW_ID = str(uuid.uuid4())


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


@pytest.fixture
def client(fixes_channel, make_token) -> Client:
    return Client(fixes_channel, make_token(user_id="engineer-1"))


async def _snapshot(db) -> tuple[int, ...]:
    return tuple(
        [
            await db.fetchval("SELECT count(*) FROM fix_events"),
            await db.fetchval("SELECT count(*) FROM suggested_fixes"),
            await db.fetchval("SELECT coalesce(sum(state_version), 0) FROM ai_sessions"),
            await db.fetchval("SELECT count(*) FROM ai_sessions"),
            await db.fetchval(
                "SELECT count(*) FROM suggested_fixes WHERE ai_drafted_script <> $1",
                "echo original",
            ),
        ]
    )


BAD_SCRIPTS = {
    "empty": ("", "SCRIPT_EMPTY"),
    "whitespace": (" \n\t  ", "SCRIPT_EMPTY"),
    "too_long": ("x" * 50_001, "SCRIPT_TOO_LONG"),
    "nul": ("echo \x00", "INVALID_CHARACTERS"),
}
BAD_PARAMETERS = {
    "too_large": ({"blob": "x" * (validation.MAX_PARAMETERS_BYTES + 1)}, "PARAMETERS_TOO_LARGE"),
    "too_deep": (nested(validation.MAX_PARAMETERS_DEPTH + 1), "PARAMETERS_TOO_DEEP"),
}


@pytest.mark.parametrize("case", list(BAD_SCRIPTS))
async def test_bad_scripts(client: Client, db, case: str) -> None:
    script, reason = BAD_SCRIPTS[case]
    session = await client.new_session()
    fix = await client.new_fix(session.id, script="echo original")
    before = await _snapshot(db)
    for call in (
        client.UpdateFixScript(session_id=session.id, fix_id=fix.id, ai_drafted_script=script),
        client.new_fix(session.id, script=script),
    ):
        refusal = await refused(call)
        assert (refusal.code, refusal.reason) == (INVALID, reason)
        assert refusal.metadata["field"] == "ai_drafted_script"
    assert await _snapshot(db) == before


async def test_script_of_exactly_50000_chars_is_accepted(client: Client) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id)
    updated = await client.UpdateFixScript(
        session_id=session.id, fix_id=fix.id, ai_drafted_script="x" * 50_000
    )
    assert len(updated.ai_drafted_script) == 50_000


@pytest.mark.parametrize("case", list(BAD_PARAMETERS))
async def test_bad_parameters(client: Client, db, case: str) -> None:
    parameters, reason = BAD_PARAMETERS[case]
    session = await client.new_session()
    fix = await client.new_fix(session.id, script="echo original")
    before = await _snapshot(db)
    for call in (
        client.UpdateFixScript(
            session_id=session.id,
            fix_id=fix.id,
            ai_drafted_script="echo new",
            ai_drafted_parameters=parameters,
        ),
        client.new_fix(session.id, parameters=parameters),
    ):
        refusal = await refused(call)
        assert (refusal.code, refusal.reason) == (INVALID, reason)
    assert await _snapshot(db) == before


async def test_parameters_at_the_depth_limit_are_accepted(client: Client) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id, parameters=nested(validation.MAX_PARAMETERS_DEPTH))
    assert fix.HasField("ai_drafted_parameters")


BAD_UUIDS = ["", "not-a-uuid", "1234", str(uuid.uuid4()).replace("-", ""), "{" + "0" * 34 + "}"]


@pytest.mark.parametrize("bad", BAD_UUIDS)
async def test_bad_uuids(client: Client, db, bad: str) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id)
    before = await _snapshot(db)
    calls = {
        "session_id": [
            client.GetAiSession(session_id=bad),
            client.ResolveAiSession(session_id=bad),
            client.ApplyFix(session_id=bad, fix_id=fix.id),
            client.ListSuggestedFixes(session_id=bad),
            client.ListAiSessionEvents(session_id=bad),
        ],
        "fix_id": [
            client.ApplyFix(session_id=session.id, fix_id=bad),
            client.DismissFix(session_id=session.id, fix_id=bad),
            client.ListFixEvents(session_id=session.id, fix_id=bad),
        ],
        "ai_session_id": [client.CheckAiSessionAccess(ai_session_id=bad)],
        "script_template_id": [
            client.CreateSuggestedFix(
                session_id=session.id,
                title="t",
                script_language=types_pb2.SCRIPT_LANGUAGE_BASH,
                script_template_id=bad,
            )
        ],
        "fix_outcomes.fix_id": [
            client.EscalateAiSession(
                session_id=session.id,
                fix_outcomes=[
                    pb.FixOutcomeChoice(fix_id=bad, choice=pb.ESCALATION_CHOICE_APPLIED_FAILED)
                ],
            )
        ],
    }
    for field, field_calls in calls.items():
        for call in field_calls:
            refusal = await refused(call)
            assert refusal.code is INVALID, field
            assert refusal.metadata["field"] == field
    assert await _snapshot(db) == before


FORGED = PageTokens(b"not the service's key" * 2)


def _signed(kind: str, parent: str, values: list[object], settings: Settings) -> str:
    return PageTokens.from_settings(settings).sign(kind, parent, values)


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "%%%",
        # Signed by this service, for another list or another caller, or out of range.
        lambda s: _signed("suggested_fixes", "x", ["2026-01-01T00:00:00+00:00", "x"], s),
        lambda s: _signed("fix_events", "x", [1], s),
        lambda s: _signed("ai_sessions", "acct-1/engineer-1", ["not a time", NOW_ID], s),
        lambda s: _signed("ai_sessions", "acct-1/someone-else", [NOW, NOW_ID], s),
        # A well-formed position signed with another key.
        FORGED.sign("ai_sessions", "acct-1/engineer-1", [NOW, NOW_ID]),
        "A" * 600,
    ],
)
async def test_bad_page_tokens(client: Client, token: object, settings: Settings) -> None:
    if callable(token):
        token = token(settings)
    assert isinstance(token, str)
    session = await client.new_session()
    fix = await client.new_fix(session.id)
    for call in (
        client.ListAiSessions(page_token=token),
        client.ListSuggestedFixes(session_id=session.id, page_token=token),
        client.ListFixEvents(session_id=session.id, fix_id=fix.id, page_token=token),
        client.ListAiSessionEvents(session_id=session.id, page_token=token),
    ):
        refusal = await refused(call)
        assert (refusal.code, refusal.reason) == (INVALID, "INVALID_PAGE_TOKEN")


async def test_negative_page_size(client: Client) -> None:
    refusal = await refused(client.ListAiSessions(page_size=-1))
    assert refusal.code is INVALID


async def test_missing_and_unknown_enums_and_fields(client: Client, db) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id)
    before = await _snapshot(db)
    ids = {"session_id": session.id, "fix_id": fix.id}
    cases = [
        (client.RecordScriptDecision(**ids), "decision"),
        (client.RecordScriptDecision(**ids, decision=99), "decision"),
        (client.RecordOutcome(**ids), "outcome"),
        (client.ProposeOutcome(**ids, outcome=42), "outcome"),
        (client.CreateSuggestedFix(session_id=session.id, title="t"), "script_language"),
        (
            client.CreateSuggestedFix(
                session_id=session.id, script_language=types_pb2.SCRIPT_LANGUAGE_BASH
            ),
            "title",
        ),
        (client.CreateAiSession(title="   "), "title"),
        (client.CreateAiSession(title="x" * 201), "title"),
        (client.RecordOutcome(**ids, outcome=1, notes="n" * 5001), "notes"),
        (client.EscalateAiSession(session_id=session.id, reason="r" * 5001), "reason"),
        (
            client.EscalateAiSession(
                session_id=session.id, fix_outcomes=[pb.FixOutcomeChoice(fix_id=fix.id)]
            ),
            "fix_outcomes.choice",
        ),
    ]
    for call, field in cases:
        refusal = await refused(call)
        assert refusal.code is INVALID, field
        assert refusal.metadata["field"] == field
    assert await _snapshot(db) == before
