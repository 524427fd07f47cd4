"""Use cases of the fixes service: validate, authorize, open the unit of work,
run the domain rule, write.

Each use case takes the verified caller and the request's values as the
transport decoded them (strings, numbers, domain enums), validates them with
the domain's pure checks before anything reaches SQL, refuses viewers their
writes (PERMISSION_DENIED), and opens the unit of work the repository then
works in. Every read and write is scoped to what the caller may see (`Scope`),
so a session outside it is NOT_FOUND before anything is locked or written.
Answers are views (`FixView`, `SessionView`): the stored values with the
fields derived from the lifecycle table for this caller.

Two use cases call the script-builder service (`TemplateCatalog`): creating a
fix that names a template, and declaring a template run with its values. Both
call it before they open a unit of work, so no connection or row lock is held
while waiting for another service, and the method they call (GetTemplate)
calls nobody: no call chain between the services can loop
(docs/architecture.md, "Calls between the services").
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from fixes_service import metrics
from fixes_service.domain import analytics, model
from fixes_service.domain import validation as valid
from fixes_service.domain.access import Scope
from fixes_service.domain.analytics import title_cluster
from fixes_service.domain.errors import fix_not_found, proposal_not_found, session_not_found
from fixes_service.domain.model import (
    AiSession,
    ChangeKind,
    EscalationChoice,
    EscalationEntry,
    Fix,
    FixChange,
    FixEvent,
    FixStage,
    FixStatus,
    FixView,
    Outcome,
    RunClaim,
    ScriptDecision,
    ScriptPatch,
    ScriptTemplate,
    SessionStatus,
    SessionView,
    TemplateProposal,
    WatchedChange,
)
from flowpilot.kernel import ScriptLanguage
from flowpilot.kernel.provenance import DraftBasis
from flowpilot.kernel.scripts import Parameter
from flowpilot.runtime import paging
from flowpilot.runtime.auth import LEEWAY_SECONDS, Principal
from flowpilot.runtime.errors import DomainError, InvalidArgument, Unauthenticated
from flowpilot.runtime.etags import EntityTag
from flowpilot.runtime.paging import Keyset, Page, PageTokens
from flowpilot.runtime.turns import KeyedTurns, Slots
from flowpilot.runtime.uow import UnitOfWork
from flowpilot.runtime.update_mask import masked_fields
from flowpilot.runtime.validation import check_text, parse_uuid

if TYPE_CHECKING:
    # Only types here: the use cases reach the repository through the unit of
    # work, and main.py hands them the snapshot cache.
    from fixes_service.adapters.repository import FixesRepository, FixSnapshot
    from fixes_service.adapters.snapshots import SnapshotCache

Clock = Callable[[], datetime]
# A lifecycle action of `model`: (fix, session_status=, now=, actor=, **arguments)
# -> change or None.
FixAction = Callable[..., FixChange | None]

# Compare-and-swap tries of a fix mutation before it takes row locks instead.
OPTIMISTIC_ATTEMPTS = 2
# Audit rows a watch reads per round trip.
WATCH_PAGE = 100

# The fields of UpdateFixScript's update mask.
SCRIPT_FIELDS = ("ai_drafted_script", "ai_drafted_parameters", "script_parameters")
# Request fields a REST body may carry that are no fields of the fix: a mask
# filled from the body's keys names them, and they change nothing by themselves.
REQUEST_ONLY_PATHS = frozenset({"basis"})


def utcnow() -> datetime:
    return datetime.now(UTC)


class TemplateCatalog(Protocol):
    """The script-builder's templates, as the caller sees them (their own
    token is forwarded). Raises NotFound `SCRIPT_TEMPLATE_NOT_FOUND` (absent,
    or not visible to the caller's account) or Unavailable
    `SCRIPT_BUILDER_UNAVAILABLE`."""

    async def get(self, token: str, template_id: UUID) -> ScriptTemplate: ...

    async def get_version(self, token: str, template_id: UUID, version: int) -> ScriptTemplate:
        """One version of the template (NotFound `SCRIPT_TEMPLATE_NOT_FOUND`
        without it too)."""
        ...


class Subscription(Protocol):
    async def wait(self) -> None:
        """Returns when the session may have changed since the last wait.
        Raises Unavailable when the feed was interrupted (changes may have
        been missed: the caller resumes from the audit trail)."""
        ...


class ChangeFeed(Protocol):
    """Announcements of session changes across every replica (PostgreSQL
    LISTEN/NOTIFY): one subscription per open watch, bounded per user."""

    def subscribe(
        self, account_id: str, user_id: str, session_id: UUID
    ) -> AbstractAsyncContextManager[Subscription]: ...


@dataclass(frozen=True, slots=True)
class NewFix:
    """A proposed fix as the request carries it (checked by `create_fix`)."""

    title: str
    description: str
    script_language: ScriptLanguage
    ai_drafted_script: str | None
    ai_drafted_parameters: Any
    script_template_id: str | None
    script_parameters: Sequence[Parameter] = ()
    # The template version to pin; 0: the current one.
    script_template_version: int = 0


@dataclass(frozen=True, slots=True)
class ScriptUpdate:
    """UpdateFixScript's values as the request carries them, and its mask:
    None when the request had none (every field), else the named fields."""

    script: str
    parameters: Any
    script_parameters: Sequence[Parameter]
    mask: Sequence[str] | None
    # What the script started from, when the request says.
    basis: BasisRequest | None = None


@dataclass(frozen=True, slots=True)
class BasisRequest:
    """UpdateFixScript's `basis` as the request carries it."""

    ai_script: str | None = None
    recipe_id: str | None = None
    script_builder_session_id: str | None = None
    ai_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class EscalationRequest:
    """One fix's escalation choice as the request carries it."""

    fix_id: str
    choice: EscalationChoice
    notes: str


class FixesService:
    def __init__(
        self,
        uow: UnitOfWork[FixesRepository],
        *,
        templates: TemplateCatalog,
        feed: ChangeFeed,
        pages: PageTokens,
        turns: KeyedTurns,
        slow_reads: Slots,
        clock: Clock = utcnow,
        snapshots: SnapshotCache | None = None,
    ) -> None:
        self._uow = uow
        # Writers of one session take turns here before they take a
        # connection (flowpilot.runtime.turns).
        self._turns = turns
        # At most a few analytics reads hold a connection at once.
        self._slow_reads = slow_reads
        self._templates = templates
        self._feed = feed
        self._clock = clock
        self._pages = pages
        self._snapshots = snapshots

    # --- AI sessions --------------------------------------------------------------

    async def create_session(self, principal: Principal, title: str) -> SessionView:
        title = valid.title(title)
        principal.require_writer()
        now = self._clock()
        session = AiSession(
            id=uuid.uuid4(),
            owner_user_id=principal.user_id,
            account_id=principal.account_id,
            title=title,
            status=SessionStatus.ACTIVE,
            state_version=0,
            created_at=now,
            updated_at=now,
        )
        async with self._uow.autocommit() as repo:
            created = await repo.add_session(session)
        return model.view_session(created, can_write=principal.can_write)

    async def get_session(self, principal: Principal, session_id: str) -> SessionView:
        session = await self._read_session(principal, parse_uuid(session_id, "session_id"))
        return model.view_session(session, can_write=principal.can_write)

    async def _read_session(self, principal: Principal, session_id: UUID) -> AiSession:
        async with self._uow.autocommit() as repo:
            session = await repo.get_session(Scope.of(principal), session_id)
        if session is None:
            raise session_not_found()
        return session

    async def check_access(
        self, principal: Principal, ai_session_id: str, fix_id: str = ""
    ) -> tuple[AiSession, FixView | None]:
        """For the script-builder service: the same visibility as every read;
        with `fix_id`, that fix must be one of the session's (FIX_NOT_FOUND),
        and it comes back as every read shows it."""
        parsed_session = parse_uuid(ai_session_id, "ai_session_id")
        parsed_fix = parse_uuid(fix_id, "fix_id") if fix_id else None
        async with self._uow.driver() as repo:
            session = await repo.read_session_access(Scope.of(principal), parsed_session)
            if session is None:
                raise session_not_found()
            if parsed_fix is None:
                return session, None
            seen = await repo.get_fix(Scope.of(principal), session.id, parsed_fix)
        if seen is None:
            raise fix_not_found()
        return session, model.view_fix(seen.fix, seen.session_status, can_write=principal.can_write)

    async def list_sessions(
        self, principal: Principal, page_size: int, page_token: str
    ) -> Page[SessionView]:
        size = paging.page_size(page_size, default=50, maximum=100)
        # Bind the token to the caller, so it cannot be replayed by someone else.
        parent = f"{principal.account_id}/{principal.user_id}"
        after = self._pages.decode_keyset(page_token, "ai_sessions", parent)
        async with self._uow.autocommit() as repo:
            rows = await repo.list_sessions(Scope.of(principal), size + 1, after)
        page = Page.cut(
            rows, size, lambda last: self._pages.encode_keyset("ai_sessions", parent, _keyset(last))
        )
        views = [model.view_session(s, can_write=principal.can_write) for s in page.items]
        return Page(views, page.next_page_token)

    async def resolve(self, principal: Principal, session_id: str, *, etag: str) -> SessionView:
        parsed = parse_uuid(session_id, "session_id")
        expected = valid.etag(etag)
        principal.require_writer()
        now = self._clock()
        return await self._change_session(
            principal,
            parsed,
            expected,
            lambda session, fixes: model.resolve(session, fixes, now=now, actor=principal.user_id),
            now,
        )

    async def escalate(
        self,
        principal: Principal,
        session_id: str,
        *,
        reason: str,
        entries: list[EscalationRequest],
        etag: str,
    ) -> SessionView:
        parsed = parse_uuid(session_id, "session_id")
        checked_reason = valid.optional_text(reason, "reason", valid.MAX_REASON_CHARS)
        if len(entries) > valid.MAX_ESCALATION_ENTRIES:
            raise InvalidArgument("too many fix_outcomes", field="fix_outcomes")
        checked = [
            EscalationEntry(
                fix_id=parse_uuid(entry.fix_id, "fix_outcomes.fix_id"),
                choice=entry.choice,
                notes=valid.optional_text(entry.notes, "fix_outcomes.notes", valid.MAX_NOTES_CHARS),
            )
            for entry in entries
        ]
        expected = valid.etag(etag)
        principal.require_writer()
        now = self._clock()
        return await self._change_session(
            principal,
            parsed,
            expected,
            lambda session, fixes: model.escalate(
                session, fixes, checked, reason=checked_reason, now=now, actor=principal.user_id
            ),
            now,
        )

    async def _change_session(
        self,
        principal: Principal,
        session_id: UUID,
        expected: EntityTag | None,
        rule: Callable[[AiSession, list[Fix]], model.SessionChange],
        now: datetime,
    ) -> SessionView:
        """Resolve or escalate: the session and every fix it touches, under their locks."""
        async with (
            self._turns.turn((principal.account_id, session_id)),
            self._uow.transaction() as repo,
        ):
            session = await repo.lock_session(Scope.of(principal), session_id)
            model.check_etag(expected, session.state_version)
            change = rule(session, await repo.lock_session_fixes(session.id))
            written = await repo.write_session_change(change, actor=principal.user_id, now=now)
        for fix_change in change.fix_changes:
            metrics.fix_changed(fix_change)
        return model.view_session(written, can_write=principal.can_write)

    # --- suggested fixes ------------------------------------------------------------

    async def create_fix(
        self, principal: Principal, session_id: str, new: NewFix, *, etag: str
    ) -> FixView:
        parsed = parse_uuid(session_id, "session_id")
        title = valid.title(new.title)
        description = check_text(
            new.description.strip(), "description", max_len=valid.MAX_DESCRIPTION_CHARS
        )
        script = valid.script(new.ai_drafted_script) if new.ai_drafted_script is not None else None
        parameters = (
            valid.parameters(new.ai_drafted_parameters)
            if new.ai_drafted_parameters is not None
            else None
        )
        typed = valid.script_parameters(new.script_parameters)
        model.check_script_parameters(script, typed)
        template_id = (
            parse_uuid(new.script_template_id, "script_template_id")
            if new.script_template_id is not None
            else None
        )
        if new.script_template_version < 0:
            raise InvalidArgument(
                "script_template_version must be a version number, or 0 for the current one",
                field="script_template_version",
                reason="INVALID_VERSION",
            )
        expected = valid.etag(etag)
        principal.require_writer()
        template = None
        if template_id is not None:
            # Before the unit of work: nothing is held while the other service answers.
            if new.script_template_version:
                template = await self._templates.get_version(
                    principal.token, template_id, new.script_template_version
                )
            else:
                template = await self._templates.get(principal.token, template_id)
            mismatch = model.template_language_mismatch(template.language, new.script_language)
            if mismatch is not None:
                raise mismatch
            model.check_pinnable(template)
        elif new.script_template_version:
            raise InvalidArgument(
                "script_template_version needs a script_template_id",
                field="script_template_version",
                reason="INVALID_VERSION",
            )
        provenance, basis = model.proposed_script_origin(script)
        now = self._clock()
        async with (
            self._turns.turn((principal.account_id, parsed)),
            self._uow.transaction() as repo,
        ):
            session = await repo.lock_session(Scope.of(principal), parsed)
            model.check_etag(expected, session.state_version)
            # Proposing a fix changes the session: it must still be active.
            model.ensure_session_active(session.status)
            fix = Fix(
                id=uuid.uuid4(),
                ai_session_id=session.id,
                title=title,
                description=description,
                script_language=new.script_language,
                status=FixStatus.PROPOSED,
                created_at=now,
                updated_at=now,
                ai_drafted_script=script,
                ai_drafted_parameters=parameters,
                script_template_id=template_id,
                script_parameters=typed,
                script_template_version=template.version if template else None,
                script_template_recipe_id=template.recipe_id if template else None,
                script_provenance=provenance,
                ai_script_basis=basis,
                title_cluster=title_cluster(title),
            )
            created = await repo.add_fix(fix, session, actor=principal.user_id, now=now)
        metrics.fix_proposed(created)
        return model.view_fix(created, session.status, can_write=principal.can_write)

    async def get_fix(self, principal: Principal, session_id: str, fix_id: str) -> FixView:
        ids = _ids(session_id, fix_id)
        async with self._uow.driver() as repo:
            seen = await repo.get_fix(Scope.of(principal), *ids)
        if seen is None:
            raise fix_not_found()
        return model.view_fix(seen.fix, seen.session_status, can_write=principal.can_write)

    async def list_fixes(
        self, principal: Principal, session_id: str, page_size: int, page_token: str
    ) -> Page[FixView]:
        parsed = parse_uuid(session_id, "session_id")
        size = paging.page_size(page_size, default=50, maximum=100)
        parent = str(parsed)
        after = self._pages.decode_keyset(page_token, "suggested_fixes", parent)
        async with self._uow.autocommit() as repo:
            status, rows = await repo.list_fixes(Scope.of(principal), parsed, size + 1, after)
        page = Page.cut(
            rows,
            size,
            lambda last: self._pages.encode_keyset("suggested_fixes", parent, _keyset(last)),
        )
        views = [model.view_fix(f, status, can_write=principal.can_write) for f in page.items]
        return Page(views, page.next_page_token)

    async def list_events(
        self, principal: Principal, session_id: str, fix_id: str, page_size: int, page_token: str
    ) -> Page[FixEvent]:
        parsed_session, parsed_fix = _ids(session_id, fix_id)
        size = paging.page_size(page_size, default=100, maximum=500)
        parent = str(parsed_fix)
        after = self._pages.decode_id(page_token, "fix_events", parent)
        async with self._uow.autocommit() as repo:
            rows = await repo.list_events(
                Scope.of(principal), parsed_session, parsed_fix, size + 1, after
            )
        return Page.cut(
            rows, size, lambda last: self._pages.encode_id("fix_events", parent, last.id)
        )

    async def list_session_events(
        self, principal: Principal, session_id: str, page_size: int, page_token: str
    ) -> Page[FixEvent]:
        """The session's audit trail, oldest first: its fixes' rows and its own
        (resolve, escalate), which no fix's trail holds."""
        parsed = parse_uuid(session_id, "session_id")
        size = paging.page_size(page_size, default=100, maximum=500)
        parent = str(parsed)
        after = self._pages.decode_id(page_token, "session_events", parent)
        async with self._uow.autocommit() as repo:
            if await repo.get_session(Scope.of(principal), parsed) is None:
                raise session_not_found()
            rows = await repo.session_events(parsed, after or 0, size + 1)
        return Page.cut(
            rows, size, lambda last: self._pages.encode_id("session_events", parent, last.id)
        )

    async def render_fix(
        self, principal: Principal, session_id: str, fix_id: str, values: Any
    ) -> tuple[str, ScriptLanguage]:
        """The fix-level "Generate": a read, so viewers may call it; it never stamps."""
        ids = _ids(session_id, fix_id)
        checked = valid.values(values) if values is not None else {}
        async with self._uow.driver() as repo:
            seen = await repo.get_fix(Scope.of(principal), *ids)
        if seen is None:
            raise fix_not_found()
        return model.render_fix(seen.fix, checked), seen.fix.script_language

    async def update_script(
        self, principal: Principal, session_id: str, fix_id: str, update: ScriptUpdate, *, etag: str
    ) -> FixView:
        ids = _ids(session_id, fix_id)
        patch = _script_patch(update)
        expected = valid.etag(etag)
        return await self._change_fix(principal, ids, expected, model.update_script, patch=patch)

    async def apply(
        self, principal: Principal, session_id: str, fix_id: str, *, values: Any, etag: str
    ) -> FixView:
        ids = _ids(session_id, fix_id)
        checked = valid.values(values) if values is not None else None
        expected = valid.etag(etag)
        principal.require_writer()
        claim = None
        if checked is not None:
            claim = await self._run_claim(principal, ids, checked)
        return await self._change_fix(principal, ids, expected, model.apply, claim=claim)

    async def _run_claim(
        self, principal: Principal, ids: tuple[UUID, UUID], values: dict[str, Any]
    ) -> RunClaim:
        """The values a run declared; for a template fix about to be stamped,
        also the template rendered with them (from the script-builder, read
        before any unit of work opens, like `create_fix`'s check)."""
        async with self._uow.driver() as repo:
            seen = await repo.get_fix(Scope.of(principal), *ids)
        if seen is None:
            raise fix_not_found()
        fix = seen.fix
        if fix.script_template_id is None or fix.stage is not FixStage.NOT_APPLIED:
            return RunClaim(values=values)
        # The version the fix pinned, whatever the template's current one is.
        if fix.script_template_version is not None:
            template = await self._templates.get_version(
                principal.token, fix.script_template_id, fix.script_template_version
            )
        else:
            template = await self._templates.get(principal.token, fix.script_template_id)
        return RunClaim(values=values, template=model.render_template_run(template, values))

    async def record_script_decision(
        self,
        principal: Principal,
        session_id: str,
        fix_id: str,
        decision: ScriptDecision,
        *,
        values: Any,
        etag: str,
    ) -> FixView:
        ids = _ids(session_id, fix_id)
        checked = valid.values(values) if values is not None else None
        expected = valid.etag(etag)
        return await self._change_fix(
            principal,
            ids,
            expected,
            model.record_script_decision,
            decision=decision,
            claim=RunClaim(values=checked),
        )

    async def record_outcome(
        self,
        principal: Principal,
        session_id: str,
        fix_id: str,
        *,
        outcome: Outcome,
        notes: str,
        etag: str,
    ) -> FixView:
        ids = _ids(session_id, fix_id)
        checked_notes = valid.optional_text(notes, "notes", valid.MAX_NOTES_CHARS)
        if outcome is Outcome.APPLIED_PARTIAL and not checked_notes:
            # Bad input: refuse before touching the database (the rule says so too).
            raise InvalidArgument(
                "notes are required for applied_partial", field="notes", reason="NOTES_REQUIRED"
            )
        expected = valid.etag(etag)
        return await self._change_fix(
            principal, ids, expected, model.record_outcome, outcome=outcome, notes=checked_notes
        )

    async def dismiss(
        self, principal: Principal, session_id: str, fix_id: str, *, etag: str
    ) -> FixView:
        ids = _ids(session_id, fix_id)
        return await self._change_fix(principal, ids, valid.etag(etag), model.dismiss)

    async def propose_outcome(
        self,
        principal: Principal,
        session_id: str,
        fix_id: str,
        *,
        outcome: Outcome,
        rationale: str,
        etag: str,
    ) -> FixView:
        ids = _ids(session_id, fix_id)
        checked = check_text(rationale.strip(), "rationale", max_len=valid.MAX_NOTES_CHARS)
        expected = valid.etag(etag)
        return await self._change_fix(
            principal, ids, expected, model.propose_outcome, outcome=outcome, rationale=checked
        )

    async def clear_outcome_proposal(
        self, principal: Principal, session_id: str, fix_id: str, *, etag: str
    ) -> FixView:
        ids = _ids(session_id, fix_id)
        return await self._change_fix(
            principal, ids, valid.etag(etag), model.clear_outcome_proposal
        )

    async def _change_fix(
        self,
        principal: Principal,
        ids: tuple[UUID, UUID],
        expected: EntityTag | None,
        action: FixAction,
        **arguments: Any,
    ) -> FixView:
        """Runs a lifecycle `action` on the fix as it is and writes its change.

        The hot path: read, check the etag, decide, compare-and-swap, in a
        driver unit (no BEGIN/COMMIT, asyncpg alone); the view is derived in
        memory. The read is skipped when this process holds the fix's last
        snapshot and the swap confirms it is still current. A writer that
        keeps losing the swap takes row locks in a transaction instead, where
        it cannot lose. All of it in the session's turn (`KeyedTurns`).
        """
        principal.require_writer()
        async with self._turns.turn((principal.account_id, ids[0])):
            # Stamped in the turn: a session's writes carry times in their order.
            now = self._clock()
            actor = principal.user_id

            def decide(seen: FixSnapshot) -> FixChange | None:
                model.check_etag(expected, seen.fix.state_version)
                return action(
                    seen.fix, session_status=seen.session_status, now=now, actor=actor, **arguments
                )

            return await self._write_fix(principal, ids, decide, now=now)

    async def _write_fix(
        self,
        principal: Principal,
        ids: tuple[UUID, UUID],
        decide: Callable[[FixSnapshot], FixChange | None],
        *,
        now: datetime,
    ) -> FixView:
        """`decide`'s change, written: on the cached snapshot, else on the row
        as read (twice), else under the row locks."""
        scope, actor, can_write = Scope.of(principal), principal.user_id, principal.can_write
        key = (scope, *ids)
        async with self._uow.driver() as repo:
            written = await self._change_cached(repo, key, decide, actor=actor, now=now)
            if written is not None:
                return model.view_fix(written.fix, written.session_status, can_write=can_write)
            for _ in range(OPTIMISTIC_ATTEMPTS):
                seen = await repo.read_fix(scope, *ids)
                change = decide(seen)
                if change is None:
                    return model.view_fix(seen.fix, seen.session_status, can_write=can_write)
                fix = await repo.compare_and_swap(seen, change, actor=actor, now=now)
                if fix is not None:
                    metrics.fix_changed(change)
                    self._remember(key, seen, fix)
                    return model.view_fix(fix, seen.session_status, can_write=can_write)
        async with self._uow.transaction() as repo:
            seen = await repo.lock_fix(scope, *ids)
            change = decide(seen)
            if change is None:
                return model.view_fix(seen.fix, seen.session_status, can_write=can_write)
            fix = await repo.write_locked(seen, change, actor=actor, now=now)
            metrics.fix_changed(change)
            self._remember(key, seen, fix)
            return model.view_fix(fix, seen.session_status, can_write=can_write)

    async def _change_cached(
        self,
        repo: FixesRepository,
        key: tuple[Scope, UUID, UUID],
        decide: Callable[[FixSnapshot], FixChange | None],
        *,
        actor: str,
        now: datetime,
    ) -> FixSnapshot | None:
        """The change written on the cached snapshot, or None when there is
        none or it may be stale. Only a landed write is answered from it: a
        refused etag or action, a no-op or a lost swap are decided again on
        the row as read, since the snapshot may be behind."""
        if self._snapshots is None or (seen := self._snapshots.get(key)) is None:
            return None
        try:
            change = decide(seen)
        except DomainError:
            return None
        if change is None:
            return None
        fix = await repo.compare_and_swap(seen, change, actor=actor, now=now)
        if fix is None:
            self._snapshots.discard(key, seen)
            return None
        metrics.fix_changed(change)
        return self._remember(key, seen, fix)

    def _remember(self, key: tuple[Scope, UUID, UUID], seen: FixSnapshot, fix: Fix) -> FixSnapshot:
        """The snapshot after a write of `fix` on `seen` (the session one version on)."""
        after = seen.after_write(fix)
        if self._snapshots is not None:
            self._snapshots.put(key, after)
        return after

    # --- live updates ---------------------------------------------------------------

    async def watch(
        self,
        principal: Principal,
        session_id: str,
        last_event_id: int,
        *,
        accepted: Callable[[], Awaitable[None]] | None = None,
    ) -> AsyncIterator[WatchedChange]:
        """The session's changes as they happen: a snapshot (or, resuming, the
        audit rows after `last_event_id`), then each change as it commits, on
        whichever replica. Ends when the caller's token does.

        `accepted` is awaited once every check passed (input, visibility, the
        per-user bound): the transport says so at once (gRPC initial
        metadata), so a quiet resumed watch is not mistaken for a slow one."""
        parsed = parse_uuid(session_id, "session_id")
        if last_event_id < 0:
            raise InvalidArgument(
                "last_event_id must not be negative",
                field="last_event_id",
                reason="INVALID_ARGUMENT",
            )
        scope, can_write = Scope.of(principal), principal.can_write
        # Visible? Refused before anything streams (an ordinary 404 over REST).
        await self._read_session(principal, parsed)
        async with self._feed.subscribe(principal.account_id, principal.user_id, parsed) as feed:
            # Subscribed first: a change committed from here on is announced,
            # so nothing falls between the reads below and the first wait.
            if accepted is not None:
                await accepted()
            position = last_event_id
            if position == 0:
                async with self._uow.autocommit() as repo:
                    position = await repo.latest_event_id(parsed)
                    session = await repo.get_session(scope, parsed)
                if session is None:
                    raise session_not_found()
                view = model.view_session(session, can_write=can_write)
                yield WatchedChange(ChangeKind.SNAPSHOT, position, view)
            while True:
                changes = await self._changes_after(scope, parsed, position, can_write)
                for change in changes:
                    position = change.event_id
                    yield change
                if len(changes) == WATCH_PAGE:
                    continue  # more already waiting
                remaining = principal.expires_at + LEEWAY_SECONDS - time.time()
                if remaining <= 0:
                    raise _token_expired()
                try:
                    async with asyncio.timeout(None if math.isinf(remaining) else remaining):
                        await feed.wait()
                except TimeoutError:
                    raise _token_expired() from None

    async def _changes_after(
        self, scope: Scope, session_id: UUID, position: int, can_write: bool
    ) -> list[WatchedChange]:
        async with self._uow.autocommit() as repo:
            events = await repo.session_events(session_id, position, WATCH_PAGE)
            if not events:
                return []
            session = await repo.get_session(scope, session_id)
            fix_ids = list({e.fix_id for e in events if e.fix_id is not None})
            fixes = await repo.fixes_by_id(session_id, fix_ids)
        if session is None:
            raise session_not_found()
        view = model.view_session(session, can_write=can_write)
        changes = []
        for event in events:
            fix = fixes.get(event.fix_id) if event.fix_id is not None else None
            fix_view = model.view_fix(fix, session.status, can_write=can_write) if fix else None
            changes.append(WatchedChange(model.change_kind(event), event.id, view, fix_view, event))
        return changes

    # --- outcome analytics -------------------------------------------------------------

    async def outcome_analytics(
        self,
        principal: Principal,
        *,
        start: datetime | None,
        end: datetime | None,
        group_by: analytics.Dimension | None,
        page_size: int,
    ) -> analytics.Report:
        """The account's runs declared in a window: totals and the largest
        groups. Aggregates of the caller's own account only; every role of
        the account may read them (they name no session)."""
        window = analytics.window(start, end, now=self._clock(), default=analytics.DEFAULT_WINDOW)
        size = paging.page_size(page_size, default=50, maximum=500)
        # A transaction only for its local settings (memory for the sorts).
        async with self._slow_reads.taken(), self._uow.transaction() as repo:
            totals, groups = await repo.outcome_analytics(
                principal.account_id, window, group_by, size
            )
        return analytics.Report(
            window=window,
            group_by=group_by,
            totals=totals,
            groups=tuple(groups[:size]),
            truncated=len(groups) > size,
        )

    async def success_rate(
        self,
        principal: Principal,
        *,
        template_id: str | None,
        recipe_id: str | None,
        start: datetime | None,
        end: datetime | None,
    ) -> tuple[analytics.Window, analytics.Group, list[analytics.Group]]:
        """One template's (with its versions) or one recipe's success rate in
        the caller's account: what the TemplateMatchPanel shows."""
        if (template_id is None) == (recipe_id is None):
            raise InvalidArgument(
                "give exactly one of template_id and recipe_id",
                field="template_id",
                reason="MISSING_FIELD" if template_id is None else "INVALID_ARGUMENT",
            )
        parsed = parse_uuid(template_id, "template_id") if template_id is not None else None
        recipe = (
            check_text(recipe_id, "recipe_id", max_len=valid.MAX_RECIPE_ID, min_len=1)
            if recipe_id is not None
            else None
        )
        window = analytics.window(
            start, end, now=self._clock(), default=analytics.DEFAULT_RATE_WINDOW
        )
        async with self._slow_reads.taken(), self._uow.transaction() as repo:
            if parsed is not None:
                total, versions = await repo.template_success_rate(
                    principal.account_id, parsed, window
                )
                return window, total, versions
            assert recipe is not None
            return window, await repo.recipe_success_rate(principal.account_id, recipe, window), []

    # --- template-proposal outbox (internal, role `service`) -------------------

    async def pending_template_proposals(self, page_size: int) -> list[TemplateProposal]:
        size = paging.page_size(page_size, default=50, maximum=100)
        async with self._uow.autocommit() as repo:
            return await repo.pending_proposals(size)

    async def ack_template_proposal(self, proposal_id: str, template_id: str) -> TemplateProposal:
        """Idempotent: acking again with the same template id returns the proposal."""
        parsed_proposal = parse_uuid(proposal_id, "proposal_id")
        parsed_template = parse_uuid(template_id, "template_id")
        async with self._uow.autocommit() as repo:
            proposal = await repo.ack_proposal(parsed_proposal, parsed_template, self._clock())
        if proposal is None:
            raise proposal_not_found()
        model.ensure_acked_with(proposal, parsed_template)
        return proposal


def _token_expired() -> Unauthenticated:
    return Unauthenticated(
        "the token expired; watch again with a fresh one (resume with last_event_id)",
        reason="TOKEN_EXPIRED",
    )


def _script_patch(update: ScriptUpdate) -> ScriptPatch:
    """Checks UpdateFixScript's fields and mask with the shared AIP-134 rule
    (`flowpilot.runtime.update_mask`): a field not in the mask is left
    alone; no mask (a gRPC client without one) means every field; `*` every
    field; an empty mask nothing. `basis` is no field of the fix: a mask the
    gateway filled from a body that carries it names it, and it is skipped."""
    paths = (
        [p for p in update.mask if p not in REQUEST_ONLY_PATHS] if update.mask is not None else None
    )
    fields = masked_fields(paths, SCRIPT_FIELDS)
    script = valid.script(update.script) if "ai_drafted_script" in fields else None
    sets_parameters = "ai_drafted_parameters" in fields
    parameters = (
        valid.parameters(update.parameters)
        if sets_parameters and update.parameters is not None
        else None
    )
    sets_typed = "script_parameters" in fields
    typed = valid.script_parameters(update.script_parameters) if sets_typed else ()
    return ScriptPatch(
        script=script,
        parameters=parameters,
        script_parameters=typed,
        sets_parameters=sets_parameters,
        sets_script_parameters=sets_typed,
        basis=_basis(update.basis) if update.basis is not None else None,
    )


def _basis(basis: BasisRequest) -> DraftBasis:
    def optional_uuid(value: str | None, field: str) -> UUID | None:
        return parse_uuid(value, field) if value is not None else None

    return DraftBasis(
        ai_script=valid.script(basis.ai_script, "basis.ai_script")
        if basis.ai_script is not None
        else None,
        recipe_id=check_text(basis.recipe_id, "basis.recipe_id", max_len=valid.MAX_RECIPE_ID)
        if basis.recipe_id is not None
        else None,
        script_builder_session_id=optional_uuid(
            basis.script_builder_session_id, "basis.script_builder_session_id"
        ),
        ai_message_id=optional_uuid(basis.ai_message_id, "basis.ai_message_id"),
    )


def _ids(session_id: str, fix_id: str) -> tuple[UUID, UUID]:
    return parse_uuid(session_id, "session_id"), parse_uuid(fix_id, "fix_id")


def _keyset(row: AiSession | Fix) -> Keyset:
    return Keyset(created_at=row.created_at, id=row.id)
