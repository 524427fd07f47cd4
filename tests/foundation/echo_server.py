"""A tiny service on the shared bootstrap, for testing the runtime itself.

`/test.Echo/Whoami` answers with the caller the interceptor verified;
`/test.Echo/Fail` raises a domain error; `/test.Echo/Slow` sleeps. Streaming:
`/test.Echo/Stream` answers the caller once per message (as many as the
request says), then fails with a domain error when the request ends in "!".
Run as a script it serves until SIGTERM and prints its port.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator

import grpc

from flowpilot.runtime.context import current_principal
from flowpilot.runtime.errors import FailedPrecondition
from flowpilot.runtime.server import GrpcServer, ServiceSpec, serve_until_signalled
from flowpilot.runtime.settings import Settings

SERVICE = "test.Echo"


async def whoami(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    p = current_principal()
    return json.dumps({"user": p.user_id, "account": p.account_id, "role": str(p.role)}).encode()


async def fail(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    raise FailedPrecondition("FIX_TERMINAL", "the fix is done", metadata={"fix_id": "f-1"})


async def slow(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    await asyncio.sleep(float(request.decode() or "1"))
    return b"finished"


async def stream(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    text = request.decode()
    for _ in range(int(text.rstrip("!") or "0")):
        await asyncio.sleep(0)
        yield await whoami(request, context)
    if text.endswith("!"):
        raise FailedPrecondition("FIX_TERMINAL", "the fix is done", metadata={"fix_id": "f-1"})


def _register(server: grpc.aio.Server) -> None:
    handlers = {
        name: grpc.unary_unary_rpc_method_handler(fn)
        for name, fn in {"Whoami": whoami, "Fail": fail, "Slow": slow}.items()
    }
    handlers["Stream"] = grpc.unary_stream_rpc_method_handler(stream)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))


def echo_spec() -> ServiceSpec:
    return ServiceSpec(
        name="echo", error_domain="echo.test", service_names=[SERVICE], register=_register
    )


async def _main() -> None:
    server = GrpcServer(echo_spec(), Settings(), port=0)
    await serve_until_signalled(server, on_started=lambda port: print(port, flush=True))


if __name__ == "__main__":
    asyncio.run(_main())
    sys.exit(0)
