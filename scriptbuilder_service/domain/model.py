"""Sessions, messages and the limits every text obeys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from flowpilot.kernel import ScriptLanguage
from flowpilot.runtime.errors import InvalidArgument
from flowpilot.runtime.validation import check_text, parse_uuid

if TYPE_CHECKING:
    from flowpilot.kernel.scripts import Parameter
    from flowpilot.runtime.auth import Principal
    from scriptbuilder_service.domain.drafting import Draft

# The per-user cap on standalone sessions (seed: the `POST /script-builder/sessions`
# 5-session cap). Inline sessions never count.
STANDALONE_SESSION_CAP = 5
CAP_REASON = "SCRIPT_BUILDER_SESSION_CAP"

# Bounds for every text the service stores (CONTRACT §6: oversize input is 400,
# never 500). Scripts share the fixes service's 1..50,000 bound.
MAX_TITLE = 200
MAX_MESSAGE = 20_000
MAX_SCRIPT = 50_000
MAX_EDITOR_BUFFER = 50_000
MAX_TEMPLATE_NAME = 200
MAX_DESCRIPTION = 2_000
# How much of the conversation the drafter sees.
HISTORY_FOR_DRAFTER = 20


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose sessions: a user is their account and their `sub` together.

    The same `sub` in two accounts is two people (two identity providers, or
    one reused id); every session row carries both, every query filters by
    both, and the cap counts per owner."""

    account_id: str
    user_id: str

    @classmethod
    def of(cls, principal: Principal) -> Owner:
        return cls(account_id=principal.account_id, user_id=principal.user_id)

    @property
    def key(self) -> str:
        """One string for both, unambiguous whatever characters they hold
        (page tokens are bound to it)."""
        return f"{len(self.account_id)}:{self.account_id}/{self.user_id}"


class Origin(StrEnum):
    STANDALONE = "standalone"
    PILOT_INLINE = "pilot_inline"


class SessionStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"


class EditorMode(StrEnum):
    AI = "ai"
    EDITOR = "editor"


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"


@dataclass(frozen=True, slots=True)
class Session:
    id: uuid.UUID
    user_id: str
    account_id: str
    ai_session_id: uuid.UUID | None
    origin: Origin
    title: str
    language: ScriptLanguage
    status: SessionStatus
    editor_buffer: str
    mode: EditorMode
    created_at: datetime
    updated_at: datetime
    # Inline sessions: the suggested fix being drafted now.
    fix_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Message:
    id: uuid.UUID
    session_id: uuid.UUID
    role: Role
    content: str
    script: str | None
    created_at: datetime
    # The drafter's output contract (assistant messages with a draft).
    language: ScriptLanguage | None = None
    parameters: tuple[Parameter, ...] = ()
    explanation: str = ""
    recipe_id: str | None = None
    # Inline sessions: the suggested fix this exchange drafted for.
    fix_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class TextPiece:
    """A piece of an answer's text as the drafter produces it."""

    text: str


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to store; `id` and `created_at` when they were announced
    before (a streamed answer shows the engineer's message first)."""

    role: Role
    content: str
    draft: Draft | None = None
    fix_id: uuid.UUID | None = None
    id: uuid.UUID | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewSession:
    """A validated create request."""

    origin: Origin
    ai_session_id: uuid.UUID | None
    language: ScriptLanguage
    title: str
    # `pilot_inline` only: the suggested fix to draft for.
    fix_id: uuid.UUID | None = None


FIX_ID_NEEDS_INLINE = "FIX_ID_NEEDS_INLINE"


def new_session(
    *,
    origin: Origin | None,
    ai_session_id: str | None,
    language: ScriptLanguage | None,
    title: str,
    fix_id: str = "",
) -> NewSession:
    """Validates a create request (seed: `pilot_inline` needs `ai_session_id`;
    only an inline session drafts for a fix)."""
    origin = origin or Origin.STANDALONE
    title = check_text(title.strip(), "title", max_len=MAX_TITLE)
    ai_id = parse_uuid(ai_session_id, "ai_session_id") if ai_session_id else None
    if origin is Origin.PILOT_INLINE and ai_id is None:
        raise InvalidArgument(
            "ai_session_id is required when origin is pilot_inline",
            field="ai_session_id",
            reason="AI_SESSION_ID_REQUIRED",
        )
    fix = parse_uuid(fix_id, "fix_id") if fix_id else None
    if fix is not None and origin is not Origin.PILOT_INLINE:
        raise fix_needs_inline()
    return NewSession(
        origin=origin,
        ai_session_id=ai_id,
        language=language or ScriptLanguage.POWERSHELL,
        title=title or ("Script Builder" if origin is Origin.PILOT_INLINE else "Untitled script"),
        fix_id=fix,
    )


def fix_needs_inline() -> InvalidArgument:
    return InvalidArgument(
        "fix_id is only for pilot_inline sessions (a fix of their AI session)",
        field="fix_id",
        reason=FIX_ID_NEEDS_INLINE,
    )


def message_fix(session: Session, fix_id: str) -> uuid.UUID | None:
    """The fix a message names (validated): only an inline session drafts for one."""
    if not fix_id:
        return None
    parsed = parse_uuid(fix_id, "fix_id")
    if session.origin is not Origin.PILOT_INLINE:
        raise fix_needs_inline()
    return parsed


# The editor draft (PATCH .../draft): which fields a request changes.
DRAFT_FIELDS = ("editor_buffer", "mode")


@dataclass(frozen=True, slots=True)
class DraftChange:
    """What an UpdateDraft writes: None leaves that field alone."""

    editor_buffer: str | None
    mode: EditorMode | None

    @property
    def empty(self) -> bool:
        return self.editor_buffer is None and self.mode is None


def draft_change(
    fields: frozenset[str], *, editor_buffer: str, mode: EditorMode | None
) -> DraftChange:
    """The change the masked fields make ("switching modes never discards
    work": a field outside `fields` is kept as it is). `mode` cannot be
    cleared; the buffer may be emptied."""
    if "mode" in fields and mode is None:
        raise InvalidArgument("mode must be ai or editor; it cannot be cleared", field="mode")
    if "editor_buffer" in fields:
        check_text(editor_buffer, "editor_buffer", max_len=MAX_EDITOR_BUFFER)
    return DraftChange(
        editor_buffer=editor_buffer if "editor_buffer" in fields else None,
        mode=mode if "mode" in fields else None,
    )
