"""Domain errors as gRPC statuses: the one place that maps the two.

The shared server interceptor (`flowpilot.runtime.server.CallInterceptor`)
turns every `DomainError` a use case raises into a status whose details carry
an `ErrorInfo` (reason, domain, metadata) and, for bad input, a `BadRequest`
with the offending fields (AIP-193). The gateway uses the same table for the
refusals it makes itself, then maps the code to HTTP (CONTRACT §6). Domain
code never sees a status code.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from flowpilot.runtime.errors import (
    Aborted,
    AlreadyExists,
    DeadlineExceeded,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)

STATUS_DETAILS_KEY = "grpc-status-details-bin"

STATUS_CODES: dict[type[DomainError], grpc.StatusCode] = {
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    NotFound: grpc.StatusCode.NOT_FOUND,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    Aborted: grpc.StatusCode.ABORTED,
    AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Unavailable: grpc.StatusCode.UNAVAILABLE,
    DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
}

# gRPC status codes by their wire number.
GRPC_CODE_BY_NUMBER: dict[int, grpc.StatusCode] = {c.value[0]: c for c in grpc.StatusCode}


def status_code(error: DomainError) -> grpc.StatusCode:
    """The code of `error`'s kind (its nearest mapped class); UNKNOWN for the bare base."""
    for cls in type(error).__mro__:
        code = STATUS_CODES.get(cls)
        if code is not None:
            return code
    return grpc.StatusCode.UNKNOWN


def printable(text: str) -> str:
    """`text`, encodable as UTF-8 whatever input it quotes: a lone surrogate
    (from a JSON escape such as \\ud800) is written as its escape. Protobuf
    strings and gRPC metadata refuse it, and a refusal must never fail."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def to_status(error: DomainError, domain: str) -> status_pb2.Status:
    """`error` as a `google.rpc.Status` with its `ErrorInfo` (and `BadRequest`)."""
    details: list[any_pb2.Any] = []
    info = error_details_pb2.ErrorInfo(reason=printable(error.reason), domain=domain)
    info.metadata.update({printable(k): printable(v) for k, v in error.metadata.items()})
    packed = any_pb2.Any()
    packed.Pack(info)
    details.append(packed)
    if error.field_violations:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=printable(f), description=printable(d)
                )
                for f, d in error.field_violations
            ]
        )
        packed = any_pb2.Any()
        packed.Pack(bad_request)
        details.append(packed)
    code = status_code(error)
    return status_pb2.Status(code=code.value[0], message=printable(error.message), details=details)


async def abort_with_error(
    context: grpc.aio.ServicerContext, error: DomainError, domain: str
) -> None:
    """Ends the call with `error`'s status (raises, as `context.abort` does)."""
    status = to_status(error, domain)
    await context.abort(
        status_code(error),
        status.message,
        trailing_metadata=((STATUS_DETAILS_KEY, status.SerializeToString()),),
    )


def status_from_metadata(
    metadata: Sequence[tuple[str, str | bytes]] | None,
) -> status_pb2.Status | None:
    """The `google.rpc.Status` a server attached to a failed call, if any."""
    for key, value in metadata or ():
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            return status_pb2.Status.FromString(value)
    return None


def error_info(status: status_pb2.Status | None) -> error_details_pb2.ErrorInfo | None:
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


# The refusals a service passes on unchanged when it called another one for
# its caller (the caller's own mistake or the other service's rule).
_RELAYED_KINDS: dict[grpc.StatusCode, type[DomainError]] = {
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.ABORTED: Aborted,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
}


def relayed_error(error: grpc.aio.AioRpcError) -> DomainError | None:
    """Another service's refusal of the caller's request as the same domain
    error (kind, reason, metadata), to pass on; None for failures that are
    not the caller's to see as such (down, deadline, internal)."""
    code = error.code()
    info = error_info(status_from_metadata(error.trailing_metadata()))
    reason = info.reason if info else code.name
    metadata = dict(info.metadata) if info else {}
    message = error.details() or code.name
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument(
            message, field=metadata.pop("field", None), reason=reason, metadata=metadata
        )
    kind = _RELAYED_KINDS.get(code)
    return kind(reason, message, metadata=metadata) if kind else None
