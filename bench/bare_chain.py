"""The yardstick of `python -m bench`: a bare FastAPI → grpc.aio → asyncpg chain.

It does what PATCH .../script does at its core and nothing else (no auth, no
validation, no audit event, no error mapping): a minimal FastAPI app forwards
the request to a minimal grpc.aio servicer, which runs three statements in one
transaction on tables of its own (lock the fix, update it, bump the session's
state_version). Each half runs as its own process (`python -m bench
--serve-bare-grpc` / `--serve-bare-http`), like the real system's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

BARE_SCHEMA = """
CREATE TABLE IF NOT EXISTS bare_sessions (id uuid PRIMARY KEY, state_version bigint NOT NULL);
CREATE TABLE IF NOT EXISTS bare_fixes (
    id uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES bare_sessions (id),
    script text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""
BARE_LOCK = "SELECT id FROM bare_fixes WHERE id = $1 AND session_id = $2 FOR UPDATE"
BARE_UPDATE = (
    "UPDATE bare_fixes SET script = $2, updated_at = now() WHERE id = $1 "
    "RETURNING id, session_id, script, updated_at"
)
BARE_BUMP = "UPDATE bare_sessions SET state_version = state_version + 1 WHERE id = $1"


# --------------------------------------------------------------- the bare chain


async def _serve_bare_grpc(port: int, dsn: str) -> None:
    """A minimal UpdateFixScript: three statements on asyncpg, no auth, no validation."""
    import asyncpg
    import grpc

    from flowpilot.fixes.v1 import fixes_pb2

    pool = await asyncpg.create_pool(dsn, min_size=4, max_size=10)

    async def update_fix_script(
        request: fixes_pb2.UpdateFixScriptRequest, context: grpc.aio.ServicerContext
    ) -> fixes_pb2.SuggestedFix:
        fix_id, session_id = uuid.UUID(request.fix_id), uuid.UUID(request.session_id)
        async with pool.acquire() as connection, connection.transaction():
            await connection.fetchval(BARE_LOCK, fix_id, session_id)
            row = await connection.fetchrow(BARE_UPDATE, fix_id, request.ai_drafted_script)
            await connection.execute(BARE_BUMP, session_id)
        fix = fixes_pb2.SuggestedFix(
            id=str(row["id"]),
            ai_session_id=str(row["session_id"]),
            ai_drafted_script=row["script"],
        )
        fix.updated_at.FromDatetime(row["updated_at"])
        return fix

    handler = grpc.method_handlers_generic_handler(
        "flowpilot.fixes.v1.FixesService",
        {
            "UpdateFixScript": grpc.unary_unary_rpc_method_handler(
                update_fix_script,
                request_deserializer=fixes_pb2.UpdateFixScriptRequest.FromString,
                response_serializer=fixes_pb2.SuggestedFix.SerializeToString,
            )
        },
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(0)
    await pool.close()


def _bare_http_app(grpc_target: str) -> FastAPI:
    """A minimal FastAPI app forwarding the PATCH to the bare servicer."""
    import grpc
    from google.protobuf import json_format

    from flowpilot.fixes.v1 import fixes_pb2

    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        channel = grpc.aio.insecure_channel(grpc_target)
        state["call"] = channel.unary_unary(
            "/flowpilot.fixes.v1.FixesService/UpdateFixScript",
            request_serializer=fixes_pb2.UpdateFixScriptRequest.SerializeToString,
            response_deserializer=fixes_pb2.SuggestedFix.FromString,
        )
        yield
        await channel.close()

    app = FastAPI(lifespan=lifespan)

    @app.patch("/bare/{session_id}/{fix_id}/script")
    async def patch_script(session_id: str, fix_id: str, request: Request) -> Response:
        body = json.loads(await request.body())
        message = fixes_pb2.UpdateFixScriptRequest(
            session_id=session_id, fix_id=fix_id, ai_drafted_script=body["ai_drafted_script"]
        )
        fix = await state["call"](message, timeout=10)
        payload = json_format.MessageToDict(fix, preserving_proto_field_name=True)
        return Response(json.dumps(payload), media_type="application/json")

    return app


async def seed_bare(dsn: str, count: int) -> list[tuple[str, str]]:
    """`count` sessions with one fix each; their (session, fix) ids."""
    import asyncpg

    targets = [(uuid.uuid4(), uuid.uuid4()) for _ in range(count)]
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(BARE_SCHEMA)
        await connection.executemany(
            "INSERT INTO bare_sessions VALUES ($1, 0)", [(s,) for s, _ in targets]
        )
        await connection.executemany(
            "INSERT INTO bare_fixes (id, session_id) VALUES ($1, $2)",
            [(f, s) for s, f in targets],
        )
    finally:
        await connection.close()
    return [(str(s), str(f)) for s, f in targets]


def serve_bare_grpc(port: int, dsn: str) -> None:
    asyncio.run(_serve_bare_grpc(port, dsn))


def serve_bare_http(port: int, grpc_target: str) -> None:
    import uvicorn

    uvicorn.run(
        _bare_http_app(grpc_target),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
