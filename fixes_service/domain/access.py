"""Who may see which AI session (CONTRACT §2), as a pure rule.

An engineer sees the sessions they own; an admin, and a viewer, every session
of their account (a viewer reads the account's sessions, fixes and events, and
changes nothing: writes are refused before any lookup). Everything else is
reported as absent (NOT_FOUND), so that nobody learns what exists outside
their reach.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowpilot.runtime.auth import Principal, Role


@dataclass(frozen=True, slots=True)
class Scope:
    """The sessions a caller can see: their account's, and only their own
    unless `owner_user_id` is None (admins and viewers)."""

    account_id: str
    owner_user_id: str | None

    @classmethod
    def of(cls, principal: Principal) -> Scope:
        account_wide = principal.role in (Role.ADMIN, Role.VIEWER)
        return cls(
            account_id=principal.account_id,
            owner_user_id=None if account_wide else principal.user_id,
        )
