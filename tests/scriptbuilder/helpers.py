"""Helpers for the script-builder tests: stubs, metadata, error details, SQL."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import struct_pb2
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from flowpilot.api.v1 import types_pb2
from flowpilot.fixes.v1 import fixes_pb2, fixes_pb2_grpc
from flowpilot.runtime.context import RESOURCE_CREATED_KEY
from flowpilot.runtime.db import asyncpg_url
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2 as sb
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2_grpc
from tests.support.grpc_client import auth_metadata

# The script of the fixes whose `draft_template` decision the tests record.
SCRIPT = "Restart-Service -Name {{service}} -Force\nGet-Service {{service}}"


def sb_stub(channel: grpc.aio.Channel) -> scriptbuilder_pb2_grpc.ScriptBuilderServiceStub:
    return scriptbuilder_pb2_grpc.ScriptBuilderServiceStub(channel)


def fixes_stub(channel: grpc.aio.Channel) -> fixes_pb2_grpc.FixesServiceStub:
    return fixes_pb2_grpc.FixesServiceStub(channel)


async def create_ai_session(channel: grpc.aio.Channel, token: str, title: str = "VPN down") -> str:
    session = await fixes_stub(channel).CreateAiSession(
        fixes_pb2.CreateAiSessionRequest(title=title), metadata=auth_metadata(token)
    )
    return session.id


async def create_session(
    stub: scriptbuilder_pb2_grpc.ScriptBuilderServiceStub,
    token: str,
    *,
    ai_session_id: str | None = None,
    language: int = types_pb2.SCRIPT_LANGUAGE_POWERSHELL,
    title: str = "",
    deadline: float | None = None,
) -> tuple[sb.Session, bool]:
    """(session, created) where created follows `flowpilot-resource-created`."""
    request = sb.CreateSessionRequest(language=language, title=title)
    if ai_session_id is not None:
        request.origin = sb.ORIGIN_PILOT_INLINE
        request.ai_session_id = ai_session_id
    call = stub.CreateSession(request, metadata=auth_metadata(token), timeout=deadline)
    session = await call
    trailing = dict(await call.trailing_metadata() or ())
    return session, trailing.get(RESOURCE_CREATED_KEY) != "false"


async def sql(url: str, query: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_async_engine(asyncpg_url(url), poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            return [tuple(r) for r in await conn.execute(text(query), params)]
    finally:
        await engine.dispose()


async def count_sessions(url: str, user_id: str | None = None) -> int:
    if user_id is None:
        return (await sql(url, "SELECT count(*) FROM script_builder_sessions"))[0][0]
    rows = await sql(
        url, "SELECT count(*) FROM script_builder_sessions WHERE user_id = :u", u=user_id
    )
    return rows[0][0]


async def decide_draft_template(
    fixes_channel: grpc.aio.Channel, token: str, title: str = "Restart spooler"
) -> str:
    """A fix with a script whose engineer decides `draft_template`; its id."""
    fixes = fixes_stub(fixes_channel)
    ai = await create_ai_session(fixes_channel, token)
    params = struct_pb2.Struct()
    params.update({"service": "Spooler"})
    fix = await fixes.CreateSuggestedFix(
        fixes_pb2.CreateSuggestedFixRequest(
            session_id=ai,
            title=title,
            description="The spooler hangs",
            script_language=types_pb2.SCRIPT_LANGUAGE_POWERSHELL,
            ai_drafted_script=SCRIPT,
            ai_drafted_parameters=params,
        ),
        metadata=auth_metadata(token),
    )
    await fixes.RecordScriptDecision(
        fixes_pb2.RecordScriptDecisionRequest(
            session_id=ai, fix_id=fix.id, decision=fixes_pb2.SCRIPT_DECISION_DRAFT_TEMPLATE
        ),
        metadata=auth_metadata(token),
    )
    return fix.id


async def insert_draft(
    url: str, *, account_id: str, user_id: str, fix_id: str | None = None, name: str = "Draft"
) -> str:
    """A draft template as the relay stores one, straight into the database."""
    rows = await sql(
        url,
        "INSERT INTO script_templates "
        "(account_id, created_by_user_id, name, language, body, status, source_fix_id) "
        "VALUES (:a, :u, :n, 'bash', 'echo hi', 'draft', CAST(:f AS uuid)) RETURNING id",
        a=account_id,
        u=user_id,
        n=name,
        f=fix_id,
    )
    return str(rows[0][0])
