"""Storage of sessions, messages and templates (SQLAlchemy Core over asyncpg).

Every method runs on the connection of the unit of work the service opened
(`flowpilot.runtime.uow`) and never begins or commits: the service decides
the transaction boundaries. A session belongs to an `Owner`, an account and a
user together: every session query filters by both (a `sub` alone names
nobody), templates by their account.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from flowpilot.kernel import ScriptLanguage
from flowpilot.runtime.compiled import Compiled
from flowpilot.runtime.metrics import DriverStatement
from flowpilot.runtime.uow import Driver
from scriptbuilder_service.adapters import statements as sql
from scriptbuilder_service.adapters.rows import (
    draft_columns,
    message_from_row,
    session_from_row,
    template_from_row,
    version_from_row,
)
from scriptbuilder_service.adapters.tables import (
    messages,
    sessions,
    template_versions,
    templates,
)
from scriptbuilder_service.domain.model import (
    DraftChange,
    Message,
    NewMessage,
    Origin,
    Owner,
    Role,
    Session,
)
from scriptbuilder_service.domain.template_versions import NewVersion, TemplateVersion
from scriptbuilder_service.domain.templates import NewTemplate, Template, TemplateStatus

V = template_versions
# Whether a template's current version is deprecated, read with the template.
_CURRENT_DEPRECATED = (
    select(V.c.deprecated_at.is_not(None))
    .where(V.c.template_id == templates.c.id, V.c.version == templates.c.current_version)
    .scalar_subquery()
    .label("current_version_deprecated")
)
_TEMPLATE = (*templates.c, _CURRENT_DEPRECATED)


class ScriptBuilderRepository:
    """On a SQLAlchemy connection (every unit), or on the asyncpg connection
    alone (`on_driver`, a driver unit: only the inline get-or-create)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._driver: Driver | None = None

    @classmethod
    def on_driver(cls, driver: Driver) -> ScriptBuilderRepository:
        repository = cls.__new__(cls)
        repository._conn = None  # type: ignore[assignment]
        repository._driver = driver
        return repository

    # Sessions.

    async def get_or_create_inline(
        self,
        owner: Owner,
        *,
        ai_session_id: uuid.UUID,
        title: str,
        language: ScriptLanguage,
        fix_id: uuid.UUID | None = None,
    ) -> tuple[Session, bool]:
        """(session, created). A new row drafts for `fix_id` in `language`;
        an existing one is returned as it is (see `target_fix`). In a driver
        unit only."""
        assert self._driver is not None, "the inline get-or-create runs in a driver unit"
        params = {
            "user_id": owner.user_id,
            "account_id": owner.account_id,
            "ai_session_id": ai_session_id,
            "title": title,
            "language": language.value,
            "fix_id": fix_id,
        }
        row = await self._on_driver(sql.GET_OR_CREATE_INLINE_ON_DRIVER, params)
        if row is not None:
            return session_from_row(row), bool(row["created"])
        # Lost a race to a concurrent insert that committed meanwhile.
        existing = await self._on_driver(sql.FIND_INLINE_ON_DRIVER, params)
        if existing is None:  # pragma: no cover - the index guarantees a row
            raise RuntimeError("inline session vanished during get-or-create")
        return session_from_row(existing), False

    async def _on_driver(self, statement: Compiled, params: Mapping[str, Any]) -> Any:
        """The first row of `statement` on the driver connection, measured."""
        assert self._driver is not None
        with DriverStatement(self._driver.database, statement.sql):
            return await self._driver.connection.fetchrow(statement.sql, *statement.args(params))

    async def target_fix(
        self, owner: Owner, session_id: uuid.UUID, *, fix_id: uuid.UUID, language: ScriptLanguage
    ) -> Session | None:
        """The owner's inline session now drafts for `fix_id`, in its language;
        one statement, which writes nothing when it already does."""
        row = (
            await self._conn.execute(
                update(sessions)
                .where(
                    sessions.c.id == session_id,
                    *_owned_by(owner),
                    sessions.c.origin == Origin.PILOT_INLINE.value,
                    (sessions.c.fix_id.is_distinct_from(fix_id))
                    | (sessions.c.language != language.value),
                )
                .values(fix_id=fix_id, language=language.value, updated_at=func.now())
                .returning(*sessions.c)
            )
        ).first()
        if row is not None:
            return session_from_row(row)
        return await self.get_session(owner, session_id)

    async def lock_owner_sessions(self, owner: Owner) -> None:
        """Serialises standalone creates of one owner until the transaction
        ends, across every process on this database."""
        await self._conn.execute(
            sql.LOCK_OWNER_SESSIONS,
            {
                "ns": sql.CAP_LOCK_NAMESPACE,
                "account_id": owner.account_id,
                "user_id": owner.user_id,
            },
        )

    async def create_standalone_capped(
        self,
        owner: Owner,
        *,
        ai_session_id: uuid.UUID | None,
        title: str,
        language: ScriptLanguage,
        cap: int,
    ) -> Session | None:
        """The new session, or None when the owner already has `cap`. Call
        `lock_owner_sessions` first in the same transaction."""
        row = (
            await self._conn.execute(
                sql.CREATE_STANDALONE_CAPPED,
                {
                    "user_id": owner.user_id,
                    "account_id": owner.account_id,
                    "ai_session_id": ai_session_id,
                    "title": title,
                    "language": language.value,
                    "cap": cap,
                },
            )
        ).first()
        return session_from_row(row) if row else None

    async def list_sessions(
        self, owner: Owner, *, include_inline: bool, limit: int, offset: int
    ) -> list[Session]:
        query = select(sessions).where(*_owned_by(owner))
        if not include_inline:
            query = query.where(sessions.c.origin == Origin.STANDALONE.value)
        query = (
            query.order_by(sessions.c.created_at.desc(), sessions.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [session_from_row(r) for r in await self._conn.execute(query)]

    async def get_session(self, owner: Owner, session_id: uuid.UUID) -> Session | None:
        row = (
            await self._conn.execute(
                select(sessions).where(sessions.c.id == session_id, *_owned_by(owner))
            )
        ).first()
        return session_from_row(row) if row else None

    async def delete_session(self, owner: Owner, session_id: uuid.UUID) -> bool:
        result = await self._conn.execute(
            delete(sessions)
            .where(sessions.c.id == session_id, *_owned_by(owner))
            .returning(sessions.c.id)
        )
        return result.first() is not None

    async def update_draft(
        self, owner: Owner, session_id: uuid.UUID, change: DraftChange
    ) -> Session | None:
        """Writes the fields `change` sets and nothing else."""
        values: dict[str, Any] = {"updated_at": func.now()}
        if change.editor_buffer is not None:
            values["editor_buffer"] = change.editor_buffer
        if change.mode is not None:
            values["mode"] = change.mode.value
        row = (
            await self._conn.execute(
                update(sessions)
                .where(sessions.c.id == session_id, *_owned_by(owner))
                .values(**values)
                .returning(*sessions.c)
            )
        ).first()
        return session_from_row(row) if row else None

    # Messages.

    async def add_messages(
        self, session_id: uuid.UUID, items: Sequence[NewMessage]
    ) -> list[Message]:
        now = datetime.now(UTC)
        rows = await self._conn.execute(
            insert(messages).returning(*messages.c, sort_by_parameter_order=True),
            [
                {
                    "id": item.id or uuid.uuid4(),
                    "session_id": session_id,
                    "role": item.role.value,
                    "content": item.content,
                    "fix_id": item.fix_id,
                    # One clock for both messages of an exchange: the one that
                    # announced the engineer's message.
                    "created_at": item.created_at or now,
                }
                | draft_columns(item.draft)
                for item in items
            ],
        )
        added = [message_from_row(r) for r in rows]
        await self._conn.execute(
            update(sessions).where(sessions.c.id == session_id).values(updated_at=func.now())
        )
        return added

    async def recent_for_fix(
        self, session_id: uuid.UUID, fix_id: uuid.UUID | None, *, limit: int
    ) -> list[Message]:
        """The drafter's history: the newest messages about the same fix (or,
        without one, about no fix), newest first."""
        rows = await self._conn.execute(
            select(messages)
            .where(
                messages.c.session_id == session_id,
                messages.c.fix_id.is_not_distinct_from(fix_id),
            )
            .order_by(messages.c.seq.desc())
            .limit(limit)
        )
        return [message_from_row(r) for r in rows]

    async def list_messages(
        self, session_id: uuid.UUID, *, limit: int, offset: int = 0, newest: bool = False
    ) -> list[Message]:
        order = messages.c.seq.desc() if newest else messages.c.seq.asc()
        rows = await self._conn.execute(
            select(messages)
            .where(messages.c.session_id == session_id)
            .order_by(order)
            .limit(limit)
            .offset(offset)
        )
        return [message_from_row(r) for r in rows]

    async def latest_script(self, session_id: uuid.UUID) -> str | None:
        return (
            await self._conn.execute(
                select(messages.c.script)
                .where(
                    messages.c.session_id == session_id,
                    messages.c.role == Role.ASSISTANT.value,
                    messages.c.script.is_not(None),
                )
                .order_by(messages.c.seq.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    # Templates.

    @staticmethod
    def _template_values(new: NewTemplate, *, account_id: str, user_id: str) -> Mapping[str, Any]:
        return {
            "account_id": account_id,
            "created_by_user_id": user_id,
            "name": new.name,
            "description": new.description,
            "language": new.language.value,
            "body": new.body,
            "parameters": [p.to_json() for p in new.parameters],
            "status": new.status.value,
            # The version this write makes (its row is the trigger's).
            "version_author_user_id": user_id,
            "version_change_note": new.change_note,
        }

    async def insert_template(
        self,
        new: NewTemplate,
        *,
        account_id: str,
        user_id: str,
        source_session_id: uuid.UUID | None = None,
    ) -> Template:
        values = dict(self._template_values(new, account_id=account_id, user_id=user_id))
        values["source_session_id"] = source_session_id
        row = (
            await self._conn.execute(insert(templates).values(**values).returning(*templates.c))
        ).one()
        return template_from_row(row)  # version 1, not deprecated

    async def insert_fix_draft(
        self, new: NewTemplate, *, account_id: str, user_id: str, fix_id: uuid.UUID
    ) -> tuple[uuid.UUID, bool]:
        """The draft template of a fix: created once; later calls find it."""
        values = dict(self._template_values(new, account_id=account_id, user_id=user_id))
        values["source_fix_id"] = fix_id
        inserted = (
            await self._conn.execute(
                pg_insert(templates)
                .values(**values)
                .on_conflict_do_nothing(index_elements=[templates.c.source_fix_id])
                .returning(templates.c.id)
            )
        ).scalar_one_or_none()
        if inserted is not None:
            return inserted, True
        existing = (
            await self._conn.execute(
                select(templates.c.id).where(templates.c.source_fix_id == fix_id)
            )
        ).scalar_one()
        return existing, False

    async def upsert_recipe_template(
        self, new: NewTemplate, *, account_id: str, user_id: str, recipe_id: str, digest: str
    ) -> tuple[uuid.UUID, bool] | None:
        """The template of a catalogue recipe in one language: (id, created)
        when it was inserted or rewritten, None when it exists with this very
        digest (nothing written). Concurrent imports wait on the unique index
        and then see the other's row."""
        values = dict(self._template_values(new, account_id=account_id, user_id=user_id))
        values |= {"source_recipe_id": recipe_id, "source_recipe_digest": digest}
        statement = pg_insert(templates).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[
                templates.c.account_id,
                templates.c.source_recipe_id,
                templates.c.language,
            ],
            index_where=templates.c.source_recipe_id.is_not(None),
            set_={
                "name": statement.excluded.name,
                "description": statement.excluded.description,
                "body": statement.excluded.body,
                "parameters": statement.excluded.parameters,
                "source_recipe_digest": statement.excluded.source_recipe_digest,
                "version_author_user_id": statement.excluded.version_author_user_id,
                "version_change_note": statement.excluded.version_change_note,
                "updated_at": func.now(),
            },
            # Only a recipe that changed rewrites its template.
            where=templates.c.source_recipe_digest.is_distinct_from(
                statement.excluded.source_recipe_digest
            ),
        ).returning(templates.c.id, templates.c.created_at == templates.c.updated_at)
        row = (await self._conn.execute(statement)).first()
        return (row[0], bool(row[1])) if row is not None else None

    async def recipe_template_id(
        self, *, account_id: str, recipe_id: str, language: ScriptLanguage
    ) -> uuid.UUID:
        """The id of an account's template imported from `recipe_id`."""
        return (
            await self._conn.execute(
                select(templates.c.id).where(
                    templates.c.account_id == account_id,
                    templates.c.source_recipe_id == recipe_id,
                    templates.c.language == language.value,
                )
            )
        ).scalar_one()

    async def recipe_templates(
        self, account_id: str
    ) -> list[tuple[uuid.UUID, str, ScriptLanguage]]:
        """Every template the account imported from the catalogue: (id,
        recipe id, language), by recipe and language."""
        rows = await self._conn.execute(
            select(templates.c.id, templates.c.source_recipe_id, templates.c.language)
            .where(templates.c.account_id == account_id, templates.c.source_recipe_id.is_not(None))
            .order_by(templates.c.source_recipe_id, templates.c.language)
        )
        return [(row[0], row[1], ScriptLanguage(row[2])) for row in rows]

    async def list_templates(
        self,
        account_id: str,
        *,
        limit: int,
        offset: int,
        source_fix_id: uuid.UUID | None = None,
        status: TemplateStatus | None = None,
    ) -> list[Template]:
        query = select(*_TEMPLATE).where(templates.c.account_id == account_id)
        if source_fix_id is not None:
            query = query.where(templates.c.source_fix_id == source_fix_id)
        if status is not None:
            query = query.where(templates.c.status == status.value)
        rows = await self._conn.execute(
            query.order_by(templates.c.created_at.desc(), templates.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [template_from_row(r) for r in rows]

    async def publish_template(
        self, account_id: str, template_id: uuid.UUID, *, creator: str | None
    ) -> Template | None:
        """The template, now published, when it was a draft of the account
        (and of `creator` unless None); None otherwise, with nothing written.
        One conditional statement: of concurrent publishers exactly one
        changes the row, the others see `published` once its lock is released."""
        query = update(templates).where(
            templates.c.id == template_id,
            templates.c.account_id == account_id,
            templates.c.status == TemplateStatus.DRAFT.value,
        )
        if creator is not None:
            query = query.where(templates.c.created_by_user_id == creator)
        query = query.values(status=TemplateStatus.PUBLISHED.value, updated_at=func.now())
        row = (await self._conn.execute(query.returning(templates.c.id))).first()
        return await self.get_template(account_id, template_id) if row else None

    async def get_template(
        self, account_id: str, template_id: uuid.UUID, *, lock: bool = False
    ) -> Template | None:
        query = select(*_TEMPLATE).where(
            templates.c.id == template_id, templates.c.account_id == account_id
        )
        if lock:
            # Edits of one template queue here (its versions are numbered in order).
            query = query.with_for_update(of=templates)
        row = (await self._conn.execute(query)).first()
        return template_from_row(row) if row else None

    # Template versions (every query is scoped to the account).

    async def write_version(
        self, account_id: str, template_id: uuid.UUID, edit: NewVersion, *, author: str
    ) -> Template:
        """The template's content becomes `edit`: the trigger numbers the new
        version and records it. Call it in a transaction, after
        `get_template(..., lock=True)`."""
        row = (
            await self._conn.execute(
                update(templates)
                .where(templates.c.id == template_id, templates.c.account_id == account_id)
                .values(
                    language=edit.language.value,
                    body=edit.body,
                    parameters=[p.to_json() for p in edit.parameters],
                    version_author_user_id=author,
                    version_change_note=edit.change_note,
                    updated_at=func.now(),
                )
                .returning(*templates.c)
            )
        ).one()
        return template_from_row(row)  # a new version, not deprecated

    async def get_version(
        self, account_id: str, template_id: uuid.UUID, version: int
    ) -> TemplateVersion | None:
        row = (
            await self._conn.execute(
                select(V, templates.c.source_recipe_id)
                .join(templates, templates.c.id == V.c.template_id)
                .where(
                    V.c.template_id == template_id,
                    V.c.account_id == account_id,
                    V.c.version == version,
                )
            )
        ).first()
        return version_from_row(row) if row else None

    async def list_versions(
        self, account_id: str, template_id: uuid.UUID, *, limit: int, before: int | None = None
    ) -> list[TemplateVersion]:
        """Newest first; `before` continues below a version number (keyset)."""
        query = (
            select(V, templates.c.source_recipe_id)
            .join(templates, templates.c.id == V.c.template_id)
            .where(V.c.template_id == template_id, V.c.account_id == account_id)
        )
        if before is not None:
            query = query.where(V.c.version < before)
        rows = await self._conn.execute(query.order_by(V.c.version.desc()).limit(limit))
        return [version_from_row(r) for r in rows]

    async def deprecate_version(
        self, account_id: str, template_id: uuid.UUID, version: int, *, user_id: str, reason: str
    ) -> bool:
        """Marks the version deprecated; False when it was already (or does not exist)."""
        row = (
            await self._conn.execute(
                update(V)
                .where(
                    V.c.template_id == template_id,
                    V.c.account_id == account_id,
                    V.c.version == version,
                    V.c.deprecated_at.is_(None),
                )
                .values(
                    deprecated_at=func.now(),
                    deprecated_by_user_id=user_id,
                    deprecation_reason=reason,
                )
                .returning(V.c.version)
            )
        ).first()
        return row is not None


def _owned_by(owner: Owner) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The rows of `owner`: its account and its user, never the user alone."""
    return sessions.c.account_id == owner.account_id, sessions.c.user_id == owner.user_id
