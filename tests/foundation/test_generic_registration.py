"""Services are registered as generic handlers only (`generic_registrar`).

grpc.aio's server waits on one pending call request per registered method
for every call it takes, so the generated code's second registration (as
"registered methods") made each RPC cost more the more methods a server has.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from flowpilot.fixes.v1 import fixes_pb2_grpc
from flowpilot.runtime.server import GrpcServer, generic_registrar
from flowpilot.runtime.settings import Settings
from tests.foundation.echo_server import echo_spec


class RecordingServer:
    def __init__(self) -> None:
        self.generic: list[grpc.GenericRpcHandler] = []
        self.registered: list[str] = []

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        self.generic.extend(handlers)

    def add_registered_method_handlers(self, service_name: str, handlers: Any) -> None:
        self.registered.append(service_name)

    def add_insecure_port(self, address: str) -> int:
        return 4242


def test_generated_registration_keeps_only_the_generic_handler() -> None:
    server = RecordingServer()
    registrar = generic_registrar(server)  # type: ignore[arg-type]
    fixes_pb2_grpc.add_FixesServiceServicer_to_server(
        fixes_pb2_grpc.FixesServiceServicer(), registrar
    )
    assert server.registered == []
    [handler] = server.generic
    details = type("Details", (), {"method": "/flowpilot.fixes.v1.FixesService/UpdateFixScript"})()
    assert handler.service(details) is not None  # type: ignore[arg-type]
    # Everything else is the server's own.
    assert registrar.add_insecure_port("127.0.0.1:0") == 4242


@pytest.mark.integration  # a real gRPC server
async def test_a_grpc_server_registers_no_method_and_still_serves_them(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    registered: list[str] = []
    original = grpc.aio._server.Server.add_registered_method_handlers

    def spy(self: Any, service_name: str, handlers: Any) -> None:
        registered.append(service_name)
        original(self, service_name, handlers)

    monkeypatch.setattr(grpc.aio._server.Server, "add_registered_method_handlers", spy)
    server = GrpcServer(echo_spec(), settings, port=0)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(server.target) as channel:
            # Health and reflection come from generated registration functions.
            answer = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=5
            )
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await server.stop(0)
    assert registered == []
