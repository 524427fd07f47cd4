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
    from flowpilot.runtime.auth import Principal
    from scriptbuilder_service.domain.templates import Parameter

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


@dataclass(frozen=True, slots=True)
class NewSession:
    """A validated create request."""

    origin: Origin
    ai_session_id: uuid.UUID | None
    language: ScriptLanguage
    title: str


def new_session(
    *, origin: Origin | None, ai_session_id: str | None, language: ScriptLanguage | None, title: str
) -> NewSession:
    """Validates a create request (seed: `pilot_inline` needs `ai_session_id`)."""
    origin = origin or Origin.STANDALONE
    title = check_text(title.strip(), "title", max_len=MAX_TITLE)
    ai_id = parse_uuid(ai_session_id, "ai_session_id") if ai_session_id else None
    if origin is Origin.PILOT_INLINE and ai_id is None:
        raise InvalidArgument(
            "ai_session_id is required when origin is pilot_inline",
            field="ai_session_id",
            reason="AI_SESSION_ID_REQUIRED",
        )
    return NewSession(
        origin=origin,
        ai_session_id=ai_id,
        language=language or ScriptLanguage.POWERSHELL,
        title=title or ("Script Builder" if origin is Origin.PILOT_INLINE else "Untitled script"),
    )
