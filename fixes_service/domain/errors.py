"""The fixes service's refusals that name a missing thing.

Absent and out of reach read the same (CONTRACT §2): nobody learns what
exists outside their scope.
"""

from __future__ import annotations

from flowpilot.runtime.errors import NotFound


def session_not_found() -> NotFound:
    return NotFound("AI_SESSION_NOT_FOUND", "no such AI session")


def fix_not_found() -> NotFound:
    return NotFound("FIX_NOT_FOUND", "no such suggested fix in this AI session")


def proposal_not_found() -> NotFound:
    return NotFound("TEMPLATE_PROPOSAL_NOT_FOUND", "no such template proposal")
