"""Who may see which AI session (CONTRACT §2), as a pure rule.

An engineer (or a viewer) sees the sessions they own; an admin sees every
session of their account. Everything else is reported as absent (NOT_FOUND),
so that nobody learns what exists outside their reach.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowpilot.runtime.auth import Principal


@dataclass(frozen=True, slots=True)
class Scope:
    """The sessions a caller can see: their account's, and only their own
    unless `owner_user_id` is None (admins)."""

    account_id: str
    owner_user_id: str | None

    @classmethod
    def of(cls, principal: Principal) -> Scope:
        return cls(
            account_id=principal.account_id,
            owner_user_id=None if principal.is_admin else principal.user_id,
        )
