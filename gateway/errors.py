"""The REST error body and the gRPC → HTTP mapping of CONTRACT §6.

Every error the gateway answers, whether a service refused the call or the
gateway itself refused the request (bad JSON, no token, unknown route, body too
large), has the same body:

    {"error": {"code": 404, "status": "NOT_FOUND", "message": "...",
               "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", ...}]}}
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

import grpc
from google.protobuf import any_pb2, json_format
from google.rpc import error_details_pb2, status_pb2
from starlette.responses import Response

from flowpilot.runtime.context import REQUEST_ID_HEADER
from flowpilot.runtime.errors import DomainError
from flowpilot.runtime.grpc_errors import (
    GRPC_CODE_BY_NUMBER,
    error_info,
    status_code,
    status_from_metadata,
    to_status,
)

# Registers the google.rpc detail types in the default pool so that `Any`
# details of those types render as JSON.
_DETAIL_TYPES = error_details_pb2
GATEWAY_ERROR_DOMAIN = "gateway.flowpilot"

HTTP_BY_GRPC: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
# The one reason-specific override of CONTRACT §6's table: a stale `If-Match`
# (or body `etag`) is HTTP's own "precondition failed" (RFC 9110, AIP-154),
# whatever gRPC code the service used (ABORTED).
HTTP_BY_REASON: dict[str, int] = {"ETAG_MISMATCH": 412}
# HTTP statuses the gateway itself produces, with the gRPC name in the body.
GRPC_NAME_BY_HTTP: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    408: "DEADLINE_EXCEEDED",
    409: "FAILED_PRECONDITION",
    412: "ABORTED",
    413: "RESOURCE_EXHAUSTED",
    429: "RESOURCE_EXHAUSTED",
    431: "RESOURCE_EXHAUSTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


# What a client reads when a call failed without a status from our services.
TRANSPORT_MESSAGES: dict[grpc.StatusCode, str] = {
    grpc.StatusCode.UNAVAILABLE: "a backend service is unavailable",
    grpc.StatusCode.DEADLINE_EXCEEDED: "the backend service did not answer in time",
    grpc.StatusCode.CANCELLED: "the call was cancelled",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "a backend limit was exceeded",
    grpc.StatusCode.UNAUTHENTICATED: "the backend service refused the credentials",
    grpc.StatusCode.PERMISSION_DENIED: "the backend service refused the call",
    grpc.StatusCode.UNIMPLEMENTED: "the backend service does not offer this call",
}


def http_status_for(code: grpc.StatusCode, status: status_pb2.Status | None = None) -> int:
    """CONTRACT §6: anything not listed is 500; a reason in `HTTP_BY_REASON`
    has its own status."""
    if status is not None:
        info = error_info(status)
        if info is not None and info.reason in HTTP_BY_REASON:
            return HTTP_BY_REASON[info.reason]
    return HTTP_BY_GRPC.get(code, 500)


def render_detail(detail: any_pb2.Any) -> dict[str, Any]:
    try:
        rendered = json_format.MessageToDict(detail, preserving_proto_field_name=True)
    except (TypeError, KeyError, json_format.Error):
        # A detail type this process does not know: keep it, opaque.
        return {
            "@type": detail.type_url,
            "value": base64.b64encode(detail.value).decode("ascii"),
        }
    return rendered


def error_body(
    http_status: int, grpc_status: str, message: str, details: Sequence[dict[str, Any]] = ()
) -> bytes:
    payload = {
        "error": {
            "code": http_status,
            "status": grpc_status,
            "message": message,
            "details": list(details),
        }
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def error_response(
    http_status: int,
    grpc_status: str,
    message: str,
    details: Sequence[dict[str, Any]] = (),
    *,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    all_headers = dict(headers or {})
    if request_id:
        all_headers[REQUEST_ID_HEADER] = request_id
    if http_status == 401:
        all_headers.setdefault("www-authenticate", "Bearer")
    return Response(
        error_body(http_status, grpc_status, message, details),
        status_code=http_status,
        media_type="application/json",
        headers=all_headers,
    )


def status_details(status: status_pb2.Status | None) -> list[dict[str, Any]]:
    return [render_detail(d) for d in status.details] if status else []


def domain_error_response(error: DomainError, *, request_id: str | None = None) -> Response:
    """A refusal raised in the gateway itself (bad input, bad token): the same
    status a service would answer, then mapped to HTTP like theirs."""
    code = status_code(error)
    status = to_status(error, GATEWAY_ERROR_DOMAIN)
    return error_response(
        http_status_for(code, status),
        code.name,
        status.message,
        status_details(status),
        request_id=request_id,
    )


def simple_error(
    http_status: int,
    reason: str,
    message: str,
    *,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An HTTP-level refusal (404 route, 405, 413) with an ErrorInfo detail."""
    return error_response(
        http_status,
        GRPC_NAME_BY_HTTP.get(http_status, "UNKNOWN"),
        message,
        [error_info_detail(reason)],
        request_id=request_id,
        headers=headers,
    )


def error_info_detail(reason: str) -> dict[str, Any]:
    """The gateway's own `ErrorInfo`, rendered as an error body detail."""
    info = error_details_pb2.ErrorInfo(reason=reason, domain=GATEWAY_ERROR_DOMAIN)
    packed = any_pb2.Any()
    packed.Pack(info)
    return render_detail(packed)


def rpc_error_response(error: grpc.aio.AioRpcError, *, request_id: str | None = None) -> Response:
    """A service's refusal: its code mapped to HTTP, its google.rpc.Status details kept."""
    code = error.code()
    trailing = error.trailing_metadata()
    status = status_from_metadata(trailing) if trailing else None
    if status is not None:
        code = GRPC_CODE_BY_NUMBER.get(status.code, code)
        message = status.message or (error.details() or "")
    else:
        message = error.details() or code.name.lower()
    if status is None:
        # Not a refusal our services made (those carry a google.rpc.Status):
        # gRPC's own text ("failed to connect to all addresses; ...",
        # "Unexpected <class ...>: ...") describes internals; the client gets
        # the kind of failure only.
        message = TRANSPORT_MESSAGES.get(code, "the backend service failed")
    return error_response(
        http_status_for(code, status),
        code.name,
        message,
        status_details(status),
        request_id=request_id,
    )
