"""The starter template library against the real database: the catalogue as
published templates of an account, idempotent, updated when a recipe
changes, safe to run twice at once, and usable through the API."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import grpc
import pytest

from flowpilot.kernel import ScriptLanguage
from flowpilot.runtime.errors import InvalidArgument
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2 as sb
from scriptbuilder_service.domain.recipe_import import Outcome
from scriptbuilder_service.main import template_import
from scriptbuilder_service.recipes import load_recipes
from scriptbuilder_service.service import TemplateImportService
from tests.scriptbuilder.helpers import sb_stub, sql
from tests.support.grpc_client import auth_metadata

pytestmark = pytest.mark.integration

RECIPES = load_recipes()
TEMPLATES = sum(len(r.languages) for r in RECIPES)


@pytest.fixture
async def importer(settings, scriptbuilder_db_url: str) -> AsyncIterator[TemplateImportService]:
    # Room for the concurrent imports below: one connection each.
    async with template_import(settings, database_url=scriptbuilder_db_url, pool_size=4) as use:
        yield use


def outcomes(results) -> dict[Outcome, int]:
    return {o: sum(r.outcome is o for r in results) for o in Outcome}


async def test_import_twice_adds_nothing_the_second_time(importer, scriptbuilder_db_url):
    first = await importer.import_recipes(RECIPES, account_id="acct-1")
    assert outcomes(first) == {
        Outcome.CREATED: TEMPLATES,
        Outcome.UPDATED: 0,
        Outcome.UNCHANGED: 0,
        Outcome.STALE: 0,
    }
    second = await importer.import_recipes(RECIPES, account_id="acct-1")
    assert outcomes(second)[Outcome.UNCHANGED] == TEMPLATES
    assert [r.template_id for r in second] == [r.template_id for r in first]
    rows = await sql(
        scriptbuilder_db_url,
        "SELECT count(*), count(DISTINCT source_recipe_id), min(status), max(status), "
        "min(created_by_user_id), bool_and(created_at = updated_at) FROM script_templates",
    )
    assert rows == [
        (TEMPLATES, len(RECIPES), "published", "published", "flowpilot-catalogue", True)
    ]
    # Another account gets its own library.
    other = await importer.import_recipes(RECIPES, account_id="acct-2", user_id="admin-7")
    assert outcomes(other)[Outcome.CREATED] == TEMPLATES
    assert not {r.template_id for r in other} & {r.template_id for r in first}


async def test_a_changed_recipe_updates_its_template_and_a_removed_one_is_stale(
    importer, scriptbuilder_db_url
):
    await importer.import_recipes(RECIPES, account_id="acct-1")
    changed = [
        dataclasses.replace(
            r,
            scripts={
                **r.scripts,
                ScriptLanguage.BASH: r.scripts[ScriptLanguage.BASH] + "\necho done",
            },
        )
        if r.id == "reload-nginx"
        else r
        for r in RECIPES
        if r.id != "docker-prune"
    ]
    results = await importer.import_recipes(changed, account_id="acct-1")
    assert [(r.recipe_id, r.outcome) for r in results if r.outcome is not Outcome.UNCHANGED] == [
        ("reload-nginx", Outcome.UPDATED),
        ("docker-prune", Outcome.STALE),
    ]
    rows = await sql(
        scriptbuilder_db_url,
        "SELECT body LIKE '%echo done', created_at < updated_at FROM script_templates "
        "WHERE source_recipe_id = 'reload-nginx'",
    )
    assert rows == [(True, True)]
    # Stale templates are kept: fixes may point at them.
    kept = await sql(
        scriptbuilder_db_url,
        "SELECT count(*) FROM script_templates WHERE source_recipe_id = 'docker-prune'",
    )
    assert kept == [(1,)]


async def test_a_dry_run_writes_nothing(importer, scriptbuilder_db_url):
    results = await importer.import_recipes(RECIPES, account_id="acct-1", dry_run=True)
    assert outcomes(results)[Outcome.CREATED] == TEMPLATES
    assert await sql(scriptbuilder_db_url, "SELECT count(*) FROM script_templates") == [(0,)]


async def test_concurrent_imports_make_one_library(importer, scriptbuilder_db_url):
    runs = await asyncio.gather(
        *(importer.import_recipes(RECIPES, account_id="acct-1") for _ in range(3))
    )
    created = sum(outcomes(r)[Outcome.CREATED] for r in runs)
    assert created == TEMPLATES
    assert await sql(scriptbuilder_db_url, "SELECT count(*) FROM script_templates") == [
        (TEMPLATES,)
    ]


async def test_bad_account_is_refused_and_writes_nothing(importer, scriptbuilder_db_url):
    for account in ("", "   ", "a" * 256, "a\x00b"):
        with pytest.raises(InvalidArgument):
            await importer.import_recipes(RECIPES, account_id=account)
    assert await sql(scriptbuilder_db_url, "SELECT count(*) FROM script_templates") == [(0,)]


async def test_imported_templates_are_the_account_library(
    importer, scriptbuilder_channel, make_token
):
    await importer.import_recipes(RECIPES, account_id="acct-1")
    stub = sb_stub(scriptbuilder_channel)
    token = make_token(account_id="acct-1")
    listed = await stub.ListTemplates(
        sb.ListTemplatesRequest(page_size=100, status=sb.TEMPLATE_STATUS_PUBLISHED),
        metadata=auth_metadata(token),
    )
    by_recipe = {(t.source_recipe_id, t.language): t for t in listed.templates}
    assert len(listed.templates) == min(TEMPLATES, 100)
    spooler = next(t for t in listed.templates if t.source_recipe_id == "clear-print-queue")
    assert spooler.name == "Clear a stuck print queue and restart the Print Spooler (PowerShell)"
    rendered = await stub.RenderTemplate(
        sb.RenderTemplateRequest(
            template_id=spooler.id, parameters={"computer_name": "PRN'; Remove-Item C:\\ #"}
        ),
        metadata=auth_metadata(token),
    )
    assert "[string]$ComputerName = 'PRN''; Remove-Item C:\\ #'," in rendered.script
    # Another account sees none of them.
    other = await stub.ListTemplates(
        sb.ListTemplatesRequest(), metadata=auth_metadata(make_token(account_id="acct-9"))
    )
    assert list(other.templates) == []
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.GetTemplate(
            sb.GetTemplateRequest(template_id=spooler.id),
            metadata=auth_metadata(make_token(account_id="acct-9")),
        )
    assert info.value.code() is grpc.StatusCode.NOT_FOUND
    assert by_recipe


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FLOWPILOT_SCRIPTBUILDER_DATABASE_URL": url,
        "FLOWPILOT_LOG_FORMAT": "text",
    }
    return subprocess.run(
        [sys.executable, "-m", "flowpilot", "templates", "import", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_reports_what_it_did(scriptbuilder_db_url):
    first = _cli(scriptbuilder_db_url, "--account", "acct-cli")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert len(lines) == TEMPLATES + 1
    assert any(line.startswith("created    clear-print-queue (powershell)  ") for line in lines)
    assert lines[-1] == (
        f"{TEMPLATES} templates for account acct-cli: "
        f"{TEMPLATES} created, 0 updated, 0 unchanged, 0 stale"
    )
    again = _cli(scriptbuilder_db_url, "--account", "acct-cli")
    assert again.stdout.splitlines()[-1].endswith(
        f"0 created, 0 updated, {TEMPLATES} unchanged, 0 stale"
    )
    dry = _cli(scriptbuilder_db_url, "--account", "acct-new", "--dry-run")
    assert dry.stdout.splitlines()[-1].startswith("dry run, nothing written: ")
    refused = _cli(scriptbuilder_db_url, "--account", " ")
    assert refused.returncode == 2 and "account" in refused.stderr and refused.stdout == ""
