"""The template-proposal relay: `draft_template` decisions become draft templates.

The fixes service writes a proposal row in the decision's own transaction (an
outbox), so a decision cannot be lost. This relay polls the pending proposals,
creates the fix's draft template idempotently (unique `source_fix_id`), and
only then acknowledges. A crash before the ack means the proposal comes back
and finds its template; a crash before the relay ran means the proposal waits.
Several replicas may run it at once: the unique key keeps one template per fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from flowpilot.runtime.auth import service_token
from flowpilot.runtime.errors import DomainError
from flowpilot.runtime.settings import Settings
from flowpilot.runtime.uow import UnitOfWork
from flowpilot.runtime.validation import parse_uuid
from scriptbuilder_service import metrics
from scriptbuilder_service.adapters.fixes_client import FixesClient, Proposal
from scriptbuilder_service.adapters.repository import ScriptBuilderRepository
from scriptbuilder_service.domain.templates import draft_from_fix

log = logging.getLogger("flowpilot.scriptbuilder.relay")


class ProposalRelay:
    def __init__(
        self,
        uow: UnitOfWork[ScriptBuilderRepository],
        fixes: FixesClient,
        settings: Settings,
        *,
        batch: int = 50,
    ) -> None:
        self._uow = uow
        self._fixes = fixes
        self._settings = settings
        self._batch = batch
        self._task: asyncio.Task[None] | None = None

    async def materialise(self, proposal: Proposal) -> uuid.UUID:
        """The proposal's draft template, created on first sight."""
        fix_id = parse_uuid(proposal.fix_id, "fix_id")
        new = draft_from_fix(
            fix_id=proposal.fix_id,
            title=proposal.title,
            description=proposal.description,
            language=proposal.language,
            script=proposal.script,
            drafted_parameters=proposal.parameters,
        )
        async with self._uow.transaction() as repo:
            template_id, created = await repo.insert_fix_draft(
                new,
                account_id=proposal.account_id,
                user_id=proposal.requested_by_user_id,
                fix_id=fix_id,
            )
        log.info(
            "draft template %s for fix %s",
            "created" if created else "found",
            proposal.fix_id,
            extra={"template_id": str(template_id), "proposal_id": proposal.id},
        )
        return template_id

    async def ack(self, token: str, proposal: Proposal, template_id: uuid.UUID) -> None:
        await self._fixes.ack_proposal(token, proposal.id, template_id)

    async def run_once(self) -> int:
        """One poll: every pending proposal turned into a template and acked.
        Returns how many were acknowledged."""
        token = service_token(self._settings, "scriptbuilder")
        proposals = await self._fixes.pending_proposals(token, self._batch)
        metrics.relay_polled([p.created_at for p in proposals])
        done = 0
        for proposal in proposals:
            try:
                template_id = await self.materialise(proposal)
                await self.ack(token, proposal, template_id)
            except DomainError as exc:
                # Left pending; the next poll tries again.
                metrics.RELAY_FAILURES.inc()
                log.warning("proposal %s not relayed: %r", proposal.id, exc)
                continue
            metrics.proposal_relayed(proposal.created_at)
            done += 1
        return done

    async def _loop(self) -> None:
        interval = self._settings.template_proposal_poll_seconds
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except DomainError as exc:
                metrics.RELAY_FAILURES.inc()
                log.info("proposal relay: %r", exc)
            except Exception:
                metrics.RELAY_FAILURES.inc()
                log.exception("proposal relay poll failed")
            await asyncio.sleep(interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="template-proposal-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
