"""AI sessions, suggested fixes, the fix audit trail and the template-proposal outbox.

Revision ID: 0001_initial
Revises:
Create Date: 2026-04-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The oldest code revision that works against this schema (expand/contract,
# flowpilot.runtime.migrations).
# The first schema: no older code exists.
oldest_compatible_revision = "0001_initial"

FIX_STATUSES = "('proposed', 'applied_success', 'applied_failed', 'applied_partial', 'dismissed')"
LANGUAGES = "('powershell', 'bash', 'python')"
OUTCOMES = "('applied_success', 'applied_failed', 'applied_partial')"
DECISIONS = "('one_off', 'draft_template', 'build_template')"
ACTIONS = (
    "('created', 'script_updated', 'applied', 'script_decision_recorded', 'outcome_recorded', "
    "'dismissed', 'outcome_proposed', 'outcome_proposal_cleared', 'resolve_auto_success', "
    "'escalation_outcome')"
)


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "ai_sessions",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("owner_user_id", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, server_default="active"),
        sa.Column("state_version", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("escalation_reason", sa.Text(), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_ai_sessions"),
        sa.CheckConstraint(
            "status IN ('active', 'resolved', 'escalated')", name=op.f("ck_ai_sessions_status")
        ),
        sa.CheckConstraint("state_version >= 0", name=op.f("ck_ai_sessions_state_version")),
    )
    op.create_index(
        "ix_ai_sessions_owner",
        "ai_sessions",
        ["account_id", "owner_user_id", "created_at", "id"],
    )
    op.create_index("ix_ai_sessions_account", "ai_sessions", ["account_id", "created_at", "id"])

    op.create_table(
        "suggested_fixes",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("ai_session_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("script_language", sa.Text(), nullable=False),
        sa.Column("ai_drafted_script", sa.Text(), nullable=True),
        sa.Column("ai_drafted_parameters", postgresql.JSONB(), nullable=True),
        sa.Column("script_template_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("status", sa.Text(), nullable=False, server_default="proposed"),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome_notes", sa.Text(), nullable=True),
        sa.Column("script_decision", sa.Text(), nullable=True),
        sa.Column("ai_outcome_proposal_outcome", sa.Text(), nullable=True),
        sa.Column("ai_outcome_proposal_rationale", sa.Text(), nullable=True),
        sa.Column("ai_outcome_proposal_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_suggested_fixes"),
        sa.ForeignKeyConstraint(
            ["ai_session_id"],
            ["ai_sessions.id"],
            name="fk_suggested_fixes_ai_session_id_ai_sessions",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(f"status IN {FIX_STATUSES}", name=op.f("ck_suggested_fixes_status")),
        sa.CheckConstraint(
            f"script_language IN {LANGUAGES}", name=op.f("ck_suggested_fixes_script_language")
        ),
        sa.CheckConstraint(
            f"script_decision IS NULL OR script_decision IN {DECISIONS}",
            name=op.f("ck_suggested_fixes_script_decision"),
        ),
        sa.CheckConstraint(
            f"ai_outcome_proposal_outcome IS NULL OR ai_outcome_proposal_outcome IN {OUTCOMES}",
            name=op.f("ck_suggested_fixes_ai_outcome_proposal_outcome"),
        ),
        sa.CheckConstraint(
            "(ai_outcome_proposal_outcome IS NULL) = (ai_outcome_proposal_at IS NULL)",
            name=op.f("ck_suggested_fixes_ai_outcome_proposal_complete"),
        ),
        sa.CheckConstraint(
            "ai_drafted_script IS NULL OR char_length(ai_drafted_script) BETWEEN 1 AND 50000",
            name=op.f("ck_suggested_fixes_ai_drafted_script_length"),
        ),
        sa.CheckConstraint(
            "ai_drafted_parameters IS NULL OR jsonb_typeof(ai_drafted_parameters) = 'object'",
            name=op.f("ck_suggested_fixes_ai_drafted_parameters_object"),
        ),
        sa.CheckConstraint(
            "status <> 'applied_partial' OR applied_at IS NOT NULL",
            name=op.f("ck_suggested_fixes_partial_was_applied"),
        ),
    )
    op.create_index(
        "ix_suggested_fixes_session", "suggested_fixes", ["ai_session_id", "created_at", "id"]
    )

    op.create_table(
        "fix_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("fix_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("ai_session_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("actor_user_id", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("from_status", sa.Text(), nullable=True),
        sa.Column("to_status", sa.Text(), nullable=False),
        sa.Column(
            "details",
            postgresql.JSONB(),
            nullable=False,
            server_default=sa.text("'{}'::jsonb"),
        ),
        sa.Column("state_version", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        sa.PrimaryKeyConstraint("id", name="pk_fix_events"),
        sa.ForeignKeyConstraint(
            ["fix_id"],
            ["suggested_fixes.id"],
            name="fk_fix_events_fix_id_suggested_fixes",
            ondelete="RESTRICT",
        ),
        sa.CheckConstraint(f"action IN {ACTIONS}", name=op.f("ck_fix_events_action")),
        sa.CheckConstraint(
            f"from_status IS NULL OR from_status IN {FIX_STATUSES}",
            name=op.f("ck_fix_events_from_status"),
        ),
        sa.CheckConstraint(f"to_status IN {FIX_STATUSES}", name=op.f("ck_fix_events_to_status")),
    )
    op.create_index("ix_fix_events_fix", "fix_events", ["fix_id", "id"])
    # The audit trail is append-only, whatever the application does.
    op.execute(
        """
        CREATE FUNCTION fix_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'fix_events is append-only' USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER fix_events_append_only BEFORE UPDATE OR DELETE ON fix_events "
        "FOR EACH ROW EXECUTE FUNCTION fix_events_append_only()"
    )

    op.create_table(
        "template_proposals",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("fix_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("ai_session_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("requested_by_user_id", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("script", sa.Text(), nullable=False),
        sa.Column("parameters", postgresql.JSONB(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        sa.Column("template_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_template_proposals"),
        sa.ForeignKeyConstraint(
            ["fix_id"],
            ["suggested_fixes.id"],
            name="fk_template_proposals_fix_id_suggested_fixes",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("fix_id", name="uq_template_proposals_fix_id"),
        sa.CheckConstraint(f"language IN {LANGUAGES}", name=op.f("ck_template_proposals_language")),
        sa.CheckConstraint(
            "(template_id IS NULL) = (acked_at IS NULL)",
            name=op.f("ck_template_proposals_ack_complete"),
        ),
    )
    op.create_index(
        "ix_template_proposals_pending",
        "template_proposals",
        ["created_at", "id"],
        postgresql_where=sa.text("template_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_template_proposals_pending", table_name="template_proposals")
    op.drop_table("template_proposals")
    op.execute("DROP TRIGGER fix_events_append_only ON fix_events")
    op.execute("DROP FUNCTION fix_events_append_only()")
    op.drop_index("ix_fix_events_fix", table_name="fix_events")
    op.drop_table("fix_events")
    op.drop_index("ix_suggested_fixes_session", table_name="suggested_fixes")
    op.drop_table("suggested_fixes")
    op.drop_index("ix_ai_sessions_account", table_name="ai_sessions")
    op.drop_index("ix_ai_sessions_owner", table_name="ai_sessions")
    op.drop_table("ai_sessions")
