"""Phase 9: the `origin` discriminator and the inline uniqueness guard.

Exactly the seed's SQL ("Data model / New migration"): existing rows backfill
to `standalone` through the column default.

Revision ID: 0002_script_builder_origin
Revises: 0001_baseline
Create Date: 2026-04-23
"""

from alembic import op

revision = "0002_script_builder_origin"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

# The oldest code revision that works against this schema (expand/contract,
# flowpilot.runtime.migrations).
# Expand only: `origin` defaults to 'standalone', which is what older code means.
oldest_compatible_revision = "0001_baseline"


def upgrade() -> None:
    op.execute(
        "ALTER TABLE script_builder_sessions "
        "ADD COLUMN origin VARCHAR(20) NOT NULL DEFAULT 'standalone'"
    )
    op.execute(
        "ALTER TABLE script_builder_sessions "
        "ADD CONSTRAINT ck_script_builder_sessions_origin "
        "CHECK (origin IN ('standalone', 'pilot_inline'))"
    )
    # Invariant: pilot_inline rows must be linked to a pilot session.
    # Standalone rows may or may not be linked (legacy back-channel).
    op.execute(
        "ALTER TABLE script_builder_sessions "
        "ADD CONSTRAINT ck_script_builder_sessions_origin_ai_session "
        "CHECK (origin <> 'pilot_inline' OR ai_session_id IS NOT NULL)"
    )
    # Uniqueness: at most one pilot_inline session per (user, pilot session).
    op.execute(
        "CREATE UNIQUE INDEX ux_script_builder_sessions_pilot_inline "
        "ON script_builder_sessions (user_id, ai_session_id) "
        "WHERE origin = 'pilot_inline'"
    )


def downgrade() -> None:
    # Inline rows have no meaning without `origin`; dropping the column keeps
    # them as linked standalone-style rows (the legacy back-channel).
    op.execute("DROP INDEX IF EXISTS ux_script_builder_sessions_pilot_inline")
    op.execute(
        "ALTER TABLE script_builder_sessions "
        "DROP CONSTRAINT IF EXISTS ck_script_builder_sessions_origin_ai_session"
    )
    op.execute(
        "ALTER TABLE script_builder_sessions "
        "DROP CONSTRAINT IF EXISTS ck_script_builder_sessions_origin"
    )
    op.execute("ALTER TABLE script_builder_sessions DROP COLUMN origin")
