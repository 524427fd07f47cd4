"""The Script Builder tab's submit as pure rules: which script, which basis."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from flowpilot.kernel import ScriptLanguage
from flowpilot.kernel.scripts import Parameter, ParameterType
from flowpilot.runtime.errors import FailedPrecondition, InvalidArgument
from scriptbuilder_service.domain.model import (
    EditorMode,
    Message,
    Origin,
    Role,
    Session,
    SessionStatus,
)
from scriptbuilder_service.domain.submission import SubmitSource, submission_of, target_fix

NOW = datetime(2026, 11, 22, tzinfo=UTC)
FIX, OTHER_FIX = uuid.UUID(int=50), uuid.UUID(int=51)
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


def draft(
    n: int, script: str | None, params: tuple[Parameter, ...] = (), fix: uuid.UUID | None = FIX
) -> Message:
    return Message(
        fix_id=fix,
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
    sent = submission_of(session(), NEWEST_FIRST, None, FIX)
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
    sent = submission_of(session(buffer, EditorMode.EDITOR), NEWEST_FIRST, None, FIX)
    assert sent.script == buffer
    assert sent.basis.ai_message_id == NEWEST_FIRST[2].id
    typed = "Restart-Service Spooler -ComputerName {{computer_name}} -Force"
    sent = submission_of(session(typed), NEWEST_FIRST, SubmitSource.EDITOR, FIX)
    assert sent.basis.ai_message_id == NEWEST_FIRST[1].id
    assert sent.script_parameters == (HOST,)  # typed as the draft typed it


def test_a_buffer_without_ai_drafts_is_hand_written() -> None:
    sent = submission_of(session("ls {{path}}", EditorMode.EDITOR), [], None, FIX)
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
        submission_of(session(buffer), drafts, source, FIX)
    assert refused.value.reason == "NO_SCRIPT_TO_SUBMIT"


def test_fix_targeted_drafting_sends_the_script_drafted_for_that_fix() -> None:
    """Two fixes drafted in one inline session: each submit takes the AI's
    latest script for its own fix (an exchange that named no fix counts for
    either)."""
    dns = draft(5, "Clear-DnsClientCache", fix=OTHER_FIX)
    spooler = draft(4, "Restart-Service Spooler")
    untargeted = draft(3, "Get-Date", fix=None)
    newest_first = [dns, spooler, untargeted]
    assert submission_of(session(), newest_first, None, FIX).basis.ai_message_id == spooler.id
    assert submission_of(session(), newest_first, None, OTHER_FIX).basis.ai_message_id == dns.id
    third = uuid.UUID(int=52)
    assert submission_of(session(), newest_first, None, third).script == "Get-Date"
    buffer = "Clear-DnsClientCache -Verbose"
    editor = submission_of(session(buffer), newest_first, SubmitSource.EDITOR, FIX)
    assert editor.basis.ai_message_id != dns.id  # not another fix's draft


def test_the_submit_targets_the_named_fix_else_the_sessions() -> None:
    drafting = replace(session(), fix_id=OTHER_FIX)
    assert target_fix(drafting, None) == OTHER_FIX
    assert target_fix(drafting, FIX) == FIX
    with pytest.raises(InvalidArgument) as refused:
        target_fix(session(), None)
    assert refused.value.reason == "MISSING_FIELD"
