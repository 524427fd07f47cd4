"""The CONTRACT §4 table through the real gRPC server and PostgreSQL: the
answer, `applied_at`, `state_version` and the audit trail.

One cell per action: the pure domain tests (`test_domain.py`) check every
cell; here each action crosses the whole stack once, and the cells are chosen
so that every kind of answer does too (a change that stamps, keeps or leaves
`applied_at` unset, a no-op, and refusals of each guard).
"""

from __future__ import annotations

import grpc
import pytest

from tests.fixes.helpers import (
    Client,
    audit_rows,
    fix_row,
    make_state,
    run_action,
    status_name,
)
from tests.fixes.lifecycle_table import ACTIONS, NOOP, TERMINAL, Ok, expected, status_after
from tests.support.grpc_client import refused

pytestmark = pytest.mark.integration


ONE_CELL_PER_ACTION = {
    "update_script": "verifying",  # a change that keeps applied_at
    "apply": "not_applied",  # stamps applied_at
    "decision_one_off": "not_applied_template",  # NO_DRAFTED_SCRIPT
    "decision_draft_template": "verifying",  # a change, and an outbox row
    "decision_build_template": "not_applied",  # a change; applied_at stays null
    "outcome_success": "verifying_with_proposal",  # terminal; clears the proposal
    "outcome_failed": "not_applied",  # NOT_APPLIED
    "outcome_partial": "partial",  # PARTIAL_TO_PARTIAL
    "dismiss": "not_applied_bare",  # terminal without ever running
    "propose_outcome": "applied_success",  # FIX_TERMINAL
    "clear_proposal": "dismissed",  # a no-op, even on a terminal fix
}
assert set(ONE_CELL_PER_ACTION) == set(ACTIONS)


@pytest.fixture
def client(fixes_channel, make_token) -> Client:
    return Client(fixes_channel, make_token(user_id="engineer-1"))


@pytest.mark.parametrize(("action", "state"), ONE_CELL_PER_ACTION.items())
async def test_cell(client: Client, db, template_id: str, action: str, state: str) -> None:
    session = await client.new_session()
    fix = await make_state(client, session.id, state, template_id)
    version = await client.version(session.id)
    before = await fix_row(db, fix.id)
    events = await audit_rows(db, fix.id)
    cell = expected(action, state)

    if isinstance(cell, str) and cell != NOOP:
        refusal = await refused(run_action(client, session.id, fix.id, action))
        assert refusal.code is grpc.StatusCode.FAILED_PRECONDITION
        assert refusal.reason == cell
        assert await fix_row(db, fix.id) == before
        assert await client.version(session.id) == version
        assert len(await audit_rows(db, fix.id)) == len(events)
        return

    result = await run_action(client, session.id, fix.id, action)
    after = await fix_row(db, fix.id)
    if cell == NOOP:
        assert after == before
        assert await client.version(session.id) == version
        assert len(await audit_rows(db, fix.id)) == len(events)
        assert result.id == fix.id and status_name(result.status) == before["status"]
        return

    assert isinstance(cell, Ok)
    status = status_after(action, state, cell)
    assert status_name(result.status) == status == after["status"]
    if cell.applied_at == "stamp":
        assert before["applied_at"] is None and after["applied_at"] is not None
        assert result.HasField("applied_at")
    elif cell.applied_at == "none":
        assert after["applied_at"] is None and not result.HasField("applied_at")
    else:
        assert after["applied_at"] == before["applied_at"] is not None
        assert result.applied_at.ToDatetime().replace(microsecond=0) == before[
            "applied_at"
        ].replace(tzinfo=None, microsecond=0)
    assert await client.version(session.id) == version + 1
    rows = await audit_rows(db, fix.id)
    assert len(rows) == len(events) + 1
    last = rows[-1]
    assert last["actor_user_id"] == "engineer-1"
    assert last["from_status"] == before["status"] and last["to_status"] == status
    assert last["state_version"] == version + 1
    # The answer is the stored fix.
    assert (await client.GetSuggestedFix(session_id=session.id, fix_id=fix.id)) == result
    assert status not in TERMINAL or result.apply_route == 4  # APPLY_ROUTE_NONE
