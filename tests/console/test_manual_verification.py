"""Seed §Tests → Frontend "Manual verification": one test per bullet, in a real browser."""

from __future__ import annotations

import asyncio
import itertools
import re

import pytest
from playwright.async_api import Route, expect

from tests.console.helpers import (
    SB_TAB,
    SPOOLER_DRAFT,
    apply,
    banner,
    editor_text,
    open_session,
    tab,
    type_in_editor,
    wait_for_fix,
)

NO_TEMPLATE_TITLE = "How do you want to run this script?"
CARDS = ("Run now, no template", "Run now, templatize after", "Just open the builder")


async def test_no_draft_fix_apply_opens_the_script_builder_tab(open_console) -> None:
    console = await open_console()
    session = await console.api.session()
    fix = await console.api.fix(session["id"])
    page = await open_session(console, session)

    await expect(page.get_by_role("tablist")).to_be_visible()
    await expect(tab(page, "Chat")).to_have_attribute("aria-selected", "true")
    await apply(page)

    await expect(tab(page, SB_TAB)).to_have_attribute("aria-selected", "true")
    heading = page.get_by_role("heading", name="Script Builder · Restart the print spooler")
    await expect(heading).to_be_focused()
    await expect(page.get_by_role("button", name="✎ Write myself")).to_be_visible()
    # The Chat panel is hidden, not gone: the banner is still in the DOM.
    await expect(banner(page)).to_be_hidden()
    await expect(banner(page)).to_have_count(1)
    await console.screenshot("ai-session-script-builder-tab")
    # Opening a drafting surface never stamps (seed §5).
    assert (await console.api.get_fix(fix))["applied_at"] is None


async def test_ai_path_submit_hides_the_tab_and_makes_the_dialog_eligible(open_console) -> None:
    console = await open_console()
    session = await console.api.session()
    fix = await console.api.fix(session["id"])
    page = await open_session(console, session)
    await apply(page)

    await page.get_by_label("Message the drafter").fill("Restart the spooler on the print server")
    await page.get_by_role("button", name="Send").click()
    use = page.get_by_role("button", name="Use this script")
    await expect(use).to_have_count(1)
    # The recipe drafter's print-queue recipe, with its typed parameters.
    await expect(page.get_by_role("group", name="Drafted script", exact=True)).to_contain_text(
        "{{computer_name}}"
    )
    await use.click()
    await expect(use).to_have_attribute("aria-pressed", "true")
    await page.get_by_label("computer_name").fill("PRINT01")
    await console.screenshot("ai-session-script-builder-ai-mode")
    await page.get_by_role("button", name="Submit", exact=True).click()

    # The fix has a script now: no strip, back on Chat, and Apply leads to the dialog.
    await expect(page.get_by_role("tablist")).to_have_count(0)
    await expect(banner(page)).to_be_visible()
    await expect(page.get_by_role("status").filter(has_text="Script attached")).to_be_visible()
    drafted = await wait_for_fix(console, fix, apply_route="no_template_dialog")
    assert "{{computer_name}}" in drafted["ai_drafted_script"]
    assert drafted["ai_drafted_parameters"]["computer_name"] == "PRINT01"
    assert drafted["applied_at"] is None, "Submit never stamps applied_at"
    await apply(page)
    await expect(page.get_by_role("dialog", name=NO_TEMPLATE_TITLE)).to_be_visible()


async def test_manual_path_monaco_with_scaffold_then_submit(open_console) -> None:
    console = await open_console()
    session = await console.api.session()
    fix = await console.api.fix(
        session["id"], script_language="bash", description="Clear the DNS cache.\nThen verify."
    )
    page = await open_session(console, session)
    await apply(page)
    assert not [u for u in console.requests if "CodeEditor" in u], (
        "Monaco loaded before editor mode"
    )

    await page.get_by_role("button", name="✎ Write myself").click()
    await expect(page.locator(".monaco-editor .view-lines")).to_contain_text("set -euo pipefail")
    scaffold = await editor_text(page)
    assert "#!/usr/bin/env bash" in scaffold
    assert "# Fix: Restart the print spooler" in scaffold
    assert "# Clear the DNS cache." in scaffold and "# Then verify." in scaffold
    assert [u for u in console.requests if "CodeEditor" in u], "Monaco comes from its lazy chunk"
    await expect(page.locator(".monaco-editor .mtk1").first).to_be_visible()

    await type_in_editor(page, "resolvectl flush-caches")
    await expect(page.locator(".monaco-editor .view-lines")).to_contain_text(
        "resolvectl flush-caches"
    )
    # Monaco's worker is the bundled one, from the gateway (never a CDN, never a blob).
    for _ in range(100):
        if page.workers:
            break
        await page.wait_for_timeout(100)
    assert [w.url for w in page.workers if "/assets/editor.worker" in w.url], page.workers
    await console.screenshot("ai-session-script-builder-editor")
    await page.get_by_role("button", name="Submit", exact=True).click()

    await expect(page.get_by_role("tablist")).to_have_count(0)
    drafted = await wait_for_fix(console, fix, apply_route="no_template_dialog")
    assert drafted["ai_drafted_script"].startswith("#!/usr/bin/env bash\n# Fix: Restart")
    assert "resolvectl flush-caches" in drafted["ai_drafted_script"]
    assert drafted["applied_at"] is None, "Submit never stamps applied_at"


@pytest.mark.parametrize("width", [1024, 1440])
async def test_drafted_fix_apply_opens_the_dialog_in_the_chat_region_cards_side_by_side(
    open_console, width: int
) -> None:
    console = await open_console(viewport={"width": width, "height": 800})
    session = await console.api.session()
    fix = await console.api.fix(
        session["id"], ai_drafted_script=SPOOLER_DRAFT, ai_drafted_parameters={"service": "Spooler"}
    )
    page = await open_session(console, session)
    await expect(page.get_by_role("tablist")).to_have_count(0)
    await apply(page)

    dialog = page.get_by_role("dialog", name=NO_TEMPLATE_TITLE)
    await expect(dialog).to_be_visible()
    # The server's render of the fix, with its values quoted for PowerShell.
    await expect(dialog.get_by_label("The drafted script")).to_have_text(
        "Restart-Service -Name 'Spooler' -Force"
    )
    await expect(dialog.get_by_label("Parameter values")).to_contain_text("Spooler")
    region = await page.get_by_test_id("chat-region").bounding_box()
    lane = await page.get_by_role("complementary", name="Task lane").bounding_box()
    box = await dialog.bounding_box()
    assert region and lane and box
    assert box["x"] >= region["x"] and box["x"] + box["width"] <= region["x"] + region["width"]
    assert box["x"] + box["width"] <= lane["x"], "the dialog is not in the task lane"

    cards = [
        await dialog.locator(".card", has=page.get_by_role("button", name=name)).bounding_box()
        for name in CARDS
    ]
    assert all(cards)
    tops = {round(c["y"]) for c in cards}
    assert len(tops) == 1, f"the three cards are not on one row: {cards}"
    for left, right in itertools.pairwise(cards):
        assert left["x"] + left["width"] <= right["x"], "cards overlap"
    assert min(c["width"] for c in cards) >= 150, "cards crushed"
    await console.screenshot(f"no-template-dialog-{width}")
    assert (await console.api.get_fix(fix))["applied_at"] is None


async def test_indicator_dot_on_first_message_and_buffer_clears_on_submit(open_console) -> None:
    console = await open_console()
    session = await console.api.session()
    await console.api.fix(session["id"])
    page = await open_session(console, session)
    plain = tab(page, re.compile(r"^Script Builder$"))
    busy = tab(page, "Script Builder, draft in progress")
    await expect(plain).to_be_visible()
    await expect(page.get_by_test_id("draft-dot")).to_have_count(0)

    await apply(page)
    await page.get_by_label("Message the drafter").fill("restart the spooler")
    await page.get_by_role("button", name="Send").click()
    await expect(busy).to_be_visible()
    await expect(page.get_by_test_id("draft-dot")).to_be_visible()
    await page.get_by_role("button", name="Use this script").click()
    await page.get_by_role("button", name="Submit", exact=True).click()
    await expect(page.get_by_role("tablist")).to_have_count(0)
    await expect(page.get_by_test_id("draft-dot")).to_have_count(0)

    # A second fix: the scaffold alone is not a draft; typing is.
    second = await console.api.fix(session["id"], title="Flush DNS cache", script_language="bash")
    await page.get_by_role("button", name=re.compile("^Flush DNS cache")).click()
    await expect(plain).to_be_visible()
    await apply(page)
    await page.get_by_role("button", name="✎ Write myself").click()
    await expect(page.locator(".monaco-editor .view-lines")).to_contain_text(
        "# Fix: Flush DNS cache"
    )
    await expect(plain).to_be_visible()
    await type_in_editor(page, "resolvectl flush-caches")
    await expect(busy).to_be_visible()
    await page.get_by_role("button", name="Submit", exact=True).click()
    await expect(page.get_by_role("tablist")).to_have_count(0)
    await wait_for_fix(console, second, apply_route="no_template_dialog")


async def test_session_switch_resets_tab_and_mode_and_drops_late_answers(open_console) -> None:
    console = await open_console()
    first = await console.api.session("Printer offline")
    second = await console.api.session("VPN drops")
    await console.api.fix(first["id"])
    await console.api.fix(second["id"], title="Renew the VPN certificate")
    page = await open_session(console, first)
    await apply(page)
    await page.get_by_role("button", name="✎ Write myself").click()
    await type_in_editor(page, "Get-Printer")
    await expect(tab(page, "Script Builder, draft in progress")).to_be_visible()
    await page.get_by_role("button", name="✨ Back to AI").click()

    # Hold the drafter's answer for the first session until we have switched.
    release = asyncio.Event()

    async def hold(route: Route) -> None:
        await release.wait()
        await route.continue_()

    # `messages*`: the plain call and the streamed one (`messages:stream`).
    await page.route("**/api/v1/script-builder/sessions/*/messages*", hold)
    await page.get_by_label("Message the drafter").fill("check the printer queue")
    await page.get_by_role("button", name="Send").click()
    await expect(
        page.get_by_role("status").filter(has_text="The drafter is writing")
    ).to_be_visible()

    await (
        page.get_by_role("navigation", name="Other sessions")
        .get_by_role("link", name="VPN drops")
        .click()
    )
    await expect(page.get_by_role("heading", level=1, name="VPN drops")).to_be_visible()
    await expect(tab(page, "Chat")).to_have_attribute("aria-selected", "true")
    await expect(tab(page, re.compile(r"^Script Builder$"))).to_be_visible()
    await expect(banner(page)).to_contain_text("Renew the VPN certificate")
    release.set()
    await page.wait_for_timeout(500)
    await page.unroute("**/api/v1/script-builder/sessions/*/messages*")

    await tab(page, SB_TAB).click()
    builder = page.get_by_role("tabpanel", name=SB_TAB)
    await expect(
        builder.get_by_role("heading", name="Script Builder · Renew the VPN certificate")
    ).to_be_visible()
    await expect(builder.get_by_role("button", name="✎ Write myself")).to_be_visible()
    await expect(builder.get_by_text("Describe what the script should do")).to_be_visible()
    await expect(page.get_by_text("check the printer queue")).to_have_count(0)
    await expect(tab(page, re.compile(r"^Script Builder$"))).to_be_visible()


async def test_escalate_partial_choice_writes_applied_partial_with_notes(open_console) -> None:
    console = await open_console()
    native_dialogs: list[str] = []
    console.page.on("dialog", lambda d: native_dialogs.append(d.type))
    session = await console.api.session()
    verifying = await console.api.fix(session["id"], ai_drafted_script=SPOOLER_DRAFT)
    partial = await console.api.fix(
        session["id"],
        title="Clear the print queue",
        ai_drafted_script="Get-PrintJob | Remove-PrintJob",
    )
    base = f"/ai-sessions/{session['id']}/suggested-fixes"
    await console.api.call("POST", f"{base}/{verifying['id']}/apply")
    await console.api.call("POST", f"{base}/{partial['id']}/apply")
    await console.api.call(
        "PATCH", f"{base}/{partial['id']}/outcome", {"outcome": "applied_partial", "notes": "half"}
    )
    page = await open_session(console, session)

    escalate = page.get_by_role("button", name="Escalate", exact=True)
    await escalate.click()
    dialog = page.get_by_role("dialog", name="Escalate this session")
    await expect(dialog).to_be_visible()
    spooler = dialog.get_by_role("group", name=re.compile("^Restart the print spooler"))
    queue = dialog.get_by_role("group", name=re.compile("^Clear the print queue"))
    for label in (
        "The fix didn't work",
        "It worked — escalating for another reason",
        "Never actually applied it",
        "I applied some of it — partial",
    ):
        await expect(spooler.get_by_role("radio", name=label)).to_be_visible()
    # Already partial: the partial choice is hidden.
    await expect(queue.get_by_role("radio", name="I applied some of it — partial")).to_have_count(0)
    await expect(queue.get_by_role("radio", name="The fix didn't work")).to_be_visible()

    await spooler.get_by_role("radio", name="I applied some of it — partial").check()
    notes = spooler.get_by_label("What was applied, and what was not? (required)")
    await expect(notes).to_be_visible()
    await notes.fill("Restarted on one of two servers")
    await queue.get_by_role("radio", name="The fix didn't work").check()
    await dialog.get_by_label("Why are you escalating?").fill("Needs the server team")
    await console.screenshot("escalate-intercept-dialog")
    await dialog.get_by_role("button", name="Escalate", exact=True).click()

    await expect(dialog).to_have_count(0)
    await expect(page.get_by_role("heading", level=1)).to_contain_text("escalated")
    written = await console.api.get_fix(verifying)
    assert written["status"] == "applied_partial"
    assert written["outcome_notes"] == "Restarted on one of two servers"
    assert (await console.api.get_fix(partial))["status"] == "applied_failed"
    assert native_dialogs == [], "no window.prompt / alert / confirm"
