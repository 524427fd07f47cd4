"""Use cases of the fixes service: validate, authorize, open the unit of work,
run the domain rule, write.

Each use case takes the verified caller and the request's values as the
transport decoded them (strings, numbers, domain enums), validates them with
the domain's pure checks before anything reaches SQL, refuses viewers their
writes (PERMISSION_DENIED), and opens the unit of work the repository then
works in. Every read and write is scoped to what the caller may see (`Scope`),
so a session outside it is NOT_FOUND before anything is locked or written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from fixes_service import metrics
from fixes_service.domain import model
from fixes_service.domain import validation as valid
from fixes_service.domain.access import Scope
from fixes_service.domain.errors import fix_not_found, proposal_not_found, session_not_found
from fixes_service.domain.model import (
    AiSession,
    EscalationChoice,
    EscalationEntry,
    Fix,
    FixChange,
    FixEvent,
    FixStatus,
    Outcome,
    ScriptDecision,
    SessionStatus,
    TemplateProposal,
)
from flowpilot.kernel import ScriptLanguage
from flowpilot.runtime import paging
from flowpilot.runtime.auth import Principal
from flowpilot.runtime.errors import InvalidArgument
from flowpilot.runtime.paging import Keyset, Page
from flowpilot.runtime.uow import UnitOfWork
from flowpilot.runtime.validation import check_text, parse_uuid

if TYPE_CHECKING:
    # Only a type here: the use cases reach the repository through the unit of work.
    from fixes_service.adapters.repository import FixesRepository

Clock = Callable[[], datetime]
# A lifecycle action of `model`: (fix, session_status=, now=, **arguments) -> change or None.
FixAction = Callable[..., FixChange | None]

# Compare-and-swap tries of a fix mutation before it takes row locks instead.
OPTIMISTIC_ATTEMPTS = 2


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class NewFix:
    """A proposed fix as the request carries it (checked by `create_fix`)."""

    title: str
    description: str
    script_language: ScriptLanguage
    ai_drafted_script: str | None
    ai_drafted_parameters: Any
    script_template_id: str | None


@dataclass(frozen=True, slots=True)
class EscalationRequest:
    """One fix's escalation choice as the request carries it."""

    fix_id: str
    choice: EscalationChoice
    notes: str


class FixesService:
    def __init__(self, uow: UnitOfWork[FixesRepository], clock: Clock = utcnow) -> None:
        self._uow = uow
        self._clock = clock

    # --- AI sessions --------------------------------------------------------------

    async def create_session(self, principal: Principal, title: str) -> AiSession:
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
            return await repo.add_session(session)

    async def get_session(
        self, principal: Principal, session_id: str, *, field: str = "session_id"
    ) -> AiSession:
        parsed = parse_uuid(session_id, field)
        async with self._uow.autocommit() as repo:
            session = await repo.get_session(Scope.of(principal), parsed)
        if session is None:
            raise session_not_found()
        return session

    async def check_access(self, principal: Principal, ai_session_id: str) -> AiSession:
        """For the script-builder service: the same visibility as every read."""
        return await self.get_session(principal, ai_session_id, field="ai_session_id")

    async def list_sessions(
        self, principal: Principal, page_size: int, page_token: str
    ) -> Page[AiSession]:
        size = paging.page_size(page_size, default=50, maximum=100)
        # Bind the token to the caller, so it cannot be replayed by someone else.
        parent = f"{principal.account_id}/{principal.user_id}"
        after = paging.decode_keyset(page_token, "ai_sessions", parent)
        async with self._uow.autocommit() as repo:
            rows = await repo.list_sessions(Scope.of(principal), size + 1, after)
        return Page.cut(
            rows, size, lambda last: paging.encode_keyset("ai_sessions", parent, _keyset(last))
        )

    async def resolve(self, principal: Principal, session_id: str) -> AiSession:
        parsed = parse_uuid(session_id, "session_id")
        principal.require_writer()
        now = self._clock()
        return await self._change_session(
            principal, parsed, now, lambda session, fixes: model.resolve(session, fixes, now=now)
        )

    async def escalate(
        self,
        principal: Principal,
        session_id: str,
        *,
        reason: str,
        entries: list[EscalationRequest],
    ) -> AiSession:
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
        principal.require_writer()
        now = self._clock()
        return await self._change_session(
            principal,
            parsed,
            now,
            lambda session, fixes: model.escalate(
                session, fixes, checked, reason=checked_reason, now=now
            ),
        )

    async def _change_session(
        self,
        principal: Principal,
        session_id: UUID,
        now: datetime,
        rule: Callable[[AiSession, list[Fix]], model.SessionChange],
    ) -> AiSession:
        """Resolve or escalate: the session and every fix it touches, under their locks."""
        async with self._uow.transaction() as repo:
            session = await repo.lock_session(Scope.of(principal), session_id)
            change = rule(session, await repo.lock_session_fixes(session.id))
            written = await repo.write_session_change(change, actor=principal.user_id, now=now)
        for fix_change in change.fix_changes:
            metrics.fix_changed(fix_change)
        return written

    # --- suggested fixes ------------------------------------------------------------

    async def create_fix(self, principal: Principal, session_id: str, new: NewFix) -> Fix:
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
        template_id = (
            parse_uuid(new.script_template_id, "script_template_id")
            if new.script_template_id is not None
            else None
        )
        principal.require_writer()
        now = self._clock()
        async with self._uow.transaction() as repo:
            session = await repo.lock_session(Scope.of(principal), parsed)
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
            )
            added = await repo.add_fix(fix, session, actor=principal.user_id, now=now)
        metrics.fix_proposed(added)
        return added

    async def get_fix(self, principal: Principal, session_id: str, fix_id: str) -> Fix:
        ids = _ids(session_id, fix_id)
        async with self._uow.autocommit() as repo:
            fix = await repo.get_fix(Scope.of(principal), *ids)
        if fix is None:
            raise fix_not_found()
        return fix

    async def list_fixes(
        self, principal: Principal, session_id: str, page_size: int, page_token: str
    ) -> Page[Fix]:
        parsed = parse_uuid(session_id, "session_id")
        size = paging.page_size(page_size, default=50, maximum=100)
        parent = str(parsed)
        after = paging.decode_keyset(page_token, "suggested_fixes", parent)
        async with self._uow.autocommit() as repo:
            rows = await repo.list_fixes(Scope.of(principal), parsed, size + 1, after)
        return Page.cut(
            rows, size, lambda last: paging.encode_keyset("suggested_fixes", parent, _keyset(last))
        )

    async def list_events(
        self, principal: Principal, session_id: str, fix_id: str, page_size: int, page_token: str
    ) -> Page[FixEvent]:
        parsed_session, parsed_fix = _ids(session_id, fix_id)
        size = paging.page_size(page_size, default=100, maximum=500)
        parent = str(parsed_fix)
        after = paging.decode_id(page_token, "fix_events", parent)
        async with self._uow.autocommit() as repo:
            rows = await repo.list_events(
                Scope.of(principal), parsed_session, parsed_fix, size + 1, after
            )
        return Page.cut(rows, size, lambda last: paging.encode_id("fix_events", parent, last.id))

    async def update_script(
        self,
        principal: Principal,
        session_id: str,
        fix_id: str,
        *,
        script: str,
        parameters: Any,
    ) -> Fix:
        ids = _ids(session_id, fix_id)
        checked_script = valid.script(script)
        checked_parameters = valid.parameters(parameters) if parameters is not None else None
        return await self._change_fix(
            principal,
            ids,
            model.update_script,
            script=checked_script,
            parameters=checked_parameters,
        )

    async def apply(self, principal: Principal, session_id: str, fix_id: str) -> Fix:
        return await self._change_fix(principal, _ids(session_id, fix_id), model.apply)

    async def record_script_decision(
        self, principal: Principal, session_id: str, fix_id: str, decision: ScriptDecision
    ) -> Fix:
        return await self._change_fix(
            principal, _ids(session_id, fix_id), model.record_script_decision, decision=decision
        )

    async def record_outcome(
        self,
        principal: Principal,
        session_id: str,
        fix_id: str,
        *,
        outcome: Outcome,
        notes: str,
    ) -> Fix:
        ids = _ids(session_id, fix_id)
        checked_notes = valid.optional_text(notes, "notes", valid.MAX_NOTES_CHARS)
        if outcome is Outcome.APPLIED_PARTIAL and not checked_notes:
            # Bad input: refuse before touching the database (the rule says so too).
            raise InvalidArgument(
                "notes are required for applied_partial", field="notes", reason="NOTES_REQUIRED"
            )
        return await self._change_fix(
            principal, ids, model.record_outcome, outcome=outcome, notes=checked_notes
        )

    async def dismiss(self, principal: Principal, session_id: str, fix_id: str) -> Fix:
        return await self._change_fix(principal, _ids(session_id, fix_id), model.dismiss)

    async def propose_outcome(
        self,
        principal: Principal,
        session_id: str,
        fix_id: str,
        *,
        outcome: Outcome,
        rationale: str,
    ) -> Fix:
        ids = _ids(session_id, fix_id)
        checked = check_text(rationale.strip(), "rationale", max_len=valid.MAX_NOTES_CHARS)
        return await self._change_fix(
            principal, ids, model.propose_outcome, outcome=outcome, rationale=checked
        )

    async def clear_outcome_proposal(
        self, principal: Principal, session_id: str, fix_id: str
    ) -> Fix:
        return await self._change_fix(
            principal, _ids(session_id, fix_id), model.clear_outcome_proposal
        )

    async def _change_fix(
        self,
        principal: Principal,
        ids: tuple[UUID, UUID],
        action: FixAction,
        **arguments: Any,
    ) -> Fix:
        """Runs a lifecycle `action` on the fix as it is and writes its change.

        The hot path: read, decide, compare-and-swap, in an autocommit unit (no
        BEGIN/COMMIT). A writer that keeps losing the swap takes row locks in
        a transaction instead, where it cannot lose.
        """
        principal.require_writer()
        now = self._clock()
        scope, actor = Scope.of(principal), principal.user_id
        async with self._uow.autocommit() as repo:
            for _ in range(OPTIMISTIC_ATTEMPTS):
                seen = await repo.read_fix(scope, *ids)
                change = action(seen.fix, session_status=seen.session_status, now=now, **arguments)
                if change is None:
                    return seen.fix
                if await repo.compare_and_swap(seen, change, actor=actor, now=now):
                    metrics.fix_changed(change)
                    return change.after
        async with self._uow.transaction() as repo:
            seen = await repo.lock_fix(scope, *ids)
            change = action(seen.fix, session_status=seen.session_status, now=now, **arguments)
            if change is None:
                return seen.fix
            await repo.write_locked(seen, change, actor=actor, now=now)
        metrics.fix_changed(change)
        return change.after

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


def _ids(session_id: str, fix_id: str) -> tuple[UUID, UUID]:
    return parse_uuid(session_id, "session_id"), parse_uuid(fix_id, "fix_id")


def _keyset(row: AiSession | Fix) -> Keyset:
    return Keyset(created_at=row.created_at, id=row.id)
