"""Per-call context: the verified caller and the request id.

The server interceptor sets both for the duration of a call; service code reads
them instead of threading them through every signature.
"""

from __future__ import annotations

import os
from contextvars import ContextVar

from flowpilot.runtime.auth import Principal
from flowpilot.runtime.errors import Unauthenticated

REQUEST_ID_HEADER = "x-request-id"
# Response metadata a service sets to `false` when a create call returned an
# existing resource (the gateway answers 200 instead of 201).
RESOURCE_CREATED_KEY = "flowpilot-resource-created"

request_id_var: ContextVar[str | None] = ContextVar("flowpilot_request_id", default=None)
principal_var: ContextVar[Principal | None] = ContextVar("flowpilot_principal", default=None)


def new_request_id() -> str:
    """32 random hex digits, as a uuid4's hex was, without building the UUID
    object around them (1.8 against 0.4 us; the gateway makes one per request)."""
    return os.urandom(16).hex()


def current_principal() -> Principal:
    principal = principal_var.get()
    if principal is None:
        raise Unauthenticated("no authenticated caller in this context")
    return principal


def outgoing_metadata(token: str) -> tuple[tuple[str, str], ...]:
    """Metadata for a call to another service on behalf of `token`'s holder."""
    metadata: list[tuple[str, str]] = [("authorization", f"Bearer {token}")]
    request_id = request_id_var.get()
    if request_id:
        metadata.append((REQUEST_ID_HEADER, request_id))
    return tuple(metadata)
