"""Fix-targeted inline drafting: the suggested fix an inline session drafts
for now, and the fix each message was about (issue 10, point 2).

Revision ID: 0007_fix_targeted_drafting
Revises: 0006_sessions_keyed_by_account
Create Date: 2026-05-10
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0007_fix_targeted_drafting"
down_revision = "0006_sessions_keyed_by_account"
branch_labels = None
depends_on = None
# Expand only (nullable columns, a check that existing rows pass): code at
# the previous revision keeps working against this schema.
oldest_compatible_revision = "0006_sessions_keyed_by_account"


def upgrade() -> None:
    # Plain UUIDs: the fixes live in the fixes service (checked over gRPC).
    op.add_column("script_builder_sessions", sa.Column("fix_id", UUID(as_uuid=True)))
    op.create_check_constraint(
        "ck_script_builder_sessions_fix_inline",
        "script_builder_sessions",
        "fix_id IS NULL OR origin = 'pilot_inline'",
    )
    op.add_column("script_builder_messages", sa.Column("fix_id", UUID(as_uuid=True)))


def downgrade() -> None:
    op.drop_column("script_builder_messages", "fix_id")
    op.drop_constraint(
        "ck_script_builder_sessions_fix_inline", "script_builder_sessions", type_="check"
    )
    op.drop_column("script_builder_sessions", "fix_id")
