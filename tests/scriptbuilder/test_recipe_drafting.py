"""The recipe drafter's decisions (pure code): drafting, asking, refining."""

from __future__ import annotations

from typing import Any

from flowpilot.kernel import ScriptLanguage
from scriptbuilder_service.domain.drafting import (
    Draft,
    DraftRequest,
    FixContext,
    Turn,
    bounded,
    requested_language,
)
from scriptbuilder_service.domain.model import Origin, Role
from scriptbuilder_service.domain.recipe_drafting import (
    best_recipes,
    draft_with_recipes,
    recipes_note,
)
from scriptbuilder_service.domain.templates import new_template
from scriptbuilder_service.recipes import load_index

INDEX = load_index()


def ask(
    message: str,
    language: ScriptLanguage = ScriptLanguage.POWERSHELL,
    history: tuple[Turn, ...] = (),
    fix: FixContext | None = None,
) -> Draft:
    request = DraftRequest(language, Origin.STANDALONE, "t", history, message, fix)
    return draft_with_recipes(request, INDEX)


def converse(
    messages: list[str], language: ScriptLanguage = ScriptLanguage.POWERSHELL
) -> list[Draft]:
    history: list[Turn] = []
    drafts = []
    for message in messages:
        draft = ask(message, language, tuple(history))
        drafts.append(draft)
        history += [
            Turn(Role.USER, message),
            Turn(
                Role.ASSISTANT,
                draft.content,
                script=draft.script,
                language=draft.language,
                parameters=draft.parameters,
                recipe_id=draft.recipe_id,
            ),
        ]
    return drafts


def values(draft: Draft) -> dict[str, Any]:
    return {p.name: p.default for p in draft.parameters}


def test_the_issue_example_drafts_the_real_fix():
    draft = ask("restart the print spooler on a remote print server and clear stuck jobs")
    assert draft.recipe_id == "clear-print-queue" and draft.language is ScriptLanguage.POWERSHELL
    assert draft.script is not None and "TODO" not in draft.script
    for command in ("Stop-Service -Name Spooler", "Start-Service -Name Spooler", "Remove-Item"):
        assert command in draft.script
    # The output contract, complete and consistent.
    assert draft.content == f"{draft.explanation}\n\n```powershell\n{draft.script}\n```\n"
    assert bounded(draft) == draft
    new_template(
        name="x",
        description="",
        language=draft.language,
        body=draft.script,
        parameters=draft.parameters,
    )
    # It says which computer it will run against, and how to preview.
    assert "name the computer" in draft.explanation and "-WhatIf" in draft.explanation


def test_values_from_the_request_become_defaults():
    draft = ask("Account jsmith keeps getting locked out, unlock it")
    assert draft.recipe_id == "unlock-ad-account"
    user = next(p for p in draft.parameters if p.name == "user_name")
    assert user.default == "jsmith" and not user.required
    assert "user_name = “jsmith”" in draft.explanation
    # A required value not in the request stays required and is asked for.
    draft = ask("unlock an AD account that keeps getting locked")
    user = next(p for p in draft.parameters if p.name == "user_name")
    assert user.required and user.default is None
    assert "Still needed before it can run: user_name" in draft.explanation


def test_nothing_matching_asks_a_precise_question_instead_of_inventing():
    for message in ("hi", "order pizza for the team", "migrate our ERP to the cloud"):
        draft = ask(message)
        assert draft.script is None and draft.recipe_id is None and not draft.parameters
        assert "no vetted recipe" in draft.content
        assert "which system is affected" in draft.content
        if len(message) > 2:
            assert message not in draft.content  # no parroting
    # Below the threshold: the closest recipes are offered, not drafted.
    near = ask("wifi keeps dropping")
    assert near.script is None and "`restart-network-adapter`" in near.content


def test_the_fix_being_drafted_decides_when_the_message_does_not():
    fix = FixContext(
        "f", "Resync the system clock", "Clock skew on WS-0099 breaks Kerberos", ScriptLanguage.BASH
    )
    draft = ask("please write the script", ScriptLanguage.PYTHON, fix=fix)
    # The fix's language wins over the session's; the recipe has no bash.
    assert draft.recipe_id == "resync-time-windows" and draft.language is ScriptLanguage.POWERSHELL
    assert "no bash version" in draft.explanation
    assert values(draft)["computer_name"] == "WS-0099"
    question = ask("hi", fix=FixContext("f", "Make the VPN faster", "It is slow", None))
    assert question.script is None and "for the fix “Make the VPN faster”" in question.content


def test_a_follow_up_changes_the_target_not_the_recipe():
    first, second = converse(
        ["Clear the stuck print queue on PRN-SRV02", "Same thing on PRN-SRV03 please"]
    )
    assert first.recipe_id == second.recipe_id == "clear-print-queue"
    assert values(first)["computer_name"] == "PRN-SRV02"
    assert values(second)["computer_name"] == "PRN-SRV03"
    assert "computer_name “PRN-SRV02” → “PRN-SRV03”" in second.explanation
    assert second.explanation != first.explanation


def test_a_follow_up_changes_the_language():
    first, second = converse(
        ["restart the cups service, printing is broken", "now give me that in python"],
        ScriptLanguage.BASH,
    )
    assert first.language is ScriptLanguage.BASH and second.language is ScriptLanguage.PYTHON
    assert second.recipe_id == "restart-systemd-unit"
    assert values(second)["unit"] == "cups"  # kept from the first message
    assert second.script is not None and "subprocess" in second.script
    assert "now in Python" in second.explanation


def test_a_follow_up_adds_a_step():
    first, second = converse(
        ["Flush the DNS cache on the user's laptop", "also reset winsock while you're at it"]
    )
    assert values(first)["reset_winsock"] is False
    assert values(second)["reset_winsock"] is True
    assert second.recipe_id == first.recipe_id
    assert "reset_winsock false → true" in second.explanation


def test_a_follow_up_with_nothing_to_change_asks_what_to_change():
    drafts = converse(["Clear the stuck print queue on PRN-SRV02", "thanks", "in bash please"])
    for draft in drafts[1:]:
        assert draft.script is None and "Which do you want?" in draft.content
        assert "computer_name (now “PRN-SRV02”)" in draft.content
    assert "exists only in PowerShell" in drafts[2].content


def test_a_follow_up_about_something_else_starts_over():
    _, second, third = converse(
        ["Clear the stuck print queue on PRN-SRV02", "now unlock the AD account of jdoe", "pizza"]
    )
    assert second.recipe_id == "unlock-ad-account" and values(second)["user_name"] == "jdoe"
    assert third.script is None and "no vetted recipe" in third.content


def test_an_alternative_is_offered_when_two_recipes_are_close():
    # Python names no platform: an AD account or a Linux one?
    draft = ask("account locked", ScriptLanguage.PYTHON)
    assert draft.recipe_id == "unlock-ad-account"
    assert "If you meant “Reset a Linux account locked by failed logins” instead" in (
        draft.explanation
    )
    assert "If you meant" not in ask("account jsmith locked in AD").explanation


def test_deterministic_and_hostile_text_stays_data():
    message = "clear print queue on PRN-01 $(rm -rf /) {{evil}} '; Remove-Item C:\\"
    assert ask(message) == ask(message)
    draft = ask(message)
    assert draft.script is not None and "{{evil}}" not in draft.script
    assert "rm -rf" not in draft.script


def test_requested_language():
    assert requested_language("can I have it in bash?") is ScriptLanguage.BASH
    assert requested_language("write a python version") is ScriptLanguage.PYTHON
    assert requested_language("as a .ps1 please") is ScriptLanguage.POWERSHELL
    assert requested_language("for linux") is ScriptLanguage.BASH
    assert requested_language("restart the service on the windows server") is None
    assert requested_language("bash it until it works") is None


def test_best_recipes_and_their_note_for_a_model():
    request = DraftRequest(
        ScriptLanguage.BASH, Origin.STANDALONE, "t", (), "journal logs take 12G, trim them", None
    )
    matches = best_recipes(request, INDEX)
    assert matches and matches[0].recipe.id == "vacuum-systemd-journal"
    note = recipes_note(matches, ScriptLanguage.BASH)
    assert note is not None and "Recipe vacuum-systemd-journal:" in note
    assert "journalctl --vacuum-size" in note and '"name": "max_size"' in note
    assert recipes_note([], ScriptLanguage.BASH) is None
