"""The end-to-end suite once more, with both services reaching PostgreSQL
through a real PgBouncer in transaction pooling mode, configured from the
shipped `deploy/components/pgbouncer/pgbouncer.ini`, and the services'
statement cache off as that component sets it (PgBouncer 1.18 here, which
predates `max_prepared_statements`).

Every test of `test_e2e.py` is imported, so collected and run here again
with the fixtures below: the databases are the same fresh clones, reached
through PgBouncer's port.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from flowpilot.runtime.db import StatementBounds
from flowpilot.runtime.embedded_pg import EmbeddedPostgres
from flowpilot.runtime.errors import Unavailable
from flowpilot.runtime.migrations import read_schema_marks, upgrade
from flowpilot.runtime.settings import Settings
from flowpilot.runtime.uow import UnitOfWork
from tests.conftest import DatabaseFactory, postgres_dir
from tests.gateway.test_e2e import *  # noqa: F403 - the same tests, with these fixtures
from tests.pgbouncer import PgBouncer


@pytest.fixture(scope="module")
def pgbouncer(pg: EmbeddedPostgres) -> Iterator[PgBouncer]:
    with postgres_dir() as directory:
        bouncer = PgBouncer(directory, pg)
        bouncer.start()
        try:
            yield bouncer
        finally:
            bouncer.stop()


@pytest.fixture(scope="session")
def settings(settings: Settings) -> Settings:
    """What the pgbouncer component sets for every service."""
    return settings.model_copy(update={"db_statement_cache_size": 0})


@pytest.fixture
def fixes_db_url(database_factory: DatabaseFactory, pgbouncer: PgBouncer) -> str:
    return pgbouncer.route(database_factory("fixes_service"))


@pytest.fixture
def scriptbuilder_db_url(database_factory: DatabaseFactory, pgbouncer: PgBouncer) -> str:
    return pgbouncer.route(database_factory("scriptbuilder_service"))


async def test_statements_outlive_no_transaction(gateway_url: str, make_token) -> None:
    """Reads and writes of both services, many at once and one after another:
    with PgBouncer handing out server connections in turn, a statement
    prepared on one server connection and run on another fails here. That is
    what a wrong `FLOWPILOT_DB_STATEMENT_CACHE_SIZE` (anything but 0) does,
    and this test shows it on its own, whatever ran before (with 100 it
    fails, and so do three of the end-to-end tests above)."""
    headers = {"authorization": f"Bearer {make_token()}"}
    async with httpx.AsyncClient(base_url=gateway_url + "/api/v1", headers=headers) as api:
        session = (await api.post("/ai-sessions", json={"title": "bouncer"})).json()
        for _ in range(4):
            answers = await asyncio.gather(
                *(api.get("/ai-sessions") for _ in range(6)),
                *(api.get(f"/ai-sessions/{session['id']}") for _ in range(6)),
                *(api.get("/script-builder/sessions") for _ in range(6)),
                *(api.get("/script-templates") for _ in range(6)),
            )
            failed = [a.text for a in answers if a.status_code != 200]
            assert not failed, failed[0]


async def test_statements_are_bounded_through_pgbouncer(
    pg: EmbeddedPostgres, pgbouncer: PgBouncer, caplog: pytest.LogCaptureFixture
) -> None:
    """PgBouncer refuses `statement_timeout` and `lock_timeout` as startup
    parameters: the services connect without them (once warned) and the
    client's own bound still ends a statement the server would let run."""
    uow = UnitOfWork(
        pgbouncer.route(pg.url("postgres")),
        lambda connection: connection,
        pool_size=1,
        statement_cache_size=0,
        bounds=StatementBounds(statement_seconds=0.2, lock_seconds=0.2),
    )
    try:
        with caplog.at_level(logging.WARNING, logger="flowpilot.db"):
            async with uow.autocommit() as connection:
                assert await connection.scalar(text("SELECT 1")) == 1
        assert "refuses statement_timeout and lock_timeout" in caplog.text
        with pytest.raises(Unavailable) as info:
            async with uow.autocommit() as connection:
                await connection.execute(text("SELECT pg_sleep(30)"))
        assert info.value.reason == "DATABASE_TIMEOUT"
    finally:
        await uow.dispose()


def test_pool_mode_is_transaction(pgbouncer: PgBouncer) -> None:
    config = dict(
        line.split("|", 1) for line in pgbouncer.admin("SHOW CONFIG").splitlines() if "|" in line
    )
    assert config["pool_mode"].split("|")[0] == "transaction"


async def test_the_services_really_go_through_pgbouncer(user, pgbouncer: PgBouncer) -> None:
    session = await user.session()
    await user.fix(session["id"])
    databases = pgbouncer.admin("SHOW POOLS")
    assert any(line.startswith("t_fixes_service_") for line in databases.splitlines()), databases
    assert any(line.startswith("t_scriptbuilder_service_") for line in databases.splitlines())


async def test_migrations_run_through_pgbouncer(pg: EmbeddedPostgres, pgbouncer: PgBouncer) -> None:
    """The migration Job uses the same URL: its advisory lock and DDL sit in
    one transaction, which transaction pooling keeps on one server connection."""
    for package in ("fixes_service", "scriptbuilder_service"):
        target = pgbouncer.route(pg.create_database(f"bouncer_{uuid.uuid4().hex[:10]}"))
        await asyncio.to_thread(upgrade, package, target, statement_cache_size=0)
        revision, compatible = await read_schema_marks(target, statement_cache_size=0)
        assert revision and compatible


async def test_a_watch_through_transaction_pooling_is_refused_not_left_deaf(
    fixes_channel, make_token
) -> None:
    """LISTEN through transaction pooling would never hear a change: the
    listener's probe notices and the watch is refused (503), not silent.
    FLOWPILOT_FIXES_LISTEN_DATABASE_URL is the way around (deploy/README.md)."""
    import grpc

    from flowpilot.fixes.v1 import fixes_pb2 as pb
    from tests.fixes.helpers import Client
    from tests.support.grpc_client import refusal_of

    client = Client(fixes_channel, make_token(user_id="engineer-1"))
    session = await client.new_session()
    call = client.stub.WatchAiSession(
        pb.WatchAiSessionRequest(session_id=session.id), metadata=client.metadata, timeout=20
    )
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call.read()
    assert info.value.code() is grpc.StatusCode.UNAVAILABLE
    assert refusal_of(info.value).reason == "WATCH_UNAVAILABLE"
