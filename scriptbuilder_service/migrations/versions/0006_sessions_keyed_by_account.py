"""A user is an account and a `sub` together (issue 9): the inline sessions'
uniqueness and the owner's list index name both.

Every session row has carried its account since the baseline (NOT NULL), so
no row lacks one. The exception is an empty account, which tokens could
carry before identity claims were bounded at verification (1 to 255
characters): such a row is given the account of its user when every other
row of that user (sessions and templates) names exactly one account. A row
that cannot be attributed so keeps its empty account: no token can carry one
any more, so nobody reaches it and it counts toward no cap. The migration
reports how many remain (an operator can reassign them with one UPDATE, see
docs/scriptbuilder-service.md, "Migrations").

Expand only: the indexes on (user, ...) stay, so code at 0005 keeps working
(its `ON CONFLICT (user_id, ai_session_id)` needs that index); the release
after this one drops them (contraction). Code at this revision names no
conflict target, so a conflict on either unique index is a no-op.

Revision ID: 0006_sessions_keyed_by_account
Revises: 0005_drafts_and_recipes
Create Date: 2026-11-21
"""

import logging

from alembic import op
from sqlalchemy import text

revision = "0006_sessions_keyed_by_account"
down_revision = "0005_drafts_and_recipes"
branch_labels = None
depends_on = None
# Expand only (two new indexes, a backfill of empty accounts that older code
# never reads differently): code at 0005 keeps working against this schema.
oldest_compatible_revision = "0005_drafts_and_recipes"

log = logging.getLogger("flowpilot.migrations")

# The one account each user's attributed rows name, when there is exactly one.
_KNOWN_ACCOUNTS = """
    SELECT user_id, min(account_id) AS account_id
    FROM (
        SELECT user_id, account_id FROM script_builder_sessions WHERE account_id <> ''
        UNION ALL
        SELECT created_by_user_id, account_id FROM script_templates WHERE account_id <> ''
    ) AS attributed
    GROUP BY user_id
    HAVING count(DISTINCT account_id) = 1
"""


def upgrade() -> None:
    op.execute(
        f"""
        WITH known AS ({_KNOWN_ACCOUNTS})
        UPDATE script_builder_sessions AS s SET account_id = known.account_id
        FROM known WHERE s.account_id = '' AND s.user_id = known.user_id
        """
    )
    op.execute(
        f"""
        WITH known AS ({_KNOWN_ACCOUNTS})
        UPDATE script_templates AS t SET account_id = known.account_id
        FROM known WHERE t.account_id = '' AND t.created_by_user_id = known.user_id
        """
    )
    connection = op.get_bind()
    for table in ("script_builder_sessions", "script_templates"):
        left = connection.execute(
            text(f"SELECT count(*) FROM {table} WHERE account_id = ''")
        ).scalar_one()
        if left:
            log.warning(
                "%s: %d rows have no account and could not be attributed; no token "
                "reaches them (docs/scriptbuilder-service.md, Migrations)",
                table,
                left,
            )
    op.create_index(
        "ux_script_builder_sessions_owner_inline",
        "script_builder_sessions",
        ["account_id", "user_id", "ai_session_id"],
        unique=True,
        postgresql_where=text("origin = 'pilot_inline'"),
    )
    op.create_index(
        "ix_script_builder_sessions_owner_created",
        "script_builder_sessions",
        ["account_id", "user_id", "created_at"],
    )


def downgrade() -> None:
    # Attributed accounts stay: they are what the rows always meant, and code
    # at 0005 reads them like any other.
    op.drop_index("ix_script_builder_sessions_owner_created", table_name="script_builder_sessions")
    op.drop_index("ux_script_builder_sessions_owner_inline", table_name="script_builder_sessions")
