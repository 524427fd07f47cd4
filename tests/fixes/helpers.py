"""gRPC helpers for the fixes-service tests."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import asyncpg
import grpc
from google.protobuf import struct_pb2

from flowpilot.api.v1 import types_pb2
from flowpilot.fixes.v1 import fixes_pb2 as pb
from flowpilot.fixes.v1.fixes_pb2_grpc import FixesServiceStub
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2 as sb
from flowpilot.scriptbuilder.v1.scriptbuilder_pb2_grpc import ScriptBuilderServiceStub
from tests.support.grpc_client import GrpcClient, auth_metadata

SCRIPT = "Get-Process outlook | Stop-Process -Force"


class Client(GrpcClient):
    """A caller of the fixes service with one identity."""

    def __init__(self, channel: grpc.aio.Channel, token: str) -> None:
        super().__init__(FixesServiceStub(channel), pb, token)

    async def new_session(self, title: str = "Outlook keeps crashing") -> pb.AiSession:
        return await self.CreateAiSession(title=title)

    async def new_fix(
        self,
        session_id: str,
        *,
        script: str | None = SCRIPT,
        template_id: str | None = None,
        parameters: dict[str, Any] | None = None,
        title: str = "Restart Outlook",
        script_language: int = types_pb2.SCRIPT_LANGUAGE_POWERSHELL,
        **more: Any,
    ) -> pb.SuggestedFix:
        fields: dict[str, Any] = {
            "session_id": session_id,
            "title": title,
            "description": "Kills the hung process",
            "script_language": script_language,
        }
        if script is not None:
            fields["ai_drafted_script"] = script
        if template_id is not None:
            fields["script_template_id"] = template_id
        if parameters is not None:
            fields["ai_drafted_parameters"] = parameters
        return await self.CreateSuggestedFix(**fields, **more)

    async def version(self, session_id: str) -> int:
        return (await self.GetAiSession(session_id=session_id)).state_version


TEMPLATE_BODY = "Restart-Service -Name {{service}} -Force:{{force}}"


async def create_template(
    scriptbuilder: grpc.aio.Channel,
    token: str,
    *,
    language: int = types_pb2.SCRIPT_LANGUAGE_POWERSHELL,
    body: str = TEMPLATE_BODY,
) -> str:
    """A published template of the token's account, made by the script-builder."""
    template = await ScriptBuilderServiceStub(scriptbuilder).CreateTemplate(
        sb.CreateTemplateRequest(
            name="Restart a service",
            language=language,
            body=body,
            parameters=[
                types_pb2.ScriptParameter(
                    name="service", type=types_pb2.PARAMETER_TYPE_STRING, required=True
                ),
                types_pb2.ScriptParameter(
                    name="force",
                    type=types_pb2.PARAMETER_TYPE_BOOLEAN,
                    default=struct_pb2.Value(bool_value=True),
                ),
            ],
        ),
        metadata=auth_metadata(token),
        timeout=10,
    )
    return template.id


async def make_state(
    client: Client, session_id: str, state: str, template_id: str | None = None
) -> pb.SuggestedFix:
    """Brings a new fix into one of the lifecycle-table states through the API
    (`not_applied_template` needs a real template: `template_id`)."""
    if state == "not_applied_template":
        assert template_id is not None, "a template fix needs a real template"
        return await client.new_fix(session_id, script=None, template_id=template_id)
    if state == "not_applied_bare":
        return await client.new_fix(session_id, script=None)
    fix = await client.new_fix(session_id)
    ids = {"session_id": session_id, "fix_id": fix.id}
    if state == "not_applied":
        return fix
    if state == "dismissed":
        return await client.DismissFix(**ids)
    fix = await client.ApplyFix(**ids)
    if state == "verifying_with_proposal":
        fix = await client.ProposeOutcome(
            **ids, outcome=pb.FIX_OUTCOME_APPLIED_SUCCESS, rationale="event log is clean"
        )
    elif state == "partial":
        fix = await client.RecordOutcome(
            **ids, outcome=pb.FIX_OUTCOME_APPLIED_PARTIAL, notes="only the mailbox"
        )
    elif state in ("applied_success", "applied_failed"):
        outcome = pb.FixOutcome.Value("FIX_OUTCOME_" + state.upper())
        fix = await client.RecordOutcome(**ids, outcome=outcome)
    return fix


def run_action(client: Client, session_id: str, fix_id: str, action: str) -> Awaitable[Any]:
    ids = {"session_id": session_id, "fix_id": fix_id}
    match action:
        case "update_script":
            return client.UpdateFixScript(
                **ids, ai_drafted_script="Write-Output 'new'", ai_drafted_parameters={"p": 1}
            )
        case "apply":
            return client.ApplyFix(**ids)
        case "decision_one_off" | "decision_draft_template" | "decision_build_template":
            decision = pb.ScriptDecision.Value(
                "SCRIPT_DECISION_" + action.removeprefix("decision_").upper()
            )
            return client.RecordScriptDecision(**ids, decision=decision)
        case "outcome_success" | "outcome_failed" | "outcome_partial":
            outcome = pb.FixOutcome.Value(
                "FIX_OUTCOME_" + action.replace("outcome_", "applied_").upper()
            )
            return client.RecordOutcome(**ids, outcome=outcome, notes="partly worked")
        case "dismiss":
            return client.DismissFix(**ids)
        case "propose_outcome":
            return client.ProposeOutcome(
                **ids, outcome=pb.FIX_OUTCOME_APPLIED_FAILED, rationale="0x80070005 again"
            )
        case "clear_proposal":
            return client.ClearOutcomeProposal(**ids)
    raise AssertionError(action)


async def audit_rows(db: asyncpg.Connection, fix_id: str) -> list[asyncpg.Record]:
    return await db.fetch("SELECT * FROM fix_events WHERE fix_id = $1 ORDER BY id", fix_id)


async def fix_row(db: asyncpg.Connection, fix_id: str) -> asyncpg.Record:
    return await db.fetchrow("SELECT * FROM suggested_fixes WHERE id = $1", fix_id)


def status_name(number: int) -> str:
    return pb.FixStatus.Name(number).removeprefix("FIX_STATUS_").lower()
