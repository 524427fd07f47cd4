"""The drafter's output contract on messages (language, typed parameters,
explanation, recipe id), and the recipe a template was imported from (the
starter template library's idempotency key).

Revision ID: 0005_drafts_and_recipes
Revises: 0004_template_drafts
Create Date: 2026-05-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005_drafts_and_recipes"
down_revision = "0004_template_drafts"
branch_labels = None
depends_on = None
# Expand only (nullable or defaulted columns, a partial index that old rows
# never enter): code at 0004 keeps working against this schema.
oldest_compatible_revision = "0004_template_drafts"


def upgrade() -> None:
    op.add_column("script_builder_messages", sa.Column("language", sa.String(20)))
    op.create_check_constraint(
        "ck_script_builder_messages_language",
        "script_builder_messages",
        "language IS NULL OR language IN ('powershell', 'bash', 'python')",
    )
    op.add_column(
        "script_builder_messages",
        sa.Column("parameters", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    )
    op.add_column(
        "script_builder_messages",
        sa.Column("explanation", sa.Text, nullable=False, server_default=""),
    )
    op.add_column("script_builder_messages", sa.Column("recipe_id", sa.String(100)))
    op.add_column("script_templates", sa.Column("source_recipe_id", sa.String(100)))
    op.add_column("script_templates", sa.Column("source_recipe_digest", sa.String(64)))
    op.create_index(
        "ux_script_templates_account_recipe",
        "script_templates",
        ["account_id", "source_recipe_id", "language"],
        unique=True,
        postgresql_where=sa.text("source_recipe_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ux_script_templates_account_recipe", table_name="script_templates")
    op.drop_column("script_templates", "source_recipe_digest")
    op.drop_column("script_templates", "source_recipe_id")
    op.drop_column("script_builder_messages", "recipe_id")
    op.drop_column("script_builder_messages", "explanation")
    op.drop_column("script_builder_messages", "parameters")
    op.drop_constraint(
        "ck_script_builder_messages_language", "script_builder_messages", type_="check"
    )
    op.drop_column("script_builder_messages", "language")
