"""Optimistic concurrency (AIP-154), no-ops and update masks, against the real
database: a stale etag writes nothing; two writers holding the same etag race
and exactly one wins; the same PATCH or PUT twice changes nothing."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import field_mask_pb2

from flowpilot.api.v1 import types_pb2
from flowpilot.fixes.v1 import fixes_pb2 as pb
from tests.fixes.helpers import Client, audit_rows, fix_row, make_state
from tests.support.grpc_client import refusal_of, refused

pytestmark = pytest.mark.integration


@pytest.fixture
def client(fixes_channel, make_token) -> Client:
    return Client(fixes_channel, make_token(user_id="engineer-1"))


async def test_fix_and_session_carry_their_version_as_etag(client: Client) -> None:
    session = await client.new_session()
    assert session.etag == '"0"'
    first = await client.new_fix(session.id)
    second = await client.new_fix(session.id)
    assert (first.state_version, first.etag) == (1, '"1"')
    assert (second.state_version, second.etag) == (2, '"2"')
    # A change to the second fix moves the session, not the first fix.
    await client.ApplyFix(session_id=session.id, fix_id=second.id)
    again = await client.GetSuggestedFix(session_id=session.id, fix_id=first.id)
    assert again.etag == '"1"'
    assert (await client.GetAiSession(session_id=session.id)).etag == '"3"'


async def test_a_stale_etag_is_refused_and_writes_nothing(client: Client, db) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id)
    stale = fix.etag
    await client.UpdateFixScript(session_id=session.id, fix_id=fix.id, ai_drafted_script="echo 2")
    before, events = await fix_row(db, fix.id), len(await audit_rows(db, fix.id))
    version = await client.version(session.id)
    refusal = await refused(client.ApplyFix(session_id=session.id, fix_id=fix.id, etag=stale))
    assert refusal.code is grpc.StatusCode.ABORTED
    assert refusal.reason == "ETAG_MISMATCH"
    assert refusal.metadata["etag"] == '"2"'
    assert await fix_row(db, fix.id) == before
    assert len(await audit_rows(db, fix.id)) == events
    assert await client.version(session.id) == version
    # The current etag, or `*`, is accepted.
    current = await client.GetSuggestedFix(session_id=session.id, fix_id=fix.id)
    applied = await client.ApplyFix(session_id=session.id, fix_id=fix.id, etag=current.etag)
    assert applied.HasField("applied_at")
    await client.RecordOutcome(
        session_id=session.id, fix_id=fix.id, outcome=pb.FIX_OUTCOME_APPLIED_SUCCESS, etag="*"
    )


async def test_session_writes_check_the_session_etag(client: Client) -> None:
    session = await client.new_session()
    await client.new_fix(session.id)
    refusal = await refused(client.ResolveAiSession(session_id=session.id, etag=session.etag))
    assert refusal.reason == "ETAG_MISMATCH"
    refusal = await refused(client.new_fix(session.id, etag='"0"'))
    assert refusal.reason == "ETAG_MISMATCH"
    current = await client.GetAiSession(session_id=session.id)
    resolved = await client.ResolveAiSession(session_id=session.id, etag=current.etag)
    assert resolved.status == pb.AI_SESSION_STATUS_RESOLVED


@pytest.mark.parametrize("etag", ["7", 'w/"1"', '"1', '"1", "2"', " ", '"1" ', 'W/ "1"'])
async def test_malformed_etags_are_bad_input(client: Client, etag: str) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id)
    refusal = await refused(client.DismissFix(session_id=session.id, fix_id=fix.id, etag=etag))
    assert (refusal.code, refusal.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ETAG")


@pytest.mark.parametrize(
    "weaken", [lambda tag: "W/" + tag, lambda tag: '"abc"', lambda tag: '"0' + tag[1:]]
)
async def test_weak_and_foreign_etags_are_a_mismatch(client: Client, db, weaken) -> None:
    """If-Match compares strongly (RFC 9110 §13.1.1): the current tag made
    weak, or a well-formed tag no version has, matches nothing: a mismatch
    (412 over REST), not bad input, and nothing is written."""
    session = await client.new_session()
    fix = await client.new_fix(session.id)
    version = await client.version(session.id)
    refusal = await refused(
        client.DismissFix(session_id=session.id, fix_id=fix.id, etag=weaken(fix.etag))
    )
    assert (refusal.code, refusal.reason) == (grpc.StatusCode.ABORTED, "ETAG_MISMATCH")
    assert refusal.metadata["etag"] == fix.etag
    assert await client.version(session.id) == version
    assert len(await audit_rows(db, fix.id)) == 1


@pytest.mark.parametrize("round_", range(3))
async def test_two_writers_with_the_same_etag_exactly_one_wins(
    fixes_server, make_token, db, round_: int
) -> None:
    """Two tabs hold the same fix (same etag) and write at once, through two
    channels (two connections): one write lands, the other is refused with
    ETAG_MISMATCH and writes nothing."""
    token = make_token(user_id="engineer-1")
    async with (
        grpc.aio.insecure_channel(fixes_server.target) as one,
        grpc.aio.insecure_channel(fixes_server.target) as two,
    ):
        tab_a, tab_b = Client(one, token), Client(two, token)
        session = await tab_a.new_session()
        fix = await tab_a.new_fix(session.id)
        start = await tab_a.version(session.id)

        async def write(tab: Client, script: str) -> str:
            try:
                await tab.UpdateFixScript(
                    session_id=session.id, fix_id=fix.id, ai_drafted_script=script, etag=fix.etag
                )
                return "ok"
            except grpc.aio.AioRpcError as error:
                return refusal_of(error).reason

        results = await asyncio.gather(write(tab_a, "echo a"), write(tab_b, "echo b"))
        assert sorted(results) == ["ETAG_MISMATCH", "ok"]
        assert await tab_a.version(session.id) == start + 1
    rows = await audit_rows(db, fix.id)
    assert [r["action"] for r in rows] == ["created", "script_updated"]
    winner = "echo a" if results[0] == "ok" else "echo b"
    assert (await fix_row(db, fix.id))["ai_drafted_script"] == winner


async def test_many_writers_with_one_etag_one_wins(client: Client, db) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id)
    calls = [
        client.UpdateFixScript(
            session_id=session.id, fix_id=fix.id, ai_drafted_script=f"echo {i}", etag=fix.etag
        )
        for i in range(10)
    ]
    results = await asyncio.gather(*calls, return_exceptions=True)
    wins = [r for r in results if not isinstance(r, BaseException)]
    losses = [refusal_of(r).reason for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(wins) == 1 and losses == ["ETAG_MISMATCH"] * 9
    assert len(await audit_rows(db, fix.id)) == 2


# --- no-ops change nothing --------------------------------------------------------


async def test_the_same_patch_twice_changes_nothing_the_second_time(client: Client, db) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id)
    request = {
        "session_id": session.id,
        "fix_id": fix.id,
        "ai_drafted_script": "Restart-Service {{name}}",
        "ai_drafted_parameters": {"name": "Spooler"},
        "script_parameters": [
            types_pb2.ScriptParameter(name="name", type=types_pb2.PARAMETER_TYPE_STRING)
        ],
    }
    first = await client.UpdateFixScript(**request)
    version, events = await client.version(session.id), len(await audit_rows(db, fix.id))
    second = await client.UpdateFixScript(**request)
    assert await client.version(session.id) == version
    assert len(await audit_rows(db, fix.id)) == events
    assert second == first


async def test_the_same_outcome_proposal_twice_changes_nothing(client: Client, db) -> None:
    session = await client.new_session()
    fix = await make_state(client, session.id, "verifying")
    request = {
        "session_id": session.id,
        "fix_id": fix.id,
        "outcome": pb.FIX_OUTCOME_APPLIED_FAILED,
        "rationale": "0x80070005 again",
    }
    first = await client.ProposeOutcome(**request)
    version, events = await client.version(session.id), len(await audit_rows(db, fix.id))
    second = await client.ProposeOutcome(**request)
    assert await client.version(session.id) == version
    assert len(await audit_rows(db, fix.id)) == events
    assert second.ai_outcome_proposal == first.ai_outcome_proposal
    # Another rationale is a change.
    await client.ProposeOutcome(**{**request, "rationale": "still failing"})
    assert await client.version(session.id) == version + 1


# --- update masks (AIP-134) ---------------------------------------------------------


async def test_fields_outside_the_mask_are_left_alone(client: Client, db) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id, script="echo {{x}}", parameters={"x": "a"})
    mask = field_mask_pb2.FieldMask(paths=["ai_drafted_script"])
    patched = await client.UpdateFixScript(
        session_id=session.id, fix_id=fix.id, ai_drafted_script="echo {{x}} {{x}}", update_mask=mask
    )
    assert patched.ai_drafted_script == "echo {{x}} {{x}}"
    assert dict(patched.ai_drafted_parameters) == {"x": "a"}
    # Only the values: the script stays.
    mask = field_mask_pb2.FieldMask(paths=["ai_drafted_parameters"])
    patched = await client.UpdateFixScript(
        session_id=session.id, fix_id=fix.id, ai_drafted_parameters={"x": "b"}, update_mask=mask
    )
    assert patched.ai_drafted_script == "echo {{x}} {{x}}"
    assert dict(patched.ai_drafted_parameters) == {"x": "b"}
    # In the mask and unset: cleared.
    patched = await client.UpdateFixScript(session_id=session.id, fix_id=fix.id, update_mask=mask)
    assert not patched.HasField("ai_drafted_parameters")
    # An empty mask changes nothing; no mask at all is every field (as before masks).
    version = await client.version(session.id)
    same = await client.UpdateFixScript(
        session_id=session.id, fix_id=fix.id, update_mask=field_mask_pb2.FieldMask()
    )
    assert same.ai_drafted_script == "echo {{x}} {{x}}"
    assert await client.version(session.id) == version


@pytest.mark.parametrize(
    ("paths", "reason", "field"),
    [
        (["title"], "INVALID_UPDATE_MASK", "update_mask"),
        # The shared rule (flowpilot/runtime/update_mask.py): `*` stands alone.
        (["*", "ai_drafted_script"], "INVALID_UPDATE_MASK", "update_mask"),
        (["ai_drafted_script"], "SCRIPT_EMPTY", "ai_drafted_script"),
    ],
)
async def test_bad_masks_are_bad_input(client: Client, db, paths, reason, field) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id)
    refusal = await refused(
        client.UpdateFixScript(
            session_id=session.id,
            fix_id=fix.id,
            update_mask=field_mask_pb2.FieldMask(paths=paths),
        )
    )
    assert (refusal.code, refusal.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
    assert refusal.metadata["field"] == field
    assert len(await audit_rows(db, fix.id)) == 1
