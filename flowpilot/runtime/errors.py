"""The error model: plain exceptions that every layer raises and no transport shapes.

A refusal is a `DomainError` whose class says what kind of refusal it is (bad
input, not found, a rule forbids it, ...) and whose `reason` names the rule in
UPPER_SNAKE_CASE, with metadata and, for bad input, the offending fields
(AIP-193). The kinds follow Google's canonical error space, so every transport
can answer them the same way, but nothing here knows one: the gRPC status of
each kind is decided in exactly one place, `flowpilot.runtime.grpc_errors`,
which the shared server interceptor applies to every call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class DomainError(Exception):
    """A refusal with a stable machine-readable `reason`."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        metadata: Mapping[str, str] | None = None,
        field_violations: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.metadata = {k: str(v) for k, v in (metadata or {}).items()}
        self.field_violations = list(field_violations)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r}, {self.message!r})"


class InvalidArgument(DomainError):
    """The input is malformed, whatever the state of the system."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        reason: str = "INVALID_ARGUMENT",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        violations = [(field, message)] if field else []
        merged = {"field": field} if field else {}
        merged.update(metadata or {})
        super().__init__(reason, message, metadata=merged, field_violations=violations)


class Unauthenticated(DomainError):
    """No verifiable identity."""

    def __init__(
        self,
        message: str,
        *,
        reason: str = "UNAUTHENTICATED",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(reason, message, metadata=metadata)


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""


class NotFound(DomainError):
    """Absent, or outside the caller's reach (the two are not told apart)."""


class FailedPrecondition(DomainError):
    """A rule refuses the change in the current state."""


class Aborted(DomainError):
    """A concurrent change got there first; the caller may retry."""


class AlreadyExists(DomainError):
    """What the caller wants to create exists."""


class ResourceExhausted(DomainError):
    """A quota or limit is used up."""


class Unavailable(DomainError):
    """A dependency cannot answer now; nothing was written."""


class DeadlineExceeded(DomainError):
    """A dependency did not answer in time."""
