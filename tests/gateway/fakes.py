"""Scriptable stand-ins for the two services, served by the shared GrpcServer.

They answer every RPC of a service descriptor: by default an empty response
(an empty stream), or whatever a test puts in `behaviors[method_name]`
(`streams[method_name]` for a server-streaming one). They let the gateway's
routing, codec and error mapping be tested without PostgreSQL, and record each
call with its metadata so that a test can see what the gateway sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message

from flowpilot.runtime.server import GrpcServer, ServiceSpec
from flowpilot.runtime.settings import Settings

Behavior = Callable[[Message, grpc.aio.ServicerContext], Awaitable[Message]]
StreamBehavior = Callable[[Message, grpc.aio.ServicerContext], AsyncIterator[Message]]


@dataclass
class RecordedCall:
    method: str
    request: Message
    metadata: dict[str, Any]


@dataclass
class FakeService:
    descriptor: ServiceDescriptor
    behaviors: dict[str, Behavior] = field(default_factory=dict)
    streams: dict[str, StreamBehavior] = field(default_factory=dict)
    calls: list[RecordedCall] = field(default_factory=list)

    def register(self, server: grpc.aio.Server) -> None:
        handlers = {}
        for method in self.descriptor.methods:
            request_cls = message_factory.GetMessageClass(method.input_type)
            response_cls = message_factory.GetMessageClass(method.output_type)
            if method.server_streaming:
                handlers[method.name] = grpc.unary_stream_rpc_method_handler(
                    self._streaming(method.name),
                    request_deserializer=request_cls.FromString,
                    response_serializer=response_cls.SerializeToString,
                )
                continue

            async def behavior(
                request: Message,
                context: grpc.aio.ServicerContext,
                name: str = method.name,
                response_cls: type[Message] = response_cls,
            ) -> Message:
                self.calls.append(
                    RecordedCall(name, request, dict(context.invocation_metadata() or ()))
                )
                scripted = self.behaviors.get(name)
                if scripted is not None:
                    return await scripted(request, context)
                return response_cls()

            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                behavior,
                request_deserializer=request_cls.FromString,
                response_serializer=response_cls.SerializeToString,
            )
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(self.descriptor.full_name, handlers),)
        )

    def _streaming(self, name: str) -> Callable[..., AsyncIterator[Message]]:
        """A server-streaming method: `streams[name]` (an async generator
        function) yields its messages; without one, the stream is empty."""

        async def behavior(
            request: Message, context: grpc.aio.ServicerContext
        ) -> AsyncIterator[Message]:
            metadata = dict(context.invocation_metadata() or ())
            self.calls.append(RecordedCall(name, request, metadata))
            scripted = self.streams.get(name)
            if scripted is None:
                return
            async for message in scripted(request, context):
                yield message

        return behavior

    def server(
        self, settings: Settings, dependencies: Mapping[str, grpc.aio.Channel] | None = None
    ) -> GrpcServer:
        """`dependencies` as the real service has them (health `dependency:...`)."""
        spec = ServiceSpec(
            name=f"fake-{self.descriptor.name}",
            error_domain="fake.flowpilot",
            service_names=[self.descriptor.full_name],
            register=self.register,
            dependencies=dict(dependencies or {}),
        )
        return GrpcServer(spec, settings, host="127.0.0.1", port=0)

    def last(self, method: str) -> RecordedCall:
        matching = [c for c in self.calls if c.method == method]
        assert matching, f"{method} was not called; calls: {[c.method for c in self.calls]}"
        return matching[-1]
