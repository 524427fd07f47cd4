"""Unary client calls are counted and timed by the channel every process opens
(`flowpilot.runtime.server.open_channel`, a `MeteredChannel`), against a real
grpc.aio server on port 0: the code the caller got, and the call still
answers everything a grpc.aio call does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from prometheus_client import REGISTRY

from flowpilot.fixes.v1 import fixes_pb2
from flowpilot.runtime.server import open_channel

pytestmark = pytest.mark.integration

SERVICE = "flowpilot.fixes.v1.FixesService"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def target() -> AsyncIterator[str]:
    async def update(
        request: fixes_pb2.UpdateFixScriptRequest, context: grpc.aio.ServicerContext
    ) -> fixes_pb2.SuggestedFix:
        if request.fix_id == "missing":
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such fix")
        await context.send_initial_metadata((("x-seen", "yes"),))
        context.set_trailing_metadata((("x-done", "yes"),))
        return fixes_pb2.SuggestedFix(id=request.fix_id)

    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "UpdateFixScript": grpc.unary_unary_rpc_method_handler(
                update,
                request_deserializer=fixes_pb2.UpdateFixScriptRequest.FromString,
                response_serializer=fixes_pb2.SuggestedFix.SerializeToString,
            )
        },
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(0)


async def test_unary_calls_are_counted_by_the_code_the_caller_got(target: str) -> None:
    labels = {"grpc_type": "unary", "grpc_service": SERVICE, "grpc_method": "UpdateFixScript"}
    ok = {**labels, "grpc_code": "OK"}
    missing = {**labels, "grpc_code": "NOT_FOUND"}
    before = (
        sample("grpc_client_started_total", **labels),
        sample("grpc_client_handled_total", **ok),
        sample("grpc_client_handled_total", **missing),
        sample("grpc_client_handling_seconds_count", **ok),
    )
    channel = open_channel(target)
    try:
        call = channel.unary_unary(
            f"/{SERVICE}/UpdateFixScript",
            request_serializer=fixes_pb2.UpdateFixScriptRequest.SerializeToString,
            response_deserializer=fixes_pb2.SuggestedFix.FromString,
        )
        answered = call(fixes_pb2.UpdateFixScriptRequest(fix_id="f1"), timeout=5)
        assert (await answered).id == "f1"
        # Still a grpc.aio call: its metadata and code.
        assert ("x-seen", "yes") in tuple(await answered.initial_metadata())
        assert ("x-done", "yes") in tuple(await answered.trailing_metadata())
        assert await answered.code() is grpc.StatusCode.OK
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call(fixes_pb2.UpdateFixScriptRequest(fix_id="missing"), timeout=5)
        assert refused.value.code() is grpc.StatusCode.NOT_FOUND
    finally:
        await channel.close()
    after = (
        sample("grpc_client_started_total", **labels),
        sample("grpc_client_handled_total", **ok),
        sample("grpc_client_handled_total", **missing),
        sample("grpc_client_handling_seconds_count", **ok),
    )
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 1, 1, 1]
