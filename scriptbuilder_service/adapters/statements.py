"""The script-builder service's hand-written SQL, built once at import time.

Most statements are built where they are used, with SQLAlchemy Core; these
are the ones whose shape matters for a race or a round trip, written out.
Bind parameters carry the names of the columns they fill.
"""

from __future__ import annotations

from sqlalchemy import text

from flowpilot.runtime.compiled import Compiled

# First key of the two-key advisory lock that serialises one owner's standalone
# creates (the second is a hash of the owner: account and user). Distinct from
# the single-bigint key space that the migration lock uses. Two owners whose
# hashes collide only wait for each other; the cap still counts each alone.
CAP_LOCK_NAMESPACE = 0x5342  # "SB"

LOCK_OWNER_SESSIONS = text(
    "SELECT pg_advisory_xact_lock(:ns, hashtext("
    "length(CAST(:account_id AS text)) || ':' || CAST(:account_id AS text) || '/' "
    "|| CAST(:user_id AS text)))"
)

SESSION_COLUMNS = (
    "id, user_id, account_id, ai_session_id, origin, title, language, status, "
    "editor_buffer, mode, created_at, updated_at, fix_id"
)

# Inline get-or-create in one round trip for the common case (the row exists):
# the insert does nothing on the partial unique index of (account, user, AI
# session) and the second branch reads the existing row. No conflict target:
# until the release after 0006 drops it, the older index on (user, AI session)
# stands beside it, and a conflict on either must be a no-op, never an error
# (an AI session belongs to one account, so both name the same row). When a
# concurrent insert commits while this statement waits on the index, the row
# is outside this statement's snapshot and nothing comes back; the caller then
# reads it again (a new snapshot).
GET_OR_CREATE_INLINE = text(
    f"""
    WITH inserted AS (
        INSERT INTO script_builder_sessions
            (user_id, account_id, ai_session_id, origin, title, language, fix_id)
        VALUES (:user_id, :account_id, :ai_session_id, 'pilot_inline', :title, :language, :fix_id)
        ON CONFLICT DO NOTHING
        RETURNING {SESSION_COLUMNS}
    )
    SELECT {SESSION_COLUMNS}, true AS created FROM inserted
    UNION ALL
    SELECT {SESSION_COLUMNS}, false AS created FROM script_builder_sessions
    WHERE account_id = :account_id AND user_id = :user_id AND ai_session_id = :ai_session_id
      AND origin = 'pilot_inline' AND NOT EXISTS (SELECT 1 FROM inserted)
    """
)

# The inline path's statements, as the driver unit runs them (asyncpg alone).
GET_OR_CREATE_INLINE_ON_DRIVER = Compiled(GET_OR_CREATE_INLINE)
FIND_INLINE_ON_DRIVER = Compiled(
    text(
        f"""
        SELECT {SESSION_COLUMNS} FROM script_builder_sessions
        WHERE account_id = :account_id AND user_id = :user_id AND ai_session_id = :ai_session_id
          AND origin = 'pilot_inline'
        """
    )
)

# Counts and inserts in one statement, after the owner's lock: the count sees
# every session committed by whoever held the lock before.
CREATE_STANDALONE_CAPPED = text(
    f"""
    INSERT INTO script_builder_sessions
        (user_id, account_id, ai_session_id, origin, title, language)
    SELECT CAST(:user_id AS varchar), CAST(:account_id AS varchar),
           CAST(:ai_session_id AS uuid), 'standalone', CAST(:title AS varchar),
           CAST(:language AS varchar)
    WHERE (
        SELECT count(*) FROM script_builder_sessions
        WHERE account_id = CAST(:account_id AS varchar) AND user_id = CAST(:user_id AS varchar)
          AND origin = 'standalone'
    ) < CAST(:cap AS integer)
    RETURNING {SESSION_COLUMNS}
    """
)
