"""Browser fixtures: Debian's chromium, driven by Python playwright, against the
real system (PostgreSQL, both gRPC services, the gateway over HTTP serving the
built console bundle).

Every page records the requests it makes, its JavaScript errors and its
Content-Security-Policy violations; a test fails at teardown if it made a
request to any host but the gateway, hit a CSP violation or threw. Screens are
saved as PNGs under `tests/artifacts/console/` (kept, also on failure).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from gateway import web_build

# Debian's chromium, which .ci/install installs (playwright cannot download one here).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "console"
AXE_SOURCE = web_build.WEB_DIR / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 860}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def console_bundle() -> Path:
    """The built bundle, rebuilt here when its sources changed (npm must be installed)."""
    problem = web_build.bundle_problem()
    if problem:
        if shutil.which("npm") is None or not (web_build.WEB_DIR / "node_modules").is_dir():
            pytest.fail(f"{problem}: run `bash .ci/install` (npm ci and the build)")
        web_build.ensure_dependencies()
        web_build.build()
    return web_build.DIST_DIR


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `bash .ci/install` installs Debian's chromium")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium_path: str) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture(scope="session", autouse=True)
def _expect_timeout() -> None:
    from playwright.async_api import expect

    # The whole system shares two cores with the browser; be patient, not slow.
    expect.set_options(timeout=15_000)


@dataclass
class Api:
    """The REST API with the test user's token, to arrange data and check results."""

    client: httpx.AsyncClient

    async def call(
        self, method: str, path: str, body: Any = None, status: int | None = None
    ) -> Any:
        response = await self.client.request(method, f"/api/v1{path}", json=body)
        if status is not None:
            assert response.status_code == status, response.text
        else:
            assert response.status_code < 300, response.text
        return response.json() if response.content else None

    async def session(self, title: str = "Outlook crashes on start") -> dict[str, Any]:
        return await self.call("POST", "/ai-sessions", {"title": title})

    async def fix(self, session_id: str, **fields: Any) -> dict[str, Any]:
        body = {
            "title": "Restart the print spooler",
            "description": "The spooler hangs; restart it.",
            "script_language": "powershell",
            **fields,
        }
        return await self.call("POST", f"/ai-sessions/{session_id}/suggested-fixes", body)

    async def get_fix(self, fix: dict[str, Any]) -> dict[str, Any]:
        return await self.call(
            "GET", f"/ai-sessions/{fix['ai_session_id']}/suggested-fixes/{fix['id']}"
        )

    async def template(self, **fields: Any) -> dict[str, Any]:
        body = {
            "name": "Restart a service",
            "description": "Restarts a Windows service",
            "language": "powershell",
            "body": "Restart-Service -Name {{service}} -Force:{{force}}",
            "parameters": [
                {"name": "service", "type": "string", "required": True},
                {"name": "force", "type": "boolean", "default": True},
            ],
            **fields,
        }
        return await self.call("POST", "/script-templates", body)


@dataclass
class Console:
    """One browser page on the console, signed in as a fresh engineer."""

    base: str
    token: str
    page: Any
    api: Api
    name: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    signed_in: bool = False

    async def goto(self, path: str = "/") -> None:
        """Opens `path`; the first visit signs in through the development link."""
        url = self.base + path
        if not self.signed_in:
            url += f"#token={self.token}"
            self.signed_in = True
        await self.page.goto(url)

    async def screenshot(self, screen: str, page: Any = None) -> Path:
        """Saves `page` (default: this console's page) as `<screen>.png`."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{screen}.png"
        await (page or self.page).screenshot(path=str(path), full_page=False)
        return path

    async def axe(self) -> list[dict[str, Any]]:
        """axe-core (from node_modules, evaluated in the page): serious and critical violations."""
        if not await self.page.evaluate("() => typeof window.axe === 'object'"):
            await self.page.evaluate(AXE_SOURCE.read_text(encoding="utf-8"))
        results = await self.page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        return [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [n["target"] for n in v["nodes"]][:5],
            }
            for v in results
            if v["impact"] in ("serious", "critical")
        ]

    def foreign_requests(self) -> list[str]:
        origin = urlsplit(self.base)
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in ("data", "blob")
            and (urlsplit(url).scheme, urlsplit(url).netloc) != (origin.scheme, origin.netloc)
        ]


ConsoleFactory = Callable[..., Any]


@pytest.fixture
async def api_for(gateway_url: str) -> AsyncIterator[Callable[[str], Api]]:
    clients: list[httpx.AsyncClient] = []

    def factory(token: str) -> Api:
        client = httpx.AsyncClient(
            base_url=gateway_url, headers={"authorization": f"Bearer {token}"}, timeout=30
        )
        clients.append(client)
        return Api(client)

    yield factory
    for client in clients:
        await client.aclose()


@pytest.fixture
async def open_console(
    request: pytest.FixtureRequest,
    browser: Any,
    gateway_url: str,
    console_bundle: Path,
    make_token: Callable[..., str],
    api_for: Callable[[str], Api],
) -> AsyncIterator[ConsoleFactory]:
    """`await open_console(viewport=..., role=...)` → a `Console` (a fresh user each)."""
    contexts: list[Any] = []
    consoles: list[Console] = []
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    async def factory(
        viewport: dict[str, int] | None = None,
        role: str = "engineer",
        user: str | None = None,
        account: str = "acct-1",
    ) -> Console:
        token = make_token(
            user_id=user or f"eng-{uuid.uuid4().hex[:8]}", role=role, account_id=account
        )
        context = await browser.new_context(viewport=viewport or DESKTOP, base_url=gateway_url)
        await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=gateway_url)
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = await context.new_page()
        console = Console(
            gateway_url,
            token,
            page,
            api_for(token),
            f"{test_name}-{len(consoles)}" if consoles else test_name,
        )
        # On the context: pages, workers and anything else the browser fetches.
        context.on("request", lambda r: console.requests.append(r.url))
        page.on("pageerror", lambda e: console.errors.append(str(e)))
        page.on(
            "console",
            lambda m: (
                console.csp_violations.append(m.text)
                if m.type == "error" and m.text.startswith("CSP violation")
                else None
            ),
        )
        await page.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => "
            "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))"
        )
        consoles.append(console)
        return console

    yield factory

    failed = getattr(request.node, "report_call", None)
    failed = failed is not None and failed.failed
    for console in consoles:
        if failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            # The page may be gone with the failure.
            with contextlib.suppress(Exception):
                await console.page.screenshot(path=str(ARTIFACTS / f"FAILED-{console.name}.png"))
    for context in contexts:
        await context.close()
    if not failed:
        for console in consoles:
            assert console.foreign_requests() == [], "requests left the gateway's origin"
            assert console.csp_violations == [], "Content-Security-Policy violations"
            assert console.errors == [], "uncaught JavaScript errors"
