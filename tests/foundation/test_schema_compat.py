"""Rollback-safe migrations against the real PostgreSQL.

The next release is stood in for by revisions written by the test after the
real head: an *expand* migration (adds a column and an index, declares the
current head compatible) and a *contract* one (renames a column the current
code reads). Today's code then plays "the previous release": it must serve a
database the newer Job migrated (and a rollback must start), and it must
refuse, clearly, a schema that contracted past it. Migrations also give up,
and change nothing, when a lock does not come.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import grpc
import httpx
import pytest
from alembic.script import ScriptDirectory
from grpc_health.v1 import health_pb2, health_pb2_grpc

from flowpilot.runtime.embedded_pg import EmbeddedPostgres, free_port
from flowpilot.runtime.migrations import (
    COMPAT_KEY,
    MigrationLockTimeout,
    SchemaState,
    alembic_config,
    classify,
    declared_compatibility,
    read_schema_marks,
    schema_status,
    upgrade,
    versions_dir,
)
from flowpilot.runtime.settings import Settings
from tests.conftest import serve_http
from tests.support.gateway import both_services
from tests.support.tokens import TEST_JWT_SECRET

FIXES = "fixes_service"
HEAD = "0004_value_domains"

NEXT_EXPAND = '''"""Next release, expand: a nullable column and an index."""
import sqlalchemy as sa
from alembic import op

revision = "0005_next_expand"
down_revision = "0004_value_domains"
branch_labels = None
depends_on = None
oldest_compatible_revision = "0004_value_domains"


def upgrade() -> None:
    op.add_column("suggested_fixes", sa.Column("reviewer_note", sa.Text, nullable=True))
    op.create_index("ix_suggested_fixes_reviewer_note", "suggested_fixes", ["reviewer_note"])


def downgrade() -> None:
    op.drop_index("ix_suggested_fixes_reviewer_note", "suggested_fixes")
    op.drop_column("suggested_fixes", "reviewer_note")
'''

NEXT_CONTRACT = '''"""The release after, contract: renames a column today's code reads."""
from alembic import op

revision = "0006_next_contract"
down_revision = "0005_next_expand"
branch_labels = None
depends_on = None
oldest_compatible_revision = "0006_next_contract"


def upgrade() -> None:
    op.alter_column("ai_sessions", "title", new_column_name="subject")


def downgrade() -> None:
    op.alter_column("ai_sessions", "subject", new_column_name="title")
'''


@pytest.fixture(scope="module")
def next_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A version location holding the next two releases' fixes revisions."""
    path = tmp_path_factory.mktemp("next_release_versions")
    (path / "0005_next_expand.py").write_text(NEXT_EXPAND)
    (path / "0006_next_contract.py").write_text(NEXT_CONTRACT)
    return path


@pytest.fixture
def fresh_db(pg: EmbeddedPostgres) -> str:
    return pg.create_database(f"compat_{uuid.uuid4().hex[:10]}")


def _next_release_migrates(url: str, next_release: Path, revision: str) -> None:
    """What the newer release's migration Job does."""
    upgrade(FIXES, url, revision, extra_version_locations=[next_release])


# --- the decision, pure ---------------------------------------------------------------


def test_every_revision_declares_its_compatibility() -> None:
    """Authors must decide expand or contract; an undeclared revision would
    silently count as a contraction and block every rollback."""
    for package in ("fixes_service", "scriptbuilder_service"):
        script = ScriptDirectory.from_config(alembic_config(package, "postgresql://h/db"))
        for revision in script.walk_revisions():
            assert hasattr(revision.module, COMPAT_KEY), f"{package} {revision.revision}"
        declared_compatibility(script, script.get_current_head() or "")


def test_each_service_has_one_chain_numbered_in_order() -> None:
    """Branches that each added "the next" revision must be put in one line
    when merged: one head, and the N-th revision from the base is `000N_...`
    (file and id), so two revisions never share a number."""
    for package in ("fixes_service", "scriptbuilder_service"):
        script = ScriptDirectory.from_config(alembic_config(package, "postgresql://h/db"))
        assert len(script.get_heads()) == 1, f"{package}: {script.get_heads()}"
        chain = list(reversed(list(script.walk_revisions())))  # the base first
        for position, revision in enumerate(chain, start=1):
            prefix = f"{position:04d}_"
            assert revision.revision.startswith(prefix), f"{package} {revision.revision}"
            assert Path(revision.path).name.startswith(prefix), f"{package} {revision.path}"
            if position > 1:
                assert revision.down_revision == chain[position - 2].revision


def test_compatibility_is_the_latest_declaration_up_to_a_revision(next_release: Path) -> None:
    script = ScriptDirectory.from_config(
        alembic_config(FIXES, "postgresql://h/db", extra_version_locations=[next_release])
    )
    assert declared_compatibility(script, "0005_next_expand") == HEAD
    assert declared_compatibility(script, "0006_next_contract") == "0006_next_contract"
    sb = ScriptDirectory.from_config(alembic_config("scriptbuilder_service", "postgresql://h/db"))
    assert declared_compatibility(sb, "0004_template_drafts") == "0003_session_editor_draft"


def test_classification_from_todays_point_of_view() -> None:
    script = ScriptDirectory.from_config(alembic_config(FIXES, "postgresql://h/db"))
    assert classify(script, None, None) is SchemaState.EMPTY
    assert classify(script, HEAD, HEAD) is SchemaState.CURRENT
    assert classify(script, "0005_next_expand", HEAD) is SchemaState.AHEAD_COMPATIBLE
    assert (
        classify(script, "0006_next_contract", "0006_next_contract")
        is SchemaState.AHEAD_INCOMPATIBLE
    )
    # A newer database without the mark (migrated by other tooling) is refused.
    assert classify(script, "0005_next_expand", None) is SchemaState.AHEAD_INCOMPATIBLE
    sb = ScriptDirectory.from_config(alembic_config("scriptbuilder_service", "postgresql://h/db"))
    assert classify(sb, "0002_script_builder_origin", None) is SchemaState.BEHIND


# --- against PostgreSQL ----------------------------------------------------------------


async def test_migrating_records_the_compatibility(fresh_db: str, next_release: Path) -> None:
    await asyncio.to_thread(upgrade, FIXES, fresh_db)
    # Today's head only expanded: code at 0003_provenance_analytics still fits it.
    assert await read_schema_marks(fresh_db) == (HEAD, "0003_provenance_analytics")
    await asyncio.to_thread(_next_release_migrates, fresh_db, next_release, "0005_next_expand")
    assert await read_schema_marks(fresh_db) == ("0005_next_expand", HEAD)
    status = await schema_status(FIXES, fresh_db)
    assert status.state is SchemaState.AHEAD_COMPATIBLE and status.serviceable


async def test_previous_code_serves_the_newer_expanded_schema(
    settings: Settings, fresh_db: str, scriptbuilder_db_url: str, next_release: Path, make_token
) -> None:
    """Today's fixes service, the script-builder and the gateway, end to end,
    on a fixes database the next release's Job already migrated."""
    from fixes_service.main import create_server as create_fixes
    from gateway.app import create_app
    from scriptbuilder_service.main import create_server as create_scriptbuilder

    await asyncio.to_thread(upgrade, FIXES, fresh_db)
    await asyncio.to_thread(_next_release_migrates, fresh_db, next_release, "0005_next_expand")
    fixes = await create_fixes(settings, database_url=fresh_db, port=0)
    await fixes.start()
    sb = await create_scriptbuilder(
        settings, database_url=scriptbuilder_db_url, fixes_target=fixes.target, port=0
    )
    await sb.start()
    try:
        app = create_app(settings, both_services(fixes.target, sb.target))
        headers = {"authorization": f"Bearer {make_token()}"}
        async with (
            serve_http(app) as url,
            httpx.AsyncClient(base_url=f"{url}/api/v1", headers=headers) as api,
        ):
            session = (await api.post("/ai-sessions", json={"title": "VPN drops"})).json()
            created = await api.post(
                f"/ai-sessions/{session['id']}/suggested-fixes",
                json={"title": "Reset adapter", "script_language": "powershell"},
            )
            assert created.status_code == 201, created.text
            fix = created.json()
            base = f"/ai-sessions/{session['id']}/suggested-fixes/{fix['id']}"
            patched = await api.patch(f"{base}/script", json={"ai_drafted_script": "ipconfig"})
            assert patched.status_code == 200, patched.text
            applied = await api.post(f"{base}/apply", json={})
            assert applied.status_code == 200, applied.text
            assert applied.json()["applied_at"]
            # The script-builder checks AI-session access with the fixes service.
            inline = await api.post(
                "/script-builder/sessions",
                json={"origin": "pilot_inline", "ai_session_id": session["id"], "language": "bash"},
            )
            assert inline.status_code == 201, inline.text
    finally:
        await sb.stop(0)
        await fixes.stop(0)


def _env(url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWPILOT_")}
    env.update(
        FLOWPILOT_FIXES_DATABASE_URL=url,
        FLOWPILOT_JWT_SECRET=TEST_JWT_SECRET,
        FLOWPILOT_DATA_DIR=str(tmp_path),
        FLOWPILOT_LOG_FORMAT="text",
        FLOWPILOT_SHUTDOWN_GRACE_SECONDS="1",
        **extra,
    )
    return env


def _flowpilot(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowpilot.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def served_fixes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _serve_fixes(env: dict[str, str], started: list[subprocess.Popen[str]]) -> str:
    port = free_port()
    env = {**env, "FLOWPILOT_FIXES_GRPC_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "flowpilot.cli", "serve", "fixes"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    started.append(process)
    return f"127.0.0.1:{port}"


def _wait_serving(target: str, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"serve exited {process.returncode}: {process.stderr.read()}")
            try:
                answer = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    pytest.fail(f"{target} did not become SERVING")


def test_rollback_old_pods_start_after_a_newer_migration(
    fresh_db: str, next_release: Path, tmp_path: Path, served_fixes: list
) -> None:
    """`kubectl rollout undo` after the next release's Job ran: the older
    ReplicaSet's pods run today's `flowpilot serve fixes` and must start;
    re-running today's migration Job (a GitOps rollback) changes nothing."""
    upgrade(FIXES, fresh_db)
    _next_release_migrates(fresh_db, next_release, "0005_next_expand")
    env = _env(fresh_db, tmp_path)
    target = _serve_fixes(env, served_fixes)
    _wait_serving(target, served_fixes[0])
    rerun = _flowpilot(["migrate", "fixes"], env)
    assert rerun.returncode == 0, rerun.stderr
    assert "nothing to do" in rerun.stdout and "ahead of this code" in rerun.stdout


def test_code_refuses_a_schema_that_contracted_past_it(
    fresh_db: str, next_release: Path, tmp_path: Path
) -> None:
    upgrade(FIXES, fresh_db)
    _next_release_migrates(fresh_db, next_release, "0006_next_contract")
    env = _env(fresh_db, tmp_path)
    started = time.monotonic()
    served = _flowpilot(["serve", "fixes"], env)
    assert served.returncode == 3, served.stderr
    assert time.monotonic() - started < 30, "an incompatible schema is not waited for"
    assert "refusing to start" in served.stderr
    assert "0006_next_contract" in served.stderr and HEAD in served.stderr
    migrated = _flowpilot(["migrate", "fixes"], env)
    assert migrated.returncode == 3 and "needs code at revision 0006_next_contract" in (
        migrated.stderr
    )


def test_new_code_waits_for_the_migration_job(
    fresh_db: str, tmp_path: Path, served_fixes: list
) -> None:
    """New pods may start before the release's Job finished: they wait (and
    never migrate themselves), then serve."""
    env = _env(fresh_db, tmp_path, FLOWPILOT_SCHEMA_WAIT_SECONDS="60")
    target = _serve_fixes(env, served_fixes)
    time.sleep(1.5)
    assert served_fixes[0].poll() is None, "still waiting for the schema"
    assert asyncio.run(read_schema_marks(fresh_db)) == (None, None), "serve never migrates"
    assert _flowpilot(["migrate", "fixes"], env).returncode == 0
    _wait_serving(target, served_fixes[0])


def test_a_database_left_behind_is_refused_after_the_wait(fresh_db: str, tmp_path: Path) -> None:
    served = _flowpilot(
        ["serve", "fixes"], _env(fresh_db, tmp_path, FLOWPILOT_SCHEMA_WAIT_SECONDS="1")
    )
    assert served.returncode == 3
    assert "no schema" in served.stderr and "flowpilot migrate" in served.stderr


# --- bounded lock waits -------------------------------------------------------------


def _raw(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def test_a_second_migrator_gives_up_after_the_lock_wait(fresh_db: str) -> None:
    from flowpilot.runtime.migrations import MIGRATION_LOCK_KEY

    holder = await asyncpg.connect(_raw(fresh_db))
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        started = time.monotonic()
        with pytest.raises(MigrationLockTimeout, match="another migration"):
            await asyncio.to_thread(upgrade, FIXES, fresh_db, lock_wait_seconds=0.5)
        assert time.monotonic() - started < 20
    finally:
        await holder.close()
    assert await read_schema_marks(fresh_db) == (None, None)


async def test_ddl_gives_up_behind_a_long_transaction_and_changes_nothing(
    pg: EmbeddedPostgres,
) -> None:
    """A reader holding script_templates open would otherwise make the ALTER
    TABLE queue, and every query behind it, for as long as it lasts."""
    url = pg.create_database(f"compat_{uuid.uuid4().hex[:10]}")
    package = "scriptbuilder_service"
    await asyncio.to_thread(upgrade, package, url, "0003_session_editor_draft")
    reader = await asyncpg.connect(_raw(url))
    try:
        transaction = reader.transaction()
        await transaction.start()
        await reader.execute("SELECT count(*) FROM script_templates")
        with pytest.raises(MigrationLockTimeout, match="rolled back and changed nothing"):
            await asyncio.to_thread(upgrade, package, url, lock_timeout_seconds=0.3)
        assert (await read_schema_marks(url))[0] == "0003_session_editor_draft"
        await transaction.rollback()
    finally:
        await reader.close()
    await asyncio.to_thread(upgrade, package, url, lock_timeout_seconds=0.3)
    head = ScriptDirectory.from_config(alembic_config(package, url)).get_current_head()
    assert (await read_schema_marks(url))[0] == head


def test_versions_dir_is_the_packages() -> None:
    assert (versions_dir(FIXES) / f"{HEAD}.py").is_file()
