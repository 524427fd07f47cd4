"""Use cases of the script builder: authorize, validate, open the unit of
work, run the domain rule, write.

Each use case takes the verified caller and the request's values as the
transport decoded them (strings, numbers, JSON, domain enums), refuses viewers
their writes, validates the values with the domain's pure checks before
anything reaches SQL, and opens the unit of work (`flowpilot.runtime.uow`) its
repository works in. No gRPC types cross this line."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flowpilot.kernel import ScriptLanguage
from flowpilot.kernel.scripts import Parameter, render
from flowpilot.runtime import paging
from flowpilot.runtime.auth import Principal
from flowpilot.runtime.errors import FailedPrecondition, Unavailable
from flowpilot.runtime.paging import Page, PageTokens
from flowpilot.runtime.turns import KeyedTurns
from flowpilot.runtime.uow import UnitOfWork
from flowpilot.runtime.update_mask import masked_fields
from flowpilot.runtime.validation import parse_uuid
from scriptbuilder_service import metrics
from scriptbuilder_service.adapters.drafting import DraftingProvider
from scriptbuilder_service.adapters.fixes_client import FixesClient
from scriptbuilder_service.domain import template_versions as versions
from scriptbuilder_service.domain import templates as tpl
from scriptbuilder_service.domain.drafting import (
    Draft,
    DraftRequest,
    FixContext,
    bounded,
    turn_of,
)
from scriptbuilder_service.domain.errors import session_not_found, template_not_found
from scriptbuilder_service.domain.model import (
    CAP_REASON,
    DRAFT_FIELDS,
    HISTORY_FOR_DRAFTER,
    MAX_MESSAGE,
    STANDALONE_SESSION_CAP,
    EditorMode,
    Message,
    NewMessage,
    Origin,
    Owner,
    Role,
    Session,
    TextPiece,
    check_text,
    draft_change,
    message_fix,
    new_session,
)
from scriptbuilder_service.domain.recipe_import import (
    DEFAULT_IMPORTER,
    ImportedTemplate,
    Outcome,
    check_importer,
    digest,
    stale,
)
from scriptbuilder_service.domain.recipes import Recipe
from scriptbuilder_service.domain.submission import (
    SUBMIT_CANDIDATES,
    SubmitSource,
    Submitted,
    submission_of,
    target_fix,
)

if TYPE_CHECKING:
    # Only a type here: the use cases reach the repository through the unit of work.
    from scriptbuilder_service.adapters.repository import ScriptBuilderRepository

# The lists whose page tokens this service issues (a token names its list).
SESSIONS_LIST = "script_builder_sessions"
MESSAGES_LIST = "script_builder_messages"
TEMPLATES_LIST = "script_templates"
VERSIONS_LIST = "template_versions"


@dataclass(frozen=True, slots=True)
class Turn:
    """One exchange being drafted: what the engineer sent, for which fix,
    and what the drafter is asked."""

    session: Session
    content: str
    request: DraftRequest
    fix_id: uuid.UUID | None
    # The message named the fix: the session drafts for it from now on.
    retarget: bool
    user_message_id: uuid.UUID
    at: datetime

    def announced_user_message(self) -> Message:
        """The engineer's message as it will be stored."""
        return Message(
            id=self.user_message_id,
            session_id=self.session.id,
            role=Role.USER,
            content=self.content,
            script=None,
            created_at=self.at,
            fix_id=self.fix_id,
        )


# What `stream_message` yields: the user message, text pieces, the assistant message.
TurnEvent = Message | TextPiece


class ScriptBuilderService:
    def __init__(
        self,
        uow: UnitOfWork[ScriptBuilderRepository],
        fixes: FixesClient,
        drafter: DraftingProvider,
        *,
        pages: PageTokens,
        turns: KeyedTurns,
    ) -> None:
        self._uow = uow
        self._fixes = fixes
        self._drafter = drafter
        self._pages = pages
        # The writers of one row (a session, a template, an owner's cap lock)
        # take turns here before they take a connection, so that writes
        # queued on one row cannot hold the whole pool (flowpilot.runtime.turns).
        self._turns = turns

    def _session_turn(
        self, owner: Owner, session_id: uuid.UUID
    ) -> AbstractAsyncContextManager[None]:
        return self._turns.turn(("session", owner, session_id))

    def _template_turn(
        self, caller: Principal, template_id: uuid.UUID
    ) -> AbstractAsyncContextManager[None]:
        return self._turns.turn(("template", caller.account_id, template_id))

    # Sessions.

    async def create_session(
        self,
        caller: Principal,
        *,
        origin: Origin | None,
        ai_session_id: str | None,
        language: ScriptLanguage | None,
        title: str,
        fix_id: str = "",
    ) -> tuple[Session, bool]:
        """(session, created). Inline: get-or-create, drafting for `fix_id`
        when it names one; standalone: capped create."""
        caller.require_writer()
        request = new_session(
            origin=origin,
            ai_session_id=ai_session_id,
            language=language,
            title=title,
            fix_id=fix_id,
        )
        fix: FixContext | None = None
        if request.ai_session_id is not None:
            # Before any row is read or written (seed): may the caller use it,
            # and is the fix one of its fixes?
            access = await self._fixes.check_access(
                caller.token, request.ai_session_id, request.fix_id
            )
            fix = access.fix
        owner = Owner.of(caller)
        if request.origin is Origin.PILOT_INLINE:
            assert request.ai_session_id is not None
            language_now = (fix.language if fix else None) or request.language
            # One atomic statement in the common case: no BEGIN/COMMIT round
            # trips, on the driver connection alone.
            async with self._uow.driver() as repo:
                session, created = await repo.get_or_create_inline(
                    owner,
                    ai_session_id=request.ai_session_id,
                    title=request.title,
                    language=language_now,
                    fix_id=request.fix_id,
                )
            if not created and request.fix_id is not None:
                async with self._session_turn(owner, session.id), self._uow.autocommit() as repo:
                    session = (
                        await repo.target_fix(
                            owner, session.id, fix_id=request.fix_id, language=language_now
                        )
                        or session
                    )
            return session, created
        async with self._turns.turn(("standalone", owner)), self._uow.transaction() as repo:
            await repo.lock_owner_sessions(owner)
            standalone = await repo.create_standalone_capped(
                owner,
                ai_session_id=request.ai_session_id,
                title=request.title,
                language=request.language,
                cap=STANDALONE_SESSION_CAP,
            )
        if standalone is None:
            raise FailedPrecondition(
                CAP_REASON,
                f"at most {STANDALONE_SESSION_CAP} standalone script-builder sessions per user; "
                "delete one to start another",
                metadata={"cap": str(STANDALONE_SESSION_CAP)},
            )
        return standalone, True

    async def list_sessions(
        self, caller: Principal, *, include_inline: bool, page_size: int, page_token: str
    ) -> Page[Session]:
        owner = Owner.of(caller)
        # A token continues the list of the same owner with the same filter.
        filters = paging.filters_key(include_inline=include_inline)
        limit, offset = self._pages.offset_window(
            SESSIONS_LIST,
            owner.key,
            page_size,
            page_token,
            default=50,
            maximum=100,
            filters=filters,
        )
        async with self._uow.autocommit() as repo:
            rows = await repo.list_sessions(
                owner, include_inline=include_inline, limit=limit + 1, offset=offset
            )
        return Page.cut(
            rows,
            limit,
            lambda _: self._pages.next_offset_token(
                SESSIONS_LIST, owner.key, offset, limit, filters=filters
            ),
        )

    @staticmethod
    async def _own_session(
        repo: ScriptBuilderRepository, caller: Principal, session_id: uuid.UUID
    ) -> Session:
        session = await repo.get_session(Owner.of(caller), session_id)
        if session is None:
            raise session_not_found(session_id)
        return session

    async def get_session(self, caller: Principal, session_id: str) -> Session:
        parsed = parse_uuid(session_id, "session_id")
        async with self._uow.autocommit() as repo:
            return await self._own_session(repo, caller, parsed)

    async def delete_session(self, caller: Principal, session_id: str) -> None:
        caller.require_writer()
        parsed = parse_uuid(session_id, "session_id")
        owner = Owner.of(caller)
        async with self._session_turn(owner, parsed), self._uow.autocommit() as repo:
            deleted = await repo.delete_session(owner, parsed)
        if not deleted:
            raise session_not_found(parsed)

    async def update_draft(
        self,
        caller: Principal,
        session_id: str,
        *,
        editor_buffer: str,
        mode: EditorMode | None,
        update_mask: Sequence[str] | None = None,
    ) -> Session:
        """Writes the fields the mask names (AIP-134; None: both, as before
        masks) and leaves the others alone: switching modes never discards
        the editor buffer. A mask naming nothing writes nothing."""
        caller.require_writer()
        parsed = parse_uuid(session_id, "session_id")
        fields = masked_fields(update_mask, DRAFT_FIELDS)
        change = draft_change(fields, editor_buffer=editor_buffer, mode=mode)
        if change.empty:
            return await self.get_session(caller, session_id)
        owner = Owner.of(caller)
        async with self._session_turn(owner, parsed), self._uow.autocommit() as repo:
            session = await repo.update_draft(owner, parsed, change)
        if session is None:
            raise session_not_found(parsed)
        if mode is EditorMode.EDITOR:
            metrics.script_drafted("hand", session.language)
        return session

    # Messages.

    async def send_message(
        self, caller: Principal, session_id: str, content: str, fix_id: str = ""
    ) -> tuple[Message, Message]:
        """The engineer's message and the drafter's answer, stored together."""
        turn = await self._prepare_turn(caller, session_id, content, fix_id)
        # The model is asked outside any transaction; when it fails nothing is
        # stored, so the engineer can simply send again.
        draft = bounded(await self._drafter.draft(turn.request))
        return await self._store_turn(caller, turn, draft)

    async def stream_message(
        self, caller: Principal, session_id: str, content: str, fix_id: str = ""
    ) -> AsyncIterator[TurnEvent]:
        """`send_message`, as it happens: the engineer's message (with the id
        and time it will be stored with), the answer's text in pieces, then
        the stored assistant message. Nothing is stored before the answer is
        complete, so a stream abandoned half-way (the client left, the call
        was cancelled) leaves no trace."""
        turn = await self._prepare_turn(caller, session_id, content, fix_id)
        yield turn.announced_user_message()
        draft: Draft | None = None
        async for chunk in self._drafter.stream(turn.request):
            if chunk.text:
                yield TextPiece(chunk.text)
            if chunk.draft is not None:
                draft = chunk.draft
        if draft is None:
            raise Unavailable("DRAFTER_BAD_RESPONSE", "the drafter ended without an answer")
        _, assistant = await self._store_turn(caller, turn, bounded(draft))
        yield assistant

    async def _prepare_turn(
        self, caller: Principal, session_id: str, content: str, fix_id: str
    ) -> Turn:
        """Validates a message, resolves the fix it drafts for and the
        conversation the drafter sees; writes nothing."""
        caller.require_writer()
        check_text(content, "content", max_len=MAX_MESSAGE, not_blank=True)
        parsed = parse_uuid(session_id, "session_id")
        async with self._uow.autocommit() as repo:
            session = await self._own_session(repo, caller, parsed)
        named = message_fix(session, fix_id)
        target, fix = await self._fix_for(caller, session, named)
        async with self._uow.autocommit() as repo:
            recent = await repo.recent_for_fix(session.id, target, limit=HISTORY_FOR_DRAFTER)
        language = (fix.language if fix else None) or session.language
        request = DraftRequest(
            language=language,
            origin=session.origin,
            session_title=session.title,
            history=tuple(turn_of(m) for m in reversed(recent)),
            message=content,
            fix=fix,
        )
        return Turn(
            session=session,
            content=content,
            request=request,
            fix_id=target,
            retarget=named is not None,
            user_message_id=uuid.uuid4(),
            at=datetime.now(UTC),
        )

    async def _fix_for(
        self, caller: Principal, session: Session, named: uuid.UUID | None
    ) -> tuple[uuid.UUID | None, FixContext | None]:
        """The fix an inline message drafts for, and what the drafter is told
        about it: the fix the message names (checked: 404 when it is not one
        of the AI session's), else the session's (the session's language
        already follows it, so a fixes service that is down only costs the
        title and description), else the only fix of the AI session that
        needs a script."""
        if session.origin is not Origin.PILOT_INLINE or session.ai_session_id is None:
            return None, None
        if named is not None:
            access = await self._fixes.check_access(caller.token, session.ai_session_id, named)
            return named, access.fix
        if session.fix_id is not None:
            try:
                access = await self._fixes.check_access(
                    caller.token, session.ai_session_id, session.fix_id
                )
            except Unavailable:
                return session.fix_id, None
            return session.fix_id, access.fix
        only = await self._fixes.only_fix_needing_script(caller.token, session.ai_session_id)
        return (uuid.UUID(only.fix_id), only) if only is not None else (None, None)

    async def _store_turn(
        self, caller: Principal, turn: Turn, draft: Draft
    ) -> tuple[Message, Message]:
        """Both messages in one transaction, and the session's new fix when
        the message named one."""
        session = turn.session
        owner = Owner.of(caller)
        async with self._session_turn(owner, session.id), self._uow.transaction() as repo:
            if await repo.get_session(owner, session.id) is None:
                raise session_not_found(session.id)  # deleted meanwhile
            if turn.retarget and turn.fix_id is not None:
                await repo.target_fix(
                    owner, session.id, fix_id=turn.fix_id, language=turn.request.language
                )
            user_msg, assistant_msg = await repo.add_messages(
                session.id,
                [
                    NewMessage(
                        Role.USER,
                        turn.content,
                        fix_id=turn.fix_id,
                        id=turn.user_message_id,
                        created_at=turn.at,
                    ),
                    NewMessage(Role.ASSISTANT, draft.content, draft, fix_id=turn.fix_id),
                ],
            )
        if draft.script:
            metrics.script_drafted("ai", draft.language or session.language)
        return user_msg, assistant_msg

    async def list_messages(
        self, caller: Principal, session_id: str, *, page_size: int, page_token: str
    ) -> Page[Message]:
        parsed = parse_uuid(session_id, "session_id")
        limit, offset = self._pages.offset_window(
            MESSAGES_LIST, str(parsed), page_size, page_token, default=200, maximum=500
        )
        async with self._uow.autocommit() as repo:
            session = await self._own_session(repo, caller, parsed)
            rows = await repo.list_messages(session.id, limit=limit + 1, offset=offset)
        return Page.cut(
            rows,
            limit,
            lambda _: self._pages.next_offset_token(MESSAGES_LIST, str(parsed), offset, limit),
        )

    # Templates.

    async def create_template(
        self,
        caller: Principal,
        *,
        name: str,
        description: str,
        language: ScriptLanguage | None,
        body: str,
        parameters: Sequence[Parameter],
    ) -> tpl.Template:
        caller.require_writer()
        new = tpl.new_template(
            name=name, description=description, language=language, body=body, parameters=parameters
        )
        async with self._uow.autocommit() as repo:
            return await repo.insert_template(
                new, account_id=caller.account_id, user_id=caller.user_id
            )

    async def save_session_as_template(
        self,
        caller: Principal,
        session_id: str,
        *,
        name: str,
        description: str,
        parameters: Sequence[Parameter],
    ) -> tpl.Template:
        """The editor buffer when it is not blank, else the AI's latest script."""
        caller.require_writer()
        parsed = parse_uuid(session_id, "session_id")
        # The template's reference to the session waits on a write holding it.
        async with (
            self._session_turn(Owner.of(caller), parsed),
            self._uow.transaction() as repo,
        ):
            session = await self._own_session(repo, caller, parsed)
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
        filters = paging.filters_key(source_fix_id=fix_id, status=status)
        limit, offset = self._pages.offset_window(
            TEMPLATES_LIST,
            caller.account_id,
            page_size,
            page_token,
            default=50,
            maximum=100,
            filters=filters,
        )
        async with self._uow.autocommit() as repo:
            rows = await repo.list_templates(
                caller.account_id,
                limit=limit + 1,
                offset=offset,
                source_fix_id=fix_id,
                status=status,
            )
        return Page.cut(
            rows,
            limit,
            lambda _: self._pages.next_offset_token(
                TEMPLATES_LIST, caller.account_id, offset, limit, filters=filters
            ),
        )

    async def get_template(self, caller: Principal, template_id: str) -> tpl.Template:
        parsed = parse_uuid(template_id, "template_id")
        async with self._uow.autocommit() as repo:
            template = await repo.get_template(caller.account_id, parsed)
        if template is None:
            raise template_not_found(parsed)
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
        async with self._template_turn(caller, parsed), self._uow.autocommit() as repo:
            published = await repo.publish_template(caller.account_id, parsed, creator=creator)
            if published is not None:
                return published
            template = await repo.get_template(caller.account_id, parsed)
        if template is None:
            raise template_not_found(parsed)
        # Nothing changed: someone else's template, or already published.
        tpl.check_may_publish(template, user_id=caller.user_id, is_admin=caller.is_admin)
        return template

    async def render_template(
        self, caller: Principal, template_id: str, values: Mapping[str, Any], *, version: int = 0
    ) -> tuple[str, ScriptLanguage, int]:
        """ "Generate": a read. It never stamps anything and never calls the
        fixes service (CONTRACT §4), so viewers may use it too. `version` 0:
        the current one."""
        if version:
            pinned = await self.get_template_version(caller, template_id, version)
            script = render(pinned.language, pinned.body, pinned.parameters, values)
            return script, pinned.language, pinned.version
        template = await self.get_template(caller, template_id)
        script = render(template.language, template.body, template.parameters, values)
        return script, template.language, template.current_version

    # Template versions.

    async def create_template_version(
        self,
        caller: Principal,
        template_id: str,
        *,
        language: ScriptLanguage | None,
        body: str,
        parameters: Sequence[Parameter],
        change_note: str,
        base_version: int,
    ) -> versions.TemplateVersion:
        """An edit: the template's content becomes a new immutable version
        (the same content again is no new version: the current one is
        answered, so a retry is safe)."""
        caller.require_writer()
        parsed = parse_uuid(template_id, "template_id")
        if base_version:
            versions.check_version_number(base_version, "base_version")
        async with self._template_turn(caller, parsed), self._uow.transaction() as repo:
            template = await repo.get_template(caller.account_id, parsed, lock=True)
            if template is None:
                raise template_not_found(parsed)
            edit = versions.new_version(
                language=language or template.language,
                body=body,
                parameters=parameters,
                change_note=change_note,
            )
            if not versions.same_content(template, edit):
                versions.check_base_version(template, base_version)
                template = await repo.write_version(
                    caller.account_id, parsed, edit, author=caller.user_id
                )
            written = await repo.get_version(caller.account_id, parsed, template.current_version)
        assert written is not None  # the trigger recorded it in this transaction
        return written

    async def list_template_versions(
        self, caller: Principal, template_id: str, *, page_size: int, page_token: str
    ) -> Page[versions.TemplateVersion]:
        parsed = parse_uuid(template_id, "template_id")
        size = paging.page_size(page_size, default=50, maximum=100)
        before = self._pages.decode_id(page_token, VERSIONS_LIST, str(parsed))
        async with self._uow.autocommit() as repo:
            if await repo.get_template(caller.account_id, parsed) is None:
                raise template_not_found(parsed)
            rows = await repo.list_versions(
                caller.account_id, parsed, limit=size + 1, before=before
            )
        return Page.cut(
            rows,
            size,
            lambda last: self._pages.encode_id(VERSIONS_LIST, str(parsed), last.version),
        )

    async def get_template_version(
        self, caller: Principal, template_id: str, version: int
    ) -> versions.TemplateVersion:
        parsed = parse_uuid(template_id, "template_id")
        versions.check_version_number(version)
        async with self._uow.autocommit() as repo:
            found = await repo.get_version(caller.account_id, parsed, version)
            if found is None and await repo.get_template(caller.account_id, parsed) is None:
                raise template_not_found(parsed)
        if found is None:
            raise versions.version_not_found(parsed, version)
        return found

    async def diff_template_versions(
        self,
        caller: Principal,
        template_id: str,
        *,
        from_version: int,
        to_version: int,
        context_lines: int | None,
    ) -> versions.VersionDiff:
        """A unified diff of two versions (`to_version` 0: the current one),
        computed by the domain from the stored versions."""
        parsed = parse_uuid(template_id, "template_id")
        versions.check_version_number(from_version, "from_version")
        if to_version:
            versions.check_version_number(to_version, "to_version")
        context = 3 if context_lines is None else context_lines
        async with self._uow.autocommit() as repo:
            template = await repo.get_template(caller.account_id, parsed)
            if template is None:
                raise template_not_found(parsed)
            newer = to_version or template.current_version
            old = await repo.get_version(caller.account_id, parsed, from_version)
            new = await repo.get_version(caller.account_id, parsed, newer)
        if old is None:
            raise versions.version_not_found(parsed, from_version)
        if new is None:
            raise versions.version_not_found(parsed, newer)
        return versions.diff_versions(old, new, context=context)

    async def deprecate_template_version(
        self, caller: Principal, template_id: str, version: int, *, reason: str
    ) -> versions.TemplateVersion:
        """Marks a version deprecated (its creator's template: the creator or
        an admin, as for publishing). Deprecating it again changes nothing."""
        caller.require_writer()
        parsed = parse_uuid(template_id, "template_id")
        versions.check_version_number(version)
        checked_reason = check_text(reason.strip(), "reason", max_len=versions.MAX_CHANGE_NOTE)
        async with self._template_turn(caller, parsed), self._uow.transaction() as repo:
            template = await repo.get_template(caller.account_id, parsed)
            if template is None:
                raise template_not_found(parsed)
            tpl.check_may_publish(template, user_id=caller.user_id, is_admin=caller.is_admin)
            await repo.deprecate_version(
                caller.account_id, parsed, version, user_id=caller.user_id, reason=checked_reason
            )
            found = await repo.get_version(caller.account_id, parsed, version)
        if found is None:
            raise versions.version_not_found(parsed, version)
        return found

    # Inline submit with provenance.

    async def submit_draft(
        self,
        caller: Principal,
        session_id: str,
        *,
        fix_id: str,
        source: SubmitSource | None,
        etag: str,
    ) -> Submitted:
        """Sends the session's script to a fix (the one named, else the one
        the session drafts for), with where it came from: the AI's script for
        that fix as is, the editor buffer measured against the AI script for
        it that it is closest to, or a buffer with no AI script to start from
        (hand-written). The fixes service measures the edit."""
        caller.require_writer()
        parsed = parse_uuid(session_id, "session_id")
        named_fix = parse_uuid(fix_id, "fix_id") if fix_id else None
        async with self._uow.autocommit() as repo:
            session = await self._own_session(repo, caller, parsed)
            drafts = await repo.list_messages(session.id, limit=SUBMIT_CANDIDATES, newest=True)
        if session.ai_session_id is None:
            raise FailedPrecondition(
                "NO_AI_SESSION",
                "the session drafts for no AI session, so it has no fix to submit to",
                metadata={"session_id": str(session.id)},
            )
        target = target_fix(session, named_fix)
        submission = submission_of(session, drafts, source, target)
        return await self._fixes.submit_script(
            caller.token,
            ai_session_id=session.ai_session_id,
            fix_id=target,
            submission=submission,
            etag=etag,
        )


class TemplateImportService:
    """The operator's use case `flowpilot templates import`: the recipe
    catalogue as published templates of an account.

    Apart from `ScriptBuilderService` because it serves no caller over gRPC:
    it needs no fixes client and no drafter, and trusts its operator (there is
    no token to check)."""

    def __init__(self, uow: UnitOfWork[ScriptBuilderRepository]) -> None:
        self._uow = uow

    async def import_recipes(
        self,
        recipes: Sequence[Recipe],
        *,
        account_id: str,
        user_id: str = DEFAULT_IMPORTER,
        dry_run: bool = False,
    ) -> list[ImportedTemplate]:
        """One unit of work: all templates or none; a dry run rolls it back.
        One line per template, the stale ones last."""
        account_id, user_id = check_importer(account_id, user_id)
        unit = self._uow.rehearsal() if dry_run else self._uow.transaction()
        results: list[ImportedTemplate] = []
        async with unit as repo:
            for recipe in recipes:
                for language in recipe.languages:
                    new = replace(
                        recipe.template(language), change_note=f"Imported from recipe {recipe.id}"
                    )
                    written = await repo.upsert_recipe_template(
                        new,
                        account_id=account_id,
                        user_id=user_id,
                        recipe_id=recipe.id,
                        digest=digest(new),
                    )
                    if written is None:
                        template_id = await repo.recipe_template_id(
                            account_id=account_id, recipe_id=recipe.id, language=language
                        )
                        outcome = Outcome.UNCHANGED
                    else:
                        template_id, created = written
                        outcome = Outcome.CREATED if created else Outcome.UPDATED
                    results.append(ImportedTemplate(recipe.id, language, template_id, outcome))
            results += stale(recipes, await repo.recipe_templates(account_id))
        return results
