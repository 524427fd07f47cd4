"""20 concurrent conflicting transitions on one fix, against the real database.

The audit trail gives the serial order of the changes that happened; replaying
it through the pure domain must reproduce the stored fix, every refused or
no-op call must be what the domain answers at some point of that order, and
`state_version` must have risen by exactly the number of changes.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest

from fixes_service.domain import model
from fixes_service.domain.model import Fix, FixStatus, Outcome, ScriptPatch, SessionStatus
from flowpilot.fixes.v1 import fixes_pb2 as pb
from flowpilot.kernel import ScriptLanguage
from flowpilot.runtime.errors import DomainError
from flowpilot.runtime.grpc_errors import error_info, status_from_metadata
from tests.fixes.helpers import Client, audit_rows, fix_row, make_state

NOW = datetime(2026, 4, 23, tzinfo=UTC)


@dataclass(frozen=True)
class Op:
    kind: str  # apply | dismiss | outcome | script
    outcome: str = ""
    script: str = ""

    def call(self, client: Client, session_id: str, fix_id: str) -> Any:
        ids = {"session_id": session_id, "fix_id": fix_id}
        if self.kind == "apply":
            return client.ApplyFix(**ids)
        if self.kind == "dismiss":
            return client.DismissFix(**ids)
        if self.kind == "outcome":
            number = pb.FixOutcome.Value("FIX_OUTCOME_" + self.outcome.upper())
            return client.RecordOutcome(**ids, outcome=number, notes="concurrent notes")
        return client.UpdateFixScript(**ids, ai_drafted_script=self.script)

    def rule(self, fix: Fix) -> model.FixChange | None:
        common: dict[str, Any] = {"session_status": SessionStatus.ACTIVE, "now": NOW}
        if self.kind == "apply":
            return model.apply(fix, **common)
        if self.kind == "dismiss":
            return model.dismiss(fix, **common)
        if self.kind == "outcome":
            return model.record_outcome(
                fix, outcome=Outcome(self.outcome), notes="concurrent notes", **common
            )
        # Without an update mask: every field (the values and typed parameters cleared).
        patch = ScriptPatch(script=self.script, sets_parameters=True, sets_script_parameters=True)
        return model.update_script(fix, patch=patch, **common)

    def matches(self, event: Any) -> bool:
        details = json.loads(event["details"])
        return {
            "apply": event["action"] == "applied",
            "dismiss": event["action"] == "dismissed",
            "outcome": event["action"] == "outcome_recorded"
            and details.get("outcome") == self.outcome,
            "script": event["action"] == "script_updated"
            and details.get("script_chars") == len(self.script),
        }[self.kind]


def _ops(seed: int) -> list[Op]:
    ops = (
        [Op("apply")] * 5
        + [Op("dismiss")] * 4
        + [Op("outcome", outcome=o) for o in ("applied_success", "applied_failed") * 2]
        + [Op("outcome", outcome="applied_partial")] * 2
        # Distinct lengths, so the audit row says which call it was.
        + [Op("script", script="echo " + "x" * n) for n in range(1, 6)]
    )
    assert len(ops) == 20
    random.Random(seed).shuffle(ops)
    return ops


def _outcome(fix: Fix, op: Op) -> tuple[str, model.FixChange | None]:
    try:
        return "ok", op.rule(fix)
    except DomainError as error:
        return error.reason, None


def _initial(state: str) -> Fix:
    return Fix(
        id=uuid.uuid4(),
        ai_session_id=uuid.uuid4(),
        title="t",
        description="",
        script_language=ScriptLanguage.POWERSHELL,
        status=FixStatus.PROPOSED,
        created_at=NOW,
        updated_at=NOW,
        ai_drafted_script="Get-Process outlook | Stop-Process -Force",
        applied_at=NOW if state == "verifying" else None,
    )


@pytest.mark.parametrize("state", ["not_applied", "verifying"])
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_twenty_conflicting_transitions(
    fixes_channel, make_token, db, state: str, seed: int
) -> None:
    client = Client(fixes_channel, make_token(user_id="engineer-1"))
    session = await client.new_session()
    fix = await make_state(client, session.id, state)
    start_version = await client.version(session.id)
    start_events = len(await audit_rows(db, fix.id))
    ops = _ops(seed)

    results = await asyncio.gather(*(_call(op, client, session.id, fix.id) for op in ops))

    events = (await audit_rows(db, fix.id))[start_events:]
    end_version = await client.version(session.id)
    # No lost or extra rows: one audit row per change, consecutive versions.
    assert end_version - start_version == len(events)
    assert [e["state_version"] for e in events] == list(range(start_version + 1, end_version + 1))

    # Replay the audit order through the pure domain.
    current, states = _initial(state), []
    states.append(current)
    unmatched = [(op, result) for op, result in results if result == "ok"]
    for event in events:
        candidates = [i for i, (op, _) in enumerate(unmatched) if op.matches(event)]
        assert candidates, f"no successful call explains {dict(event)}"
        op, _ = unmatched.pop(candidates[0])
        verdict, change = _outcome(current, op)
        assert verdict == "ok" and change is not None, (op, verdict)
        assert str(change.after.status) == event["to_status"]
        assert str(change.before.status) == event["from_status"]
        current = change.after
        states.append(current)

    # Every other success was a no-op, and every refusal a rule, at some point.
    refusals = [(op, r) for op, r in results if r != "ok"]
    for op, _ in unmatched:
        assert any(_outcome(s, op) == ("ok", None) for s in states), op
    for op, reason in refusals:
        assert any(_outcome(s, op)[0] == reason for s in states), (op, reason)

    row = await fix_row(db, fix.id)
    assert row["status"] == str(current.status)
    assert (row["applied_at"] is None) == (current.applied_at is None)
    assert row["ai_drafted_script"] == current.ai_drafted_script
    assert row["outcome_notes"] == current.outcome_notes


async def _call(op: Op, client: Client, session_id: str, fix_id: str) -> tuple[Op, str]:
    try:
        await op.call(client, session_id, fix_id)
        return op, "ok"
    except grpc.aio.AioRpcError as error:
        info = error_info(status_from_metadata(error.trailing_metadata()))
        assert error.code() is not grpc.StatusCode.INTERNAL
        return op, info.reason if info else error.code().name


async def test_concurrent_mutations_on_sibling_fixes_never_lose_a_version(
    fixes_channel, make_token, db
) -> None:
    """Different fixes of one session serialise on the session row."""
    client = Client(fixes_channel, make_token(user_id="engineer-1"))
    session = await client.new_session()
    fixes = [await client.new_fix(session.id) for _ in range(5)]
    start = await client.version(session.id)
    calls = [
        client.UpdateFixScript(session_id=session.id, fix_id=f.id, ai_drafted_script=f"echo {i}")
        for i in range(4)
        for f in fixes
    ]
    await asyncio.gather(*calls)
    assert await client.version(session.id) == start + 20
    total = await db.fetchval(
        "SELECT count(*) FROM fix_events WHERE ai_session_id = $1", uuid.UUID(session.id)
    )
    assert total == start + 20  # one "created" row per fix, then the twenty updates
    versions = await db.fetch(
        "SELECT state_version FROM fix_events WHERE ai_session_id = $1 ORDER BY state_version",
        uuid.UUID(session.id),
    )
    assert [v["state_version"] for v in versions] == list(range(1, start + 21))


def test_replay_helper_rejects_a_wrong_order() -> None:
    """The replay can fail: dismissing after applying is refused."""
    applied = replace(_initial("not_applied"), applied_at=NOW)
    assert _outcome(applied, Op("dismiss"))[0] == "ALREADY_APPLIED"
