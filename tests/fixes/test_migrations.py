"""Migrations run forward and back, and head matches the tables the code uses."""

from __future__ import annotations

import asyncio
import uuid
from enum import StrEnum

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from fixes_service.adapters.tables import DOMAINS, metadata
from fixes_service.domain.model import (
    FixEventAction,
    FixStatus,
    Outcome,
    RunKind,
    RunSource,
    ScriptDecision,
    ScriptLanguage,
    SessionStatus,
)
from fixes_service.domain.validation import MAX_SCRIPT_CHARS
from flowpilot.runtime.db import create_engine
from flowpilot.runtime.migrations import downgrade, upgrade
from tests.fixes.conftest import raw_url

pytestmark = pytest.mark.integration

TABLES = {"ai_sessions", "suggested_fixes", "fix_events", "template_proposals"}


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(raw_url(url))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


@pytest.fixture
def empty_db_url(pg) -> str:
    return pg.create_database(f"t_mig_{uuid.uuid4().hex[:10]}")


async def test_upgrade_downgrade_upgrade(empty_db_url: str) -> None:
    await asyncio.to_thread(upgrade, "fixes_service", empty_db_url)
    assert await _tables(empty_db_url) >= TABLES
    await asyncio.to_thread(downgrade, "fixes_service", empty_db_url, "base")
    assert await _tables(empty_db_url) == {"alembic_version"}
    await asyncio.to_thread(upgrade, "fixes_service", empty_db_url)
    assert await _tables(empty_db_url) >= TABLES


async def test_autogenerate_finds_nothing(fixes_db_url: str) -> None:
    """The revision and `tables.py` agree (columns, types, indexes, foreign keys)."""
    engine = create_engine(fixes_db_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await engine.dispose()
    assert diff == []


async def test_head_matches_metadata(fixes_db_url: str) -> None:
    """Every column, constraint and index the code declares exists (check
    constraints are invisible to autogenerate, so compare their names)."""
    conn = await asyncpg.connect(raw_url(fixes_db_url))
    try:
        columns = await conn.fetch(
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name <> 'alembic_version'"
        )
        constraints = await conn.fetch(
            "SELECT conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
            " WHERE n.nspname = 'public'"
        )
        indexes = await conn.fetch("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
    finally:
        await conn.close()
    db_columns = {(r["table_name"], r["column_name"]) for r in columns}
    meta_columns = {(t.name, c.name) for t in metadata.sorted_tables for c in t.columns}
    assert db_columns == meta_columns
    db_constraints = {r["conname"] for r in constraints}
    for table in metadata.sorted_tables:
        for constraint in table.constraints:
            assert constraint.name in db_constraints, constraint.name
        for index in table.indexes:
            assert index.name in {r["indexname"] for r in indexes}, index.name


async def test_audit_trail_is_append_only(fixes_db_url: str) -> None:
    conn = await asyncpg.connect(raw_url(fixes_db_url))
    try:
        session_id, fix_id = uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "INSERT INTO ai_sessions (id, owner_user_id, account_id, title)"
            " VALUES ($1, 'u', 'a', 't')",
            session_id,
        )
        await conn.execute(
            "INSERT INTO suggested_fixes (id, ai_session_id, title, script_language)"
            " VALUES ($1, $2, 'f', 'bash')",
            fix_id,
            session_id,
        )
        await conn.execute(
            "INSERT INTO fix_events (fix_id, ai_session_id, actor_user_id, action, to_status,"
            " state_version) VALUES ($1, $2, 'u', 'created', 'proposed', 1)",
            fix_id,
            session_id,
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM fix_events")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE fix_events SET actor_user_id = 'someone else'")
        assert await conn.fetchval("SELECT count(*) FROM fix_events") == 1
    finally:
        await conn.close()


async def test_issue_10s_revision_goes_back_with_data_in_it(empty_db_url: str) -> None:
    """0002 keeps what 0001 had: a fix's version is its latest audit row's;
    going back drops the session rows the older trail cannot hold, and only
    them."""
    await asyncio.to_thread(upgrade, "fixes_service", empty_db_url, "0001_initial")
    conn = await asyncpg.connect(raw_url(empty_db_url))
    try:
        session_id, fix_id = uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "INSERT INTO ai_sessions (id, owner_user_id, account_id, title, state_version)"
            " VALUES ($1, 'u', 'a', 't', 2)",
            session_id,
        )
        await conn.execute(
            "INSERT INTO suggested_fixes (id, ai_session_id, title, script_language)"
            " VALUES ($1, $2, 'f', 'bash')",
            fix_id,
            session_id,
        )
        for version, action in ((1, "created"), (2, "script_updated")):
            await conn.execute(
                "INSERT INTO fix_events (fix_id, ai_session_id, actor_user_id, action, to_status,"
                " state_version) VALUES ($1, $2, 'u', $3, 'proposed', $4)",
                fix_id,
                session_id,
                action,
                version,
            )
        await asyncio.to_thread(upgrade, "fixes_service", empty_db_url)
        assert (
            await conn.fetchval("SELECT state_version FROM suggested_fixes WHERE id = $1", fix_id)
            == 2
        )
        await conn.execute(
            "INSERT INTO fix_events (ai_session_id, actor_user_id, action, state_version)"
            " VALUES ($1, 'u', 'session_resolved', 3)",
            session_id,
        )
        await asyncio.to_thread(downgrade, "fixes_service", empty_db_url, "0001_initial")
        rows = await conn.fetch("SELECT action FROM fix_events ORDER BY id")
        assert [r["action"] for r in rows] == ["created", "script_updated"]
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM fix_events")  # append-only again
    finally:
        await conn.close()


async def _schema_facts(conn: asyncpg.Connection) -> dict[str, set[str]]:
    """Table checks and triggers by definition, and column types."""
    checks = await conn.fetch(
        "SELECT conrelid::regclass::text AS t, conname, pg_get_constraintdef(oid) AS d"
        " FROM pg_constraint WHERE contype = 'c' AND conrelid <> 0"
    )
    triggers = await conn.fetch(
        "SELECT pg_get_triggerdef(oid) AS d FROM pg_trigger WHERE NOT tgisinternal"
    )
    columns = await conn.fetch(
        "SELECT table_name, column_name, coalesce(domain_name, data_type) AS type"
        " FROM information_schema.columns WHERE table_schema = 'public'"
    )
    return {
        "checks": {f"{r['t']}.{r['conname']}: {r['d']}" for r in checks},
        "triggers": {r["d"] for r in triggers},
        "columns": {f"{r['table_name']}.{r['column_name']}: {r['type']}" for r in columns},
    }


async def test_0004_moves_single_column_checks_to_domains_and_back(empty_db_url: str) -> None:
    """0004 keeps the data and the rules, and going back restores exactly
    the checks, triggers and column types 0003 had."""
    await asyncio.to_thread(upgrade, "fixes_service", empty_db_url, "0003_provenance_analytics")
    conn = await asyncpg.connect(raw_url(empty_db_url))
    try:
        session_id, fix_id = uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "INSERT INTO ai_sessions (id, owner_user_id, account_id, title)"
            " VALUES ($1, 'u', 'a', 't')",
            session_id,
        )
        await conn.execute(
            "INSERT INTO suggested_fixes (id, ai_session_id, title, script_language,"
            " ai_drafted_script, status, applied_at)"
            " VALUES ($1, $2, 'f', 'bash', 'echo hi', 'applied_partial', now())",
            fix_id,
            session_id,
        )
        before = await _schema_facts(conn)

        await asyncio.to_thread(upgrade, "fixes_service", empty_db_url)
        after = await _schema_facts(conn)
        assert "suggested_fixes.status: fix_status" in after["columns"]
        assert not any(".ck_suggested_fixes_status:" in c for c in after["checks"])
        # outcome_of_runs is back (its WHEN clause now reads the domain as text).
        assert {t.split()[2] for t in after["triggers"]} == {
            t.split()[2] for t in before["triggers"]
        }
        row = await conn.fetchrow(
            "SELECT status, ai_drafted_script FROM suggested_fixes WHERE id = $1", fix_id
        )
        assert tuple(row) == ("applied_partial", "echo hi")
        with pytest.raises(asyncpg.CheckViolationError, match="fix_status"):
            await conn.execute("UPDATE suggested_fixes SET status = 'bogus' WHERE id = $1", fix_id)
        # A check over two columns is still the table's.
        with pytest.raises(asyncpg.CheckViolationError, match="partial_was_applied"):
            await conn.execute("UPDATE suggested_fixes SET applied_at = NULL WHERE id = $1", fix_id)

        await asyncio.to_thread(
            downgrade, "fixes_service", empty_db_url, "0003_provenance_analytics"
        )
        assert await _schema_facts(conn) == before
        assert await conn.fetchval("SELECT status FROM suggested_fixes WHERE id = $1", fix_id) == (
            "applied_partial"
        )
    finally:
        await conn.close()


async def test_every_domain_tables_py_declares_exists_with_its_check(fixes_db_url: str) -> None:
    conn = await asyncpg.connect(raw_url(fixes_db_url))
    try:
        rows = await conn.fetch(
            "SELECT t.typname, c.conname FROM pg_type t"
            " JOIN pg_namespace n ON n.oid = t.typnamespace"
            " JOIN pg_constraint c ON c.contypid = t.oid"
            " WHERE t.typtype = 'd' AND n.nspname = 'public'"
        )
    finally:
        await conn.close()
    assert {(r["typname"], r["conname"]) for r in rows} == {
        (domain.name, domain.constraint_name) for domain in DOMAINS
    }


VOCABULARIES = [
    ("session_status", SessionStatus),
    ("fix_status", FixStatus),
    ("script_language", ScriptLanguage),
    ("script_decision", ScriptDecision),
    ("fix_outcome", Outcome),
    ("fix_event_action", FixEventAction),
    ("run_kind", RunKind),
    ("run_source", RunSource),
]


@pytest.mark.parametrize(("domain", "values"), VOCABULARIES, ids=[d for d, _ in VOCABULARIES])
async def test_each_domain_allows_exactly_its_vocabulary(
    fixes_db_url: str, domain: str, values: type[StrEnum]
) -> None:
    """The migration's values and the domain model's agree: a value added
    to an enum without a migration that allows it fails here."""
    assert domain in {d.name for d in DOMAINS}
    conn = await asyncpg.connect(raw_url(fixes_db_url))
    try:
        for value in values:
            assert await conn.fetchval(f"SELECT $1::text::{domain}", value.value) == value.value
        for wrong in (
            "",
            "bogus",
            next(iter(values)).value.upper(),
        ):
            with pytest.raises(asyncpg.CheckViolationError, match=domain):
                await conn.fetchval(f"SELECT $1::text::{domain}", wrong)
    finally:
        await conn.close()


async def test_a_drafted_script_is_one_to_max_characters(fixes_db_url: str) -> None:
    conn = await asyncpg.connect(raw_url(fixes_db_url))
    try:
        for size in (1, MAX_SCRIPT_CHARS):
            assert len(await conn.fetchval("SELECT $1::text::drafted_script", "x" * size)) == size
        for size in (0, MAX_SCRIPT_CHARS + 1):
            with pytest.raises(asyncpg.CheckViolationError, match="drafted_script"):
                await conn.fetchval("SELECT $1::text::drafted_script", "x" * size)
    finally:
        await conn.close()
