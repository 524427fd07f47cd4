"""The gRPC surface: proto in, validated domain values to the use cases, proto out.

Nothing is caught here: `DomainError`s travel to the runtime interceptor, which
turns them into `google.rpc.Status` with an `ErrorInfo`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

import grpc
from google.protobuf import json_format, struct_pb2

from fixes_service.domain import model
from fixes_service.domain import validation as valid
from fixes_service.service import FixesService, NewFix
from flowpilot.api.v1 import types_pb2
from flowpilot.fixes.v1 import fixes_pb2 as pb
from flowpilot.fixes.v1 import fixes_pb2_grpc
from flowpilot.runtime.context import current_principal
from flowpilot.runtime.errors import InvalidArgument
from flowpilot.runtime.validation import check_text, parse_uuid, required_enum

SERVICE_NAME = "flowpilot.fixes.v1.FixesService"
INTERNAL_METHODS = frozenset(
    {
        f"/{SERVICE_NAME}/ListPendingTemplateProposals",
        f"/{SERVICE_NAME}/AckTemplateProposal",
    }
)

E = TypeVar("E", bound=StrEnum)


def _enum_maps(domain: type[E], proto_enum: Any, prefix: str) -> tuple[dict[E, int], dict[int, E]]:
    to_proto = {member: proto_enum.Value(prefix + member.value.upper()) for member in domain}
    return to_proto, {number: member for member, number in to_proto.items()}


SESSION_STATUS, _ = _enum_maps(model.SessionStatus, pb.AiSessionStatus, "AI_SESSION_STATUS_")
FIX_STATUS, _ = _enum_maps(model.FixStatus, pb.FixStatus, "FIX_STATUS_")
LANGUAGE, LANGUAGE_IN = _enum_maps(
    model.ScriptLanguage, types_pb2.ScriptLanguage, "SCRIPT_LANGUAGE_"
)
OUTCOME, OUTCOME_IN = _enum_maps(model.Outcome, pb.FixOutcome, "FIX_OUTCOME_")
DECISION, DECISION_IN = _enum_maps(model.ScriptDecision, pb.ScriptDecision, "SCRIPT_DECISION_")
_, CHOICE_IN = _enum_maps(model.EscalationChoice, pb.EscalationChoice, "ESCALATION_CHOICE_")
BANNER, _ = _enum_maps(model.BannerMode, pb.BannerMode, "BANNER_MODE_")
ROUTE, _ = _enum_maps(model.ApplyRoute, pb.ApplyRoute, "APPLY_ROUTE_")
ACTION, _ = _enum_maps(model.FixEventAction, pb.FixEventAction, "FIX_EVENT_ACTION_")


def _struct_in(message: struct_pb2.Struct, field: str) -> dict[str, Any]:
    return valid.parameters(json_format.MessageToDict(message), field)


# --- domain -> proto ---------------------------------------------------------------


def session_out(session: model.AiSession) -> pb.AiSession:
    return pb.AiSession(
        id=str(session.id),
        owner_user_id=session.owner_user_id,
        account_id=session.account_id,
        title=session.title,
        status=SESSION_STATUS[session.status],
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
        script_language=LANGUAGE[fix.script_language],
        status=FIX_STATUS[fix.status],
        created_at=fix.created_at,
        updated_at=fix.updated_at,
        banner_mode=BANNER[fix.banner_mode],
        apply_route=ROUTE[fix.apply_route],
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
        message.ai_outcome_proposal.outcome = OUTCOME[proposal.outcome]
        message.ai_outcome_proposal.rationale = proposal.rationale
        message.ai_outcome_proposal.proposed_at.FromDatetime(proposal.proposed_at)
    if fix.script_decision is not None:
        message.script_decision = DECISION[fix.script_decision]
    return message


def event_out(event: model.FixEvent) -> pb.FixEvent:
    message = pb.FixEvent(
        id=str(event.id),
        fix_id=str(event.fix_id),
        ai_session_id=str(event.ai_session_id),
        actor_user_id=event.actor_user_id,
        action=ACTION[event.action],
        to_status=FIX_STATUS[event.to_status],
        state_version=event.state_version,
        created_at=event.created_at,
    )
    if event.from_status is not None:
        message.from_status = FIX_STATUS[event.from_status]
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
        language=LANGUAGE[proposal.language],
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
        title = valid.title(request.title)
        return session_out(await self._service.create_session(current_principal(), title))

    async def ListAiSessions(
        self, request: pb.ListAiSessionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAiSessionsResponse:
        sessions, token = await self._service.list_sessions(
            current_principal(), request.page_size, request.page_token
        )
        return pb.ListAiSessionsResponse(
            ai_sessions=[session_out(s) for s in sessions], next_page_token=token
        )

    async def GetAiSession(
        self, request: pb.GetAiSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.AiSession:
        session_id = parse_uuid(request.session_id, "session_id")
        return session_out(await self._service.get_session(current_principal(), session_id))

    async def ResolveAiSession(
        self, request: pb.ResolveAiSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.AiSession:
        session_id = parse_uuid(request.session_id, "session_id")
        return session_out(await self._service.resolve(current_principal(), session_id))

    async def EscalateAiSession(
        self, request: pb.EscalateAiSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.AiSession:
        session_id = parse_uuid(request.session_id, "session_id")
        reason = valid.optional_text(request.reason, "reason", valid.MAX_REASON_CHARS)
        if len(request.fix_outcomes) > valid.MAX_ESCALATION_ENTRIES:
            raise InvalidArgument("too many fix_outcomes", field="fix_outcomes")
        entries = [
            model.EscalationEntry(
                fix_id=parse_uuid(entry.fix_id, "fix_outcomes.fix_id"),
                choice=required_enum(entry.choice, CHOICE_IN, "fix_outcomes.choice"),
                notes=valid.optional_text(entry.notes, "fix_outcomes.notes", valid.MAX_NOTES_CHARS),
            )
            for entry in request.fix_outcomes
        ]
        session = await self._service.escalate(
            current_principal(), session_id, reason=reason, entries=entries
        )
        return session_out(session)

    # --- suggested fixes ----------------------------------------------------------

    async def CreateSuggestedFix(
        self, request: pb.CreateSuggestedFixRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        session_id = parse_uuid(request.session_id, "session_id")
        new = NewFix(
            title=valid.title(request.title),
            description=check_text(
                request.description.strip(), "description", max_len=valid.MAX_DESCRIPTION_CHARS
            ),
            script_language=required_enum(request.script_language, LANGUAGE_IN, "script_language"),
            ai_drafted_script=(
                valid.script(request.ai_drafted_script)
                if request.HasField("ai_drafted_script")
                else None
            ),
            ai_drafted_parameters=(
                _struct_in(request.ai_drafted_parameters, "ai_drafted_parameters")
                if request.HasField("ai_drafted_parameters")
                else None
            ),
            script_template_id=(
                parse_uuid(request.script_template_id, "script_template_id")
                if request.HasField("script_template_id")
                else None
            ),
        )
        fix = await self._service.create_fix(current_principal(), session_id, new)
        return fix_out(fix)

    async def ListSuggestedFixes(
        self, request: pb.ListSuggestedFixesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSuggestedFixesResponse:
        session_id = parse_uuid(request.session_id, "session_id")
        fixes, token = await self._service.list_fixes(
            current_principal(), session_id, request.page_size, request.page_token
        )
        return pb.ListSuggestedFixesResponse(
            suggested_fixes=[fix_out(f) for f in fixes], next_page_token=token
        )

    async def GetSuggestedFix(
        self, request: pb.GetSuggestedFixRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        session_id, fix_id = _ids(request)
        return fix_out(await self._service.get_fix(current_principal(), session_id, fix_id))

    async def UpdateFixScript(
        self, request: pb.UpdateFixScriptRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        session_id, fix_id = _ids(request)
        script = valid.script(request.ai_drafted_script)
        parameters = (
            _struct_in(request.ai_drafted_parameters, "ai_drafted_parameters")
            if request.HasField("ai_drafted_parameters")
            else None
        )
        fix = await self._service.update_script(
            current_principal(), session_id, fix_id, script=script, parameters=parameters
        )
        return fix_out(fix)

    async def ApplyFix(
        self, request: pb.ApplyFixRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        session_id, fix_id = _ids(request)
        return fix_out(await self._service.apply(current_principal(), session_id, fix_id))

    async def RecordScriptDecision(
        self, request: pb.RecordScriptDecisionRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        session_id, fix_id = _ids(request)
        decision = required_enum(request.decision, DECISION_IN, "decision")
        fix = await self._service.record_script_decision(
            current_principal(), session_id, fix_id, decision
        )
        return fix_out(fix)

    async def RecordOutcome(
        self, request: pb.RecordOutcomeRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        session_id, fix_id = _ids(request)
        outcome = required_enum(request.outcome, OUTCOME_IN, "outcome")
        notes = valid.optional_text(request.notes, "notes", valid.MAX_NOTES_CHARS)
        fix = await self._service.record_outcome(
            current_principal(), session_id, fix_id, outcome=outcome, notes=notes
        )
        return fix_out(fix)

    async def DismissFix(
        self, request: pb.DismissFixRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        session_id, fix_id = _ids(request)
        return fix_out(await self._service.dismiss(current_principal(), session_id, fix_id))

    async def ProposeOutcome(
        self, request: pb.ProposeOutcomeRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        session_id, fix_id = _ids(request)
        outcome = required_enum(request.outcome, OUTCOME_IN, "outcome")
        rationale = check_text(
            request.rationale.strip(), "rationale", max_len=valid.MAX_NOTES_CHARS
        )
        fix = await self._service.propose_outcome(
            current_principal(), session_id, fix_id, outcome=outcome, rationale=rationale
        )
        return fix_out(fix)

    async def ClearOutcomeProposal(
        self, request: pb.ClearOutcomeProposalRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        session_id, fix_id = _ids(request)
        fix = await self._service.clear_outcome_proposal(current_principal(), session_id, fix_id)
        return fix_out(fix)

    async def ListFixEvents(
        self, request: pb.ListFixEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListFixEventsResponse:
        session_id, fix_id = _ids(request)
        events, token = await self._service.list_events(
            current_principal(), session_id, fix_id, request.page_size, request.page_token
        )
        return pb.ListFixEventsResponse(
            events=[event_out(e) for e in events], next_page_token=token
        )

    # --- for the script-builder service ---------------------------------------------

    async def CheckAiSessionAccess(
        self, request: pb.CheckAiSessionAccessRequest, context: grpc.aio.ServicerContext
    ) -> pb.CheckAiSessionAccessResponse:
        session_id = parse_uuid(request.ai_session_id, "ai_session_id")
        session = await self._service.check_access(current_principal(), session_id)
        return pb.CheckAiSessionAccessResponse(
            ai_session_id=str(session.id),
            account_id=session.account_id,
            owner_user_id=session.owner_user_id,
            status=SESSION_STATUS[session.status],
        )

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
        proposal_id = parse_uuid(request.proposal_id, "proposal_id")
        template_id = parse_uuid(request.template_id, "template_id")
        proposal = await self._service.ack_template_proposal(proposal_id, template_id)
        return proposal_out(proposal)


def _ids(request: Any) -> tuple[Any, Any]:
    return (
        parse_uuid(request.session_id, "session_id"),
        parse_uuid(request.fix_id, "fix_id"),
    )
