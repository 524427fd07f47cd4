"""The gRPC transport: proto in, the use case, proto out, and nothing else.

Requests are decoded to plain values (strings, numbers, JSON, domain enums);
the use cases validate them. An enum number is checked here, where it is
translated: one without a domain value cannot be passed on. Nothing is caught
here: `DomainError`s travel to the runtime interceptor, which turns them into
`google.rpc.Status` with an `ErrorInfo`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2

from fixes_service.domain import analytics, model
from fixes_service.service import (
    BasisRequest,
    EscalationRequest,
    FixesService,
    NewFix,
    ScriptUpdate,
)
from flowpilot.api.v1 import types_pb2
from flowpilot.fixes.v1 import fixes_pb2 as pb
from flowpilot.fixes.v1 import fixes_pb2_grpc
from flowpilot.kernel import ScriptLanguage
from flowpilot.runtime.context import current_principal
from flowpilot.runtime.kernel_proto import (
    parameter_out,
    parameters_in,
    provenance_out,
    timestamp,
)
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
FIX_ACTION = ProtoEnum(model.FixAction, pb.FixAction)
SESSION_ACTION = ProtoEnum(model.AiSessionAction, pb.AiSessionAction)
RUN_KIND = ProtoEnum(model.RunKind, pb.FixRunKind)
RUN_SOURCE = ProtoEnum(model.RunSource, pb.FixRunSource)
CHANGE_KIND = ProtoEnum(model.ChangeKind, pb.AiSessionChangeKind)
DIMENSION = ProtoEnum(analytics.Dimension, pb.OutcomeDimension)


def _time_in(request: Any, field: str) -> datetime | None:
    if not request.HasField(field):
        return None
    return getattr(request, field).ToDatetime(tzinfo=UTC)


def counts_out(counts: analytics.Counts) -> pb.OutcomeCounts:
    message = pb.OutcomeCounts(
        runs=counts.runs,
        success=counts.success,
        failed=counts.failed,
        partial=counts.partial,
        never_applied=counts.never_applied,
        pending=counts.pending,
        decided=counts.decided,
    )
    if counts.success_rate is not None:
        message.success_rate = counts.success_rate
    return message


def durations_out(d: analytics.Durations) -> pb.DurationStats:
    message = pb.DurationStats(samples=d.samples)
    if d.p50_seconds is not None:
        message.p50_seconds = d.p50_seconds
    if d.p90_seconds is not None:
        message.p90_seconds = d.p90_seconds
    return message


def group_out(group: analytics.Group) -> pb.OutcomeGroup:
    message = pb.OutcomeGroup(
        key=group.key,
        counts=counts_out(group.counts),
        proposal_to_run=durations_out(group.proposal_to_run),
        run_to_outcome=durations_out(group.run_to_outcome),
    )
    if group.template_id is not None:
        message.template_id = group.template_id
    if group.template_version is not None:
        message.template_version = group.template_version
    return message


def _json(message: struct_pb2.Struct) -> Any:
    return json_format.MessageToDict(message)


def _optional_json(request: Any, field: str) -> Any:
    """A Struct field's JSON, or None when the request left it unset."""
    return _json(getattr(request, field)) if request.HasField(field) else None


# --- proto -> plain values ---------------------------------------------------------------


def _basis_in(basis: pb.DraftBasis) -> BasisRequest:
    def text(field: str) -> str | None:
        return getattr(basis, field) if basis.HasField(field) else None

    return BasisRequest(
        ai_script=text("ai_script"),
        recipe_id=text("recipe_id"),
        script_builder_session_id=text("script_builder_session_id"),
        ai_message_id=text("ai_message_id"),
    )


# --- domain -> proto ---------------------------------------------------------------


def session_out(view: model.SessionView) -> pb.AiSession:
    session = view.session
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
        etag=model.etag(session.state_version),
        allowed_actions=[SESSION_ACTION.to_proto(a) for a in view.allowed_actions],
        escalation_choices=[
            pb.FixEscalationChoices(
                fix_id=str(fix_id), allowed=[CHOICE.to_proto(c) for c in choices]
            )
            for fix_id, choices in view.escalation_choices
        ],
    )


def run_out(run: model.FixRun, message: pb.FixRun) -> None:
    planned = run.run
    message.id = str(run.id)
    message.kind = RUN_KIND.to_proto(planned.kind)
    message.source = RUN_SOURCE.to_proto(planned.source)
    message.language = LANGUAGE.to_proto(planned.language)
    message.rendered = planned.rendered
    message.declared_by_user_id = planned.declared_by_user_id
    message.declared_at.FromDatetime(planned.declared_at)
    message.state_version = run.state_version
    if planned.script_template_id is not None:
        message.script_template_id = str(planned.script_template_id)
    if planned.script is not None:
        message.script = planned.script
    if planned.parameters is not None:
        message.parameters.update(planned.parameters)
    if planned.script_template_version is not None:
        message.script_template_version = planned.script_template_version
    if planned.provenance is not None:
        message.provenance.CopyFrom(provenance_out(planned.provenance))


def fix_out(view: model.FixView) -> pb.SuggestedFix:
    fix = view.fix
    message = pb.SuggestedFix(
        id=str(fix.id),
        ai_session_id=str(fix.ai_session_id),
        title=fix.title,
        description=fix.description,
        script_language=LANGUAGE.to_proto(fix.script_language),
        status=FIX_STATUS.to_proto(fix.status),
        created_at=timestamp(fix.created_at),
        updated_at=timestamp(fix.updated_at),
        banner_mode=BANNER.to_proto(view.banner_mode),
        apply_route=ROUTE.to_proto(view.apply_route),
        needs_script=view.needs_script,
        etag=model.etag(fix.state_version),
        state_version=fix.state_version,
        allowed_actions=[FIX_ACTION.to_proto(a) for a in view.allowed_actions],
    )
    if fix.ai_drafted_script is not None:
        message.ai_drafted_script = fix.ai_drafted_script
    if fix.ai_drafted_parameters is not None:
        message.ai_drafted_parameters.update(fix.ai_drafted_parameters)
    if fix.script_template_id is not None:
        message.script_template_id = str(fix.script_template_id)
    if fix.applied_at is not None:
        message.applied_at.CopyFrom(timestamp(fix.applied_at))
    if fix.outcome_notes is not None:
        message.outcome_notes = fix.outcome_notes
    if fix.ai_outcome_proposal is not None:
        proposal = fix.ai_outcome_proposal
        message.ai_outcome_proposal.outcome = OUTCOME.to_proto(proposal.outcome)
        message.ai_outcome_proposal.rationale = proposal.rationale
        message.ai_outcome_proposal.proposed_at.FromDatetime(proposal.proposed_at)
    if fix.script_decision is not None:
        message.script_decision = DECISION.to_proto(fix.script_decision)
    if fix.script_parameters:
        message.script_parameters.extend(parameter_out(p) for p in fix.script_parameters)
    if fix.last_run is not None:
        run_out(fix.last_run, message.last_run)
    if fix.script_template_version is not None:
        message.script_template_version = fix.script_template_version
    provenance = fix.provenance
    if provenance is not None:
        message.provenance.CopyFrom(provenance_out(provenance))
    for note in fix.notes_history:
        entry = message.notes_history.add(
            outcome=OUTCOME.to_proto(note.outcome),
            notes=note.notes,
            recorded_by_user_id=note.recorded_by_user_id,
        )
        entry.recorded_at.FromDatetime(note.recorded_at)
    return message


def event_out(event: model.FixEvent) -> pb.FixEvent:
    message = pb.FixEvent(
        id=str(event.id),
        ai_session_id=str(event.ai_session_id),
        actor_user_id=event.actor_user_id,
        action=ACTION.to_proto(event.action),
        state_version=event.state_version,
        created_at=event.created_at,
    )
    if event.fix_id is not None:
        message.fix_id = str(event.fix_id)
    if event.from_status is not None:
        message.from_status = FIX_STATUS.to_proto(event.from_status)
    if event.to_status is not None:
        message.to_status = FIX_STATUS.to_proto(event.to_status)
    message.details.update(event.details)
    if event.run is not None:
        run_out(event.run, message.run)
    return message


def change_out(change: model.WatchedChange) -> pb.AiSessionChange:
    message = pb.AiSessionChange(
        event_id=change.event_id,
        kind=CHANGE_KIND.to_proto(change.kind),
        session=session_out(change.session),
    )
    if change.fix is not None:
        message.fix.CopyFrom(fix_out(change.fix))
    if change.event is not None:
        message.event.CopyFrom(event_out(change.event))
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
        session = await self._service.resolve(
            current_principal(), request.session_id, etag=request.etag
        )
        return session_out(session)

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
            current_principal(),
            request.session_id,
            reason=request.reason,
            entries=entries,
            etag=request.etag,
        )
        return session_out(session)

    async def WatchAiSession(
        self, request: pb.WatchAiSessionRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.AiSessionChange]:
        async def accepted() -> None:
            # Headers now, not with the first change: the gateway answers
            # 200 text/event-stream as soon as the watch is accepted.
            await context.send_initial_metadata(())

        changes = self._service.watch(
            current_principal(), request.session_id, request.last_event_id, accepted=accepted
        )
        async for change in changes:
            yield change_out(change)

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
            ai_drafted_parameters=_optional_json(request, "ai_drafted_parameters"),
            script_template_id=(
                request.script_template_id if request.HasField("script_template_id") else None
            ),
            script_parameters=parameters_in(request.script_parameters, "script_parameters"),
            script_template_version=request.script_template_version,
        )
        fix = await self._service.create_fix(
            current_principal(), request.session_id, new, etag=request.etag
        )
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

    async def RenderSuggestedFix(
        self, request: pb.RenderSuggestedFixRequest, context: grpc.aio.ServicerContext
    ) -> pb.RenderSuggestedFixResponse:
        script, language = await self._service.render_fix(
            current_principal(),
            request.session_id,
            request.fix_id,
            _optional_json(request, "parameters"),
        )
        return pb.RenderSuggestedFixResponse(script=script, language=LANGUAGE.to_proto(language))

    async def UpdateFixScript(
        self, request: pb.UpdateFixScriptRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        update = ScriptUpdate(
            script=request.ai_drafted_script,
            parameters=_optional_json(request, "ai_drafted_parameters"),
            script_parameters=parameters_in(request.script_parameters, "script_parameters"),
            mask=list(request.update_mask.paths) if request.HasField("update_mask") else None,
            basis=_basis_in(request.basis) if request.HasField("basis") else None,
        )
        fix = await self._service.update_script(
            current_principal(), request.session_id, request.fix_id, update, etag=request.etag
        )
        return fix_out(fix)

    async def GetOutcomeAnalytics(
        self, request: pb.GetOutcomeAnalyticsRequest, context: grpc.aio.ServicerContext
    ) -> pb.OutcomeAnalytics:
        report = await self._service.outcome_analytics(
            current_principal(),
            start=_time_in(request, "start_time"),
            end=_time_in(request, "end_time"),
            group_by=DIMENSION.optional(request.group_by, "group_by"),
            page_size=request.page_size,
        )
        message = pb.OutcomeAnalytics(
            totals=counts_out(report.totals.counts),
            proposal_to_run=durations_out(report.totals.proposal_to_run),
            run_to_outcome=durations_out(report.totals.run_to_outcome),
            groups=[group_out(g) for g in report.groups],
            groups_truncated=report.truncated,
        )
        if report.group_by is not None:
            message.group_by = DIMENSION.to_proto(report.group_by)
        message.start_time.FromDatetime(report.window.start)
        message.end_time.FromDatetime(report.window.end)
        return message

    async def GetSuccessRate(
        self, request: pb.GetSuccessRateRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuccessRate:
        window, total, versions = await self._service.success_rate(
            current_principal(),
            template_id=request.template_id if request.HasField("template_id") else None,
            recipe_id=request.recipe_id if request.HasField("recipe_id") else None,
            start=_time_in(request, "start_time"),
            end=_time_in(request, "end_time"),
        )
        message = pb.SuccessRate(
            counts=counts_out(total.counts), versions=[group_out(v) for v in versions]
        )
        if request.HasField("template_id"):
            message.template_id = request.template_id
        if request.HasField("recipe_id"):
            message.recipe_id = request.recipe_id
        message.start_time.FromDatetime(window.start)
        message.end_time.FromDatetime(window.end)
        return message

    async def ApplyFix(
        self, request: pb.ApplyFixRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        fix = await self._service.apply(
            current_principal(),
            request.session_id,
            request.fix_id,
            values=_optional_json(request, "parameters"),
            etag=request.etag,
        )
        return fix_out(fix)

    async def RecordScriptDecision(
        self, request: pb.RecordScriptDecisionRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        fix = await self._service.record_script_decision(
            current_principal(),
            request.session_id,
            request.fix_id,
            DECISION.required(request.decision, "decision"),
            values=_optional_json(request, "parameters"),
            etag=request.etag,
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
            etag=request.etag,
        )
        return fix_out(fix)

    async def DismissFix(
        self, request: pb.DismissFixRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        fix = await self._service.dismiss(
            current_principal(), request.session_id, request.fix_id, etag=request.etag
        )
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
            etag=request.etag,
        )
        return fix_out(fix)

    async def ClearOutcomeProposal(
        self, request: pb.ClearOutcomeProposalRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestedFix:
        fix = await self._service.clear_outcome_proposal(
            current_principal(), request.session_id, request.fix_id, etag=request.etag
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

    async def ListAiSessionEvents(
        self, request: pb.ListAiSessionEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAiSessionEventsResponse:
        page = await self._service.list_session_events(
            current_principal(), request.session_id, request.page_size, request.page_token
        )
        return pb.ListAiSessionEventsResponse(
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
