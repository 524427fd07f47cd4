"""Issue 10, the fixes side: a fix's own version (its etag), typed script
parameters, a notes history, run records (`fix_runs`, append-only),
session-level rows in the audit trail, and a NOTIFY on every change of a
session's `state_version` (WatchAiSession listens to it).

Revision ID: 0002_runs_etags_watch
Revises: 0001_initial
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_runs_etags_watch"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Expand only: new table, defaulted or nullable columns, constraints relaxed
# (old code never writes a session-level audit row, and reads a fix's rows by
# fix id only), a trigger that only notifies. Code at 0001 keeps working.
oldest_compatible_revision: str = "0001_initial"

CHANNEL = "flowpilot_ai_session_changes"
OLD_ACTIONS = (
    "'created', 'script_updated', 'applied', 'script_decision_recorded', 'outcome_recorded', "
    "'dismissed', 'outcome_proposed', 'outcome_proposal_cleared', 'resolve_auto_success', "
    "'escalation_outcome'"
)
ACTIONS = OLD_ACTIONS + ", 'session_resolved', 'session_escalated'"
FIX_STATUSES = "('proposed', 'applied_success', 'applied_failed', 'applied_partial', 'dismissed')"


def upgrade() -> None:
    op.add_column(
        "suggested_fixes",
        sa.Column("state_version", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    )
    # A fix's version is the session's at its latest change: its latest audit row's.
    op.execute(
        "UPDATE suggested_fixes f SET state_version = e.version FROM "
        "(SELECT fix_id, max(state_version) AS version FROM fix_events GROUP BY fix_id) e "
        "WHERE e.fix_id = f.id"
    )
    op.add_column("suggested_fixes", sa.Column("script_parameters", postgresql.JSONB()))
    op.add_column("suggested_fixes", sa.Column("notes_history", postgresql.JSONB()))
    op.add_column("suggested_fixes", sa.Column("last_run", postgresql.JSONB()))
    op.create_check_constraint(
        op.f("ck_suggested_fixes_script_parameters_array"),
        "suggested_fixes",
        "script_parameters IS NULL OR jsonb_typeof(script_parameters) = 'array'",
    )
    op.create_check_constraint(
        op.f("ck_suggested_fixes_notes_history_array"),
        "suggested_fixes",
        "notes_history IS NULL OR jsonb_typeof(notes_history) = 'array'",
    )

    # Session-level audit rows: no fix, no status.
    op.alter_column("fix_events", "fix_id", nullable=True)
    op.alter_column("fix_events", "to_status", nullable=True)
    op.drop_constraint(op.f("ck_fix_events_action"), "fix_events")
    op.create_check_constraint(op.f("ck_fix_events_action"), "fix_events", f"action IN ({ACTIONS})")
    op.drop_constraint(op.f("ck_fix_events_to_status"), "fix_events")
    op.create_check_constraint(
        op.f("ck_fix_events_to_status"),
        "fix_events",
        f"to_status IS NULL OR to_status IN {FIX_STATUSES}",
    )
    op.create_check_constraint(
        op.f("ck_fix_events_session_row"), "fix_events", "(fix_id IS NULL) = (to_status IS NULL)"
    )
    op.create_index("ix_fix_events_session", "fix_events", ["ai_session_id", "id"])

    op.create_table(
        "fix_runs",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("fix_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("ai_session_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("state_version", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("script_template_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("script", sa.Text(), nullable=True),
        sa.Column("parameters", postgresql.JSONB(), nullable=True),
        sa.Column("rendered", sa.Boolean(), nullable=False),
        sa.Column("declared_by_user_id", sa.Text(), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fix_runs"),
        sa.ForeignKeyConstraint(
            ["fix_id"],
            ["suggested_fixes.id"],
            name="fk_fix_runs_fix_id_suggested_fixes",
            ondelete="RESTRICT",
        ),
        sa.CheckConstraint(
            "kind IN ('apply', 'one_off', 'draft_template')", name=op.f("ck_fix_runs_kind")
        ),
        sa.CheckConstraint(
            "source IN ('drafted_script', 'template')", name=op.f("ck_fix_runs_source")
        ),
        sa.CheckConstraint(
            "language IN ('powershell', 'bash', 'python')", name=op.f("ck_fix_runs_language")
        ),
        sa.CheckConstraint(
            "(source = 'template') = (script_template_id IS NOT NULL)",
            name=op.f("ck_fix_runs_template_source"),
        ),
        sa.CheckConstraint(
            "rendered = false OR script IS NOT NULL", name=op.f("ck_fix_runs_rendered_script")
        ),
        sa.CheckConstraint(
            "parameters IS NULL OR jsonb_typeof(parameters) = 'object'",
            name=op.f("ck_fix_runs_parameters_object"),
        ),
    )
    op.create_index(
        "uq_fix_runs_fix_state_version", "fix_runs", ["fix_id", "state_version"], unique=True
    )
    # Run records are as append-only as the audit trail.
    op.execute(
        """
        CREATE FUNCTION fix_runs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'fix_runs is append-only' USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER fix_runs_append_only BEFORE UPDATE OR DELETE ON fix_runs "
        "FOR EACH ROW EXECUTE FUNCTION fix_runs_append_only()"
    )

    # The sessions some replica watches (one row per listening connection).
    op.create_table(
        "session_watchers",
        sa.Column("session_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("listener_pid", sa.Integer(), nullable=False),
        sa.Column(
            "since", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")
        ),
        sa.PrimaryKeyConstraint("session_id", "listener_pid", name="pk_session_watchers"),
    )
    # Every change to a session or its fixes bumps its state_version exactly
    # once; announce each change of a watched session, delivered at commit, to
    # every listening replica. A NOTIFY serialises commits cluster-wide (a
    # lock held through each notifying commit), so sessions nobody watches
    # skip it: one index probe instead.
    op.execute(
        f"""
        CREATE FUNCTION notify_ai_session_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM session_watchers WHERE session_id = NEW.id) THEN
                PERFORM pg_notify('{CHANNEL}', NEW.id::text || ' ' || NEW.state_version::text);
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER notify_ai_session_change AFTER UPDATE OF state_version ON ai_sessions "
        "FOR EACH ROW WHEN (OLD.state_version IS DISTINCT FROM NEW.state_version) "
        "EXECUTE FUNCTION notify_ai_session_change()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER notify_ai_session_change ON ai_sessions")
    op.execute("DROP FUNCTION notify_ai_session_change()")
    op.drop_table("session_watchers")
    op.execute("DROP TRIGGER fix_runs_append_only ON fix_runs")
    op.execute("DROP FUNCTION fix_runs_append_only()")
    op.drop_index("uq_fix_runs_fix_state_version", table_name="fix_runs")
    op.drop_table("fix_runs")

    op.drop_index("ix_fix_events_session", table_name="fix_events")
    op.drop_constraint(op.f("ck_fix_events_session_row"), "fix_events")
    # The session-level rows have no place in the older schema; the trail is
    # append-only, so its guard steps aside for this one statement.
    op.execute("ALTER TABLE fix_events DISABLE TRIGGER fix_events_append_only")
    op.execute("DELETE FROM fix_events WHERE fix_id IS NULL")
    op.execute("ALTER TABLE fix_events ENABLE TRIGGER fix_events_append_only")
    op.drop_constraint(op.f("ck_fix_events_to_status"), "fix_events")
    op.create_check_constraint(
        op.f("ck_fix_events_to_status"), "fix_events", f"to_status IN {FIX_STATUSES}"
    )
    op.drop_constraint(op.f("ck_fix_events_action"), "fix_events")
    op.create_check_constraint(
        op.f("ck_fix_events_action"), "fix_events", f"action IN ({OLD_ACTIONS})"
    )
    op.alter_column("fix_events", "to_status", nullable=False)
    op.alter_column("fix_events", "fix_id", nullable=False)

    op.drop_constraint(op.f("ck_suggested_fixes_notes_history_array"), "suggested_fixes")
    op.drop_constraint(op.f("ck_suggested_fixes_script_parameters_array"), "suggested_fixes")
    op.drop_column("suggested_fixes", "last_run")
    op.drop_column("suggested_fixes", "notes_history")
    op.drop_column("suggested_fixes", "script_parameters")
    op.drop_column("suggested_fixes", "state_version")
