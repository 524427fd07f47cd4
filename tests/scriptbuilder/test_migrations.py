"""Migrations: the seed's forward path with a legacy backfill, its invariant,
and a clean downgrade (seed "Tests / Backend / Migration")."""

from __future__ import annotations

import uuid

import pytest

from flowpilot.runtime.embedded_pg import EmbeddedPostgres, EmbeddedPostgresError
from flowpilot.runtime.migrations import downgrade, upgrade

pytestmark = pytest.mark.integration

PACKAGE = "scriptbuilder_service"


@pytest.fixture
def empty_db(pg: EmbeddedPostgres) -> tuple[str, str]:
    name = f"mig_{uuid.uuid4().hex[:10]}"
    return name, pg.create_database(name)


def _tables(pg: EmbeddedPostgres, db: str) -> set[str]:
    out = pg.psql(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename <> 'alembic_version'",
        db,
    )
    return set(out.split()) if out else set()


def test_legacy_rows_backfill_to_standalone(pg: EmbeddedPostgres, empty_db: tuple[str, str]):
    db, url = empty_db
    upgrade(PACKAGE, url, "0001_baseline")
    ai_session = uuid.uuid4()
    pg.psql(
        "INSERT INTO script_builder_sessions (user_id, account_id, ai_session_id, title, language) "
        f"VALUES ('u1', 'a1', NULL, 'plain', 'powershell'), "
        f"('u1', 'a1', '{ai_session}', 'linked legacy', 'bash')",
        db,
    )
    upgrade(PACKAGE, url, "0002_script_builder_origin")
    assert pg.psql("SELECT DISTINCT origin FROM script_builder_sessions", db) == "standalone"
    upgrade(PACKAGE, url)
    rows = pg.psql(
        "SELECT title, origin, editor_buffer, mode FROM script_builder_sessions ORDER BY title", db
    )
    assert rows.splitlines() == ["linked legacy|standalone||ai", "plain|standalone||ai"]


def test_check_constraint_rejects_inline_without_ai_session(
    pg: EmbeddedPostgres, empty_db: tuple[str, str]
):
    db, url = empty_db
    upgrade(PACKAGE, url)
    with pytest.raises(EmbeddedPostgresError, match="ck_script_builder_sessions_origin_ai_session"):
        pg.psql(
            "INSERT INTO script_builder_sessions (user_id, account_id, title, language, origin) "
            "VALUES ('u1', 'a1', 't', 'bash', 'pilot_inline')",
            db,
        )
    with pytest.raises(EmbeddedPostgresError, match="ck_script_builder_sessions_origin"):
        pg.psql(
            "INSERT INTO script_builder_sessions (user_id, account_id, title, language, origin) "
            "VALUES ('u1', 'a1', 't', 'bash', 'sideways')",
            db,
        )


def test_partial_unique_index_only_binds_inline_rows(
    pg: EmbeddedPostgres, empty_db: tuple[str, str]
):
    db, url = empty_db
    upgrade(PACKAGE, url)
    ai = uuid.uuid4()
    insert = (
        "INSERT INTO script_builder_sessions "
        "(user_id, account_id, ai_session_id, title, language, origin) "
        f"VALUES ('u1', 'a1', '{ai}', 't', 'bash', '{{origin}}')"
    )
    # Standalone rows linked to the same AI session are unaffected.
    pg.psql(insert.format(origin="standalone"), db)
    pg.psql(insert.format(origin="standalone"), db)
    pg.psql(insert.format(origin="pilot_inline"), db)
    with pytest.raises(EmbeddedPostgresError, match="ux_script_builder_sessions_pilot_inline"):
        pg.psql(insert.format(origin="pilot_inline"), db)


def test_downgrade_to_base_and_up_again(pg: EmbeddedPostgres, empty_db: tuple[str, str]):
    db, url = empty_db
    upgrade(PACKAGE, url)
    pg.psql(
        "INSERT INTO script_builder_sessions "
        "(user_id, account_id, ai_session_id, title, language, origin) "
        f"VALUES ('u1', 'a1', '{uuid.uuid4()}', 't', 'bash', 'pilot_inline')",
        db,
    )
    downgrade(PACKAGE, url, "0001_baseline")
    columns = pg.psql(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'script_builder_sessions' ORDER BY column_name",
        db,
    ).split()
    assert "origin" not in columns and "editor_buffer" not in columns
    assert (
        pg.psql(
            "SELECT count(*) FROM pg_indexes "
            "WHERE indexname = 'ux_script_builder_sessions_pilot_inline'",
            db,
        )
        == "0"
    )
    downgrade(PACKAGE, url, "base")
    assert _tables(pg, db) == set()
    upgrade(PACKAGE, url)
    assert _tables(pg, db) == {
        "script_builder_sessions",
        "script_builder_messages",
        "script_templates",
        "script_template_versions",
    }


def test_head_matches_the_table_metadata(empty_db: tuple[str, str]):
    """Alembic autogenerate finds nothing to do: tables.py and the revisions agree."""
    import asyncio

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy.ext.asyncio import create_async_engine

    from scriptbuilder_service.adapters.tables import metadata

    _, url = empty_db
    upgrade(PACKAGE, url)

    async def diff() -> list[object]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(sync, opts={"compare_type": True}), metadata
                    )
                )
        finally:
            await engine.dispose()

    assert asyncio.run(diff()) == []


def test_drafts_and_recipes_columns_and_their_downgrade(
    pg: EmbeddedPostgres, empty_db: tuple[str, str]
):
    db, url = empty_db
    upgrade(PACKAGE, url, "0004_template_drafts")
    session = uuid.uuid4()
    pg.psql(
        "INSERT INTO script_builder_sessions (id, user_id, account_id, title, language) "
        f"VALUES ('{session}', 'u1', 'a1', 't', 'bash');"
        "INSERT INTO script_builder_messages (session_id, role, content, script) "
        f"VALUES ('{session}', 'assistant', 'old answer', 'echo hi');"
        "INSERT INTO script_templates (account_id, created_by_user_id, name, language, body) "
        "VALUES ('a1', 'u1', 'old', 'bash', 'echo')",
        db,
    )
    upgrade(PACKAGE, url, "0005_drafts_and_recipes")
    # Existing messages read as drafts without parameters or recipe.
    assert (
        pg.psql(
            "SELECT language IS NULL, parameters::text, explanation, recipe_id IS NULL "
            "FROM script_builder_messages",
            db,
        )
        == "t|[]||t"
    )
    pg.psql(
        "UPDATE script_builder_messages SET language = 'bash', recipe_id = 'reload-nginx', "
        """parameters = '[{"name": "x", "type": "string"}]';"""
        "INSERT INTO script_templates (account_id, created_by_user_id, name, language, body, "
        "source_recipe_id, source_recipe_digest) "
        "VALUES ('a1', 'u1', 'imported', 'bash', 'echo', 'reload-nginx', 'd1')",
        db,
    )
    with pytest.raises(EmbeddedPostgresError, match="ck_script_builder_messages_language"):
        pg.psql("UPDATE script_builder_messages SET language = 'cobol'", db)
    # One template per (account, recipe, language).
    with pytest.raises(EmbeddedPostgresError, match="ux_script_templates_account_recipe"):
        pg.psql(
            "INSERT INTO script_templates (account_id, created_by_user_id, name, language, body, "
            "source_recipe_id) VALUES ('a1', 'u2', 'again', 'bash', 'echo', 'reload-nginx')",
            db,
        )
    downgrade(PACKAGE, url, "0004_template_drafts")
    columns = pg.psql(
        "SELECT table_name || '.' || column_name FROM information_schema.columns "
        "WHERE table_name IN ('script_builder_messages', 'script_templates')",
        db,
    ).split()
    for gone in (
        "script_builder_messages.language",
        "script_builder_messages.parameters",
        "script_builder_messages.explanation",
        "script_builder_messages.recipe_id",
        "script_templates.source_recipe_id",
        "script_templates.source_recipe_digest",
    ):
        assert gone not in columns
    # The rows survive as plain messages and templates.
    assert (
        pg.psql("SELECT content, script FROM script_builder_messages", db) == "old answer|echo hi"
    )
    assert pg.psql("SELECT count(*) FROM script_templates", db) == "2"
    upgrade(PACKAGE, url)


def test_0006_attributes_empty_accounts_it_can_and_keeps_the_rest(
    pg: EmbeddedPostgres, empty_db: tuple[str, str]
):
    """Rows from before identity claims were bounded may have an empty
    account: given the user's one account when their other rows name exactly
    one, left empty (unreachable, counted in no cap) otherwise."""
    db, url = empty_db
    upgrade(PACKAGE, url, "0005_drafts_and_recipes")
    pg.psql(
        "INSERT INTO script_builder_sessions (user_id, account_id, title, language) VALUES "
        "('u1', 'a1', 'known', 'bash'), ('u1', '', 'attributable', 'bash'), "
        "('u2', '', 'nobody knows', 'bash'), "
        "('u3', 'a1', 'one', 'bash'), ('u3', 'a2', 'two', 'bash'), "
        "('u3', '', 'ambiguous', 'bash'), "
        "('u4', '', 'template tells', 'bash')",
        db,
    )
    pg.psql(
        "INSERT INTO script_templates (account_id, created_by_user_id, name, language, body) "
        "VALUES ('', 'u1', 'orphan template', 'bash', 'echo'), "
        "('a9', 'u4', 'says a9', 'bash', 'echo')",
        db,
    )
    upgrade(PACKAGE, url)
    rows = pg.psql("SELECT title, account_id FROM script_builder_sessions ORDER BY title", db)
    assert dict(line.split("|") for line in rows.splitlines()) == {
        "ambiguous": "",
        "attributable": "a1",
        "known": "a1",
        "nobody knows": "",
        "one": "a1",
        "template tells": "a9",
        "two": "a2",
    }
    assert pg.psql(
        "SELECT account_id FROM script_templates WHERE name = 'orphan template'", db
    ) == ("a1")
    indexes = pg.psql(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'script_builder_sessions' "
        "AND indexname LIKE '%owner%' ORDER BY 1",
        db,
    )
    assert indexes.split() == [
        "ix_script_builder_sessions_owner_created",
        "ux_script_builder_sessions_owner_inline",
    ]
    # Downgrade: the indexes go, the attributed accounts stay; and up again.
    downgrade(PACKAGE, url, "0005_drafts_and_recipes")
    assert (
        pg.psql("SELECT count(*) FROM pg_indexes WHERE indexname LIKE '%sessions_owner%'", db)
        == "0"
    )
    assert pg.psql(
        "SELECT account_id FROM script_builder_sessions WHERE title = 'attributable'", db
    ) == ("a1")
    upgrade(PACKAGE, url)


def test_0006_inline_rows_are_unique_per_account_user_and_ai_session(
    pg: EmbeddedPostgres, empty_db: tuple[str, str]
):
    db, url = empty_db
    upgrade(PACKAGE, url)
    ai = uuid.uuid4()
    insert = (
        "INSERT INTO script_builder_sessions "
        "(user_id, account_id, ai_session_id, title, language, origin) "
        f"VALUES ('u1', 'a1', '{ai}', 't', 'bash', 'pilot_inline')"
    )
    pg.psql(insert, db)
    with pytest.raises(EmbeddedPostgresError, match="ux_script_builder_sessions_"):
        pg.psql(insert, db)


def test_0007_fix_targeting_sits_on_0006_and_goes_back_with_data_in_it(
    pg: EmbeddedPostgres, empty_db: tuple[str, str]
):
    """Fix-targeted drafting (issue 10) comes after the owner keys (issue 9):
    an inline row of 0006 reads with no fix, only inline rows may name one,
    and the downgrade to 0006 keeps the rows and their account keys."""
    db, url = empty_db
    upgrade(PACKAGE, url, "0006_sessions_keyed_by_account")
    ai, fix = uuid.uuid4(), uuid.uuid4()
    pg.psql(
        "INSERT INTO script_builder_sessions "
        "(user_id, account_id, ai_session_id, title, language, origin) "
        f"VALUES ('u1', 'a1', '{ai}', 'inline', 'bash', 'pilot_inline'), "
        "('u1', 'a1', NULL, 'mine', 'bash', 'standalone')",
        db,
    )
    upgrade(PACKAGE, url)
    assert pg.psql("SELECT count(*) FROM script_builder_sessions WHERE fix_id IS NULL", db) == "2"
    pg.psql(f"UPDATE script_builder_sessions SET fix_id = '{fix}' WHERE title = 'inline'", db)
    with pytest.raises(EmbeddedPostgresError, match="ck_script_builder_sessions_fix_inline"):
        pg.psql(f"UPDATE script_builder_sessions SET fix_id = '{fix}' WHERE title = 'mine'", db)
    downgrade(PACKAGE, url, "0006_sessions_keyed_by_account")
    columns = pg.psql(
        "SELECT count(*) FROM information_schema.columns WHERE column_name = 'fix_id'", db
    )
    assert columns == "0"
    assert (
        pg.psql("SELECT count(*) FROM script_builder_sessions WHERE account_id = 'a1'", db) == "2"
    )
    assert "ux_script_builder_sessions_owner_inline" in pg.psql(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'script_builder_sessions'", db
    )
    upgrade(PACKAGE, url)
