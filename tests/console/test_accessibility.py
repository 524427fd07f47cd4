"""Every screen: axe-core finds no serious or critical violation, and a
screenshot is saved (tests/artifacts/console/screen-*.png).

axe-core is evaluated from gateway/web/node_modules (a dev dependency), never
fetched from a CDN; the page's CSP stays on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import expect

from tests.console.conftest import Console
from tests.console.helpers import SPOOLER_DRAFT, apply, banner, live_updates_held, open_session


async def sign_in(console: Console) -> None:
    await console.page.goto(console.base + "/")
    await expect(console.page.get_by_role("heading", name="Sign in to FlowPilot")).to_be_visible()


async def sessions(console: Console) -> None:
    await console.api.session("Printer offline")
    await console.api.session("Outlook crashes on start")
    await console.goto("/")
    await expect(console.page.get_by_role("link", name="Printer offline")).to_be_visible()


async def ai_session(console: Console) -> None:
    session = await console.api.session()
    done = await console.api.fix(session["id"], title="Clear the cache", ai_drafted_script="x")
    base = f"/ai-sessions/{session['id']}/suggested-fixes/{done['id']}"
    await console.api.call("POST", f"{base}/apply")
    await console.api.fix(session["id"])
    page = await open_session(console, session)
    await expect(page.get_by_role("tablist")).to_be_visible()


async def script_builder_tab(console: Console) -> None:
    session = await console.api.session()
    await console.api.fix(session["id"])
    page = await open_session(console, session)
    await apply(page)
    await page.get_by_label("Message the drafter").fill("restart the spooler")
    await page.get_by_role("button", name="Send").click()
    await page.get_by_role("button", name="Use this script").click()


async def editor_mode(console: Console) -> None:
    session = await console.api.session()
    await console.api.fix(session["id"])
    page = await open_session(console, session)
    await apply(page)
    await page.get_by_role("button", name="✎ Write myself").click()
    await expect(page.locator(".monaco-editor .view-lines")).to_contain_text("# Fix:")


async def no_template_dialog(console: Console) -> None:
    session = await console.api.session()
    await console.api.fix(
        session["id"], ai_drafted_script=SPOOLER_DRAFT, ai_drafted_parameters={"service": "Spooler"}
    )
    page = await open_session(console, session)
    await apply(page)
    await expect(page.get_by_role("dialog")).to_be_visible()


async def template_match_panel(console: Console) -> None:
    template = await console.api.template()
    session = await console.api.session()
    await console.api.fix(session["id"], script_template_id=template["id"])
    page = await open_session(console, session)
    await apply(page)
    await page.get_by_label("service (required)").fill("Spooler")
    await page.get_by_role("button", name="Generate").click()
    await expect(page.get_by_role("group", name="Generated script")).to_be_visible()


async def run_record(console: Console) -> None:
    await template_match_panel(console)
    page = console.page
    await page.get_by_role("button", name="✓ I ran this").click()
    await expect(
        page.get_by_test_id("template-match-panel").get_by_test_id("run-record")
    ).to_be_visible()
    await banner(page).get_by_text("What ran").click()
    await expect(banner(page).get_by_test_id("run-record")).to_be_visible()


async def stale_write(console: Console) -> None:
    session = await console.api.session()
    fix = await console.api.fix(session["id"], ai_drafted_script=SPOOLER_DRAFT)
    base = f"/ai-sessions/{session['id']}/suggested-fixes/{fix['id']}"
    await console.api.call("POST", f"{base}/apply")
    async with live_updates_held(console.page):
        page = await open_session(console, session)
        await expect(banner(page).get_by_role("button", name="It worked")).to_be_visible()
        await console.api.call("PATCH", f"{base}/outcome", {"outcome": "applied_failed"})
        await banner(page).get_by_role("button", name="It worked").click()
        await expect(banner(page).get_by_role("button", name="Reload")).to_be_visible()


async def frozen(console: Console) -> None:
    session = await console.api.session()
    await console.api.fix(session["id"])
    await console.api.call("POST", f"/ai-sessions/{session['id']}/resolve")
    page = await open_session(console, session)
    await expect(banner(page).get_by_text("Frozen", exact=True)).to_be_visible()


async def escalate_dialog(console: Console) -> None:
    session = await console.api.session()
    fix = await console.api.fix(session["id"], ai_drafted_script=SPOOLER_DRAFT)
    await console.api.call(
        "POST", f"/ai-sessions/{session['id']}/suggested-fixes/{fix['id']}/apply"
    )
    page = await open_session(console, session)
    await page.get_by_role("button", name="Escalate").click()
    await page.get_by_role("radio", name="I applied some of it — partial").check()


async def script_builder_page(console: Console) -> None:
    created = await console.api.call(
        "POST", "/script-builder/sessions", {"title": "Reset a password"}
    )
    await console.api.call(
        "POST", f"/script-builder/sessions/{created['id']}/messages", {"content": "reset it"}
    )
    await console.goto(f"/script-builder/{created['id']}")
    await expect(console.page.get_by_role("button", name="Save as template")).to_be_visible()


async def templates(console: Console) -> None:
    await console.api.template(name="Restart a service")
    await console.goto("/script-templates")
    page = console.page
    await page.get_by_role("button", name="Preview").click()
    await expect(page.get_by_role("button", name="Generate")).to_be_visible()


SCREENS: dict[str, Callable[[Console], Awaitable[None]]] = {
    "sign-in": sign_in,
    "sessions": sessions,
    "ai-session": ai_session,
    "script-builder-tab": script_builder_tab,
    "editor-mode": editor_mode,
    "no-template-dialog": no_template_dialog,
    "template-match-panel": template_match_panel,
    "escalate-dialog": escalate_dialog,
    "run-record": run_record,
    "stale-write": stale_write,
    "frozen": frozen,
    "script-builder-page": script_builder_page,
    "templates": templates,
}


@pytest.mark.parametrize("screen", list(SCREENS))
async def test_no_serious_or_critical_axe_violation(open_console, screen: str) -> None:
    console = await open_console()
    await SCREENS[screen](console)
    await console.screenshot(f"screen-{screen}")
    assert await console.axe() == []
