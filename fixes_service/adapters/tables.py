"""SQLAlchemy Core tables of the fixes database (the migrations create them)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import DOMAIN, JSONB, UUID
from sqlalchemy.sql.operators import OperatorClass

from fixes_service.domain.model import (
    FixEventAction,
    FixStatus,
    Outcome,
    RunKind,
    RunSource,
    ScriptDecision,
    ScriptLanguage,
    SessionStatus,
)
from fixes_service.domain.validation import MAX_SCRIPT_CHARS

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class TextDomain(DOMAIN):
    """A PostgreSQL domain over text (migration 0004 creates them): the
    column's single-column check lives on its type, so PostgreSQL checks a
    value when it is written, not every check of the table on every row a
    statement writes. Compared and bound like text."""

    operator_classes = OperatorClass.STRING
    cache_ok = True


def _text_domain(name: str, check: str) -> TextDomain:
    return TextDomain(name, Text, constraint_name=f"{name}_values", check=check, create_type=False)


def _one_of(name: str, values: type[StrEnum]) -> TextDomain:
    return _text_domain(name, f"VALUE IN ({', '.join(repr(str(v)) for v in values)})")


SESSION_STATUS = _one_of("session_status", SessionStatus)
FIX_STATUS = _one_of("fix_status", FixStatus)
SCRIPT_LANGUAGE = _one_of("script_language", ScriptLanguage)
SCRIPT_DECISION = _one_of("script_decision", ScriptDecision)
FIX_OUTCOME = _one_of("fix_outcome", Outcome)
FIX_EVENT_ACTION = _one_of("fix_event_action", FixEventAction)
RUN_KIND = _one_of("run_kind", RunKind)
RUN_SOURCE = _one_of("run_source", RunSource)
DRAFTED_SCRIPT = _text_domain(
    "drafted_script", f"char_length(VALUE) BETWEEN 1 AND {MAX_SCRIPT_CHARS}"
)
# Every domain of the schema (tests/fixes/test_migrations.py checks each one
# exists with its check and allows what the domain model does).
DOMAINS = (
    SESSION_STATUS,
    FIX_STATUS,
    SCRIPT_LANGUAGE,
    SCRIPT_DECISION,
    FIX_OUTCOME,
    FIX_EVENT_ACTION,
    RUN_KIND,
    RUN_SOURCE,
    DRAFTED_SCRIPT,
)


def _timestamps() -> list[Column[Any]]:
    return [
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    ]


ai_sessions = Table(
    "ai_sessions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("owner_user_id", Text, nullable=False),
    Column("account_id", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("status", SESSION_STATUS, nullable=False, server_default=SessionStatus.ACTIVE.value),
    Column("state_version", BigInteger, nullable=False, server_default=text("0")),
    Column("escalation_reason", Text),
    *_timestamps(),
    CheckConstraint("state_version >= 0", name="state_version"),
    # Engineers list their own sessions, admins their account's; newest first.
    Index("ix_ai_sessions_owner", "account_id", "owner_user_id", "created_at", "id"),
    Index("ix_ai_sessions_account", "account_id", "created_at", "id"),
)

suggested_fixes = Table(
    "suggested_fixes",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "ai_session_id",
        UUID(as_uuid=True),
        ForeignKey("ai_sessions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("script_language", SCRIPT_LANGUAGE, nullable=False),
    Column("ai_drafted_script", DRAFTED_SCRIPT),
    Column("ai_drafted_parameters", JSONB(none_as_null=True)),
    # A script-builder template: another service's row, so no foreign key.
    Column("script_template_id", UUID(as_uuid=True)),
    Column("status", FIX_STATUS, nullable=False, server_default=FixStatus.PROPOSED.value),
    Column("applied_at", DateTime(timezone=True)),
    Column("outcome_notes", Text),
    Column("script_decision", SCRIPT_DECISION),
    Column("ai_outcome_proposal_outcome", FIX_OUTCOME),
    Column("ai_outcome_proposal_rationale", Text),
    Column("ai_outcome_proposal_at", DateTime(timezone=True)),
    *_timestamps(),
    # The session's state_version at this fix's latest change (the fix's etag).
    Column("state_version", BigInteger, nullable=False, server_default=text("0")),
    # The typed parameters of the drafted script: a JSON array of
    # `ScriptParameter` shapes; null when none were given.
    Column("script_parameters", JSONB(none_as_null=True)),
    # Every outcome recorded with notes, oldest first (a JSON array).
    Column("notes_history", JSONB(none_as_null=True)),
    # A copy of the latest `fix_runs` row (the record itself is append-only),
    # so reading a fix needs no join.
    Column("last_run", JSONB(none_as_null=True)),
    # The version of `script_template_id` the fix is pinned to (a template
    # run renders it), and the catalogue recipe of that template.
    Column("script_template_version", Integer),
    Column("script_template_recipe_id", Text),
    # Where `ai_drafted_script` came from (`Provenance.to_json`), and the AI's
    # text an engineer's edit of it is measured against.
    Column("script_provenance", JSONB(none_as_null=True)),
    Column("ai_script_basis", Text),
    # The normalised title (`domain.analytics.title_cluster`).
    Column("title_cluster", Text),
    CheckConstraint(
        "(ai_outcome_proposal_outcome IS NULL) = (ai_outcome_proposal_at IS NULL)",
        name="ai_outcome_proposal_complete",
    ),
    CheckConstraint(
        "ai_drafted_parameters IS NULL OR jsonb_typeof(ai_drafted_parameters) = 'object'",
        name="ai_drafted_parameters_object",
    ),
    # Partial means something was applied.
    CheckConstraint(
        "status <> 'applied_partial' OR applied_at IS NOT NULL", name="partial_was_applied"
    ),
    CheckConstraint(
        "script_parameters IS NULL OR jsonb_typeof(script_parameters) = 'array'",
        name="script_parameters_array",
    ),
    CheckConstraint(
        "notes_history IS NULL OR jsonb_typeof(notes_history) = 'array'",
        name="notes_history_array",
    ),
    Index("ix_suggested_fixes_session", "ai_session_id", "created_at", "id"),
)

# Every change of a watched session's `state_version` is announced on this
# channel (a trigger the migration adds: `NOTIFY`, payload "<session id>
# <state_version>"), delivered when the change commits; WatchAiSession listens
# to it. A session is watched while `session_watchers` has a row for it: a
# NOTIFY serialises commits cluster-wide, so unwatched sessions skip it.
AI_SESSION_CHANGES_CHANNEL = "flowpilot_ai_session_changes"

# The sessions some replica watches: one row per (session, listening
# connection), written by that connection (change_feed.py); rows of a
# connection that is gone are swept by the next one that starts.
session_watchers = Table(
    "session_watchers",
    metadata,
    Column("session_id", UUID(as_uuid=True), primary_key=True),
    Column("listener_pid", Integer, primary_key=True),
    Column("since", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

# Append-only: the migration adds a trigger refusing UPDATE and DELETE.
fix_events = Table(
    "fix_events",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    # Null on a session-level row (resolve, escalate).
    Column(
        "fix_id",
        UUID(as_uuid=True),
        ForeignKey("suggested_fixes.id", ondelete="RESTRICT"),
    ),
    Column("ai_session_id", UUID(as_uuid=True), nullable=False),
    Column("actor_user_id", Text, nullable=False),
    Column("action", FIX_EVENT_ACTION, nullable=False),
    Column("from_status", FIX_STATUS),
    Column("to_status", FIX_STATUS),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("state_version", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    # A fix's row names its new status; a session's row names no fix and no status.
    CheckConstraint("(fix_id IS NULL) = (to_status IS NULL)", name="session_row"),
    Index("ix_fix_events_fix", "fix_id", "id"),
    # A session watch replays the session's rows after an id.
    Index("ix_fix_events_session", "ai_session_id", "id"),
)

# Declared runs (CONTRACT §3: "the exact script and values that ran are kept
# with the fix"). Append-only, like the audit trail: a trigger refuses UPDATE
# and DELETE. The audit row of the declaring change has the same
# (fix_id, state_version).
fix_runs = Table(
    "fix_runs",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "fix_id",
        UUID(as_uuid=True),
        ForeignKey("suggested_fixes.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    Column("ai_session_id", UUID(as_uuid=True), nullable=False),
    Column("state_version", BigInteger, nullable=False),
    Column("kind", RUN_KIND, nullable=False),
    Column("source", RUN_SOURCE, nullable=False),
    # A script-builder template: another service's row, so no foreign key.
    Column("script_template_id", UUID(as_uuid=True)),
    Column("language", SCRIPT_LANGUAGE, nullable=False),
    # The exact script; null when not known (a template run declared without values).
    Column("script", Text),
    Column("parameters", JSONB(none_as_null=True)),
    Column("rendered", Boolean, nullable=False),
    Column("declared_by_user_id", Text, nullable=False),
    Column("declared_at", DateTime(timezone=True), nullable=False),
    # The template version a template run rendered, and where the script came from.
    Column("script_template_version", Integer),
    Column("provenance", JSONB(none_as_null=True)),
    CheckConstraint(
        "(source = 'template') = (script_template_id IS NOT NULL)", name="template_source"
    ),
    CheckConstraint("rendered = false OR script IS NOT NULL", name="rendered_script"),
    CheckConstraint(
        "parameters IS NULL OR jsonb_typeof(parameters) = 'object'", name="parameters_object"
    ),
    # One run per change of a fix; also the join to its audit row.
    Index("uq_fix_runs_fix_state_version", "fix_id", "state_version", unique=True),
)

_FACT_COLUMNS = (
    "outcome",
    "origin",
    "language",
    "template_id",
    "template_version",
    "recipe_id",
    "title_cluster",
    "proposed_at",
    "outcome_at",
)

# One row per declared run with its outcome, for outcome analytics: written
# by triggers only (migration 0003), in the transaction of the change that
# declared the run or recorded its outcome, whichever code path made it.
run_facts = Table(
    "run_facts",
    metadata,
    Column(
        "run_id",
        UUID(as_uuid=True),
        ForeignKey("fix_runs.id", ondelete="RESTRICT"),
        primary_key=True,
    ),
    Column("fix_id", UUID(as_uuid=True), nullable=False),
    Column("account_id", Text, nullable=False),
    Column("declared_at", DateTime(timezone=True), nullable=False),
    Column("proposed_at", DateTime(timezone=True), nullable=False),
    # `RunOutcome` (null: pending), and when it was recorded.
    Column("outcome", Text),
    Column("outcome_at", DateTime(timezone=True)),
    # `ScriptOrigin` (null: a run declared before provenance was kept).
    Column("origin", Text),
    Column("language", Text, nullable=False),
    Column("template_id", UUID(as_uuid=True)),
    Column("template_version", Integer),
    Column("recipe_id", Text),
    Column("title_cluster", Text, nullable=False),
    CheckConstraint(
        "outcome IS NULL OR outcome IN "
        "('applied_success', 'applied_failed', 'applied_partial', 'never_applied')",
        name="outcome",
    ),
    CheckConstraint("(outcome IS NULL) = (outcome_at IS NULL)", name="outcome_at"),
    # The window scan of an account reads only this index (covering).
    Index(
        "ix_run_facts_account_declared",
        "account_id",
        "declared_at",
        postgresql_include=list(_FACT_COLUMNS),
    ),
    Index(
        "ix_run_facts_account_template",
        "account_id",
        "template_id",
        "declared_at",
        postgresql_include=["template_version", "outcome"],
        postgresql_where=text("template_id IS NOT NULL"),
    ),
    Index(
        "ix_run_facts_account_recipe",
        "account_id",
        "recipe_id",
        "declared_at",
        postgresql_include=["outcome"],
        postgresql_where=text("recipe_id IS NOT NULL"),
    ),
    Index("ix_run_facts_fix", "fix_id", "declared_at"),
)

# The transactional outbox of `draft_template` decisions (CONTRACT §4).
template_proposals = Table(
    "template_proposals",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "fix_id",
        UUID(as_uuid=True),
        ForeignKey("suggested_fixes.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,  # at most one proposal per fix, ever
    ),
    Column("ai_session_id", UUID(as_uuid=True), nullable=False),
    Column("account_id", Text, nullable=False),
    Column("requested_by_user_id", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("language", SCRIPT_LANGUAGE, nullable=False),
    Column("script", Text, nullable=False),
    Column("parameters", JSONB(none_as_null=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    # A script-builder template: no foreign key across services.
    Column("template_id", UUID(as_uuid=True)),
    Column("acked_at", DateTime(timezone=True)),
    CheckConstraint("(template_id IS NULL) = (acked_at IS NULL)", name="ack_complete"),
    # The poller reads the pending ones, oldest first.
    Index(
        "ix_template_proposals_pending",
        "created_at",
        "id",
        postgresql_where=text("template_id IS NULL"),
    ),
)
