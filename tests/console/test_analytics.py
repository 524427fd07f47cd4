"""Issue 16 in the console: a template's success rate with its sample size on
the TemplateMatchPanel, the "Compare" disclosure (AI draft, template render,
about to run), and the Analytics page, each checked against runs seeded
through the API and counted by hand."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.async_api import expect

from tests.console.conftest import Api, Console
from tests.console.helpers import apply, open_session

pytestmark = pytest.mark.e2e

AI_DRAFT = "Restart-Service -Name Spooler"


async def _seed_runs(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """A template with five fixes: two runs worked, one failed, one has no outcome
    yet, one not run; and a bash drafted fix run once, partial. Returns the
    template and the session."""
    template = await api.template(name=f"Restart a service {uuid.uuid4().hex[:6]}")
    session = await api.session("Printing stopped")
    for outcome in ("applied_success", "applied_success", "applied_failed", None):
        fix = await api.fix(session["id"], script_template_id=template["id"])
        base = f"/ai-sessions/{session['id']}/suggested-fixes/{fix['id']}"
        await api.call("POST", f"{base}/apply", {"parameters": {"service": "Spooler"}})
        if outcome:
            await api.call("PATCH", f"{base}/outcome", {"outcome": outcome})
    drafted = await api.fix(
        session["id"],
        title="Clear the temp folder",
        script_language="bash",
        ai_drafted_script="rm -rf /tmp/cache",
    )
    base = f"/ai-sessions/{session['id']}/suggested-fixes/{drafted['id']}"
    await api.call("POST", f"{base}/apply")
    await api.call("PATCH", f"{base}/outcome", {"outcome": "applied_partial", "notes": "half"})
    return template, session


async def test_template_panel_shows_the_success_rate_and_the_comparison(open_console) -> None:
    console: Console = await open_console()
    template, session = await _seed_runs(console.api)
    await console.api.fix(
        session["id"],
        title="Restart the spooler again",
        script_template_id=template["id"],
        ai_drafted_script=AI_DRAFT,
        ai_drafted_parameters={"service": "Spooler", "force": False},
    )
    page = await open_session(console, session)
    await page.get_by_role("button", name="Restart the spooler again").first.click()
    await apply(page)
    panel = page.get_by_test_id("template-match-panel")
    # Hand-counted: 2 successes of 3 decided (67%), 1 run without an outcome.
    await expect(panel.get_by_test_id("success-rate")).to_have_text(
        "This template: Worked 2 of 3 runs (67%) in this account, last 90 days"
        " · 1 more without an outcome"
    )

    compare = panel.get_by_role("button", name="Compare")
    await expect(compare).to_have_attribute("aria-expanded", "false")
    await expect(panel.get_by_test_id("compare")).to_be_hidden()
    await panel.get_by_label("service").fill("Spooler2")
    await compare.focus()
    await page.keyboard.press("Enter")
    await expect(compare).to_have_attribute("aria-expanded", "true")
    regions = panel.get_by_test_id("compare")
    ai = regions.get_by_role("region", name="AI draft")
    rendered = regions.get_by_role("region", name="Template render")
    about = regions.get_by_role("region", name="About to run")
    await expect(ai).to_contain_text(AI_DRAFT)
    await expect(rendered).to_contain_text("Spooler")
    await expect(rendered).not_to_contain_text("Spooler2")
    await expect(about).to_contain_text("Spooler2")
    await expect(about.locator("mark")).to_contain_text("Spooler2")
    await about.scroll_into_view_if_needed()
    await console.screenshot("issue16-template-panel-compare")


async def test_analytics_page_shows_the_hand_counted_figures(open_console) -> None:
    console: Console = await open_console(account=f"acct-{uuid.uuid4().hex[:8]}")
    template, _ = await _seed_runs(console.api)
    await console.goto("/")
    await console.page.get_by_role("link", name="Analytics").click()
    page = console.page
    await expect(page.get_by_role("heading", level=1, name="Analytics")).to_be_visible()
    await page.get_by_label("Last 7 days").check()
    totals = page.get_by_test_id("analytics-totals")
    # Hand-counted: 5 runs; 2 success, 1 failed, 1 partial, 1 pending; 2 of 4 decided.
    for term, value in (
        ("Runs declared", "5"),
        ("Success", "2"),
        ("Failed", "1"),
        ("Partial", "1"),
        ("Never applied", "0"),
        ("No outcome yet", "1"),
        ("Success rate", "Worked 2 of 4 runs (50%)"),
    ):
        await expect(totals.locator("div", has=page.get_by_text(term, exact=True))).to_contain_text(
            value
        )
    await expect(totals).to_contain_text("(5 runs)")  # proposal → run samples

    by_version = page.get_by_role("table", name="By template and version")
    row = by_version.get_by_role("row", name=f"{template['name']}, version 1")
    await expect(row.get_by_role("cell")).to_have_text(
        ["4", "2", "1", "0", "0", "1", "67% (2 of 3)", re.compile(r"\d")]
    )
    by_language = page.get_by_role("table", name="By language")
    await expect(
        by_language.get_by_role("row", name="Bash").get_by_role("cell").first
    ).to_have_text("1")
    await expect(
        by_language.get_by_role("row", name="PowerShell").get_by_role("cell").first
    ).to_have_text("4")
    assert await console.axe() == []
    await console.screenshot("analytics")


async def test_analytics_errors_are_in_words(open_console) -> None:
    console: Console = await open_console(account=f"acct-{uuid.uuid4().hex[:8]}")
    await console.page.route(
        "**/api/v1/analytics/outcomes*",
        lambda route: route.fulfill(
            status=503,
            content_type="application/json",
            body='{"error": {"code": 503, "status": "UNAVAILABLE", "message": "fixes down"}}',
        ),
    )
    await console.goto("/analytics")
    await expect(
        console.page.get_by_role("heading", name="Could not load the totals")
    ).to_be_visible()
    await expect(console.page.get_by_role("heading", level=1, name="Analytics")).to_be_visible()
