"""The gRPC client of the fixes service.

Calls made for a user forward that user's own token (never a service
super-token), carry a deadline, and ride a channel whose retry policy retries
UNAVAILABLE only, within that deadline. Every call waits for the channel to be
connected (`wait_for_ready`), within that same deadline: a call made while the
fixes service restarts, or before this process first reached it, succeeds once
it is back instead of failing at once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import field_mask_pb2, json_format

from flowpilot.api.v1 import types_pb2
from flowpilot.fixes.v1 import fixes_pb2, fixes_pb2_grpc
from flowpilot.kernel import ScriptLanguage
from flowpilot.runtime.context import outgoing_metadata
from flowpilot.runtime.errors import NotFound, Unauthenticated, Unavailable
from flowpilot.runtime.grpc_errors import error_info, relayed_error, status_from_metadata
from flowpilot.runtime.kernel_proto import parameter_out, provenance_in
from flowpilot.runtime.proto_enums import ProtoEnum
from flowpilot.runtime.server import open_channel, retry_service_config
from scriptbuilder_service.domain.drafting import FixContext
from scriptbuilder_service.domain.submission import Submission, Submitted

log = logging.getLogger("flowpilot.scriptbuilder.fixes_client")

FIXES_SERVICE = "flowpilot.fixes.v1.FixesService"
# Every method this client calls is a read or idempotent: safe to retry.
RETRIED_METHODS = (
    f"{FIXES_SERVICE}/CheckAiSessionAccess",
    f"{FIXES_SERVICE}/ListSuggestedFixes",
    f"{FIXES_SERVICE}/ListPendingTemplateProposals",
    f"{FIXES_SERVICE}/AckTemplateProposal",
    # The same script, values and basis again is a no-op there.
    f"{FIXES_SERVICE}/UpdateFixScript",
)

LANGUAGE = ProtoEnum(ScriptLanguage, types_pb2.ScriptLanguage)
# The fixes service's reason for a fix that is not one of the AI session's.
FIX_NOT_FOUND = "FIX_NOT_FOUND"


@dataclass(frozen=True, slots=True)
class AiSessionAccess:
    ai_session_id: str
    account_id: str
    owner_user_id: str
    # The fix the check named, confirmed to belong to the AI session.
    fix: FixContext | None = None


@dataclass(frozen=True, slots=True)
class Proposal:
    """A `draft_template` decision waiting to become a draft template."""

    id: str
    fix_id: str
    account_id: str
    requested_by_user_id: str
    title: str
    description: str
    language: ScriptLanguage | None
    script: str
    parameters: Mapping[str, Any]


class FixesClient:
    def __init__(self, target: str, *, timeout_seconds: float) -> None:
        self._channel = open_channel(
            target,
            service_config=retry_service_config([FIXES_SERVICE], methods=RETRIED_METHODS),
        )
        self._stub = fixes_pb2_grpc.FixesServiceStub(self._channel)
        self._timeout = timeout_seconds

    @property
    def channel(self) -> grpc.aio.Channel:
        return self._channel

    async def close(self) -> None:
        await self._channel.close()

    async def check_access(
        self, token: str, ai_session_id: uuid.UUID, fix_id: uuid.UUID | None = None
    ) -> AiSessionAccess:
        """OK, or NotFound (absent, not the caller's, another account's; with
        `fix_id`, also a fix that is not one of that AI session's), or
        Unavailable (down, or no answer within the deadline)."""
        request = fixes_pb2.CheckAiSessionAccessRequest(ai_session_id=str(ai_session_id))
        if fix_id is not None:
            request.fix_id = str(fix_id)
        try:
            reply = await self._stub.CheckAiSessionAccess(
                request,
                metadata=outgoing_metadata(token),
                timeout=self._timeout,
                wait_for_ready=True,
            )
        except grpc.aio.AioRpcError as exc:
            raise _translate(exc, ai_session_id, fix_id) from exc
        return AiSessionAccess(
            ai_session_id=reply.ai_session_id,
            account_id=reply.account_id,
            owner_user_id=reply.owner_user_id,
            fix=_fix_context(reply.fix) if reply.HasField("fix") else None,
        )

    async def only_fix_needing_script(
        self, token: str, ai_session_id: uuid.UUID
    ) -> FixContext | None:
        """For a client that names no fix: the one fix of the AI session that
        needs a script, when there is exactly one (with two, guessing drafted
        for the wrong one). Best effort: drafting works without it."""
        try:
            reply = await self._stub.ListSuggestedFixes(
                fixes_pb2.ListSuggestedFixesRequest(session_id=str(ai_session_id), page_size=100),
                metadata=outgoing_metadata(token),
                timeout=self._timeout,
                wait_for_ready=True,
            )
        except grpc.aio.AioRpcError as exc:
            log.info("no fix context for %s: %s", ai_session_id, exc.code().name)
            return None
        needing = [f for f in reply.suggested_fixes if f.needs_script]
        return _fix_context(needing[0]) if len(needing) == 1 else None

    async def submit_script(
        self,
        token: str,
        *,
        ai_session_id: uuid.UUID,
        fix_id: uuid.UUID,
        submission: Submission,
        etag: str,
    ) -> Submitted:
        """The fix's drafted script becomes the submission's, with its basis
        (UpdateFixScript, as the caller). The fixes service's refusals (404,
        409, 412, 400) are passed on as they are."""
        basis = submission.basis
        request = fixes_pb2.UpdateFixScriptRequest(
            session_id=str(ai_session_id),
            fix_id=str(fix_id),
            ai_drafted_script=submission.script,
            script_parameters=[parameter_out(p) for p in submission.script_parameters],
            etag=etag,
            update_mask=field_mask_pb2.FieldMask(
                paths=["ai_drafted_script", "ai_drafted_parameters", "script_parameters"]
            ),
            basis=fixes_pb2.DraftBasis(
                ai_script=basis.ai_script,
                recipe_id=basis.recipe_id,
                script_builder_session_id=(
                    str(basis.script_builder_session_id)
                    if basis.script_builder_session_id
                    else None
                ),
                ai_message_id=str(basis.ai_message_id) if basis.ai_message_id else None,
            ),
        )
        if submission.values is not None:
            request.ai_drafted_parameters.update(submission.values)
        try:
            fix = await self._stub.UpdateFixScript(
                request,
                metadata=outgoing_metadata(token),
                timeout=self._timeout,
                wait_for_ready=True,
            )
        except grpc.aio.AioRpcError as exc:
            relayed = relayed_error(exc)
            if relayed is not None:
                raise relayed from exc
            raise _translate(exc, ai_session_id) from exc
        return Submitted(
            fix_id=fix.id,
            ai_session_id=fix.ai_session_id,
            script=fix.ai_drafted_script,
            provenance=provenance_in(fix.provenance) if fix.HasField("provenance") else None,
            etag=fix.etag,
        )

    async def pending_proposals(self, token: str, page_size: int = 50) -> list[Proposal]:
        try:
            reply = await self._stub.ListPendingTemplateProposals(
                fixes_pb2.ListPendingTemplateProposalsRequest(page_size=page_size),
                metadata=outgoing_metadata(token),
                timeout=self._timeout,
                wait_for_ready=True,
            )
        except grpc.aio.AioRpcError as exc:
            raise _translate(exc, None) from exc
        return [
            Proposal(
                id=p.id,
                fix_id=p.fix_id,
                account_id=p.account_id,
                requested_by_user_id=p.requested_by_user_id,
                title=p.title,
                description=p.description,
                language=LANGUAGE.get(p.language),
                script=p.script,
                parameters=json_format.MessageToDict(p.parameters),
            )
            for p in reply.proposals
        ]

    async def ack_proposal(self, token: str, proposal_id: str, template_id: uuid.UUID) -> None:
        try:
            await self._stub.AckTemplateProposal(
                fixes_pb2.AckTemplateProposalRequest(
                    proposal_id=proposal_id, template_id=str(template_id)
                ),
                metadata=outgoing_metadata(token),
                timeout=self._timeout,
                wait_for_ready=True,
            )
        except grpc.aio.AioRpcError as exc:
            raise _translate(exc, None) from exc


def _fix_context(fix: fixes_pb2.SuggestedFix) -> FixContext:
    return FixContext(
        fix_id=fix.id,
        title=fix.title,
        description=fix.description,
        language=LANGUAGE.get(fix.script_language),
    )


def _translate(
    exc: grpc.aio.AioRpcError, ai_session_id: uuid.UUID | None, fix_id: uuid.UUID | None = None
) -> Exception:
    code = exc.code()
    if code is grpc.StatusCode.NOT_FOUND:
        info = error_info(status_from_metadata(exc.trailing_metadata()))
        if fix_id is not None and info is not None and info.reason == FIX_NOT_FOUND:
            return NotFound(
                FIX_NOT_FOUND,
                "no such suggested fix in this AI session",
                metadata={"ai_session_id": str(ai_session_id), "fix_id": str(fix_id)},
            )
        return NotFound(
            "AI_SESSION_NOT_FOUND",
            "AI session not found",
            metadata={"ai_session_id": str(ai_session_id)} if ai_session_id else None,
        )
    if code is grpc.StatusCode.UNAUTHENTICATED:
        return Unauthenticated("the fixes service refused the token", reason="TOKEN_REFUSED")
    # Down, too slow, or failing: to our caller it is a dependency that is not
    # available right now, and nothing was written.
    return Unavailable(
        "FIXES_SERVICE_UNAVAILABLE",
        f"the fixes service is not available ({code.name})",
        metadata={"upstream_code": code.name},
    )
