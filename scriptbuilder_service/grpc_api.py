"""The gRPC transport: proto in, the use case, proto out, and nothing else.

Requests are decoded to plain values (strings, numbers, JSON, domain enums);
the use cases validate them. An enum number is checked here, where it is
translated: one without a domain value cannot be passed on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from google.protobuf import empty_pb2, json_format

from flowpilot.api.v1 import types_pb2
from flowpilot.kernel import ScriptLanguage
from flowpilot.runtime.context import RESOURCE_CREATED_KEY, current_principal
from flowpilot.runtime.kernel_proto import (
    parameter_out,
    parameters_in,
    provenance_out,
    timestamp,
)
from flowpilot.runtime.proto_enums import ProtoEnum
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2 as pb
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2_grpc
from scriptbuilder_service.domain import template_versions as versions
from scriptbuilder_service.domain import templates as tpl
from scriptbuilder_service.domain.model import (
    EditorMode,
    Message,
    Origin,
    Role,
    Session,
    SessionStatus,
    TextPiece,
)
from scriptbuilder_service.domain.submission import SubmitSource
from scriptbuilder_service.service import ScriptBuilderService, TurnEvent

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ScriptBuilderService"].full_name

LANGUAGE = ProtoEnum(ScriptLanguage, types_pb2.ScriptLanguage)
ORIGIN = ProtoEnum(Origin, pb.Origin)
MODE = ProtoEnum(EditorMode, pb.EditorMode)
SESSION_STATUS = ProtoEnum(SessionStatus, pb.SessionStatus)
TEMPLATE_STATUS = ProtoEnum(tpl.TemplateStatus, pb.TemplateStatus)
ROLE = ProtoEnum(Role, pb.MessageRole)
SUBMIT_SOURCE = ProtoEnum(SubmitSource, pb.SubmitSource)


def session_out(s: Session) -> pb.Session:
    message = pb.Session(
        id=str(s.id),
        user_id=s.user_id,
        account_id=s.account_id,
        origin=ORIGIN.to_proto(s.origin),
        title=s.title,
        language=LANGUAGE.to_proto(s.language),
        status=SESSION_STATUS.to_proto(s.status),
        editor_buffer=s.editor_buffer,
        mode=MODE.to_proto(s.mode),
        created_at=timestamp(s.created_at),
        updated_at=timestamp(s.updated_at),
    )
    if s.ai_session_id is not None:
        message.ai_session_id = str(s.ai_session_id)
    if s.fix_id is not None:
        message.fix_id = str(s.fix_id)
    return message


def message_out(m: Message) -> pb.Message:
    message = pb.Message(
        id=str(m.id),
        role=ROLE.to_proto(m.role),
        content=m.content,
        created_at=timestamp(m.created_at),
        parameters=[parameter_out(p) for p in m.parameters],
        explanation=m.explanation,
    )
    if m.script is not None:
        message.script = m.script
    if m.language is not None:
        message.language = LANGUAGE.to_proto(m.language)
    if m.recipe_id is not None:
        message.recipe_id = m.recipe_id
    if m.fix_id is not None:
        message.fix_id = str(m.fix_id)
    return message


def event_out(event: TurnEvent) -> pb.SendMessageEvent:
    if isinstance(event, TextPiece):
        return pb.SendMessageEvent(text_delta=pb.TextDelta(text=event.text))
    if event.role is Role.ASSISTANT:
        return pb.SendMessageEvent(assistant_message=message_out(event))
    return pb.SendMessageEvent(user_message=message_out(event))


def template_out(t: tpl.Template) -> pb.ScriptTemplate:
    message = pb.ScriptTemplate(
        id=str(t.id),
        account_id=t.account_id,
        created_by_user_id=t.created_by_user_id,
        name=t.name,
        description=t.description,
        language=LANGUAGE.to_proto(t.language),
        body=t.body,
        parameters=[parameter_out(p) for p in t.parameters],
        status=TEMPLATE_STATUS.to_proto(t.status),
        created_at=timestamp(t.created_at),
        updated_at=timestamp(t.updated_at),
    )
    if t.source_fix_id is not None:
        message.source_fix_id = str(t.source_fix_id)
    if t.source_session_id is not None:
        message.source_session_id = str(t.source_session_id)
    if t.source_recipe_id is not None:
        message.source_recipe_id = t.source_recipe_id
    message.current_version = t.current_version
    message.current_version_deprecated = t.current_version_deprecated
    return message


def version_out(v: versions.TemplateVersion) -> pb.ScriptTemplateVersion:
    message = pb.ScriptTemplateVersion(
        template_id=str(v.template_id),
        version=v.version,
        language=LANGUAGE.to_proto(v.language),
        body=v.body,
        parameters=[parameter_out(p) for p in v.parameters],
        author_user_id=v.author_user_id,
        created_at=timestamp(v.created_at),
        change_note=v.change_note,
        deprecated=v.deprecated,
        deprecation_reason=v.deprecation_reason,
    )
    if v.deprecated_at is not None:
        message.deprecated_at.CopyFrom(timestamp(v.deprecated_at))
    if v.deprecated_by_user_id is not None:
        message.deprecated_by_user_id = v.deprecated_by_user_id
    if v.source_recipe_id is not None:
        message.source_recipe_id = v.source_recipe_id
    return message


class ScriptBuilderServicer(scriptbuilder_pb2_grpc.ScriptBuilderServiceServicer):
    def __init__(self, service: ScriptBuilderService) -> None:
        self._service = service

    async def CreateSession(
        self, request: pb.CreateSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Session:
        session, created = await self._service.create_session(
            current_principal(),
            origin=ORIGIN.optional(request.origin, "origin"),
            ai_session_id=request.ai_session_id if request.HasField("ai_session_id") else None,
            language=LANGUAGE.optional(request.language, "language"),
            title=request.title,
            fix_id=request.fix_id,
        )
        if not created:
            # The gateway answers 200 instead of 201 for an existing inline row.
            context.set_trailing_metadata(((RESOURCE_CREATED_KEY, "false"),))
        return session_out(session)

    async def ListSessions(
        self, request: pb.ListSessionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSessionsResponse:
        page = await self._service.list_sessions(
            current_principal(),
            include_inline=request.include_inline,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListSessionsResponse(
            sessions=[session_out(s) for s in page.items], next_page_token=page.next_page_token
        )

    async def GetSession(
        self, request: pb.GetSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Session:
        return session_out(await self._service.get_session(current_principal(), request.session_id))

    async def DeleteSession(
        self, request: pb.DeleteSessionRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await self._service.delete_session(current_principal(), request.session_id)
        return empty_pb2.Empty()

    async def SendMessage(
        self, request: pb.SendMessageRequest, context: grpc.aio.ServicerContext
    ) -> pb.SendMessageResponse:
        user_message, assistant_message = await self._service.send_message(
            current_principal(), request.session_id, request.content, request.fix_id
        )
        return pb.SendMessageResponse(
            user_message=message_out(user_message),
            assistant_message=message_out(assistant_message),
        )

    async def StreamMessage(
        self, request: pb.SendMessageRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.SendMessageEvent]:
        events = self._service.stream_message(
            current_principal(), request.session_id, request.content, request.fix_id
        )
        async for event in events:
            yield event_out(event)

    async def ListMessages(
        self, request: pb.ListMessagesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMessagesResponse:
        page = await self._service.list_messages(
            current_principal(),
            request.session_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListMessagesResponse(
            messages=[message_out(m) for m in page.items], next_page_token=page.next_page_token
        )

    async def UpdateDraft(
        self, request: pb.UpdateDraftRequest, context: grpc.aio.ServicerContext
    ) -> pb.Session:
        session = await self._service.update_draft(
            current_principal(),
            request.session_id,
            editor_buffer=request.editor_buffer,
            mode=MODE.optional(request.mode, "mode"),
            update_mask=list(request.update_mask.paths)
            if request.HasField("update_mask")
            else None,
        )
        return session_out(session)

    async def SaveSessionAsTemplate(
        self, request: pb.SaveSessionAsTemplateRequest, context: grpc.aio.ServicerContext
    ) -> pb.ScriptTemplate:
        template = await self._service.save_session_as_template(
            current_principal(),
            request.session_id,
            name=request.name,
            description=request.description,
            parameters=parameters_in(request.parameters, "parameters"),
        )
        return template_out(template)

    async def CreateTemplate(
        self, request: pb.CreateTemplateRequest, context: grpc.aio.ServicerContext
    ) -> pb.ScriptTemplate:
        template = await self._service.create_template(
            current_principal(),
            name=request.name,
            description=request.description,
            language=LANGUAGE.optional(request.language, "language"),
            body=request.body,
            parameters=parameters_in(request.parameters, "parameters"),
        )
        return template_out(template)

    async def ListTemplates(
        self, request: pb.ListTemplatesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListTemplatesResponse:
        page = await self._service.list_templates(
            current_principal(),
            page_size=request.page_size,
            page_token=request.page_token,
            source_fix_id=request.source_fix_id if request.HasField("source_fix_id") else None,
            status=TEMPLATE_STATUS.optional(request.status, "status"),
        )
        return pb.ListTemplatesResponse(
            templates=[template_out(t) for t in page.items], next_page_token=page.next_page_token
        )

    async def GetTemplate(
        self, request: pb.GetTemplateRequest, context: grpc.aio.ServicerContext
    ) -> pb.ScriptTemplate:
        return template_out(
            await self._service.get_template(current_principal(), request.template_id)
        )

    async def PublishTemplate(
        self, request: pb.PublishTemplateRequest, context: grpc.aio.ServicerContext
    ) -> pb.ScriptTemplate:
        return template_out(
            await self._service.publish_template(current_principal(), request.template_id)
        )

    async def RenderTemplate(
        self, request: pb.RenderTemplateRequest, context: grpc.aio.ServicerContext
    ) -> pb.RenderTemplateResponse:
        script, language, version = await self._service.render_template(
            current_principal(),
            request.template_id,
            json_format.MessageToDict(request.parameters),
            version=request.version,
        )
        return pb.RenderTemplateResponse(
            script=script, language=LANGUAGE.to_proto(language), version=version
        )

    async def CreateTemplateVersion(
        self, request: pb.CreateTemplateVersionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ScriptTemplateVersion:
        version = await self._service.create_template_version(
            current_principal(),
            request.template_id,
            language=LANGUAGE.optional(request.language, "language"),
            body=request.body,
            parameters=parameters_in(request.parameters, "parameters"),
            change_note=request.change_note,
            base_version=request.base_version,
        )
        return version_out(version)

    async def ListTemplateVersions(
        self, request: pb.ListTemplateVersionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListTemplateVersionsResponse:
        page = await self._service.list_template_versions(
            current_principal(),
            request.template_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListTemplateVersionsResponse(
            versions=[version_out(v) for v in page.items], next_page_token=page.next_page_token
        )

    async def GetTemplateVersion(
        self, request: pb.GetTemplateVersionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ScriptTemplateVersion:
        return version_out(
            await self._service.get_template_version(
                current_principal(), request.template_id, request.version
            )
        )

    async def DiffTemplateVersions(
        self, request: pb.DiffTemplateVersionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.DiffTemplateVersionsResponse:
        diff = await self._service.diff_template_versions(
            current_principal(),
            request.template_id,
            from_version=request.from_version,
            to_version=request.to_version,
            context_lines=request.context_lines if request.HasField("context_lines") else None,
        )
        return pb.DiffTemplateVersionsResponse(
            from_version=diff.from_version,
            to_version=diff.to_version,
            diff=diff.diff,
            added_lines=diff.added_lines,
            removed_lines=diff.removed_lines,
            language_changed=diff.language_changed,
            parameters_changed=diff.parameters_changed,
        )

    async def DeprecateTemplateVersion(
        self, request: pb.DeprecateTemplateVersionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ScriptTemplateVersion:
        version = await self._service.deprecate_template_version(
            current_principal(), request.template_id, request.version, reason=request.reason
        )
        return version_out(version)

    async def SubmitDraft(
        self, request: pb.SubmitDraftRequest, context: grpc.aio.ServicerContext
    ) -> pb.SubmitDraftResponse:
        submitted = await self._service.submit_draft(
            current_principal(),
            request.session_id,
            fix_id=request.fix_id,
            source=SUBMIT_SOURCE.optional(request.source, "source"),
            etag=request.etag,
        )
        response = pb.SubmitDraftResponse(
            fix_id=submitted.fix_id,
            ai_session_id=submitted.ai_session_id,
            script=submitted.script,
            etag=submitted.etag,
        )
        if submitted.provenance is not None:
            response.provenance.CopyFrom(provenance_out(submitted.provenance))
        return response
