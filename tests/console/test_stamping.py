"""Seed §5, through the UI: what stamps `applied_at` and what does not.

| surface | stamps? |
|---|---|
| opening TemplateMatchPanel, "Generate", "Copy" | no |
| "✓ I ran this" | yes |
| NoTemplateDialog `one_off`, `draft_template` | yes |
| NoTemplateDialog `build_template` | no |
| Script Builder Submit | no (tests/console/test_manual_verification.py) |

`applied_at` is read back through the API after every step.
"""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.console.helpers import SPOOLER_DRAFT, apply, banner, open_session, wait_for_fix


async def test_template_panel_generate_and_copy_do_not_stamp_i_ran_this_does(open_console) -> None:
    console = await open_console()
    template = await console.api.template()
    session = await console.api.session()
    fix = await console.api.fix(session["id"], script_template_id=template["id"])
    page = await open_session(console, session)

    await apply(page)
    panel = page.get_by_test_id("template-match-panel")
    await expect(
        panel.get_by_role("heading", name="Template for “Restart the print spooler”")
    ).to_be_focused()
    await expect(panel.get_by_text("Restart a service")).to_be_visible()
    # The typed form: a required text field, a boolean with its default.
    service = panel.get_by_label("service (required)")
    await expect(service).to_have_attribute("required", "")
    await expect(panel.get_by_role("checkbox", name="force")).to_be_checked()
    assert (await console.api.get_fix(fix))["applied_at"] is None, "opening the panel stamped"

    await service.fill("Spooler")
    await panel.get_by_role("checkbox", name="force").uncheck()
    await panel.get_by_role("button", name="Generate").click()
    generated = panel.get_by_role("group", name="Generated script")
    await expect(generated).to_have_text("Restart-Service -Name 'Spooler' -Force:$false")
    assert (await console.api.get_fix(fix))["applied_at"] is None, "Generate stamped"

    await panel.get_by_role("button", name="Copy", exact=True).click()
    await expect(panel.get_by_role("status").filter(has_text="Copied.")).to_be_visible()
    copied = await page.evaluate("() => navigator.clipboard.readText()")
    assert copied == "Restart-Service -Name 'Spooler' -Force:$false"
    assert (await console.api.get_fix(fix))["applied_at"] is None, "Copy stamped"
    await console.screenshot("template-match-panel")

    await panel.get_by_role("button", name="✓ I ran this").click()
    stamped = await wait_for_fix(console, fix, banner_mode="verifying")
    assert stamped["applied_at"] is not None
    await expect(banner(page).get_by_text("Verifying", exact=True)).to_be_visible()
    await expect(panel.get_by_role("button", name="✓ I ran this")).to_have_count(0)
    await expect(panel.get_by_text("Marked as run at")).to_be_visible()


@pytest.mark.parametrize(
    ("card", "decision", "stamps"),
    [
        ("Run now, no template", "one_off", True),
        ("Run now, templatize after", "draft_template", True),
        ("Just open the builder", "build_template", False),
    ],
)
async def test_no_template_dialog_cards_stamp_as_the_seed_says(
    open_console, card: str, decision: str, stamps: bool
) -> None:
    console = await open_console()
    session = await console.api.session()
    fix = await console.api.fix(session["id"], ai_drafted_script=SPOOLER_DRAFT)
    page = await open_session(console, session)
    await apply(page)
    dialog = page.get_by_role("dialog", name="How do you want to run this script?")
    assert (await console.api.get_fix(fix))["applied_at"] is None, "opening the dialog stamped"

    await dialog.get_by_role("button", name=card).click()
    decided = await wait_for_fix(console, fix, script_decision=decision)
    assert (decided["applied_at"] is not None) is stamps
    await expect(dialog).to_have_count(0)
    if stamps:
        await expect(banner(page).get_by_text("Verifying", exact=True)).to_be_visible()
        await expect(banner(page).get_by_role("button", name="It worked")).to_be_visible()
    else:
        # "Just open the builder": the standalone Script Builder, nothing run.
        await expect(page.get_by_role("heading", level=1, name="Script Builder")).to_be_visible()
        assert decided["banner_mode"] == "proposed"
