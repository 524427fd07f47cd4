"""One way for tests to call a gRPC service with an identity and read a refusal."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import grpc

from flowpilot.runtime.grpc_errors import error_info, status_from_metadata

Metadata = tuple[tuple[str, str], ...]


def auth_metadata(token: str) -> Metadata:
    """The call metadata of a caller holding `token`."""
    return (("authorization", f"Bearer {token}"),)


@dataclass(frozen=True)
class Refusal:
    """A failed call: its status code and the `ErrorInfo` the service attached."""

    code: grpc.StatusCode
    reason: str
    metadata: dict[str, str]
    message: str


def refusal_of(error: grpc.aio.AioRpcError) -> Refusal:
    info = error_info(status_from_metadata(error.trailing_metadata()))
    return Refusal(
        code=error.code(),
        reason=info.reason if info else "",
        metadata=dict(info.metadata) if info else {},
        message=error.details() or "",
    )


async def refused(call: Awaitable[Any]) -> Refusal:
    """Awaits a call that must fail; returns how it was refused."""
    try:
        result = await call
    except grpc.aio.AioRpcError as error:
        return refusal_of(error)
    raise AssertionError(f"call succeeded: {result}")


class GrpcClient:
    """A caller of one service with one identity.

    `client.ApplyFix(session_id=s, fix_id=f)` builds `ApplyFixRequest` from the
    keyword fields (or takes a ready request) and calls with the token and a
    deadline.
    """

    def __init__(self, stub: Any, messages: ModuleType, token: str) -> None:
        self.stub = stub
        self.messages = messages
        self.metadata = auth_metadata(token)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.stub, name)

        def call(request: Any = None, **fields: Any) -> Awaitable[Any]:
            if request is None:
                request = getattr(self.messages, f"{name}Request")(**fields)
            return method(request, metadata=self.metadata, timeout=10)

        return call
