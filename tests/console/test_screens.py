"""The console's screens in a real browser: sign-in, sessions, the banner's
outcomes, the Script Builder page, the template library, errors, keyboard use
and resuming a draft."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.console.helpers import (
    SB_TAB,
    SPOOLER_DRAFT,
    apply,
    banner,
    open_session,
    tab,
    type_in_editor,
    wait_for_fix,
)

# ----------------------------------------------------------------- sign-in


async def test_sign_in_link_moves_the_token_out_of_the_address_bar(open_console) -> None:
    console = await open_console()
    await console.goto("/")
    page = console.page
    await expect(page.get_by_role("heading", level=1, name="AI sessions")).to_be_visible()
    assert "#" not in page.url and "token" not in page.url
    stored = await page.evaluate("() => sessionStorage.getItem('flowpilot.token')")
    assert stored == console.token
    assert await page.evaluate("() => history.length") == 1 or "token" not in page.url
    await page.reload()
    await expect(page.get_by_role("heading", level=1, name="AI sessions")).to_be_visible()


async def test_sign_in_screen_takes_a_pasted_token_and_a_401_returns_there(open_console) -> None:
    console = await open_console()
    page = console.page
    await page.goto(console.base + "/script-templates")
    await expect(page.get_by_role("heading", level=1, name="Sign in to FlowPilot")).to_be_visible()
    await console.screenshot("sign-in")
    field = page.get_by_label("Access token")
    await field.fill("not a token")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("does not look like a FlowPilot token")

    await field.fill(console.token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", level=1, name="Script templates")).to_be_visible()

    # A token the gateway refuses (bad signature): the next call's 401 signs out.
    forged = console.token[:-6] + ("AAAAAA" if not console.token.endswith("AAAAAA") else "BBBBBB")
    await page.evaluate("t => sessionStorage.setItem('flowpilot.token', t)", forged)
    await page.reload()
    await expect(page.get_by_role("heading", level=1, name="Sign in to FlowPilot")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("did not accept your token")
    assert await page.evaluate("() => sessionStorage.getItem('flowpilot.token')") is None


async def test_sign_out_returns_to_the_sign_in_screen(open_console) -> None:
    console = await open_console()
    await console.goto("/")
    await console.page.get_by_role("button", name="Sign out").click()
    await expect(console.page.get_by_role("heading", name="Sign in to FlowPilot")).to_be_focused()


# ---------------------------------------------------------------- sessions


async def test_new_session_from_the_sessions_screen(open_console) -> None:
    console = await open_console()
    await console.api.session("Earlier ticket")
    await console.goto("/")
    page = console.page
    await expect(page.get_by_role("link", name="Earlier ticket")).to_be_visible()
    await console.screenshot("sessions")
    await page.get_by_role("button", name="New session").click()
    await page.get_by_label("What is the ticket about?").fill("Teams cannot share screen")
    await page.get_by_role("button", name="Create").click()
    heading = page.get_by_role("heading", level=1, name="Teams cannot share screen")
    await expect(heading).to_be_focused()
    assert re.search(r"/ai-sessions/[0-9a-f-]{36}$", page.url)
    await expect(page.get_by_text("No activity yet")).to_be_visible()


async def test_propose_a_fix_from_the_console_in_development(open_console) -> None:
    console = await open_console()
    session = await console.api.session()
    page = await open_session(console, session)
    await page.get_by_text("Propose a fix (development").click()
    await page.get_by_label("Title").fill("Flush DNS cache")
    await page.get_by_label("Description").fill("Stale records after the move.")
    await page.get_by_label("Language").select_option("bash")
    await page.get_by_label("Drafted script (optional)").fill("resolvectl flush-caches")
    await page.get_by_role("button", name="Propose").click()

    await expect(banner(page).get_by_role("heading", name="Flush DNS cache")).to_be_visible()
    await expect(page.get_by_role("list", name="Fixes")).to_contain_text("Flush DNS cache")
    await expect(page.get_by_test_id("timeline")).to_contain_text(
        "The AI proposed “Flush DNS cache”"
    )
    # The form's text is cleared after proposing; the fix is real.
    fixes = await console.api.call("GET", f"/ai-sessions/{session['id']}/suggested-fixes")
    (fix,) = fixes["suggested_fixes"]
    assert (
        fix["script_language"] == "bash" and fix["ai_drafted_script"] == "resolvectl flush-caches"
    )


async def test_banner_outcomes_partial_notes_inline_and_ai_proposal(open_console) -> None:
    console = await open_console()
    native_dialogs: list[str] = []
    console.page.on("dialog", lambda d: native_dialogs.append(d.type))
    session = await console.api.session()
    first = await console.api.fix(session["id"], ai_drafted_script=SPOOLER_DRAFT)
    base = f"/ai-sessions/{session['id']}/suggested-fixes/{first['id']}"
    await console.api.call("POST", f"{base}/apply")
    page = await open_session(console, session)

    await banner(page).get_by_role("button", name="Partial").click()
    notes = banner(page).get_by_label("What was applied, and what was not? (required)")
    await expect(notes).to_be_focused()
    await notes.fill("Only the first server")
    await banner(page).get_by_role("button", name="Save partial").click()
    await expect(banner(page).get_by_text("Partially applied")).to_be_visible()
    partial = await wait_for_fix(console, first, status="applied_partial")
    assert partial["outcome_notes"] == "Only the first server"
    await expect(banner(page).get_by_role("button", name="Partial")).to_have_count(0)

    # The AI proposes an outcome: shown with Confirm and Clear.
    await console.api.call(
        "PUT",
        f"{base}/ai-outcome-proposal",
        {"outcome": "applied_success", "rationale": "Jobs print"},
    )
    proposal = banner(page).get_by_role("note", name="AI outcome proposal")
    await expect(proposal).to_contain_text("The AI thinks it worked: “Jobs print”")
    await console.screenshot("proposal-banner-ai-proposal")
    await proposal.get_by_role("button", name="Clear").click()
    await expect(proposal).to_have_count(0)
    assert (await console.api.get_fix(first))["ai_outcome_proposal"] is None
    await console.api.call(
        "PUT",
        f"{base}/ai-outcome-proposal",
        {"outcome": "applied_success", "rationale": "Jobs print"},
    )
    await proposal.get_by_role("button", name="Confirm").click()
    await expect(banner(page).get_by_text("Worked", exact=True)).to_be_visible()
    assert (await wait_for_fix(console, first, status="applied_success"))["applied_at"]
    assert native_dialogs == []


async def test_resolve_freezes_the_session(open_console) -> None:
    console = await open_console()
    session = await console.api.session()
    verifying = await console.api.fix(session["id"], ai_drafted_script=SPOOLER_DRAFT)
    await console.api.call(
        "POST", f"/ai-sessions/{session['id']}/suggested-fixes/{verifying['id']}/apply"
    )
    await console.api.fix(session["id"], title="Needs a script")
    page = await open_session(console, session)
    await expect(page.get_by_role("tablist")).to_be_visible()

    await page.get_by_role("button", name="Resolve").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("resolved")
    # Frozen, as the server says (`banner_mode: frozen`, no allowed actions):
    # no strip, no Apply, nothing to do.
    await expect(page.get_by_role("tablist")).to_have_count(0)
    await expect(banner(page).get_by_text("Frozen", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name=re.compile("^Needs a script"))).to_contain_text(
        "Frozen"
    )
    await expect(banner(page).get_by_role("button")).to_have_count(0)
    await expect(banner(page)).to_contain_text("This session is resolved")
    await expect(page.get_by_role("button", name="Escalate")).to_have_count(0)
    assert (await console.api.get_fix(verifying))["status"] == "applied_success"
    timeline = page.get_by_test_id("timeline")
    await expect(timeline.locator("li").last).to_contain_text("resolved the session.")
    # The session's own row belongs to no fix; its audit trail still holds it,
    # so a reload shows it where the live update put it.
    await page.reload()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("resolved")
    await expect(timeline.locator("li").last).to_contain_text("resolved the session.")
    await expect(timeline).to_contain_text(
        f"Resolving the session recorded that “{verifying['title']}” worked."
    )


# ------------------------------------------------------ script builder page


async def test_script_builder_page_shows_the_cap_and_explains_the_409(open_console) -> None:
    console = await open_console()
    for n in range(3):
        await console.api.call("POST", "/script-builder/sessions", {"title": f"Draft {n}"})
    await console.goto("/script-builder")
    page = console.page
    cap = page.get_by_label("3 of 5 sessions used")
    await expect(cap).to_have_text("3 of 5 sessions")
    await console.screenshot("script-builder-page")

    title = page.get_by_label("Title", exact=True)
    for name in ("Fourth", "Fifth"):
        await title.fill(name)
        await page.get_by_role("button", name="New session").click()
        await expect(page.get_by_role("link", name=name)).to_be_visible()
    await expect(page.get_by_text("5 of 5", exact=True)).to_be_visible()
    await expect(page.get_by_text("You are at the cap of 5 sessions")).to_be_visible()

    await title.fill("Sixth")
    await page.get_by_role("button", name="New session").click()
    await expect(page.get_by_role("alert")).to_contain_text(
        "You already have 5 Script Builder sessions, the most allowed. Delete one to start another."
    )
    await console.screenshot("script-builder-page-cap")

    await page.get_by_role("button", name="Delete Draft 0").click()
    confirm = page.get_by_role("dialog", name="Delete “Draft 0”?")
    await confirm.get_by_role("button", name="Delete").click()
    await expect(page.get_by_text("4 of 5", exact=True)).to_be_visible()
    await page.get_by_role("button", name="New session").click()
    await expect(page.get_by_role("link", name="Sixth")).to_be_visible()


async def test_script_builder_chat_and_save_as_template(open_console) -> None:
    console = await open_console()
    await console.goto("/script-builder")
    page = console.page
    await page.get_by_label("Title", exact=True).fill("Reset a password")
    await page.get_by_label("Language").select_option("python")
    await page.get_by_role("button", name="New session").click()
    await expect(page.get_by_role("heading", name=re.compile("^Reset a password"))).to_be_visible()

    message = "when does the AD password of jsmith expire"
    await page.get_by_label("Message the drafter").fill(message)
    await page.get_by_role("button", name="Send").click()
    await expect(page.get_by_role("group", name="Drafted script")).to_contain_text("{{user_name}}")
    await page.get_by_label("Template name").fill("Reset AD password")
    await page.get_by_role("button", name="Save as template").click()
    await expect(
        page.get_by_role("status").filter(has_text="Saved “Reset AD password”")
    ).to_be_visible()
    await console.screenshot("script-builder-session")

    await page.get_by_role("link", name="Open the template library").click()
    await expect(page.get_by_role("heading", name="Reset AD password")).to_be_visible()


# -------------------------------------------------------- template library


async def test_templates_filter_publish_and_render_preview(open_console) -> None:
    console = await open_console()
    await console.api.template(name="Published one")
    session = await console.api.session()
    fix = await console.api.fix(
        session["id"], title="Clear temp files", ai_drafted_script="Remove-Item {{path}} -Recurse"
    )
    base = f"/ai-sessions/{session['id']}/suggested-fixes/{fix['id']}"
    await console.api.call("POST", f"{base}/script-decision", {"decision": "draft_template"})
    # The relay turns the decision into a draft template (polls every 0.2 s here).
    for _ in range(100):
        drafts = await console.api.call("GET", "/script-templates?status=draft")
        if drafts["templates"]:
            break
        await console.page.wait_for_timeout(100)
    assert drafts["templates"], "no draft template from the draft_template decision"

    await console.goto("/script-templates")
    page = console.page
    templates = page.get_by_role("list", name="Templates")
    await expect(templates.get_by_role("heading")).to_have_count(2)
    await page.get_by_role("radio", name="Drafts").check()
    await expect(templates.get_by_role("heading")).to_have_count(1)
    draft = templates.get_by_role("listitem").filter(has_text="Clear temp files")
    await expect(draft.get_by_text("draft", exact=True)).to_be_visible()
    await console.screenshot("templates")

    await draft.get_by_role("button", name="Publish").click()
    await expect(draft.get_by_text("published", exact=True)).to_be_visible()
    await page.get_by_role("radio", name="Published").check()
    await expect(templates.get_by_role("heading")).to_have_count(2)

    row = templates.get_by_role("listitem").filter(has_text="Published one")
    await row.get_by_role("button", name="Preview").click()
    await row.get_by_label("service (required)").fill("O'Brien's service")
    await row.get_by_role("button", name="Generate").click()
    await expect(row.get_by_role("group", name="Generated script")).to_have_text(
        "Restart-Service -Name 'O''Brien''s service' -Force:$true"
    )
    await console.screenshot("templates-render-preview")


# ------------------------------------------------------------------ errors


async def test_a_400_reason_is_shown_in_words_beside_the_action(open_console) -> None:
    console = await open_console()
    session = await console.api.session()
    page = await open_session(console, session)
    await page.get_by_text("Propose a fix (development").click()
    await page.get_by_label("Title").fill("x" * 201)
    propose = page.get_by_role("button", name="Propose")
    await propose.click()
    note = page.locator(".actions", has=propose).get_by_role("alert")
    await expect(note).to_have_text("This text is too long (at most 200 characters).")


async def test_a_lost_connection_shows_a_retry_not_a_blank_screen(open_console) -> None:
    console = await open_console()
    await console.api.session("Still here")
    page = console.page
    await page.route("**/api/v1/**", lambda route: route.abort("connectionrefused"))
    await console.goto("/")
    failed = page.get_by_role("alert")
    await expect(failed).to_contain_text("Could not load your sessions")
    await expect(failed).to_contain_text("The connection to FlowPilot was lost.")
    await console.screenshot("connection-lost")

    await page.unroute("**/api/v1/**")
    await failed.get_by_role("button", name="Retry").click()
    await expect(page.get_by_role("link", name="Still here")).to_be_visible()

    # An action that loses the connection says so beside it, with a retry.
    await page.route("**/api/v1/**", lambda route: route.abort("connectionreset"))
    await page.get_by_role("button", name="New session").click()
    await page.get_by_label("What is the ticket about?").fill("Lost one")
    await page.get_by_role("button", name="Create").click()
    note = page.get_by_role("alert")
    await expect(note).to_contain_text("The connection to FlowPilot was lost.")
    await page.unroute("**/api/v1/**")
    await note.get_by_role("button", name="Retry").click()
    await expect(page.get_by_role("heading", level=1, name="Lost one")).to_be_visible()


async def test_a_lost_connection_on_the_session_screen_keeps_what_was_shown(open_console) -> None:
    console = await open_console()
    session = await console.api.session()
    await console.api.fix(session["id"])
    page = await open_session(console, session)
    await expect(page.get_by_text("Live updates on")).to_be_visible()
    # The network goes: the live stream drops and reconnecting fails; the
    # screen stays, with a retry.
    await page.context.set_offline(True)
    lost = page.get_by_role("alert").filter(has_text="Lost the connection to FlowPilot")
    await expect(lost).to_be_visible(timeout=20_000)
    await expect(banner(page)).to_be_visible()
    await console.screenshot("ai-session-connection-lost")
    await page.context.set_offline(False)
    await lost.get_by_role("button", name="Retry").click()
    await expect(lost).to_have_count(0)
    await expect(page.get_by_text("Live updates on")).to_be_visible()


# ---------------------------------------------------------------- keyboard


async def test_tabs_follow_the_wai_aria_keyboard_pattern(open_console) -> None:
    console = await open_console()
    session = await console.api.session()
    await console.api.fix(session["id"])
    page = await open_session(console, session)
    chat = tab(page, "Chat")
    builder = tab(page, SB_TAB)
    await expect(chat).to_have_attribute("tabindex", "0")
    await expect(builder).to_have_attribute("tabindex", "-1")
    await chat.focus()
    await page.keyboard.press("ArrowRight")
    await expect(builder).to_be_focused()
    await expect(builder).to_have_attribute("aria-selected", "true")
    await expect(page.get_by_role("tabpanel", name=SB_TAB)).to_be_visible()
    await page.keyboard.press("Home")
    await expect(chat).to_be_focused()
    await expect(page.get_by_role("tabpanel", name="Chat")).to_be_visible()
    await page.keyboard.press("End")
    await expect(builder).to_have_attribute("aria-selected", "true")
    await page.keyboard.press("ArrowLeft")
    await expect(chat).to_have_attribute("aria-selected", "true")
    # Switching hides without unmounting: the composer keeps its text.
    await page.get_by_text("Propose a fix (development").click()
    await page.get_by_label("Title").fill("Half-typed fix")
    await builder.click()
    await page.get_by_label("Message the drafter").fill("half a question")
    await chat.click()
    await expect(page.get_by_label("Title")).to_have_value("Half-typed fix")
    await builder.click()
    await expect(page.get_by_label("Message the drafter")).to_have_value("half a question")


async def test_dialog_traps_focus_closes_on_escape_and_returns_focus(open_console) -> None:
    console = await open_console()
    session = await console.api.session()
    await console.api.fix(session["id"], ai_drafted_script=SPOOLER_DRAFT)
    page = await open_session(console, session)
    apply_button = banner(page).get_by_role("button", name="Apply", exact=True)
    await apply_button.focus()
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="How do you want to run this script?")
    await expect(dialog).to_be_visible()
    assert await dialog.evaluate("d => d.contains(document.activeElement)")
    for _ in range(12):
        await page.keyboard.press("Tab")
        assert await dialog.evaluate("d => d.contains(document.activeElement)"), (
            "focus left the dialog"
        )
    for _ in range(12):
        await page.keyboard.press("Shift+Tab")
        assert await dialog.evaluate("d => d.contains(document.activeElement)"), (
            "focus left the dialog"
        )
    await page.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)
    await expect(apply_button).to_be_focused()


async def test_every_control_shows_a_visible_focus_ring(open_console) -> None:
    console = await open_console()
    session = await console.api.session()
    await console.api.fix(session["id"])
    page = await open_session(console, session)
    for _ in range(14):
        await page.keyboard.press("Tab")
        style = await page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth] }"
        )
        if style[0] == "BODY":
            continue
        assert style[1] != "none" and style[2] != "0px", f"no focus ring on {style[0]}"


# --------------------------------------------------------- resuming drafts


async def test_a_refresh_resumes_the_mode_and_the_buffer(open_console) -> None:
    console = await open_console()
    session = await console.api.session()
    fix = await console.api.fix(session["id"])
    page = await open_session(console, session)
    await apply(page)
    await page.get_by_role("button", name="✎ Write myself").click()
    async with page.expect_response(
        lambda r: (
            r.url.endswith("/draft")
            and r.request.method == "PATCH"
            and "Get-Service" in (r.request.post_data or "")
        )
    ):
        await type_in_editor(page, "Get-Service Spooler")

    await page.reload()
    await expect(tab(page, "Script Builder, draft in progress")).to_be_visible()
    await tab(page, SB_TAB).click()
    await expect(page.get_by_role("button", name="✨ Back to AI")).to_be_visible()
    await expect(page.locator(".monaco-editor .view-lines")).to_contain_text("Get-Service Spooler")
    # Back to AI and forward again: nothing is discarded.
    await page.get_by_role("button", name="✨ Back to AI").click()
    await page.get_by_role("button", name="✎ Write myself").click()
    await expect(page.locator(".monaco-editor .view-lines")).to_contain_text("Get-Service Spooler")
    assert (await console.api.get_fix(fix))["ai_drafted_script"] is None
