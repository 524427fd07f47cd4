"""Inline submit with provenance (issue 16, point 2): which script a Script
Builder tab sends to its fix, and what it started from.

The script builder is where both texts live: the AI's drafts (its messages)
and the engineer's editor buffer. So it states the *basis* of a submitted
script (the AI's text it came from, or none), and the fixes service measures
the edit against it (`flowpilot.kernel.provenance`) and keeps the result with
the fix and its runs. Pure: the service reads the session and its messages,
this decides.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flowpilot.kernel.provenance import DraftBasis, Provenance, edit_size
from flowpilot.kernel.scripts import Parameter, inferred_parameters
from flowpilot.runtime.errors import FailedPrecondition, InvalidArgument
from scriptbuilder_service.domain.model import EditorMode, Message, Role, Session

# The AI drafts an editor buffer is compared with (the latest ones).
SUBMIT_CANDIDATES = 20


class SubmitSource(StrEnum):
    AI = "ai"
    EDITOR = "editor"


@dataclass(frozen=True, slots=True)
class Submission:
    """What a submit sends to the fix: the script, its typed parameters and
    their values, and its basis."""

    script: str
    script_parameters: tuple[Parameter, ...]
    values: dict[str, Any] | None
    basis: DraftBasis


@dataclass(frozen=True, slots=True)
class Submitted:
    """The fix's answer to a submit."""

    fix_id: str
    ai_session_id: str
    script: str
    provenance: Provenance | None
    etag: str


def _no_script(source: SubmitSource, session: Session) -> FailedPrecondition:
    what = "the editor buffer is empty" if source is SubmitSource.EDITOR else "the AI drafted none"
    return FailedPrecondition(
        "NO_SCRIPT_TO_SUBMIT",
        f"nothing to submit: {what}",
        metadata={"session_id": str(session.id), "source": str(source)},
    )


def _drafts(newest_first: Sequence[Message], fix_id: uuid.UUID) -> list[Message]:
    """The AI's scripts for the fix (fix-targeted drafting: an inline session
    drafts for one fix at a time, and each exchange names it); exchanges that
    named no fix count for any."""
    return [
        m
        for m in newest_first
        if m.role is Role.ASSISTANT and m.script and m.fix_id in (fix_id, None)
    ]


def target_fix(session: Session, fix_id: uuid.UUID | None) -> uuid.UUID:
    """The fix a submit is for: the one named, else the one the session drafts for."""
    target = fix_id or session.fix_id
    if target is None:
        raise InvalidArgument(
            "fix_id is required: the session drafts for no fix",
            field="fix_id",
            reason="MISSING_FIELD",
        )
    return target


def _values(parameters: Sequence[Parameter]) -> dict[str, Any] | None:
    """The values a draft took from the request (its parameters' defaults)."""
    values = {p.name: p.default for p in parameters if p.default is not None}
    return values or None


def _basis(session: Session, draft: Message | None) -> DraftBasis:
    if draft is None:
        return DraftBasis(script_builder_session_id=session.id)
    return DraftBasis(
        ai_script=draft.script,
        recipe_id=draft.recipe_id,
        script_builder_session_id=session.id,
        ai_message_id=draft.id,
    )


def closest_draft(buffer: str, drafts: Sequence[Message]) -> Message | None:
    """The AI draft the buffer is most like (the newest on a tie)."""
    best: tuple[float, Message] | None = None
    for draft in drafts:
        assert draft.script is not None
        similarity = edit_size(draft.script, buffer).similarity
        if best is None or similarity > best[0]:
            best = (similarity, draft)
    return best[1] if best else None


def submission_of(
    session: Session,
    newest_first: Sequence[Message],
    source: SubmitSource | None,
    fix_id: uuid.UUID,
) -> Submission:
    """The script a submit sends to `fix_id`: the AI's latest script for it
    (source `ai`), or the editor buffer (`editor`), measured against the
    AI's scripts for it; unset: the session's mode decides."""
    if source is None:
        source = SubmitSource.EDITOR if session.mode is EditorMode.EDITOR else SubmitSource.AI
    drafts = _drafts(newest_first, fix_id)
    if source is SubmitSource.AI:
        if not drafts:
            raise _no_script(source, session)
        latest = drafts[0]
        assert latest.script is not None
        return Submission(
            script=latest.script,
            script_parameters=latest.parameters,
            values=_values(latest.parameters),
            basis=_basis(session, latest),
        )
    buffer = session.editor_buffer
    if not buffer.strip():
        raise _no_script(source, session)
    closest = closest_draft(buffer, drafts)
    # The buffer's placeholders, typed as the draft it came from typed them.
    hints = {p.name: p.to_json() for p in closest.parameters} if closest else {}
    parameters = inferred_parameters(buffer, hints)
    return Submission(
        script=buffer,
        script_parameters=parameters,
        values=_values(parameters),
        basis=_basis(session, closest),
    )
