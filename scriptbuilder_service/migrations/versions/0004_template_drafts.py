"""Template status and the fix a `draft_template` decision proposed it from
(unique: at most one draft template per fix, the relay's idempotency key).

Revision ID: 0004_template_drafts
Revises: 0003_session_editor_draft
Create Date: 2026-04-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0004_template_drafts"
down_revision = "0003_session_editor_draft"
branch_labels = None
depends_on = None

# The oldest code revision that works against this schema (expand/contract,
# flowpilot.runtime.migrations).
# Expand only: `status` defaults to 'published' and `source_fix_id` is nullable.
# Older code lists draft templates like published ones until rolled forward.
oldest_compatible_revision = "0003_session_editor_draft"


def upgrade() -> None:
    op.add_column(
        "script_templates",
        sa.Column("status", sa.String(20), nullable=False, server_default="published"),
    )
    op.create_check_constraint(
        "ck_script_templates_status", "script_templates", "status IN ('draft', 'published')"
    )
    op.add_column("script_templates", sa.Column("source_fix_id", UUID(as_uuid=True)))
    op.create_unique_constraint(
        "script_templates_source_fix_id_key", "script_templates", ["source_fix_id"]
    )


def downgrade() -> None:
    op.drop_constraint("script_templates_source_fix_id_key", "script_templates", type_="unique")
    op.drop_column("script_templates", "source_fix_id")
    op.drop_constraint("ck_script_templates_status", "script_templates", type_="check")
    op.drop_column("script_templates", "status")
