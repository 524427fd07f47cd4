"""The console works air-gapped: every request goes to the gateway's origin.

Every browser test records all requests of its browser context (pages and
workers) and fails at teardown on one to another host, or on a CSP violation
(tests/console/conftest.py). This test walks every screen, Monaco and its
worker included, and checks the recording explicitly."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import expect

from tests.console.helpers import SPOOLER_DRAFT, apply, banner, open_session, type_in_editor


async def test_every_screen_loads_only_from_the_gateway(open_console) -> None:
    console = await open_console()
    page = console.page
    template = await console.api.template()
    session = await console.api.session()
    await console.api.fix(session["id"])
    await console.api.fix(session["id"], title="Drafted", ai_drafted_script=SPOOLER_DRAFT)
    await console.api.fix(session["id"], title="Templated", script_template_id=template["id"])

    await page.goto(console.base + "/")  # the sign-in screen, before the token
    await expect(page.get_by_role("heading", name="Sign in to FlowPilot")).to_be_visible()
    await open_session(console, session)
    await page.get_by_role("button", name="Restart the print spooler").click()
    await apply(page)
    await page.get_by_role("button", name="✎ Write myself").click()
    await expect(page.locator(".monaco-editor .view-lines")).to_contain_text("# Fix:")
    await type_in_editor(page, "Get-Service")
    for _ in range(100):
        if page.workers:
            break
        await page.wait_for_timeout(100)

    await page.get_by_role("tab", name="Chat").click()
    await page.get_by_role("button", name="Drafted").click()
    await apply(page)
    await page.get_by_role("button", name="Cancel").click()
    await page.get_by_role("button", name="Templated").click()
    await banner(page).get_by_role("button", name="Apply", exact=True).click()
    await expect(page.get_by_test_id("template-match-panel")).to_be_visible()

    await page.get_by_role("link", name="Script Builder", exact=True).click()
    await expect(page.get_by_role("heading", level=1, name="Script Builder")).to_be_visible()
    await page.get_by_role("link", name="Templates", exact=True).click()
    await page.get_by_role("button", name="Preview").click()
    await expect(page.get_by_role("button", name="Generate")).to_be_visible()
    await page.goto(console.base + "/docs-is-not-a-console-route")  # a JSON 404, still same origin

    paths = {urlsplit(url).path for url in console.requests}
    assert any(p.startswith("/assets/index-") and p.endswith(".js") for p in paths)
    assert any(p.startswith("/assets/CodeEditor-") for p in paths), "Monaco's lazy chunk"
    assert any(p.startswith("/assets/editor.worker-") for p in paths) or any(
        "/assets/editor.worker-" in w.url for w in page.workers
    ), "Monaco's worker"
    assert any(p.startswith("/api/v1/") for p in paths)
    assert console.foreign_requests() == []
    assert console.csp_violations == []
