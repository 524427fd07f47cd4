"""The script-builder service's refusals that name a missing thing.

A session of another user and a template of another account read as absent.
"""

from __future__ import annotations

from flowpilot.runtime.errors import NotFound


def session_not_found(session_id: object) -> NotFound:
    return NotFound(
        "SCRIPT_BUILDER_SESSION_NOT_FOUND",
        "script-builder session not found",
        metadata={"session_id": str(session_id)},
    )


def template_not_found(template_id: object) -> NotFound:
    return NotFound(
        "SCRIPT_TEMPLATE_NOT_FOUND",
        "script template not found",
        metadata={"template_id": str(template_id)},
    )
