"""Use cases: who may do what (CONTRACT §2), and which domain rule runs where.

Every mutation first refuses viewers (PERMISSION_DENIED), then runs through the
repository with the caller's `Scope`, so a session outside it is NOT_FOUND
before anything is locked or written. Inputs arrive already validated.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import UUID

from fixes_service import pagination
from fixes_service.adapters.repository import FixesRepository, Page, session_not_found
from fixes_service.domain import model
from fixes_service.domain.access import Scope
from fixes_service.domain.model import (
    AiSession,
    EscalationEntry,
    Fix,
    FixEvent,
    FixStatus,
    Outcome,
    ScriptDecision,
    ScriptLanguage,
    SessionStatus,
    TemplateProposal,
)
from flowpilot.runtime.auth import Principal
from flowpilot.runtime.errors import InvalidArgument

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class NewFix:
    title: str
    description: str
    script_language: ScriptLanguage
    ai_drafted_script: str | None
    ai_drafted_parameters: dict[str, Any] | None
    script_template_id: UUID | None


class FixesService:
    def __init__(self, repository: FixesRepository, clock: Clock = utcnow) -> None:
        self._repo = repository
        self._clock = clock

    # --- AI sessions --------------------------------------------------------------

    async def create_session(self, principal: Principal, title: str) -> AiSession:
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
        return await self._repo.create_session(session)

    async def get_session(self, principal: Principal, session_id: UUID) -> AiSession:
        session = await self._repo.get_session(Scope.of(principal), session_id)
        if session is None:
            raise session_not_found()
        return session

    async def check_access(self, principal: Principal, session_id: UUID) -> AiSession:
        """For the script-builder service: the same visibility as every read."""
        return await self.get_session(principal, session_id)

    async def list_sessions(
        self, principal: Principal, page_size: int, page_token: str
    ) -> tuple[list[AiSession], str]:
        size = pagination.page_size(page_size, default=50, maximum=100)
        # Bind the token to the caller, so it cannot be replayed by someone else.
        parent = f"{principal.account_id}/{principal.user_id}"
        after = pagination.decode_keyset(page_token, "ai_sessions", parent)
        rows = await self._repo.list_sessions(Scope.of(principal), size + 1, after)
        page, more = rows[:size], len(rows) > size
        token = ""
        if more:
            last = page[-1]
            token = pagination.encode_keyset(
                "ai_sessions", parent, Page(created_at=last.created_at, id=last.id)
            )
        return page, token

    async def resolve(self, principal: Principal, session_id: UUID) -> AiSession:
        principal.require_writer()
        now = self._clock()
        return await self._repo.change_session(
            Scope.of(principal),
            session_id,
            actor=principal.user_id,
            now=now,
            rule=lambda session, fixes: model.resolve(session, fixes, now=now),
        )

    async def escalate(
        self,
        principal: Principal,
        session_id: UUID,
        *,
        reason: str | None,
        entries: list[EscalationEntry],
    ) -> AiSession:
        principal.require_writer()
        now = self._clock()
        return await self._repo.change_session(
            Scope.of(principal),
            session_id,
            actor=principal.user_id,
            now=now,
            rule=lambda session, fixes: model.escalate(
                session, fixes, entries, reason=reason, now=now
            ),
        )

    # --- suggested fixes ------------------------------------------------------------

    async def create_fix(self, principal: Principal, session_id: UUID, new: NewFix) -> Fix:
        principal.require_writer()
        now = self._clock()

        def build(session: AiSession) -> Fix:
            # Proposing a fix changes the session: it must still be active.
            model.ensure_session_active(session.status)
            return Fix(
                id=uuid.uuid4(),
                ai_session_id=session.id,
                title=new.title,
                description=new.description,
                script_language=new.script_language,
                status=FixStatus.PROPOSED,
                created_at=now,
                updated_at=now,
                ai_drafted_script=new.ai_drafted_script,
                ai_drafted_parameters=new.ai_drafted_parameters,
                script_template_id=new.script_template_id,
            )

        return await self._repo.create_fix(
            Scope.of(principal), session_id, actor=principal.user_id, now=now, build=build
        )

    async def get_fix(self, principal: Principal, session_id: UUID, fix_id: UUID) -> Fix:
        return await self._repo.get_fix(Scope.of(principal), session_id, fix_id)

    async def list_fixes(
        self, principal: Principal, session_id: UUID, page_size: int, page_token: str
    ) -> tuple[list[Fix], str]:
        size = pagination.page_size(page_size, default=50, maximum=100)
        after = pagination.decode_keyset(page_token, "suggested_fixes", str(session_id))
        rows = await self._repo.list_fixes(Scope.of(principal), session_id, size + 1, after)
        page, more = rows[:size], len(rows) > size
        token = ""
        if more:
            last = page[-1]
            token = pagination.encode_keyset(
                "suggested_fixes", str(session_id), Page(created_at=last.created_at, id=last.id)
            )
        return page, token

    async def list_events(
        self, principal: Principal, session_id: UUID, fix_id: UUID, page_size: int, page_token: str
    ) -> tuple[list[FixEvent], str]:
        size = pagination.page_size(page_size, default=100, maximum=500)
        after = pagination.decode_id(page_token, "fix_events", str(fix_id))
        rows = await self._repo.list_events(
            Scope.of(principal), session_id, fix_id, size + 1, after
        )
        page, more = rows[:size], len(rows) > size
        token = pagination.encode_id("fix_events", str(fix_id), page[-1].id) if more else ""
        return page, token

    async def _mutate(
        self,
        principal: Principal,
        session_id: UUID,
        fix_id: UUID,
        action: Callable[..., model.FixChange | None],
        **arguments: Any,
    ) -> Fix:
        principal.require_writer()
        now = self._clock()
        rule = partial(_run_rule, action, now=now, arguments=arguments)
        return await self._repo.mutate_fix(
            Scope.of(principal), session_id, fix_id, actor=principal.user_id, now=now, rule=rule
        )

    async def update_script(
        self,
        principal: Principal,
        session_id: UUID,
        fix_id: UUID,
        *,
        script: str,
        parameters: dict[str, Any] | None,
    ) -> Fix:
        return await self._mutate(
            principal,
            session_id,
            fix_id,
            model.update_script,
            script=script,
            parameters=parameters,
        )

    async def apply(self, principal: Principal, session_id: UUID, fix_id: UUID) -> Fix:
        return await self._mutate(principal, session_id, fix_id, model.apply)

    async def record_script_decision(
        self, principal: Principal, session_id: UUID, fix_id: UUID, decision: ScriptDecision
    ) -> Fix:
        return await self._mutate(
            principal, session_id, fix_id, model.record_script_decision, decision=decision
        )

    async def record_outcome(
        self,
        principal: Principal,
        session_id: UUID,
        fix_id: UUID,
        *,
        outcome: Outcome,
        notes: str | None,
    ) -> Fix:
        if outcome is Outcome.APPLIED_PARTIAL and not notes:
            # Bad input: refuse before touching the database.
            raise InvalidArgument(
                "notes are required for applied_partial", field="notes", reason="NOTES_REQUIRED"
            )
        return await self._mutate(
            principal, session_id, fix_id, model.record_outcome, outcome=outcome, notes=notes
        )

    async def dismiss(self, principal: Principal, session_id: UUID, fix_id: UUID) -> Fix:
        return await self._mutate(principal, session_id, fix_id, model.dismiss)

    async def propose_outcome(
        self,
        principal: Principal,
        session_id: UUID,
        fix_id: UUID,
        *,
        outcome: Outcome,
        rationale: str,
    ) -> Fix:
        return await self._mutate(
            principal,
            session_id,
            fix_id,
            model.propose_outcome,
            outcome=outcome,
            rationale=rationale,
        )

    async def clear_outcome_proposal(
        self, principal: Principal, session_id: UUID, fix_id: UUID
    ) -> Fix:
        return await self._mutate(principal, session_id, fix_id, model.clear_outcome_proposal)

    # --- template-proposal outbox (internal, role `service`) -------------------

    async def pending_template_proposals(self, page_size: int) -> list[TemplateProposal]:
        size = pagination.page_size(page_size, default=50, maximum=100)
        return await self._repo.pending_proposals(size)

    async def ack_template_proposal(self, proposal_id: UUID, template_id: UUID) -> TemplateProposal:
        return await self._repo.ack_proposal(proposal_id, template_id, self._clock())


def _run_rule(
    action: Callable[..., model.FixChange | None],
    session_status: SessionStatus,
    fix: Fix,
    *,
    now: datetime,
    arguments: dict[str, Any],
) -> model.FixChange | None:
    return action(fix, session_status=session_status, now=now, **arguments)
