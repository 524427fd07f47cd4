"""Races run concurrently against the real database (CONTRACT §5): inline
get-or-create yields one row, the standalone cap never lets a 6th through,
also when the creates are spread over two service instances."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import grpc
import pytest

from scriptbuilder_service.main import create_server
from tests.scriptbuilder.helpers import (
    count_sessions,
    create_ai_session,
    create_session,
    sb_stub,
    sql,
)
from tests.support.grpc_client import refusal_of

pytestmark = pytest.mark.integration


async def test_fifty_concurrent_inline_creates_make_one_row(
    scriptbuilder_channel, fixes_channel, make_token, scriptbuilder_db_url
):
    stub = sb_stub(scriptbuilder_channel)
    user = f"u-{uuid.uuid4().hex[:6]}"
    token = make_token(user_id=user)
    ai = await create_ai_session(fixes_channel, token)
    results = await asyncio.gather(
        *(create_session(stub, token, ai_session_id=ai) for _ in range(50))
    )
    assert len({s.id for s, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert await count_sessions(scriptbuilder_db_url, user) == 1


async def _standalone_burst(stubs, token: str, n: int) -> Counter[str]:
    async def one(i: int) -> str:
        try:
            await create_session(stubs[i % len(stubs)], token, title=f"s{i}")
        except grpc.aio.AioRpcError as exc:
            return f"{exc.code().name}:{refusal_of(exc).reason}"
        return "created"

    return Counter(await asyncio.gather(*(one(i) for i in range(n))))


async def test_twenty_concurrent_standalone_creates_stop_at_the_cap(
    scriptbuilder_channel, make_token, scriptbuilder_db_url
):
    user = f"u-{uuid.uuid4().hex[:6]}"
    outcome = await _standalone_burst(
        [sb_stub(scriptbuilder_channel)], make_token(user_id=user), 20
    )
    assert outcome == {"created": 5, "FAILED_PRECONDITION:SCRIPT_BUILDER_SESSION_CAP": 15}
    assert await count_sessions(scriptbuilder_db_url, user) == 5


@pytest.fixture
async def second_instance(settings, scriptbuilder_db_url, fixes_server):
    """Another replica of the service on the same database."""
    server = await create_server(
        settings,
        database_url=scriptbuilder_db_url,
        fixes_target=fixes_server.target,
        run_proposal_relay=False,
    )
    await server.start()
    try:
        async with grpc.aio.insecure_channel(server.target) as channel:
            yield channel
    finally:
        await server.stop(0)


async def test_cap_holds_across_two_instances(
    scriptbuilder_channel, second_instance, fixes_channel, make_token, scriptbuilder_db_url
):
    stubs = [sb_stub(scriptbuilder_channel), sb_stub(second_instance)]
    user = f"u-{uuid.uuid4().hex[:6]}"
    token = make_token(user_id=user)
    outcome = await _standalone_burst(stubs, token, 20)
    assert outcome == {"created": 5, "FAILED_PRECONDITION:SCRIPT_BUILDER_SESSION_CAP": 15}
    assert await count_sessions(scriptbuilder_db_url, user) == 5
    # And inline get-or-create across both: still one row.
    ai = await create_ai_session(fixes_channel, token)
    results = await asyncio.gather(
        *(create_session(stubs[i % 2], token, ai_session_id=ai) for i in range(50))
    )
    assert len({s.id for s, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    rows = await sql(
        scriptbuilder_db_url,
        "SELECT origin, count(*) FROM script_builder_sessions WHERE user_id = :u GROUP BY origin",
        u=user,
    )
    assert dict(rows) == {"standalone": 5, "pilot_inline": 1}


async def test_many_users_at_once_each_get_their_own_five(
    scriptbuilder_channel, second_instance, make_token, scriptbuilder_db_url
):
    stubs = [sb_stub(scriptbuilder_channel), sb_stub(second_instance)]
    users = [f"u-{uuid.uuid4().hex[:6]}" for _ in range(4)]
    outcomes = await asyncio.gather(
        *(_standalone_burst(stubs, make_token(user_id=u), 8) for u in users)
    )
    for user, outcome in zip(users, outcomes, strict=True):
        assert outcome["created"] == 5
        assert await count_sessions(scriptbuilder_db_url, user) == 5


async def test_existing_inline_row_costs_one_statement(
    scriptbuilder_server, scriptbuilder_channel, fixes_channel, make_token
):
    """Performance (issue 4): get-or-create of an existing inline row is one
    call to the fixes service and one SQL statement, outside any BEGIN/COMMIT:
    on the driver connection (issue 13), so SQLAlchemy runs nothing and the
    driver's statement metrics count exactly one."""
    from prometheus_client import REGISTRY
    from sqlalchemy import event

    def driver_statements() -> dict[str, float]:
        counts: dict[str, float] = {}
        for metric in REGISTRY.collect():
            for sample in metric.samples:
                if sample.name == "flowpilot_db_statement_duration_seconds_count":
                    labels = sample.labels
                    if labels["database"] == database:
                        counts[labels["operation"]] = sample.value
        return counts

    stub = sb_stub(scriptbuilder_channel)
    token = make_token()
    ai = await create_ai_session(fixes_channel, token)
    first, _ = await create_session(stub, token, ai_session_id=ai)
    statements: list[str] = []
    uow = scriptbuilder_server.service._uow
    database = uow._database
    engine = uow.engine.sync_engine

    def record(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    before = driver_statements()
    event.listen(engine, "before_cursor_execute", record)
    try:
        again, created = await create_session(stub, token, ai_session_id=ai)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    after = driver_statements()
    assert again.id == first.id and not created
    assert statements == []
    grown = {op: after[op] - before.get(op, 0) for op in after if after[op] != before.get(op, 0)}
    assert grown == {"WITH": 1}
