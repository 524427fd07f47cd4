"""The Script Builder tab's editor buffer and AI/editor mode, so a refresh
loses nothing.

Revision ID: 0003_session_editor_draft
Revises: 0002_script_builder_origin
Create Date: 2026-04-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_session_editor_draft"
down_revision = "0002_script_builder_origin"
branch_labels = None
depends_on = None

# The oldest code revision that works against this schema (expand/contract,
# flowpilot.runtime.migrations).
# Expand only: both columns have defaults older code never needs to set.
oldest_compatible_revision = "0002_script_builder_origin"


def upgrade() -> None:
    op.add_column(
        "script_builder_sessions",
        sa.Column("editor_buffer", sa.Text, nullable=False, server_default=""),
    )
    op.add_column(
        "script_builder_sessions",
        sa.Column("mode", sa.String(20), nullable=False, server_default="ai"),
    )
    op.create_check_constraint(
        "ck_script_builder_sessions_mode", "script_builder_sessions", "mode IN ('ai', 'editor')"
    )


def downgrade() -> None:
    op.drop_constraint("ck_script_builder_sessions_mode", "script_builder_sessions", type_="check")
    op.drop_column("script_builder_sessions", "mode")
    op.drop_column("script_builder_sessions", "editor_buffer")
