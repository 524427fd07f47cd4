"""Storage of sessions, messages and templates (SQLAlchemy Core over asyncpg).

Every method runs on the caller's connection, inside the caller's transaction;
the service decides the transaction boundaries.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from scriptbuilder_service.adapters.tables import messages, sessions, templates
from scriptbuilder_service.domain.drafting import Draft
from scriptbuilder_service.domain.model import (
    EditorMode,
    Language,
    Message,
    Origin,
    Role,
    Session,
    SessionStatus,
)
from scriptbuilder_service.domain.templates import (
    NewTemplate,
    Parameter,
    Template,
    TemplateStatus,
)

# First key of the two-key advisory lock that serialises one user's standalone
# creates (the second is the user's hash). Distinct from the single-bigint key
# space that the migration lock uses.
CAP_LOCK_NAMESPACE = 0x5342  # "SB"

_SESSION_COLUMNS = (
    "id, user_id, account_id, ai_session_id, origin, title, language, status, "
    "editor_buffer, mode, created_at, updated_at"
)

# Inline get-or-create in one round trip for the common case (the row exists):
# the insert does nothing on the partial unique index and the second branch
# reads the existing row. When a concurrent insert commits while this statement
# waits on the index, the row is outside this statement's snapshot and nothing
# comes back; the caller then reads it again (a new snapshot).
_GET_OR_CREATE_INLINE = text(
    f"""
    WITH inserted AS (
        INSERT INTO script_builder_sessions
            (user_id, account_id, ai_session_id, origin, title, language)
        VALUES (:user_id, :account_id, :ai_session_id, 'pilot_inline', :title, :language)
        ON CONFLICT (user_id, ai_session_id) WHERE origin = 'pilot_inline' DO NOTHING
        RETURNING {_SESSION_COLUMNS}
    )
    SELECT {_SESSION_COLUMNS}, true AS created FROM inserted
    UNION ALL
    SELECT {_SESSION_COLUMNS}, false AS created FROM script_builder_sessions
    WHERE user_id = :user_id AND ai_session_id = :ai_session_id AND origin = 'pilot_inline'
      AND NOT EXISTS (SELECT 1 FROM inserted)
    """
)

# Counts and inserts in one statement, after the per-user lock: the count sees
# every session committed by whoever held the lock before.
_CREATE_STANDALONE_CAPPED = text(
    f"""
    INSERT INTO script_builder_sessions
        (user_id, account_id, ai_session_id, origin, title, language)
    SELECT CAST(:user_id AS varchar), CAST(:account_id AS varchar),
           CAST(:ai_session_id AS uuid), 'standalone', CAST(:title AS varchar),
           CAST(:language AS varchar)
    WHERE (
        SELECT count(*) FROM script_builder_sessions
        WHERE user_id = CAST(:user_id AS varchar) AND origin = 'standalone'
    ) < CAST(:cap AS integer)
    RETURNING {_SESSION_COLUMNS}
    """
)


def _session(row: Any) -> Session:
    m = row._mapping
    return Session(
        id=m["id"],
        user_id=m["user_id"],
        account_id=m["account_id"],
        ai_session_id=m["ai_session_id"],
        origin=Origin(m["origin"]),
        title=m["title"],
        language=Language(m["language"]),
        status=SessionStatus(m["status"]),
        editor_buffer=m["editor_buffer"],
        mode=EditorMode(m["mode"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _message(row: Any) -> Message:
    m = row._mapping
    return Message(
        id=m["id"],
        session_id=m["session_id"],
        role=Role(m["role"]),
        content=m["content"],
        script=m["script"],
        created_at=m["created_at"],
        language=Language(m["language"]) if m["language"] else None,
        parameters=tuple(Parameter.from_json(p) for p in m["parameters"]),
        explanation=m["explanation"],
        recipe_id=m["recipe_id"],
    )


def _draft_columns(draft: Draft | None) -> dict[str, Any]:
    """The drafter's output contract, as stored with an assistant message."""
    if draft is None:
        return {
            "script": None,
            "language": None,
            "parameters": [],
            "explanation": "",
            "recipe_id": None,
        }
    return {
        "script": draft.script,
        "language": draft.language.value if draft.language else None,
        "parameters": [p.to_json() for p in draft.parameters],
        "explanation": draft.explanation,
        "recipe_id": draft.recipe_id,
    }


def _template(row: Any) -> Template:
    m = row._mapping
    return Template(
        id=m["id"],
        account_id=m["account_id"],
        created_by_user_id=m["created_by_user_id"],
        name=m["name"],
        description=m["description"],
        language=Language(m["language"]),
        body=m["body"],
        parameters=tuple(Parameter.from_json(p) for p in m["parameters"]),
        status=TemplateStatus(m["status"]),
        source_fix_id=m["source_fix_id"],
        source_session_id=m["source_session_id"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        source_recipe_id=m["source_recipe_id"],
    )


class Repository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    # Sessions.

    async def get_or_create_inline(
        self,
        *,
        user_id: str,
        account_id: str,
        ai_session_id: uuid.UUID,
        title: str,
        language: Language,
    ) -> tuple[Session, bool]:
        params = {
            "user_id": user_id,
            "account_id": account_id,
            "ai_session_id": ai_session_id,
            "title": title,
            "language": language.value,
        }
        row = (await self._conn.execute(_GET_OR_CREATE_INLINE, params)).first()
        if row is not None:
            return _session(row), bool(row._mapping["created"])
        # Lost a race to a concurrent insert that committed meanwhile.
        existing = await self.find_inline(user_id=user_id, ai_session_id=ai_session_id)
        if existing is None:  # pragma: no cover - the index guarantees a row
            raise RuntimeError("inline session vanished during get-or-create")
        return existing, False

    async def find_inline(self, *, user_id: str, ai_session_id: uuid.UUID) -> Session | None:
        row = (
            await self._conn.execute(
                select(sessions).where(
                    sessions.c.user_id == user_id,
                    sessions.c.ai_session_id == ai_session_id,
                    sessions.c.origin == Origin.PILOT_INLINE.value,
                )
            )
        ).first()
        return _session(row) if row else None

    async def lock_user_sessions(self, user_id: str) -> None:
        """Serialises standalone creates of one user until the transaction ends,
        across every process on this database."""
        await self._conn.execute(
            text("SELECT pg_advisory_xact_lock(:ns, hashtext(:user_id))"),
            {"ns": CAP_LOCK_NAMESPACE, "user_id": user_id},
        )

    async def create_standalone_capped(
        self,
        *,
        user_id: str,
        account_id: str,
        ai_session_id: uuid.UUID | None,
        title: str,
        language: Language,
        cap: int,
    ) -> Session | None:
        """The new session, or None when the user already has `cap`. Call
        `lock_user_sessions` first in the same transaction."""
        row = (
            await self._conn.execute(
                _CREATE_STANDALONE_CAPPED,
                {
                    "user_id": user_id,
                    "account_id": account_id,
                    "ai_session_id": ai_session_id,
                    "title": title,
                    "language": language.value,
                    "cap": cap,
                },
            )
        ).first()
        return _session(row) if row else None

    async def count_sessions(self, user_id: str, *, include_inline: bool = False) -> int:
        query = select(func.count()).select_from(sessions).where(sessions.c.user_id == user_id)
        if not include_inline:
            query = query.where(sessions.c.origin == Origin.STANDALONE.value)
        return int((await self._conn.execute(query)).scalar_one())

    async def list_sessions(
        self, user_id: str, *, include_inline: bool, limit: int, offset: int
    ) -> list[Session]:
        query = select(sessions).where(sessions.c.user_id == user_id)
        if not include_inline:
            query = query.where(sessions.c.origin == Origin.STANDALONE.value)
        query = (
            query.order_by(sessions.c.created_at.desc(), sessions.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [_session(r) for r in await self._conn.execute(query)]

    async def get_session(self, user_id: str, session_id: uuid.UUID) -> Session | None:
        row = (
            await self._conn.execute(
                select(sessions).where(sessions.c.id == session_id, sessions.c.user_id == user_id)
            )
        ).first()
        return _session(row) if row else None

    async def delete_session(self, user_id: str, session_id: uuid.UUID) -> bool:
        result = await self._conn.execute(
            delete(sessions)
            .where(sessions.c.id == session_id, sessions.c.user_id == user_id)
            .returning(sessions.c.id)
        )
        return result.first() is not None

    async def update_draft(
        self, user_id: str, session_id: uuid.UUID, *, editor_buffer: str, mode: EditorMode
    ) -> Session | None:
        row = (
            await self._conn.execute(
                update(sessions)
                .where(sessions.c.id == session_id, sessions.c.user_id == user_id)
                .values(editor_buffer=editor_buffer, mode=mode.value, updated_at=func.now())
                .returning(*sessions.c)
            )
        ).first()
        return _session(row) if row else None

    # Messages.

    async def add_messages(
        self, session_id: uuid.UUID, items: Sequence[tuple[Role, str, Draft | None]]
    ) -> list[Message]:
        rows = await self._conn.execute(
            insert(messages).returning(*messages.c, sort_by_parameter_order=True),
            [
                {"session_id": session_id, "role": role.value, "content": content}
                | _draft_columns(draft)
                for role, content, draft in items
            ],
        )
        added = [_message(r) for r in rows]
        await self._conn.execute(
            update(sessions).where(sessions.c.id == session_id).values(updated_at=func.now())
        )
        return added

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
        return [_message(r) for r in rows]

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
        return _template(row)

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

    async def list_templates(
        self,
        account_id: str,
        *,
        limit: int,
        offset: int,
        source_fix_id: uuid.UUID | None = None,
        status: TemplateStatus | None = None,
    ) -> list[Template]:
        query = select(templates).where(templates.c.account_id == account_id)
        if source_fix_id is not None:
            query = query.where(templates.c.source_fix_id == source_fix_id)
        if status is not None:
            query = query.where(templates.c.status == status.value)
        rows = await self._conn.execute(
            query.order_by(templates.c.created_at.desc(), templates.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [_template(r) for r in rows]

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
        row = (await self._conn.execute(query.returning(*templates.c))).first()
        return _template(row) if row else None

    async def get_template(self, account_id: str, template_id: uuid.UUID) -> Template | None:
        row = (
            await self._conn.execute(
                select(templates).where(
                    templates.c.id == template_id, templates.c.account_id == account_id
                )
            )
        ).first()
        return _template(row) if row else None

    async def count_fix_drafts(self, fix_id: uuid.UUID) -> int:
        return int(
            (
                await self._conn.execute(
                    select(func.count())
                    .select_from(templates)
                    .where(templates.c.source_fix_id == fix_id)
                )
            ).scalar_one()
        )
