"""The console on the API of issue 10, in a real browser: entity tags and 412
between two tabs, live updates over server-sent events, fix-targeted
drafting, the server's escalation choices and allowed actions (viewers get
none), the fix render and run records."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Page, Route, expect

from tests.console.conftest import Console
from tests.console.helpers import (
    SB_TAB,
    SPOOLER_DRAFT,
    apply,
    banner,
    editor_text,
    live_updates_held,
    open_session,
    tab,
    type_in_editor,
    wait_for_fix,
)

STALE_WORDS = "This changed in another tab — reload to see it."
CHOICE_LABEL = {
    "applied_failed": "The fix didn't work",
    "applied_success": "It worked — escalating for another reason",
    "never_applied": "Never actually applied it",
    "applied_partial": "I applied some of it — partial",
}
WRITE_BUTTONS = (
    "Apply",
    "Dismiss",
    "It worked",
    "Didn't work",
    "Partial",
    "Confirm",
    "Clear",
    "Resolve",
    "Escalate",
    "Propose",
    "✓ I ran this",
    "Submit",
    "New session",
    "Publish",
    "Save as template",
)


def fixes_path(session: dict[str, Any]) -> str:
    return f"/ai-sessions/{session['id']}/suggested-fixes"


async def second_tab(console: Console) -> Page:
    """Another tab of the same browser, signed in as the same engineer."""
    page = await console.page.context.new_page()
    page.on("pageerror", lambda e: console.errors.append(str(e)))
    return page


# ------------------------------------------------------------ 412 in words


async def test_a_stale_write_from_a_second_tab_is_refused_in_words_with_a_reload(
    open_console,
) -> None:
    console = await open_console()
    session = await console.api.session()
    fix = await console.api.fix(session["id"], ai_drafted_script=SPOOLER_DRAFT)
    await console.api.call("POST", f"{fixes_path(session)}/{fix['id']}/apply")
    first = await open_session(console, session)
    await expect(banner(first).get_by_role("button", name="It worked")).to_be_visible()

    second = await second_tab(console)
    async with live_updates_held(second):
        await second.goto(f"{console.base}/ai-sessions/{session['id']}#token={console.token}")
        await expect(banner(second).get_by_role("button", name="It worked")).to_be_visible()

        # The first tab records a failure; the second still shows Verifying.
        await banner(first).get_by_role("button", name="Didn't work").click()
        await wait_for_fix(console, fix, status="applied_failed")
        await banner(second).get_by_role("button", name="It worked").click()

        note = banner(second).get_by_role("alert")
        await expect(note).to_contain_text(STALE_WORDS)
        await console.screenshot("stale-write-412", page=second)
        # Refused, not overwritten.
        assert (await console.api.get_fix(fix))["status"] == "applied_failed"

        await note.get_by_role("button", name="Reload").click()
        await expect(banner(second).get_by_text("Did not work", exact=True)).to_be_visible()
        await expect(banner(second).get_by_role("alert")).to_have_count(0)
        await expect(banner(second).get_by_role("button", name="It worked")).to_have_count(0)


# ---------------------------------------------------------------- live updates


async def test_a_change_through_the_api_appears_live_without_reload_or_polling(
    open_console,
) -> None:
    console = await open_console()
    session = await console.api.session()
    spooler = await console.api.fix(session["id"], ai_drafted_script=SPOOLER_DRAFT)
    page = await open_session(console, session)
    await expect(page.get_by_text("Live updates on")).to_be_visible()

    session_path = f"/api/v1/ai-sessions/{session['id']}"
    reads: list[str] = []
    page.on(
        "request",
        lambda r: (
            reads.append(r.url)
            if r.method == "GET"
            and urlsplit(r.url).path in (session_path, f"{session_path}/suggested-fixes")
            else None
        ),
    )
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    # Someone else (the AI side, another tool) proposes a fix and declares a run.
    await console.api.fix(session["id"], title="Flush DNS cache", script_language="bash")
    await console.api.call("POST", f"{fixes_path(session)}/{spooler['id']}/apply")

    fixes = page.get_by_role("list", name="Fixes")
    await expect(fixes).to_contain_text("Flush DNS cache")
    await expect(
        fixes.get_by_role("button", name=re.compile("^Restart the print spooler"))
    ).to_contain_text("Verifying")
    timeline = page.get_by_test_id("timeline")
    await expect(timeline).to_contain_text("The AI proposed “Flush DNS cache”")
    await expect(timeline).to_contain_text("ran “Restart the print spooler”")
    await console.screenshot("ai-session-live-update")
    assert navigations == [], "the page was reloaded"
    assert reads == [], f"the change came by reading again, not over the stream: {reads}"

    # A dropped stream resumes where it was (Last-Event-ID): nothing is missed.
    watches: list[dict[str, str]] = []
    page.on(
        "request", lambda r: watches.append(r.headers) if r.url.endswith("events:watch") else None
    )
    await page.context.set_offline(True)
    await console.api.call(
        "PATCH", f"{fixes_path(session)}/{spooler['id']}/outcome", {"outcome": "applied_success"}
    )
    await page.context.set_offline(False)
    await expect(
        fixes.get_by_role("button", name=re.compile("^Restart the print spooler"))
    ).to_contain_text("Worked", timeout=30_000)
    assert any(h.get("last-event-id") for h in watches), watches


# ------------------------------------------------------- fix-targeted drafting


async def test_drafting_the_second_of_two_fixes_drafts_that_fix_in_its_language(
    open_console,
) -> None:
    console = await open_console()
    session = await console.api.session("Printing and name lookups fail")
    spooler = await console.api.fix(session["id"])
    dns = await console.api.fix(
        session["id"],
        title="Flush DNS cache",
        description="Stale records after the move.",
        script_language="bash",
    )
    page = await open_session(console, session)

    # A first exchange about the spooler.
    await page.get_by_role("button", name=re.compile("^Restart the print spooler")).click()
    await apply(page)
    builder = page.get_by_role("tabpanel", name=SB_TAB)
    await builder.get_by_label("Message the drafter").fill("draft it")
    await builder.get_by_role("button", name="Send").click()
    await expect(builder.get_by_role("button", name="Use this script")).to_have_count(1)

    # Then the second fix, in the same AI session (the same inline session):
    # picked in the fix list, the Script Builder tab now drafts for it.
    await page.get_by_role("button", name=re.compile("^Flush DNS cache")).click()
    await tab(page, SB_TAB).click()
    builder = page.get_by_role("tabpanel", name=SB_TAB)
    await expect(
        builder.get_by_role("heading", name="Script Builder · Flush DNS cache")
    ).to_be_visible()
    await expect(builder.get_by_text("Drafting for this fix, in Bash.")).to_be_visible()
    # The spooler's conversation is not this fix's.
    await expect(builder.get_by_role("button", name="Use this script")).to_have_count(0)
    await builder.get_by_label("Message the drafter").fill("draft it")
    await builder.get_by_role("button", name="Send").click()
    drafted = builder.get_by_role("group", name="Drafted script", exact=True)
    await expect(drafted).to_contain_text("resolvectl flush-caches")
    text = await drafted.inner_text()
    assert text.startswith("#!/usr/bin/env bash"), text
    assert "spooler" not in text.lower()
    await console.screenshot("script-builder-second-fix")
    await builder.get_by_role("button", name="Use this script").click()
    await builder.get_by_role("button", name="Submit", exact=True).click()

    written = await wait_for_fix(console, dns, apply_route="no_template_dialog")
    assert "resolvectl flush-caches" in written["ai_drafted_script"]
    assert (await console.api.get_fix(spooler))["ai_drafted_script"] is None
    # The drafter answered for the DNS fix, in bash.
    inline = await console.api.call(
        "GET", "/script-builder/sessions?include_inline=true&page_size=100"
    )
    (mine,) = [s for s in inline["sessions"] if s["ai_session_id"] == session["id"]]
    messages = (await console.api.call("GET", f"/script-builder/sessions/{mine['id']}/messages"))[
        "messages"
    ]
    answers = [m for m in messages if m["role"] == "assistant"]
    assert [(m["fix_id"], m["language"]) for m in answers] == [
        (spooler["id"], "powershell"),
        (dns["id"], "bash"),
    ]


# ----------------------------------------------------------- escalate choices


async def escalate_setup(console: Console) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    session = await console.api.session()
    verifying = await console.api.fix(session["id"], ai_drafted_script=SPOOLER_DRAFT)
    partial = await console.api.fix(
        session["id"],
        title="Clear the print queue",
        ai_drafted_script="Get-PrintJob | Remove-PrintJob",
    )
    await console.api.fix(session["id"], title="Not run yet", ai_drafted_script="Get-Service")
    base = fixes_path(session)
    await console.api.call("POST", f"{base}/{verifying['id']}/apply")
    await console.api.call("POST", f"{base}/{partial['id']}/apply")
    await console.api.call(
        "PATCH", f"{base}/{partial['id']}/outcome", {"outcome": "applied_partial", "notes": "half"}
    )
    return session, verifying, partial


async def shown_choices(page: Page) -> dict[str, list[str]]:
    dialog = page.get_by_role("dialog", name="Escalate this session")
    await expect(dialog).to_be_visible()
    shown: dict[str, list[str]] = {}
    for group in await dialog.get_by_role("group").all():
        legend = (await group.locator("legend").inner_text()).split(" (")[0].strip()
        radios = group.get_by_role("radio")
        shown[legend] = [
            (await radios.nth(i).evaluate("r => r.labels[0].textContent")).strip()
            for i in range(await radios.count())
        ]
    return shown


async def test_the_escalate_dialog_shows_exactly_the_servers_choices(open_console) -> None:
    console = await open_console()
    session, verifying, partial = await escalate_setup(console)
    server = await console.api.call("GET", f"/ai-sessions/{session['id']}")
    titles = {verifying["id"]: verifying["title"], partial["id"]: partial["title"]}
    expected = {
        titles[entry["fix_id"]]: [CHOICE_LABEL[c] for c in entry["allowed"]]
        for entry in server["escalation_choices"]
    }
    assert len(expected) == 2  # the fix never run needs no choice

    page = await open_session(console, session)
    await page.get_by_role("button", name="Escalate", exact=True).click()
    assert await shown_choices(page) == expected
    await console.screenshot("escalate-dialog-server-choices")

    # The dialog follows the server, not a rule of its own: a session that
    # allows fewer choices shows fewer.
    narrowed = {verifying["id"]: ["applied_failed"], partial["id"]: ["applied_success"]}

    async def narrow(route: Route) -> None:
        response = await route.fetch()
        body = await response.json()
        body["escalation_choices"] = [
            {"fix_id": e["fix_id"], "allowed": narrowed[e["fix_id"]]}
            for e in body["escalation_choices"]
        ]
        await route.fulfill(response=response, body=json.dumps(body))

    async with live_updates_held(page):
        await page.route(f"**/api/v1/ai-sessions/{session['id']}", narrow)
        await page.reload()
        await page.get_by_role("button", name="Escalate", exact=True).click()
        assert await shown_choices(page) == {
            verifying["title"]: ["The fix didn't work"],
            partial["title"]: ["It worked — escalating for another reason"],
        }


# ------------------------------------------------------------------ viewers


async def test_a_viewer_sees_the_account_s_sessions_without_write_buttons(open_console) -> None:
    engineer = await open_console()
    template = await engineer.api.template()
    session = await engineer.api.session("Printer offline on floor 3")
    await engineer.api.fix(session["id"])  # needs a script
    drafted = await engineer.api.fix(
        session["id"], title="Clear the queue", ai_drafted_script="Get-PrintJob | Remove-PrintJob"
    )
    await engineer.api.fix(
        session["id"], title="Use the template", script_template_id=template["id"]
    )
    await engineer.api.call("POST", f"{fixes_path(session)}/{drafted['id']}/apply")
    await engineer.api.call(
        "PUT",
        f"{fixes_path(session)}/{drafted['id']}/ai-outcome-proposal",
        {"outcome": "applied_success", "rationale": "Jobs print"},
    )

    viewer = await open_console(role="viewer")
    page = await open_session(viewer, session)
    await expect(page.get_by_text("You are a viewer")).to_be_visible()
    await expect(page.get_by_role("list", name="Fixes")).to_contain_text("Use the template")
    # Every fix, one after the other: the banner shows it, with nothing to press.
    for title in ("Restart the print spooler", "Use the template", "Clear the queue"):
        await page.get_by_role("button", name=re.compile(f"^{title}")).click()
        await expect(banner(page).get_by_role("heading", name=title)).to_be_visible()
        await expect(banner(page).get_by_role("button")).to_have_count(0)
    # What the AI proposed is shown, without Confirm or Clear.
    await expect(banner(page)).to_contain_text("The AI thinks it worked")
    await expect(page.get_by_role("tablist")).to_have_count(0)
    await expect(page.get_by_text("Propose a fix (development")).to_have_count(0)
    await viewer.screenshot("ai-session-viewer")
    # Every screen, once its data is in (the AI session's live stream keeps the
    # network busy, so "idle" is never reached there).
    screens = {
        "/": page.get_by_role("link", name="Printer offline on floor 3"),
        f"/ai-sessions/{session['id']}": page.get_by_text("Live updates on"),
        "/script-templates": page.get_by_role("heading", name="Restart a service"),
        "/script-builder": page.get_by_label("0 of 5 sessions used"),
    }
    for screen, loaded in screens.items():
        await viewer.goto(screen)
        await expect(loaded.first).to_be_visible()
        for name in WRITE_BUTTONS:
            assert await page.get_by_role("button", name=name, exact=True).count() == 0, (
                f"{screen}: a viewer sees “{name}”"
            )
    assert await viewer.axe() == []


# ---------------------------------------------------- render and run records


async def test_the_dialog_shows_the_servers_render_and_the_run_keeps_it(open_console) -> None:
    console = await open_console()
    session = await console.api.session()
    fix = await console.api.fix(
        session["id"],
        ai_drafted_script=SPOOLER_DRAFT,
        ai_drafted_parameters={"service": "O'Brien spooler"},
    )
    page = await open_session(console, session)
    await apply(page)
    dialog = page.get_by_role("dialog", name="How do you want to run this script?")
    script = dialog.get_by_label("The drafted script")
    # Quoted for PowerShell by the server, as a template's render would be.
    rendered = "Restart-Service -Name 'O''Brien spooler' -Force"
    await expect(script).to_have_text(rendered)

    # Another value: rendered again by the server.
    await dialog.get_by_role("button", name="Change the values").click()
    await dialog.get_by_label("service").fill("Spooler")
    await expect(script).to_have_text("Restart-Service -Name 'Spooler' -Force")
    await dialog.get_by_role("button", name="Run now, no template").click()
    ran = await wait_for_fix(console, fix, banner_mode="verifying")
    assert ran["last_run"]["script"] == "Restart-Service -Name 'Spooler' -Force"
    assert ran["last_run"]["parameters"] == {"service": "Spooler"}

    await banner(page).get_by_text("What ran").click()
    record = banner(page).get_by_test_id("run-record")
    await expect(record.get_by_label("The script that ran")).to_have_text(
        "Restart-Service -Name 'Spooler' -Force"
    )
    await expect(record).to_contain_text("“Run now, no template”")


async def test_run_record_shown_after_i_ran_this(open_console) -> None:
    console = await open_console()
    template = await console.api.template()
    session = await console.api.session()
    fix = await console.api.fix(session["id"], script_template_id=template["id"])
    page = await open_session(console, session)
    await apply(page)
    panel = page.get_by_test_id("template-match-panel")
    await panel.get_by_label("service (required)").fill("Spooler")
    await panel.get_by_role("button", name="Generate").click()
    await expect(panel.get_by_role("group", name="Generated script")).to_have_text(
        "Restart-Service -Name 'Spooler' -Force:$true"
    )
    await expect(panel.get_by_test_id("run-record")).to_have_count(0)
    await panel.get_by_role("button", name="✓ I ran this").click()

    record = panel.get_by_test_id("run-record")
    await expect(record.get_by_label("The script that ran")).to_have_text(
        "Restart-Service -Name 'Spooler' -Force:$true"
    )
    await expect(record.get_by_role("group", name="Values it ran with")).to_contain_text(
        '"Spooler"'
    )
    await expect(record).to_contain_text("“✓ I ran this”")
    await console.screenshot("template-match-panel-run-record")
    stored = (await console.api.get_fix(fix))["last_run"]
    assert stored["script"] == "Restart-Service -Name 'Spooler' -Force:$true"
    assert stored["parameters"] == {"service": "Spooler", "force": True}
    assert stored["source"] == "template" and stored["kind"] == "apply"


async def test_two_fixes_in_one_inline_session_keep_their_own_editor_buffers(open_console) -> None:
    console = await open_console()
    session = await console.api.session("Printing and name lookups fail")
    await console.api.fix(session["id"])
    await console.api.fix(session["id"], title="Flush DNS cache", script_language="bash")
    page = await open_session(console, session)
    spooler = page.get_by_role("button", name=re.compile("^Restart the print spooler"))
    dns = page.get_by_role("button", name=re.compile("^Flush DNS cache"))

    await spooler.click()
    await apply(page)
    await page.get_by_role("button", name="✎ Write myself").click()
    await type_in_editor(page, "Restart-Service Spooler")
    await expect(page.locator(".monaco-editor .view-lines")).to_contain_text(
        "Restart-Service Spooler"
    )
    # (No wait for the 0.6 s save: leaving the fix saves at once, and the next fix
    # waits for that save before it takes the session over.)

    # The DNS fix takes the inline session over: its own scaffold, not the spooler's draft.
    await dns.click()
    await tab(page, SB_TAB).click()
    builder = page.get_by_role("tabpanel", name=SB_TAB)
    await expect(
        builder.get_by_role("heading", name="Script Builder · Flush DNS cache")
    ).to_be_visible()
    await expect(builder.get_by_role("button", name="✎ Write myself")).to_be_visible()
    await builder.get_by_role("button", name="✎ Write myself").click()
    await expect(page.locator(".monaco-editor .view-lines")).to_contain_text(
        "# Fix: Flush DNS cache"
    )
    assert "Restart-Service Spooler" not in await editor_text(page)

    # Back to the spooler: its draft and its mode come back.
    await spooler.click()
    await tab(page, SB_TAB).click()
    await expect(page.locator(".monaco-editor .view-lines")).to_contain_text(
        "Restart-Service Spooler"
    )
    await expect(page.get_by_role("button", name="✨ Back to AI")).to_be_visible()
