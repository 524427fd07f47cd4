"""Small steps the console tests share."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

from playwright.async_api import Locator, Page, Route, expect

from tests.console.conftest import Console

SPOOLER_DRAFT = "Restart-Service -Name {{service}} -Force"
WATCH = "**/events:watch"
SB_TAB = re.compile(r"^Script Builder")


async def open_session(console: Console, session: dict[str, Any]) -> Page:
    await console.goto(f"/ai-sessions/{session['id']}")
    page = console.page
    await expect(page.get_by_role("heading", level=1, name=session["title"])).to_be_visible()
    return page


def banner(page: Page) -> Locator:
    return page.get_by_test_id("proposal-banner")


def tab(page: Page, name: str | re.Pattern[str]) -> Locator:
    return page.get_by_role("tab", name=name)


async def apply(page: Page) -> None:
    await banner(page).get_by_role("button", name="Apply", exact=True).click()


async def editor_text(page: Page) -> str:
    """What Monaco shows (its view lines; enough for short scripts)."""
    lines = page.locator(".monaco-editor .view-lines")
    await expect(lines).to_be_visible()
    text: str = await lines.inner_text()
    return text.replace("\u00a0", " ")


async def type_in_editor(page: Page, text: str) -> None:
    await page.locator(".monaco-editor .view-lines").click()
    await page.keyboard.press("Control+End")
    await page.keyboard.type(text)


async def wait_for_fix(console: Console, fix: dict[str, Any], **expected: Any) -> dict[str, Any]:
    """The fix from the API once `expected` fields hold (the UI's write may be in flight)."""
    import asyncio

    current = fix
    for _ in range(100):
        current = await console.api.get_fix(fix)
        if all(current.get(k) == v for k, v in expected.items()):
            return current
        await asyncio.sleep(0.1)
    raise AssertionError(f"fix never reached {expected}: {current}")


@contextlib.asynccontextmanager
async def live_updates_held(page: Page) -> AsyncIterator[None]:
    """The page's live-update stream is opened but never answered (as if the
    gateway were slow to answer), so the page keeps what it read; polling,
    the fallback for a stream that fails, does not start either."""
    release = asyncio.Event()

    async def hold(route: Route) -> None:
        await release.wait()
        with contextlib.suppress(Exception):
            await route.abort()

    await page.route(WATCH, hold)
    try:
        yield
    finally:
        release.set()
        with contextlib.suppress(Exception):
            await page.unroute(WATCH)
