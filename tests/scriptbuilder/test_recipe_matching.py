"""Ranked retrieval over the catalogue (pure code)."""

from __future__ import annotations

from flowpilot.kernel import ScriptLanguage
from scriptbuilder_service.domain.recipe_matching import (
    THRESHOLD,
    QueryPart,
    RecipeIndex,
    stem,
    words,
)
from scriptbuilder_service.domain.recipes import Platform, Recipe
from scriptbuilder_service.recipes import load_index

INDEX = load_index()


def top(text: str, language: ScriptLanguage | None = None, *more: QueryPart) -> str | None:
    ranked = INDEX.rank([QueryPart(text), *more], language=language)
    return ranked[0].recipe.id if ranked and ranked[0].confident else None


def test_words_are_stemmed_folded_and_stripped_of_names():
    assert stem("printing") == "print" and stem("queues") == "queue" and stem("bus") == "bus"
    assert words("Printers are printing nothing") == ["print", "print"]
    # Synonyms meet: a hung spooler and a frozen one are both stuck.
    assert words("hung") == words("frozen") == words("jammed") == ["stuck"]
    assert words("reboot") != words("restart")
    # Host and mail names say nothing about the fix.
    assert words("check mail.contoso.com and 10.0.0.1 for jane@contoso.com") == ["mail"] or (
        "contoso" not in words("check mail.contoso.com")
    )
    assert "contoso" not in words("check mail.contoso.com:443")
    assert words("please, could you help with this ticket asap") == []


def test_the_request_picks_the_recipe():
    assert top("restart the print spooler on a remote print server and clear stuck jobs") == (
        "clear-print-queue"
    )
    assert top("user is locked out of AD again") == "unlock-ad-account"
    assert top("teams is stuck on a white screen") == "clear-teams-cache"


def test_nothing_confident_for_unrelated_requests():
    for text in ("hi", "order pizza for the team", "migrate the ERP to SAP HANA", ""):
        assert top(text) is None, text
    assert THRESHOLD > 0


def test_the_platform_tilts_the_choice():
    # "restart the service" fits both; the language and the words decide.
    assert top("restart the backup service", ScriptLanguage.BASH) == "restart-systemd-unit"
    assert top("restart the backup service", ScriptLanguage.POWERSHELL) == "restart-windows-service"
    assert top("restart the backup service on ubuntu", ScriptLanguage.POWERSHELL) == (
        "restart-systemd-unit"
    )


def test_phrases_and_weights_count():
    ranked = INDEX.rank([QueryPart("print queue stuck")])
    plain = INDEX.rank([QueryPart("queue print stuck")])
    # The recipe's own phrase, word for word, scores higher than the same words.
    assert ranked[0].recipe.id == plain[0].recipe.id == "clear-print-queue"
    assert ranked[0].score > plain[0].score
    # A fix title counts, less than the message.
    assert top("draft it", None, QueryPart("Clear the stuck print queue", 0.8)) == (
        "clear-print-queue"
    )
    strong = INDEX.rank([QueryPart("clear the stuck print queue")])[0].score
    weak = INDEX.rank([QueryPart("x"), QueryPart("clear the stuck print queue", 0.5)])[0].score
    assert weak < strong


def test_an_index_of_one_recipe():
    recipe = next(r for r in INDEX.recipes if r.id == "reload-nginx")
    single = RecipeIndex([recipe])
    assert single.get("reload-nginx") is recipe and single.get("nope") is None
    assert [m.recipe for m in single.rank([QueryPart("reload nginx")])] == [recipe]
    assert single.rank([QueryPart("unrelated words entirely")]) == []
    assert isinstance(recipe, Recipe) and recipe.platform is Platform.LINUX
