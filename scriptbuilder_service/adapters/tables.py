"""SQLAlchemy Core tables: the schema at migration head."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

sessions = Table(
    "script_builder_sessions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")),
    Column("user_id", String(255), nullable=False),
    Column("account_id", String(255), nullable=False),
    # The AI session lives in the fixes service: a plain UUID, checked over gRPC.
    Column("ai_session_id", UUID(as_uuid=True), nullable=True),
    Column("title", String(200), nullable=False),
    Column("language", String(20), nullable=False),
    Column("status", String(20), nullable=False, server_default="active"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("origin", String(20), nullable=False, server_default="standalone"),
    Column("editor_buffer", Text, nullable=False, server_default=""),
    Column("mode", String(20), nullable=False, server_default="ai"),
    # Inline sessions: the suggested fix (fixes service) being drafted now.
    Column("fix_id", UUID(as_uuid=True), nullable=True),
    CheckConstraint(
        "language IN ('powershell', 'bash', 'python')", name="ck_script_builder_sessions_language"
    ),
    CheckConstraint("status IN ('active', 'completed')", name="ck_script_builder_sessions_status"),
    CheckConstraint(
        "origin IN ('standalone', 'pilot_inline')", name="ck_script_builder_sessions_origin"
    ),
    CheckConstraint(
        "origin <> 'pilot_inline' OR ai_session_id IS NOT NULL",
        name="ck_script_builder_sessions_origin_ai_session",
    ),
    CheckConstraint("mode IN ('ai', 'editor')", name="ck_script_builder_sessions_mode"),
    CheckConstraint(
        "fix_id IS NULL OR origin = 'pilot_inline'", name="ck_script_builder_sessions_fix_inline"
    ),
    # A user is an account and a `sub`: the indexes the code uses name both.
    Index("ix_script_builder_sessions_owner_created", "account_id", "user_id", "created_at"),
    Index(
        "ux_script_builder_sessions_owner_inline",
        "account_id",
        "user_id",
        "ai_session_id",
        unique=True,
        postgresql_where=text("origin = 'pilot_inline'"),
    ),
    # Kept for code at 0005 during the rollout of 0006; the next release's
    # contraction drops both.
    Index("ix_script_builder_sessions_user_created", "user_id", "created_at"),
    Index(
        "ux_script_builder_sessions_pilot_inline",
        "user_id",
        "ai_session_id",
        unique=True,
        postgresql_where=text("origin = 'pilot_inline'"),
    ),
)

messages = Table(
    "script_builder_messages",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")),
    # Insertion order: a user message and its answer share a transaction time.
    Column("seq", BigInteger, Identity(always=True), nullable=False, unique=True),
    Column(
        "session_id",
        UUID(as_uuid=True),
        ForeignKey("script_builder_sessions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("role", String(20), nullable=False),
    Column("content", Text, nullable=False),
    Column("script", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The drafter's output contract: the script's language, its typed
    # parameters (defaults hold values taken from the request), the
    # explanation, and the catalogue recipe it came from.
    Column("language", String(20), nullable=True),
    Column("parameters", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("explanation", Text, nullable=False, server_default=""),
    Column("recipe_id", String(100), nullable=True),
    # Inline sessions: the suggested fix this exchange drafted for.
    Column("fix_id", UUID(as_uuid=True), nullable=True),
    CheckConstraint("role IN ('user', 'assistant')", name="ck_script_builder_messages_role"),
    CheckConstraint(
        "language IS NULL OR language IN ('powershell', 'bash', 'python')",
        name="ck_script_builder_messages_language",
    ),
    Index("ix_script_builder_messages_session_seq", "session_id", "seq"),
)

templates = Table(
    "script_templates",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")),
    Column("account_id", String(255), nullable=False),
    Column("created_by_user_id", String(255), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("language", String(20), nullable=False),
    Column("body", Text, nullable=False),
    Column("parameters", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column(
        "source_session_id",
        UUID(as_uuid=True),
        ForeignKey("script_builder_sessions.id", ondelete="SET NULL"),
        nullable=True,
    ),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("status", String(20), nullable=False, server_default="published"),
    # The fix whose `draft_template` decision proposed it: at most one per fix.
    Column("source_fix_id", UUID(as_uuid=True), nullable=True, unique=True),
    # The catalogue recipe it was imported from, and a digest of what was
    # imported: the import's idempotency key and its change detector.
    Column("source_recipe_id", String(100), nullable=True),
    Column("source_recipe_digest", String(64), nullable=True),
    # The version `body`, `parameters` and `language` are; a trigger moves it
    # on with every write of them and records the version (migration 0008).
    Column("current_version", Integer, nullable=False, server_default="1"),
    # Who makes the version a write makes, and why (copied into the version).
    Column("version_author_user_id", String(255), nullable=True),
    Column("version_change_note", Text, nullable=False, server_default=""),
    CheckConstraint(
        "language IN ('powershell', 'bash', 'python')", name="ck_script_templates_language"
    ),
    CheckConstraint("status IN ('draft', 'published')", name="ck_script_templates_status"),
    Index("ix_script_templates_account_created", "account_id", "created_at"),
    Index(
        "ux_script_templates_account_recipe",
        "account_id",
        "source_recipe_id",
        "language",
        unique=True,
        postgresql_where=text("source_recipe_id IS NOT NULL"),
    ),
)

# Every version of a template's content, immutable (a trigger refuses UPDATE
# of the content, a second deprecation, and DELETE). Written by the trigger on
# `script_templates`, never directly.
template_versions = Table(
    "script_template_versions",
    metadata,
    Column(
        "template_id",
        UUID(as_uuid=True),
        ForeignKey("script_templates.id", ondelete="RESTRICT"),
        primary_key=True,
    ),
    Column("version", Integer, primary_key=True),
    Column("account_id", String(255), nullable=False),
    Column("language", String(20), nullable=False),
    Column("body", Text, nullable=False),
    Column("parameters", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("author_user_id", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("change_note", Text, nullable=False, server_default=""),
    Column("deprecated_at", DateTime(timezone=True), nullable=True),
    Column("deprecated_by_user_id", String(255), nullable=True),
    Column("deprecation_reason", Text, nullable=False, server_default=""),
    CheckConstraint("version >= 1", name="ck_script_template_versions_version"),
    CheckConstraint(
        "language IN ('powershell', 'bash', 'python')",
        name="ck_script_template_versions_language",
    ),
    CheckConstraint(
        "(deprecated_at IS NULL) = (deprecated_by_user_id IS NULL)",
        name="ck_script_template_versions_deprecation",
    ),
)
