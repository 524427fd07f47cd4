"""The Script Builder tab's submit as pure rules: which script, which basis."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from flowpilot.kernel import ScriptLanguage
from flowpilot.kernel.scripts import Parameter, ParameterType
from flowpilot.runtime.errors import FailedPrecondition
from scriptbuilder_service.domain.model import (
    EditorMode,
    Message,
    Origin,
    Role,
    Session,
    SessionStatus,
)
from scriptbuilder_service.domain.submission import SubmitSource, submission_of

NOW = datetime(2026, 11, 22, tzinfo=UTC)
HOST = Parameter("computer_name", ParameterType.STRING, default="PRN-SRV03")


def session(buffer: str = "", mode: EditorMode = EditorMode.AI) -> Session:
    return Session(
        id=uuid.UUID(int=1),
        user_id="u",
        account_id="a",
        ai_session_id=uuid.UUID(int=2),
        origin=Origin.PILOT_INLINE,
        title="",
        language=ScriptLanguage.POWERSHELL,
        status=SessionStatus.ACTIVE,
        editor_buffer=buffer,
        mode=mode,
        created_at=NOW,
        updated_at=NOW,
    )


def draft(n: int, script: str | None, params: tuple[Parameter, ...] = ()) -> Message:
    return Message(
        id=uuid.UUID(int=100 + n),
        session_id=uuid.UUID(int=1),
        role=Role.ASSISTANT,
        content="",
        script=script,
        created_at=NOW,
        parameters=params,
        recipe_id=f"recipe-{n}",
    )


NEWEST_FIRST = [
    draft(3, None),  # a question, no script
    draft(2, "Restart-Service Spooler -ComputerName {{computer_name}}", (HOST,)),
    draft(1, "Clear-DnsClientCache"),
]


def test_the_ais_latest_script_with_its_values() -> None:
    sent = submission_of(session(), NEWEST_FIRST, None)
    assert sent.script == NEWEST_FIRST[1].script
    assert sent.script_parameters == (HOST,)
    assert sent.values == {"computer_name": "PRN-SRV03"}
    assert (sent.basis.ai_script, sent.basis.ai_message_id) == (
        NEWEST_FIRST[1].script,
        NEWEST_FIRST[1].id,
    )
    assert sent.basis.recipe_id == "recipe-2"


def test_the_buffer_is_measured_against_the_draft_it_is_closest_to() -> None:
    buffer = "Clear-DnsClientCache\nipconfig /flushdns"
    sent = submission_of(session(buffer, EditorMode.EDITOR), NEWEST_FIRST, None)
    assert sent.script == buffer
    assert sent.basis.ai_message_id == NEWEST_FIRST[2].id
    typed = "Restart-Service Spooler -ComputerName {{computer_name}} -Force"
    sent = submission_of(session(typed), NEWEST_FIRST, SubmitSource.EDITOR)
    assert sent.basis.ai_message_id == NEWEST_FIRST[1].id
    assert sent.script_parameters == (HOST,)  # typed as the draft typed it


def test_a_buffer_without_ai_drafts_is_hand_written() -> None:
    sent = submission_of(session("ls {{path}}", EditorMode.EDITOR), [], None)
    assert sent.basis.ai_script is None
    assert sent.basis.script_builder_session_id == uuid.UUID(int=1)
    assert [p.name for p in sent.script_parameters] == ["path"]
    assert sent.script_parameters[0].required


@pytest.mark.parametrize(
    ("buffer", "drafts", "source"),
    [(" \n", NEWEST_FIRST, SubmitSource.EDITOR), ("x", [draft(1, None)], SubmitSource.AI)],
)
def test_nothing_to_submit(buffer: str, drafts: list[Message], source: SubmitSource) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        submission_of(session(buffer), drafts, source)
    assert refused.value.reason == "NO_SCRIPT_TO_SUBMIT"
