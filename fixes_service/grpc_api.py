"""The gRPC transport: proto in, the use case, proto out, and nothing else.

Requests are decoded to plain values (strings, numbers, JSON, domain enums);
the use cases validate them. An enum number is checked here, where it is
translated: one without a domain value cannot be passed on. Nothing is caught
here: `DomainError`s travel to the runtime interceptor, which turns them into
`google.rpc.Status` with an `ErrorInfo`.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2

from fixes_service.domain import model
from fixes_service.service import EscalationRequest, FixesService, NewFix
from flowpilot.api.v1 import types_pb2
from flowpilot.fixes.v1 import fixes_pb2 as pb
from flowpilot.fixes.v1 import fixes_pb2_grpc
from flowpilot.kernel import ScriptLanguage
from flowpilot.runtime.context import current_principal
from flowpilot.runtime.proto_enums import ProtoEnum

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["FixesService"].full_name
INTERNAL_METHODS = frozenset(
    {
        f"/{SERVICE_NAME}/ListPendingTemplateProposals",
        f"/{SERVICE_NAME}/AckTemplateProposal",
    }
)

SESSION_STATUS = ProtoEnum(model.SessionStatus, pb.AiSessionStatus)
FIX_STATUS = ProtoEnum(model.FixStatus, pb.FixStatus)
LANGUAGE = ProtoEnum(ScriptLanguage, types_pb2.ScriptLanguage)
OUTCOME = ProtoEnum(model.Outcome, pb.FixOutcome)
DECISION = ProtoEnum(model.ScriptDecision, pb.ScriptDecision)
CHOICE = ProtoEnum(model.EscalationChoice, pb.EscalationChoice)
BANNER = ProtoEnum(model.BannerMode, pb.BannerMode)
ROUTE = ProtoEnum(model.ApplyRoute, pb.ApplyRoute)
ACTION = ProtoEnum(model.FixEventAction, pb.FixEventAction)


def _json(message: struct_pb2.Struct) -> Any:
    return json_format.MessageToDict(message)


# --- domain -> proto ---------------------------------------------------------------


def session_out(session: model.AiSession) -> pb.AiSession:
    return pb.AiSession(
        id=str(session.id),
        owner_user_id=session.owner_user_id,
        account_id=session.account_id,
        title=session.title,
        status=SESSION_STATUS.to_proto(session.status),
        state_version=session.state_version,
        created_at=session.created_at,
        updated_at=session.updated_at,
        escalation_reason=session.escalation_reason,
    )


def fix_out(fix: model.Fix) -> pb.SuggestedFix:
    message = pb.SuggestedFix(
        id=str(fix.id),
        ai_session_id=str(fix.ai_session_id),
        title=fix.title,
        description=fix.description,
        script_language=LANGUAGE.to_proto(fix.script_language),
        status=FIX_STATUS.to_proto(fix.status),
        created_at=fix.created_at,
        updated_at=fix.updated_at,
        banner_mode=BANNER.to_proto(fix.banner_mode),
        apply_route=ROUTE.to_proto(fix.apply_route),
        needs_script=fix.needs_script,
    )
    if fix.ai_drafted_script is not None:
        message.ai_drafted_script = fix.ai_drafted_script
    if fix.ai_drafted_parameters is not None:
        message.ai_drafted_parameters.update(fix.ai_drafted_parameters)
    if fix.script_template_id is not None:
        message.script_template_id = str(fix.script_template_id)
    if fix.applied_at is not None:
        message.applied_at.FromDatetime(fix.applied_at)
    if fix.outcome_notes is not None:
        message.outcome_notes = fix.outcome_notes
    if fix.ai_outcome_proposal is not None:
        proposal = fix.ai_outcome_proposal
        message.ai_outcome_proposal.outcome = OUTCOME.to_proto(proposal.outcome)
        message.ai_outcome_proposal.rationale = proposal.rationale
        message.ai_outcome_proposal.proposed_at.FromDatetime(proposal.proposed_at)
    if fix.script_decision is not None:
        message.script_decision = DECISION.to_proto(fix.script_decision)
    return message


def event_out(event: model.FixEvent) -> pb.FixEvent:
    message = pb.FixEvent(
        id=str(event.id),
        fix_id=str(event.fix_id),
        ai_session_id=str(event.ai_session_id),
        actor_user_id=event.actor_user_id,
        action=ACTION.to_proto(event.action),
        to_status=FIX_STATUS.to_proto(event.to_status),
        state_version=event.state_version,
        created_at=event.created_at,
    )
    if event.from_status is not None:
        message.from_status = FIX_STATUS.to_proto(event.from_status)
    message.details.update(event.details)
    return message


def proposal_out(proposal: model.TemplateProposal) -> pb.TemplateProposal:
    message = pb.TemplateProposal(
        id=str(proposal.id),
        fix_id=str(proposal.fix_id),
        ai_session_id=str(proposal.ai_session_id),
        account_id=proposal.account_id,
        requested_by_user_id=proposal.requested_by_user_id,
        title=proposal.title,
        description=proposal.description,
        language=LANGUAGE.to_proto(proposal.language),
        script=proposal.script,
        created_at=proposal.created_at,
    )
    if proposal.parameters is not None:
        message.parameters.update(proposal.parameters)
    if proposal.template_id is not None:
        message.template_id = str(proposal.template_id)
    return message


class FixesServicer(fixes_pb2_grpc.FixesServiceServicer):
    def __init__(self, service: FixesService) -> None:
        self._service = service

    # --- AI sessions ------------------------------------------------------------

    async def CreateAiSession(
        self, request: pb.CreateAiSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.AiSession:
        return session_out(await self._service.create_session(current_principal(), request.title))

    async def ListAiSessions(
        self, request: pb.ListAiSessionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAiSessionsResponse:
        page = await self._service.list_sessions(
            current_principal(), request.page_size, request.page_token
        )
        return pb.ListAiSessionsResponse(
            ai_sessions=[session_out(s) for s in page.items], next_page_token=page.next_page_token
        )

    async def GetAiSession(
        self, request: pb.GetAiSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.AiSession:
        return session_out(await self._service.get_session(current_principal(), request.session_id))

    async def ResolveAiSession(
        self, request: pb.ResolveAiSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.AiSession:
        return session_out(await self._service.resolve(current_principal(), request.session_id))

    async def EscalateAiSession(
        self, request: pb.EscalateAiSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.AiSession:
        entries = [
            EscalationRequest(
                fix_id=entry.fix_id,
                choice=CHOICE.required(entry.choice, "fix_outcomes.choice"),
                notes=entry.notes,
            )
            for entry in request.fix_outcomes
        ]
        session = await self._service.escalate(
            current_principal(), request.session_id, reason=request.reason, entries=entries
        )
        return session_out(session)

    # --- suggested fixes ----------------------------------------------------------

    async def CreateSuggestedFix(
        self, request: pb.CreateSuggestedFixRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        new = NewFix(
            title=request.title,
            description=request.description,
            script_language=LANGUAGE.required(request.script_language, "script_language"),
            ai_drafted_script=(
                request.ai_drafted_script if request.HasField("ai_drafted_script") else None
            ),
            ai_drafted_parameters=(
                _json(request.ai_drafted_parameters)
                if request.HasField("ai_drafted_parameters")
                else None
            ),
            script_template_id=(
                request.script_template_id if request.HasField("script_template_id") else None
            ),
        )
        fix = await self._service.create_fix(current_principal(), request.session_id, new)
        return fix_out(fix)

    async def ListSuggestedFixes(
        self, request: pb.ListSuggestedFixesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSuggestedFixesResponse:
        page = await self._service.list_fixes(
            current_principal(), request.session_id, request.page_size, request.page_token
        )
        return pb.ListSuggestedFixesResponse(
            suggested_fixes=[fix_out(f) for f in page.items],
            next_page_token=page.next_page_token,
        )

    async def GetSuggestedFix(
        self, request: pb.GetSuggestedFixRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        fix = await self._service.get_fix(current_principal(), request.session_id, request.fix_id)
        return fix_out(fix)

    async def UpdateFixScript(
        self, request: pb.UpdateFixScriptRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        fix = await self._service.update_script(
            current_principal(),
            request.session_id,
            request.fix_id,
            script=request.ai_drafted_script,
            parameters=(
                _json(request.ai_drafted_parameters)
                if request.HasField("ai_drafted_parameters")
                else None
            ),
        )
        return fix_out(fix)

    async def ApplyFix(
        self, request: pb.ApplyFixRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        fix = await self._service.apply(current_principal(), request.session_id, request.fix_id)
        return fix_out(fix)

    async def RecordScriptDecision(
        self, request: pb.RecordScriptDecisionRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        fix = await self._service.record_script_decision(
            current_principal(),
            request.session_id,
            request.fix_id,
            DECISION.required(request.decision, "decision"),
        )
        return fix_out(fix)

    async def RecordOutcome(
        self, request: pb.RecordOutcomeRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        fix = await self._service.record_outcome(
            current_principal(),
            request.session_id,
            request.fix_id,
            outcome=OUTCOME.required(request.outcome, "outcome"),
            notes=request.notes,
        )
        return fix_out(fix)

    async def DismissFix(
        self, request: pb.DismissFixRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        fix = await self._service.dismiss(current_principal(), request.session_id, request.fix_id)
        return fix_out(fix)

    async def ProposeOutcome(
        self, request: pb.ProposeOutcomeRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        fix = await self._service.propose_outcome(
            current_principal(),
            request.session_id,
            request.fix_id,
            outcome=OUTCOME.required(request.outcome, "outcome"),
            rationale=request.rationale,
        )
        return fix_out(fix)

    async def ClearOutcomeProposal(
        self, request: pb.ClearOutcomeProposalRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        fix = await self._service.clear_outcome_proposal(
            current_principal(), request.session_id, request.fix_id
        )
        return fix_out(fix)

    async def ListFixEvents(
        self, request: pb.ListFixEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListFixEventsResponse:
        page = await self._service.list_events(
            current_principal(),
            request.session_id,
            request.fix_id,
            request.page_size,
            request.page_token,
        )
        return pb.ListFixEventsResponse(
            events=[event_out(e) for e in page.items], next_page_token=page.next_page_token
        )

    # --- for the script-builder service ---------------------------------------------

    async def CheckAiSessionAccess(
        self, request: pb.CheckAiSessionAccessRequest, context: grpc.aio.ServicerContext
    ) -> pb.CheckAiSessionAccessResponse:
        session, fix = await self._service.check_access(
            current_principal(), request.ai_session_id, request.fix_id
        )
        response = pb.CheckAiSessionAccessResponse(
            ai_session_id=str(session.id),
            account_id=session.account_id,
            owner_user_id=session.owner_user_id,
            status=SESSION_STATUS.to_proto(session.status),
        )
        if fix is not None:
            response.fix.CopyFrom(fix_out(fix))
        return response

    async def ListPendingTemplateProposals(
        self, request: pb.ListPendingTemplateProposalsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPendingTemplateProposalsResponse:
        proposals = await self._service.pending_template_proposals(request.page_size)
        return pb.ListPendingTemplateProposalsResponse(
            proposals=[proposal_out(p) for p in proposals]
        )

    async def AckTemplateProposal(
        self, request: pb.AckTemplateProposalRequest, context: grpc.aio.ServicerContext
    ) -> pb.TemplateProposal:
        proposal = await self._service.ack_template_proposal(
            request.proposal_id, request.template_id
        )
        return proposal_out(proposal)
