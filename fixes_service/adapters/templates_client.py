"""The script-builder's templates, read over gRPC (GetTemplate), as the caller.

The fixes service checks a fix's `script_template_id` when the fix is
proposed, and renders a template run with the values it was declared with.
Both need the template, which belongs to the script-builder service (CONTRACT
§1), so this client asks for it with the caller's own token (the template
must be visible to the caller's account) and a deadline. GetTemplate is a
leaf: the script-builder answers it from its own database and calls nobody,
so no call chain between the two services can loop back into the fixes
service (docs/architecture.md, "Calls between the services").
"""

from __future__ import annotations

import logging
import uuid

import grpc
from google.protobuf import json_format

from fixes_service.domain.model import ScriptTemplate
from flowpilot.api.v1 import types_pb2
from flowpilot.kernel import ScriptLanguage
from flowpilot.kernel.scripts import Parameter, ParameterType
from flowpilot.runtime.context import outgoing_metadata
from flowpilot.runtime.errors import NotFound, Unauthenticated, Unavailable
from flowpilot.runtime.grpc_errors import relayed_error
from flowpilot.runtime.proto_enums import ProtoEnum
from flowpilot.runtime.server import open_channel, retry_service_config
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2, scriptbuilder_pb2_grpc

log = logging.getLogger("flowpilot.fixes.templates_client")

SCRIPTBUILDER_SERVICE = "flowpilot.scriptbuilder.v1.ScriptBuilderService"
# Every method this client calls: reads, safe to retry, and leaves (they call
# no other service). tests/foundation/test_call_graph.py holds both services to it.
CALLED_METHODS = (
    f"{SCRIPTBUILDER_SERVICE}/GetTemplate",
    f"{SCRIPTBUILDER_SERVICE}/GetTemplateVersion",
)

LANGUAGE = ProtoEnum(ScriptLanguage, types_pb2.ScriptLanguage)
PARAMETER_TYPE = ProtoEnum(ParameterType, types_pb2.ParameterType)


def template_not_found(template_id: uuid.UUID) -> NotFound:
    return NotFound(
        "SCRIPT_TEMPLATE_NOT_FOUND",
        "no such script template in your account",
        metadata={"script_template_id": str(template_id)},
    )


class TemplatesClient:
    def __init__(self, target: str, *, timeout_seconds: float) -> None:
        self._channel = open_channel(
            target,
            service_config=retry_service_config([SCRIPTBUILDER_SERVICE], methods=CALLED_METHODS),
            # It dials the script-builder from the start (its health entry),
            # maybe before the script-builder is up: keep that backoff its own.
            own_subchannels=True,
        )
        self._stub = scriptbuilder_pb2_grpc.ScriptBuilderServiceStub(self._channel)
        self._timeout = timeout_seconds

    @property
    def channel(self) -> grpc.aio.Channel:
        return self._channel

    async def close(self) -> None:
        await self._channel.close()

    async def get(self, token: str, template_id: uuid.UUID) -> ScriptTemplate:
        """The template, or NotFound (absent, or another account's), or
        Unavailable (down, or no answer within the deadline)."""
        try:
            reply = await self._stub.GetTemplate(
                scriptbuilder_pb2.GetTemplateRequest(template_id=str(template_id)),
                metadata=outgoing_metadata(token),
                timeout=self._timeout,
                wait_for_ready=True,
            )
        except grpc.aio.AioRpcError as exc:
            raise _translate(exc, template_id) from exc
        return ScriptTemplate(
            id=template_id,
            language=_language(reply.language),
            body=reply.body,
            parameters=tuple(_parameter(p) for p in reply.parameters),
            # A script-builder before template versions answers 0: version 1.
            version=reply.current_version or 1,
            deprecated=reply.current_version_deprecated,
            recipe_id=reply.source_recipe_id if reply.HasField("source_recipe_id") else None,
        )

    async def get_version(self, token: str, template_id: uuid.UUID, version: int) -> ScriptTemplate:
        """One version of the template, as `get` answers the current one."""
        try:
            reply = await self._stub.GetTemplateVersion(
                scriptbuilder_pb2.GetTemplateVersionRequest(
                    template_id=str(template_id), version=version
                ),
                metadata=outgoing_metadata(token),
                timeout=self._timeout,
                wait_for_ready=True,
            )
        except grpc.aio.AioRpcError as exc:
            raise _translate(exc, template_id) from exc
        return ScriptTemplate(
            id=template_id,
            language=_language(reply.language),
            body=reply.body,
            parameters=tuple(_parameter(p) for p in reply.parameters),
            version=reply.version,
            deprecated=reply.deprecated,
            recipe_id=reply.source_recipe_id if reply.HasField("source_recipe_id") else None,
        )


def _language(number: int) -> ScriptLanguage:
    language = LANGUAGE.get(number)
    if language is None:
        raise Unavailable(
            "SCRIPT_BUILDER_UNAVAILABLE",
            "the script-builder answered a template without a language",
        )
    return language


def _parameter(p: types_pb2.ScriptParameter) -> Parameter:
    default = json_format.MessageToDict(p.default) if p.HasField("default") else None
    return Parameter(
        name=p.name,
        type=PARAMETER_TYPE.get(p.type) or ParameterType.STRING,
        required=p.required,
        default=default,
        choices=tuple(p.choices),
        description=p.description,
    )


def _translate(exc: grpc.aio.AioRpcError, template_id: uuid.UUID) -> Exception:
    code = exc.code()
    if code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
        relayed = relayed_error(exc)
        if relayed is not None and relayed.reason == "TEMPLATE_VERSION_NOT_FOUND":
            return relayed  # the template exists; the pinned or asked version does not
        return template_not_found(template_id)
    if code is grpc.StatusCode.UNAUTHENTICATED:
        return Unauthenticated("the script-builder refused the token", reason="TOKEN_REFUSED")
    log.info("script-builder unavailable for %s: %s", template_id, code.name)
    # Down, too slow, or failing: nothing was written, the caller may retry.
    return Unavailable(
        "SCRIPT_BUILDER_UNAVAILABLE",
        f"the script-builder service is not available ({code.name}); nothing was written",
        metadata={"upstream_code": code.name},
    )
