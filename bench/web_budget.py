"""The web console's budget, measured: initial JavaScript and first render.

    python -m bench.web_budget [--runs 10] [--json FILE]

1. **Initial JS**: the scripts `index.html` loads before anything else (its
   module entry and module preloads), gzip-compressed as the gateway serves
   them. Budget: 250 KB. Monaco must not be in it: it lives in a lazy chunk
   that only editor mode loads (checked by its `MonacoEnvironment` hook).
2. **First render**: a private system (PostgreSQL in a temporary directory,
   both services and the gateway as their own processes, as `flowpilot bench`
   starts them) and Debian's chromium. Each run opens a fresh browser context
   (cold cache) on the development sign-in link and reads, with the
   Performance API, when the console marked `flowpilot:first-render` (the
   first screen showing its data) since navigation start. Budget: median 1 s
   on localhost, for the Sessions screen and an AI session with three fixes.

Exit status 1 when a budget is exceeded. Needs the built bundle
(`python -m gateway.web_build`) and /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gateway.web_build import DIST_DIR, bundle_problem

INITIAL_JS_BUDGET_BYTES = 250 * 1024
FIRST_RENDER_BUDGET_MS = 1000.0
FIRST_RENDER_MARK = "flowpilot:first-render"
MONACO_MARKER = b"MonacoEnvironment"
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


@dataclass
class BundleReport:
    initial_js: list[str]
    initial_js_bytes: int
    initial_js_gzip_bytes: int
    initial_css_gzip_bytes: int
    monaco_chunk: str | None
    monaco_chunk_gzip_bytes: int
    monaco_in_initial_js: bool

    @property
    def ok(self) -> bool:
        return (
            self.initial_js_gzip_bytes <= INITIAL_JS_BUDGET_BYTES
            and not self.monaco_in_initial_js
            and self.monaco_chunk is not None
        )


@dataclass
class RenderReport:
    screen: str
    first_render_ms: list[float] = field(default_factory=list)
    first_contentful_paint_ms: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.first_render_ms)

    @property
    def ok(self) -> bool:
        return self.median <= FIRST_RENDER_BUDGET_MS


def _gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6, mtime=0))


def measure_bundle(dist: Path = DIST_DIR) -> BundleReport:
    html = (dist / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r'<script[^>]+type="module"[^>]+src="([^"]+)"', html)
    preloads = re.findall(r'<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"', html)
    styles = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html)
    initial = [*scripts, *preloads]
    js = [(dist / p.lstrip("/")).read_bytes() for p in initial]
    css = [(dist / p.lstrip("/")).read_bytes() for p in styles]
    monaco = [p for p in sorted((dist / "assets").glob("*.js")) if MONACO_MARKER in p.read_bytes()]
    return BundleReport(
        initial_js=initial,
        initial_js_bytes=sum(len(b) for b in js),
        initial_js_gzip_bytes=sum(_gzip_size(b) for b in js),
        initial_css_gzip_bytes=sum(_gzip_size(b) for b in css),
        monaco_chunk=f"/assets/{monaco[0].name}" if monaco else None,
        monaco_chunk_gzip_bytes=_gzip_size(monaco[0].read_bytes()) if monaco else 0,
        monaco_in_initial_js=any(MONACO_MARKER in b for b in js),
    )


async def _http_json(port: int, method: str, path: str, token: str, body: Any = None) -> Any:
    import httpx

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        response = await client.request(
            method, path, json=body, headers={"authorization": f"Bearer {token}"}
        )
        response.raise_for_status()
        return response.json()


async def _seed(port: int, token: str) -> str:
    """A few sessions, and one AI session with three fixes (one per apply route)."""
    for title in ("Printer offline", "VPN drops every hour", "Teams cannot share screen"):
        await _http_json(port, "POST", "/api/v1/ai-sessions", token, {"title": title})
    session = await _http_json(
        port, "POST", "/api/v1/ai-sessions", token, {"title": "Outlook crashes on start"}
    )
    fixes = f"/api/v1/ai-sessions/{session['id']}/suggested-fixes"
    base = {"description": "From the budget run.", "script_language": "powershell"}
    await _http_json(port, "POST", fixes, token, {**base, "title": "Repair the profile"})
    await _http_json(
        port,
        "POST",
        fixes,
        token,
        {**base, "title": "Restart the spooler", "ai_drafted_script": "Restart-Service Spooler"},
    )
    fix = await _http_json(
        port, "POST", fixes, token, {**base, "title": "Clear the cache", "ai_drafted_script": "x"}
    )
    await _http_json(port, "POST", f"{fixes}/{fix['id']}/apply", token)
    return str(session["id"])


async def _first_render(browser: Any, url: str) -> tuple[float, float]:
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        page = await context.new_page()
        await page.goto(url)
        await page.wait_for_function(
            f"() => performance.getEntriesByName({FIRST_RENDER_MARK!r}).length > 0", timeout=30_000
        )
        marks = await page.evaluate(
            "name => [performance.getEntriesByName(name)[0].startTime,"
            " (performance.getEntriesByName('first-contentful-paint')[0] || {startTime: NaN})"
            ".startTime]",
            FIRST_RENDER_MARK,
        )
        return float(marks[0]), float(marks[1])
    finally:
        await context.close()


async def measure_first_render(runs: int, workdir: Path) -> list[RenderReport]:
    from playwright.async_api import async_playwright

    from bench.run import _processes, _spawn, _wait_port
    from flowpilot.runtime.auth import mint_token
    from flowpilot.runtime.embedded_pg import EmbeddedPostgres, free_port
    from flowpilot.runtime.migrations import upgrade
    from flowpilot.runtime.settings import Settings

    secret = "budget-" + uuid.uuid4().hex * 2
    settings = Settings(jwt_secret=secret, data_dir=workdir)
    cluster = EmbeddedPostgres(workdir / "pg", fsync=False)
    print(f"starting PostgreSQL in {workdir} ...", flush=True)
    cluster.start()
    try:
        urls = {name: cluster.create_database(name) for name in ("fixes", "scriptbuilder")}
        await asyncio.to_thread(upgrade, "fixes_service", urls["fixes"])
        await asyncio.to_thread(upgrade, "scriptbuilder_service", urls["scriptbuilder"])
        ports = {name: free_port() for name in ("fixes", "sb", "gateway")}
        env = {
            **os.environ,
            "FLOWPILOT_JWT_SECRET": secret,
            "FLOWPILOT_DATA_DIR": str(workdir),
            "FLOWPILOT_LOG_LEVEL": "WARNING",
            "FLOWPILOT_BIND_HOST": "127.0.0.1",
            "FLOWPILOT_FIXES_DATABASE_URL": urls["fixes"],
            "FLOWPILOT_SCRIPTBUILDER_DATABASE_URL": urls["scriptbuilder"],
            "FLOWPILOT_FIXES_GRPC_PORT": str(ports["fixes"]),
            "FLOWPILOT_SCRIPTBUILDER_GRPC_PORT": str(ports["sb"]),
            "FLOWPILOT_FIXES_TARGET": f"127.0.0.1:{ports['fixes']}",
            "FLOWPILOT_SCRIPTBUILDER_TARGET": f"127.0.0.1:{ports['sb']}",
            "FLOWPILOT_HTTP_PORT": str(ports["gateway"]),
        }
        with _processes() as started:
            _spawn(started, ["-m", "fixes_service.main"], env, workdir / "fixes.log")
            _spawn(started, ["-m", "scriptbuilder_service.main"], env, workdir / "sb.log")
            _spawn(started, ["-m", "gateway.app"], env, workdir / "gateway.log")
            for port in ports.values():
                await _wait_port(port, started)
            token = mint_token(
                settings, user_id="budget", account_id="budget", role="engineer", ttl_seconds=3600
            )
            session_id = await _seed(ports["gateway"], token)
            base = f"http://127.0.0.1:{ports['gateway']}"
            screens = {"sessions": "/", "ai-session": f"/ai-sessions/{session_id}"}
            reports = [RenderReport(name) for name in screens]
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS
                )
                try:
                    for report, path in zip(reports, screens.values(), strict=True):
                        await _first_render(browser, f"{base}{path}#token={token}")  # warm-up
                        for _ in range(runs):
                            render, paint = await _first_render(
                                browser, f"{base}{path}#token={token}"
                            )
                            report.first_render_ms.append(render)
                            report.first_contentful_paint_ms.append(paint)
                finally:
                    await browser.close()
            return reports
    finally:
        cluster.stop("immediate")


def _kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.web_budget", description=__doc__)
    parser.add_argument("--runs", type=int, default=10, help="page loads per screen (default 10)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args(argv)
    problem = bundle_problem()
    if problem:
        print(f"{problem}: run `python -m gateway.web_build` first", file=sys.stderr)
        return 2

    bundle = measure_bundle()
    print("initial JS (index.html's entry and module preloads):")
    for path in bundle.initial_js:
        print(f"  {path}")
    verdict = "ok" if bundle.initial_js_gzip_bytes <= INITIAL_JS_BUDGET_BYTES else "OVER BUDGET"
    print(
        f"  {_kb(bundle.initial_js_bytes)} raw, {_kb(bundle.initial_js_gzip_bytes)} gzip "
        f"(budget {_kb(INITIAL_JS_BUDGET_BYTES)}): {verdict}"
    )
    print(f"initial CSS: {_kb(bundle.initial_css_gzip_bytes)} gzip")
    monaco_where = "IN THE INITIAL JS" if bundle.monaco_in_initial_js else "not in the initial JS"
    print(
        f"Monaco: lazy chunk {bundle.monaco_chunk} ({_kb(bundle.monaco_chunk_gzip_bytes)} gzip), "
        f"{monaco_where}"
    )

    with tempfile.TemporaryDirectory(prefix="flowpilot-budget-") as tmp:
        workdir = Path(tmp)
        workdir.chmod(0o755)
        started = time.monotonic()
        reports = asyncio.run(measure_first_render(args.runs, workdir))
    print(f"first render ({args.runs} cold loads per screen, {time.monotonic() - started:.0f} s):")
    for report in reports:
        values = report.first_render_ms
        paints = [p for p in report.first_contentful_paint_ms if p == p]
        verdict = "ok" if report.ok else "OVER BUDGET"
        print(
            f"  {report.screen:<11} median {report.median:6.0f} ms, min {min(values):6.0f}, "
            f"max {max(values):6.0f} (budget {FIRST_RENDER_BUDGET_MS:.0f} ms): {verdict}"
            + (
                f"; first contentful paint median {statistics.median(paints):.0f} ms"
                if paints
                else ""
            )
        )
    if args.json:
        payload = {
            "bundle": asdict(bundle),
            "first_render": [asdict(r) | {"median_ms": r.median} for r in reports],
        }
        args.json.write_text(json.dumps(payload, indent=2))
    return 0 if bundle.ok and all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
