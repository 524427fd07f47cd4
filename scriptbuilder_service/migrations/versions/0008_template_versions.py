"""Template versions (issue 16): every template's content is a sequence of
immutable versions; existing templates become version 1.

`script_template_versions` holds each version (body, parameters, language,
author, time, change note, deprecation). The template row keeps a copy of its
current version (`current_version`), so every read of a template stays one
row and code at the previous revision keeps working: triggers turn any write
of a template's content into a new version, whatever code writes it, and
refuse any change to a version's content (only its deprecation may be set,
once) or its deletion.

Revision ID: 0008_template_versions
Revises: 0007_fix_targeted_drafting
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0008_template_versions"
down_revision = "0007_fix_targeted_drafting"
branch_labels = None
depends_on = None
# Expand only: a new table, defaulted or nullable columns, triggers that keep
# the versions in step with writes the previous code makes.
oldest_compatible_revision = "0007_fix_targeted_drafting"


def upgrade() -> None:
    op.add_column(
        "script_templates",
        sa.Column("current_version", sa.Integer, nullable=False, server_default="1"),
    )
    # The author and note of the version a write makes (set by the writer,
    # copied by the trigger into the version row).
    op.add_column("script_templates", sa.Column("version_author_user_id", sa.String(255)))
    op.add_column(
        "script_templates",
        sa.Column("version_change_note", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "script_template_versions",
        sa.Column(
            "template_id",
            UUID(as_uuid=True),
            sa.ForeignKey("script_templates.id", ondelete="RESTRICT"),
            primary_key=True,
        ),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.String(255), nullable=False),
        sa.Column("language", sa.String(20), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("parameters", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("author_user_id", sa.String(255), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("change_note", sa.Text, nullable=False, server_default=""),
        sa.Column("deprecated_at", sa.DateTime(timezone=True)),
        sa.Column("deprecated_by_user_id", sa.String(255)),
        sa.Column("deprecation_reason", sa.Text, nullable=False, server_default=""),
        sa.CheckConstraint("version >= 1", name="ck_script_template_versions_version"),
        sa.CheckConstraint(
            "language IN ('powershell', 'bash', 'python')",
            name="ck_script_template_versions_language",
        ),
        sa.CheckConstraint(
            "(deprecated_at IS NULL) = (deprecated_by_user_id IS NULL)",
            name="ck_script_template_versions_deprecation",
        ),
    )
    # Existing templates: their content as it is now is version 1.
    op.execute(
        "INSERT INTO script_template_versions (template_id, version, account_id, language, body,"
        " parameters, author_user_id, created_at, change_note)"
        " SELECT id, 1, account_id, language, body, parameters, created_by_user_id, updated_at,"
        " 'Version 1: the template as it was when versions began'"
        " FROM script_templates"
    )
    # A write of a template's content is a new version: the template row's
    # number moves on before the write, and the version row is made after it.
    op.execute(
        """
        CREATE FUNCTION script_template_next_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (NEW.body, NEW.parameters, NEW.language)
                    IS DISTINCT FROM (OLD.body, OLD.parameters, OLD.language) THEN
                NEW.current_version := OLD.current_version + 1;
            ELSE
                NEW.current_version := OLD.current_version;
            END IF;
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER script_template_next_version BEFORE UPDATE ON script_templates "
        "FOR EACH ROW EXECUTE FUNCTION script_template_next_version()"
    )
    op.execute(
        """
        CREATE FUNCTION script_template_record_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' OR NEW.current_version <> OLD.current_version THEN
                INSERT INTO script_template_versions (template_id, version, account_id,
                    language, body, parameters, author_user_id, created_at, change_note)
                VALUES (NEW.id, NEW.current_version, NEW.account_id, NEW.language, NEW.body,
                    NEW.parameters, coalesce(NEW.version_author_user_id, NEW.created_by_user_id),
                    NEW.updated_at, NEW.version_change_note);
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER script_template_record_version AFTER INSERT OR UPDATE ON script_templates "
        "FOR EACH ROW EXECUTE FUNCTION script_template_record_version()"
    )
    # A version never changes: only its deprecation may be set, once.
    op.execute(
        """
        CREATE FUNCTION script_template_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'script template versions are never deleted'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            IF (NEW.template_id, NEW.version, NEW.account_id, NEW.language, NEW.body,
                    NEW.parameters, NEW.author_user_id, NEW.created_at, NEW.change_note)
                    IS DISTINCT FROM
                (OLD.template_id, OLD.version, OLD.account_id, OLD.language, OLD.body,
                    OLD.parameters, OLD.author_user_id, OLD.created_at, OLD.change_note)
               OR OLD.deprecated_at IS NOT NULL THEN
                RAISE EXCEPTION 'script template version %/% is immutable', OLD.template_id,
                    OLD.version USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER script_template_versions_immutable BEFORE UPDATE OR DELETE "
        "ON script_template_versions FOR EACH ROW EXECUTE FUNCTION "
        "script_template_versions_immutable()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER script_template_record_version ON script_templates")
    op.execute("DROP FUNCTION script_template_record_version()")
    op.execute("DROP TRIGGER script_template_next_version ON script_templates")
    op.execute("DROP FUNCTION script_template_next_version()")
    op.execute("DROP TRIGGER script_template_versions_immutable ON script_template_versions")
    op.execute("DROP FUNCTION script_template_versions_immutable()")
    # The templates keep their current content; the history goes.
    op.drop_table("script_template_versions")
    op.drop_column("script_templates", "version_change_note")
    op.drop_column("script_templates", "version_author_user_id")
    op.drop_column("script_templates", "current_version")
