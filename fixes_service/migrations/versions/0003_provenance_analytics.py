"""Issue 16, the fixes side: the template version a fix is pinned to, where
its script came from (provenance) on the fix and on every run record, the
fix's title cluster, and `run_facts`: one row per declared run with its
outcome, kept in step by triggers in the same transaction as every change,
which outcome analytics reads.

Revision ID: 0003_provenance_analytics
Revises: 0002_runs_etags_watch
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from fixes_service.domain.analytics import title_cluster

revision: str = "0003_provenance_analytics"
down_revision: str | None = "0002_runs_etags_watch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Expand only: nullable columns, a new table, triggers that maintain it from
# writes code at 0002 makes as well. Code at 0002 keeps working.
oldest_compatible_revision: str = "0002_runs_etags_watch"

FACT_COLUMNS = (
    "outcome",
    "origin",
    "language",
    "template_id",
    "template_version",
    "recipe_id",
    "title_cluster",
    "proposed_at",
    "outcome_at",
)


def upgrade() -> None:
    op.add_column("suggested_fixes", sa.Column("script_template_version", sa.Integer()))
    op.add_column("suggested_fixes", sa.Column("script_template_recipe_id", sa.Text()))
    op.add_column("suggested_fixes", sa.Column("script_provenance", postgresql.JSONB()))
    op.add_column("suggested_fixes", sa.Column("ai_script_basis", sa.Text()))
    op.add_column("suggested_fixes", sa.Column("title_cluster", sa.Text()))
    op.add_column("fix_runs", sa.Column("script_template_version", sa.Integer()))
    op.add_column("fix_runs", sa.Column("provenance", postgresql.JSONB()))

    # Existing fixes: their title clusters (the one normalisation, in Python).
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, title FROM suggested_fixes")).all()
    if rows:
        conn.execute(
            sa.text("UPDATE suggested_fixes SET title_cluster = :cluster WHERE id = :id"),
            [{"id": r.id, "cluster": title_cluster(r.title)} for r in rows],
        )

    op.create_table(
        "run_facts",
        sa.Column("run_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("fix_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.Text()),
        sa.Column("outcome_at", sa.DateTime(timezone=True)),
        sa.Column("origin", sa.Text()),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("template_id", postgresql.UUID(as_uuid=True)),
        sa.Column("template_version", sa.Integer()),
        sa.Column("recipe_id", sa.Text()),
        sa.Column("title_cluster", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_run_facts"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["fix_runs.id"], name="fk_run_facts_run_id_fix_runs", ondelete="RESTRICT"
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN "
            "('applied_success', 'applied_failed', 'applied_partial', 'never_applied')",
            name=op.f("ck_run_facts_outcome"),
        ),
        sa.CheckConstraint(
            "(outcome IS NULL) = (outcome_at IS NULL)", name=op.f("ck_run_facts_outcome_at")
        ),
    )
    # The window scan of an account reads only this index (covering).
    op.create_index(
        "ix_run_facts_account_declared",
        "run_facts",
        ["account_id", "declared_at"],
        postgresql_include=list(FACT_COLUMNS),
    )
    # A template's or a recipe's success rate: one short range each.
    op.create_index(
        "ix_run_facts_account_template",
        "run_facts",
        ["account_id", "template_id", "declared_at"],
        postgresql_include=["template_version", "outcome"],
        postgresql_where=sa.text("template_id IS NOT NULL"),
    )
    op.create_index(
        "ix_run_facts_account_recipe",
        "run_facts",
        ["account_id", "recipe_id", "declared_at"],
        postgresql_include=["outcome"],
        postgresql_where=sa.text("recipe_id IS NOT NULL"),
    )
    # The triggers' lookup: a fix's runs.
    op.create_index("ix_run_facts_fix", "run_facts", ["fix_id", "declared_at"])

    # Existing runs: their facts, with the outcome their fix shows now.
    op.execute(
        """
        INSERT INTO run_facts (run_id, fix_id, account_id, declared_at, proposed_at, outcome,
            outcome_at, origin, language, template_id, template_version, recipe_id,
            title_cluster)
        SELECT r.id, r.fix_id, s.account_id, r.declared_at, f.created_at,
            CASE WHEN f.status IN ('applied_success', 'applied_failed', 'applied_partial')
                     THEN f.status
                 WHEN f.status = 'proposed' AND f.applied_at IS NULL THEN 'never_applied' END,
            CASE WHEN f.status IN ('applied_success', 'applied_failed', 'applied_partial')
                      OR (f.status = 'proposed' AND f.applied_at IS NULL)
                     THEN greatest(f.updated_at, r.declared_at) END,
            CASE WHEN r.source = 'template' THEN 'template' END,
            r.language, r.script_template_id, NULL, NULL, f.title_cluster
        FROM fix_runs r
        JOIN suggested_fixes f ON f.id = r.fix_id
        JOIN ai_sessions s ON s.id = f.ai_session_id
        """
    )
    op.execute(FACT_OF_RUN)
    op.execute(
        "CREATE TRIGGER fact_of_run AFTER INSERT ON fix_runs "
        "FOR EACH ROW EXECUTE FUNCTION fact_of_run()"
    )
    op.execute(OUTCOME_OF_RUNS)
    op.execute(
        "CREATE TRIGGER outcome_of_runs AFTER UPDATE OF status, applied_at ON suggested_fixes "
        "FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status "
        "OR OLD.applied_at IS DISTINCT FROM NEW.applied_at) "
        "EXECUTE FUNCTION outcome_of_runs()"
    )


# A declared run becomes a fact: its fix's account, proposal time and title
# cluster, its provenance. It fires after the statement that declared it, so
# it sees the fix as that statement left it.
FACT_OF_RUN = """
CREATE FUNCTION fact_of_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO run_facts (run_id, fix_id, account_id, declared_at, proposed_at, origin,
        language, template_id, template_version, recipe_id, title_cluster)
    SELECT NEW.id, NEW.fix_id, s.account_id, NEW.declared_at, f.created_at,
        coalesce(NEW.provenance ->> 'origin',
                 CASE WHEN NEW.source = 'template' THEN 'template' END),
        NEW.language, NEW.script_template_id, NEW.script_template_version,
        NEW.provenance ->> 'recipe_id', coalesce(f.title_cluster, '(no words)')
    FROM suggested_fixes f JOIN ai_sessions s ON s.id = f.ai_session_id
    WHERE f.id = NEW.fix_id;
    RETURN NULL;
END
$$
"""

# An outcome recorded on a fix (by the engineer, resolve or an escalation
# choice) is the outcome of its latest run and of every earlier run still
# without one; "never applied" at escalation (applied_at cleared) is the
# outcome of the runs still without one.
OUTCOME_OF_RUNS = """
CREATE FUNCTION outcome_of_runs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN ('applied_success', 'applied_failed', 'applied_partial')
            AND NEW.status IS DISTINCT FROM OLD.status THEN
        UPDATE run_facts SET outcome = NEW.status, outcome_at = NEW.updated_at
        WHERE fix_id = NEW.id AND (outcome IS NULL OR declared_at =
            (SELECT max(declared_at) FROM run_facts WHERE fix_id = NEW.id));
    ELSIF OLD.applied_at IS NOT NULL AND NEW.applied_at IS NULL THEN
        UPDATE run_facts SET outcome = 'never_applied', outcome_at = NEW.updated_at
        WHERE fix_id = NEW.id AND outcome IS NULL;
    END IF;
    RETURN NULL;
END
$$
"""


def downgrade() -> None:
    op.execute("DROP TRIGGER outcome_of_runs ON suggested_fixes")
    op.execute("DROP FUNCTION outcome_of_runs()")
    op.execute("DROP TRIGGER fact_of_run ON fix_runs")
    op.execute("DROP FUNCTION fact_of_run()")
    op.drop_table("run_facts")
    op.drop_column("fix_runs", "provenance")
    op.drop_column("fix_runs", "script_template_version")
    op.drop_column("suggested_fixes", "title_cluster")
    op.drop_column("suggested_fixes", "ai_script_basis")
    op.drop_column("suggested_fixes", "script_provenance")
    op.drop_column("suggested_fixes", "script_template_recipe_id")
    op.drop_column("suggested_fixes", "script_template_version")
