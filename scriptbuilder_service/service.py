"""Use cases of the script builder. Each takes the verified caller and owns
its transaction; no gRPC types cross this line."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from flowpilot.runtime.auth import Principal
from flowpilot.runtime.errors import FailedPrecondition, InvalidArgument, NotFound
from flowpilot.runtime.validation import parse_uuid
from scriptbuilder_service.adapters.drafting import DraftingProvider
from scriptbuilder_service.adapters.fixes_client import FixesClient
from scriptbuilder_service.adapters.repository import Repository
from scriptbuilder_service.domain import templates as tpl
from scriptbuilder_service.domain.drafting import DraftRequest, bounded, turn_of
from scriptbuilder_service.domain.model import (
    CAP_REASON,
    HISTORY_FOR_DRAFTER,
    MAX_EDITOR_BUFFER,
    MAX_MESSAGE,
    STANDALONE_SESSION_CAP,
    EditorMode,
    Language,
    Message,
    Origin,
    Role,
    Session,
    check_text,
    new_session,
)
from scriptbuilder_service.domain.paging import next_page_token, page_window, query_key

log = logging.getLogger("flowpilot.scriptbuilder")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str


def _session_not_found(session_id: object) -> NotFound:
    return NotFound(
        "SCRIPT_BUILDER_SESSION_NOT_FOUND",
        "script-builder session not found",
        metadata={"session_id": str(session_id)},
    )


def _template_not_found(template_id: object) -> NotFound:
    return NotFound(
        "SCRIPT_TEMPLATE_NOT_FOUND",
        "script template not found",
        metadata={"template_id": str(template_id)},
    )


class ScriptBuilder:
    def __init__(self, engine: AsyncEngine, fixes: FixesClient, drafter: DraftingProvider) -> None:
        self._engine = engine
        # Single-statement work needs no BEGIN/COMMIT round trips: the inline
        # get-or-create is one atomic statement.
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._fixes = fixes
        self._drafter = drafter

    # Sessions.

    async def create_session(
        self,
        caller: Principal,
        *,
        origin: Origin | None,
        ai_session_id: str | None,
        language: Language | None,
        title: str,
    ) -> tuple[Session, bool]:
        """(session, created). Inline: get-or-create; standalone: capped create."""
        caller.require_writer()
        request = new_session(
            origin=origin, ai_session_id=ai_session_id, language=language, title=title
        )
        if request.ai_session_id is not None:
            # Before any row is read or written (seed): may the caller use it?
            await self._fixes.check_access(caller.token, request.ai_session_id)
        if request.origin is Origin.PILOT_INLINE:
            assert request.ai_session_id is not None
            async with self._autocommit.connect() as conn:
                return await Repository(conn).get_or_create_inline(
                    user_id=caller.user_id,
                    account_id=caller.account_id,
                    ai_session_id=request.ai_session_id,
                    title=request.title,
                    language=request.language,
                )
        async with self._engine.begin() as conn:
            repo = Repository(conn)
            await repo.lock_user_sessions(caller.user_id)
            session = await repo.create_standalone_capped(
                user_id=caller.user_id,
                account_id=caller.account_id,
                ai_session_id=request.ai_session_id,
                title=request.title,
                language=request.language,
                cap=STANDALONE_SESSION_CAP,
            )
        if session is None:
            raise FailedPrecondition(
                CAP_REASON,
                f"at most {STANDALONE_SESSION_CAP} standalone script-builder sessions per user; "
                "delete one to start another",
                metadata={"cap": str(STANDALONE_SESSION_CAP)},
            )
        return session, True

    async def list_sessions(
        self, caller: Principal, *, include_inline: bool, page_size: int, page_token: str
    ) -> Page[Session]:
        limit, offset = page_window(page_size, page_token, default=50, maximum=100)
        async with self._engine.connect() as conn:
            rows = await Repository(conn).list_sessions(
                caller.user_id, include_inline=include_inline, limit=limit + 1, offset=offset
            )
        return Page(rows[:limit], next_page_token(offset, limit, len(rows)))

    async def count_sessions(self, caller: Principal, *, include_inline: bool = False) -> int:
        async with self._engine.connect() as conn:
            return await Repository(conn).count_sessions(
                caller.user_id, include_inline=include_inline
            )

    async def _own_session(self, repo: Repository, caller: Principal, raw_id: str) -> Session:
        session_id = parse_uuid(raw_id, "session_id")
        session = await repo.get_session(caller.user_id, session_id)
        if session is None:
            raise _session_not_found(session_id)
        return session

    async def get_session(self, caller: Principal, session_id: str) -> Session:
        async with self._engine.connect() as conn:
            return await self._own_session(Repository(conn), caller, session_id)

    async def delete_session(self, caller: Principal, session_id: str) -> None:
        caller.require_writer()
        parsed = parse_uuid(session_id, "session_id")
        async with self._engine.begin() as conn:
            if not await Repository(conn).delete_session(caller.user_id, parsed):
                raise _session_not_found(parsed)

    async def update_draft(
        self, caller: Principal, session_id: str, *, editor_buffer: str, mode: EditorMode | None
    ) -> Session:
        caller.require_writer()
        parsed = parse_uuid(session_id, "session_id")
        check_text(editor_buffer, "editor_buffer", max_len=MAX_EDITOR_BUFFER)
        if mode is None:
            raise InvalidArgument("mode must be ai or editor", field="mode")
        async with self._engine.begin() as conn:
            session = await Repository(conn).update_draft(
                caller.user_id, parsed, editor_buffer=editor_buffer, mode=mode
            )
        if session is None:
            raise _session_not_found(parsed)
        return session

    # Messages.

    async def send_message(
        self, caller: Principal, session_id: str, content: str
    ) -> tuple[Message, Message]:
        caller.require_writer()
        check_text(content, "content", max_len=MAX_MESSAGE, not_blank=True)
        async with self._engine.connect() as conn:
            repo = Repository(conn)
            session = await self._own_session(repo, caller, session_id)
            recent = await repo.list_messages(session.id, limit=HISTORY_FOR_DRAFTER, newest=True)
        fix = None
        if session.origin is Origin.PILOT_INLINE and session.ai_session_id is not None:
            fix = await self._fixes.fix_context(caller.token, session.ai_session_id)
        request = DraftRequest(
            language=session.language,
            origin=session.origin,
            session_title=session.title,
            history=tuple(turn_of(m) for m in reversed(recent)),
            message=content,
            fix=fix,
        )
        # The model is asked outside any transaction; when it fails nothing is
        # stored, so the engineer can simply send again.
        draft = bounded(await self._drafter.draft(request))
        async with self._engine.begin() as conn:
            repo = Repository(conn)
            if await repo.get_session(caller.user_id, session.id) is None:
                raise _session_not_found(session.id)  # deleted meanwhile
            user_msg, assistant_msg = await repo.add_messages(
                session.id,
                [(Role.USER, content, None), (Role.ASSISTANT, draft.content, draft)],
            )
        return user_msg, assistant_msg

    async def list_messages(
        self, caller: Principal, session_id: str, *, page_size: int, page_token: str
    ) -> Page[Message]:
        limit, offset = page_window(page_size, page_token, default=200, maximum=500)
        async with self._engine.connect() as conn:
            repo = Repository(conn)
            session = await self._own_session(repo, caller, session_id)
            rows = await repo.list_messages(session.id, limit=limit + 1, offset=offset)
        return Page(rows[:limit], next_page_token(offset, limit, len(rows)))

    # Templates.

    async def create_template(
        self,
        caller: Principal,
        *,
        name: str,
        description: str,
        language: Language | None,
        body: str,
        parameters: Sequence[tpl.Parameter],
    ) -> tpl.Template:
        caller.require_writer()
        new = tpl.new_template(
            name=name, description=description, language=language, body=body, parameters=parameters
        )
        async with self._engine.begin() as conn:
            return await Repository(conn).insert_template(
                new, account_id=caller.account_id, user_id=caller.user_id
            )

    async def save_session_as_template(
        self,
        caller: Principal,
        session_id: str,
        *,
        name: str,
        description: str,
        parameters: Sequence[tpl.Parameter],
    ) -> tpl.Template:
        """The editor buffer when it is not blank, else the AI's latest script."""
        caller.require_writer()
        async with self._engine.begin() as conn:
            repo = Repository(conn)
            session = await self._own_session(repo, caller, session_id)
            body = session.editor_buffer
            if not body.strip():
                body = await repo.latest_script(session.id) or ""
            if not body.strip():
                raise FailedPrecondition(
                    "NO_SCRIPT_TO_SAVE",
                    "the session has no script yet: write one in the editor or ask the AI",
                    metadata={"session_id": str(session.id)},
                )
            new = tpl.new_template(
                name=name,
                description=description,
                language=session.language,
                body=body,
                parameters=parameters,
            )
            return await repo.insert_template(
                new,
                account_id=caller.account_id,
                user_id=caller.user_id,
                source_session_id=session.id,
            )

    async def list_templates(
        self,
        caller: Principal,
        *,
        page_size: int,
        page_token: str,
        source_fix_id: str | None = None,
        status: tpl.TemplateStatus | None = None,
    ) -> Page[tpl.Template]:
        fix_id = parse_uuid(source_fix_id, "source_fix_id") if source_fix_id is not None else None
        # A token only continues the list it came from (same filters).
        query = query_key(source_fix_id=fix_id, status=status)
        limit, offset = page_window(page_size, page_token, default=50, maximum=100, query=query)
        async with self._engine.connect() as conn:
            rows = await Repository(conn).list_templates(
                caller.account_id,
                limit=limit + 1,
                offset=offset,
                source_fix_id=fix_id,
                status=status,
            )
        return Page(rows[:limit], next_page_token(offset, limit, len(rows), query=query))

    async def get_template(self, caller: Principal, template_id: str) -> tpl.Template:
        parsed = parse_uuid(template_id, "template_id")
        async with self._engine.connect() as conn:
            template = await Repository(conn).get_template(caller.account_id, parsed)
        if template is None:
            raise _template_not_found(parsed)
        return template

    async def publish_template(self, caller: Principal, template_id: str) -> tpl.Template:
        """A draft becomes part of the library. Publishing a published template
        is a no-op (nothing written, `updated_at` kept), for its creator or an
        admin; anyone else is refused whatever the status."""
        caller.require_writer()
        parsed = parse_uuid(template_id, "template_id")
        creator = tpl.required_publisher(user_id=caller.user_id, is_admin=caller.is_admin)
        # Autocommit: the common case is one conditional UPDATE; the read that
        # may follow is a fresh snapshot, so it sees a concurrent publish.
        async with self._autocommit.connect() as conn:
            repo = Repository(conn)
            published = await repo.publish_template(caller.account_id, parsed, creator=creator)
            if published is not None:
                return published
            template = await repo.get_template(caller.account_id, parsed)
        if template is None:
            raise _template_not_found(parsed)
        # Nothing changed: someone else's template, or already published.
        tpl.check_may_publish(template, user_id=caller.user_id, is_admin=caller.is_admin)
        return template

    async def render_template(
        self, caller: Principal, template_id: str, values: Mapping[str, Any]
    ) -> tuple[str, Language]:
        """ "Generate": a read. It never stamps anything and never calls the
        fixes service (CONTRACT §4), so viewers may use it too."""
        template = await self.get_template(caller, template_id)
        script = tpl.render(template.language, template.body, template.parameters, values)
        return script, template.language
