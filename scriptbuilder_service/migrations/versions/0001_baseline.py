"""Baseline: the script builder as it stood before phase 9.

`script_builder_sessions.ai_session_id` is a plain nullable UUID here (the AI
session lives in the fixes service, so no foreign key crosses over).

Revision ID: 0001_baseline
Revises:
Create Date: 2026-04-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

# The oldest code revision that works against this schema (expand/contract,
# flowpilot.runtime.migrations).
# The first schema: no older code exists.
oldest_compatible_revision = "0001_baseline"


def upgrade() -> None:
    op.create_table(
        "script_builder_sessions",
        sa.Column(
            "id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")
        ),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("account_id", sa.String(255), nullable=False),
        # Link to FlowPilot session if launched from there.
        sa.Column("ai_session_id", UUID(as_uuid=True), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("language", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="active"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint(
            "language IN ('powershell', 'bash', 'python')",
            name="ck_script_builder_sessions_language",
        ),
        sa.CheckConstraint(
            "status IN ('active', 'completed')", name="ck_script_builder_sessions_status"
        ),
    )
    op.create_index(
        "ix_script_builder_sessions_user_created",
        "script_builder_sessions",
        ["user_id", "created_at"],
    )
    op.create_table(
        "script_builder_messages",
        sa.Column(
            "id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")
        ),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), nullable=False, unique=True),
        sa.Column(
            "session_id",
            UUID(as_uuid=True),
            sa.ForeignKey("script_builder_sessions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("script", sa.Text, nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("role IN ('user', 'assistant')", name="ck_script_builder_messages_role"),
    )
    op.create_index(
        "ix_script_builder_messages_session_seq", "script_builder_messages", ["session_id", "seq"]
    )
    op.create_table(
        "script_templates",
        sa.Column(
            "id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")
        ),
        sa.Column("account_id", sa.String(255), nullable=False),
        sa.Column("created_by_user_id", sa.String(255), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("language", sa.String(20), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("parameters", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column(
            "source_session_id",
            UUID(as_uuid=True),
            sa.ForeignKey("script_builder_sessions.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint(
            "language IN ('powershell', 'bash', 'python')", name="ck_script_templates_language"
        ),
    )
    op.create_index(
        "ix_script_templates_account_created", "script_templates", ["account_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("script_templates")
    op.drop_table("script_builder_messages")
    op.drop_table("script_builder_sessions")
