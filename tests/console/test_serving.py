"""The gateway serves the console bundle: routes, caching, CSP, and the API untouched."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from flowpilot.runtime.settings import Settings
from gateway.console import CONTENT_SECURITY_POLICY, console_routes
from tests.conftest import serve_http

CONSOLE_PATHS = [
    "/",
    "/ai-sessions/6f1c3c5e-0000-4000-8000-000000000000",
    "/script-builder",
    "/script-builder/6f1c3c5e-0000-4000-8000-000000000000",
    "/script-templates",
]


def _assets(dist: Path) -> list[str]:
    html = (dist / "index.html").read_text()
    return re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)


@pytest.mark.parametrize("path", CONSOLE_PATHS)
async def test_console_routes_answer_index_html_uncached_with_a_strict_csp(
    gateway_url: str, console_bundle: Path, path: str
) -> None:
    async with httpx.AsyncClient(base_url=gateway_url) as client:
        response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<div id="root">' in response.text
    assert response.headers["cache-control"] == "no-cache"
    csp = response.headers["content-security-policy"]
    assert csp == CONTENT_SECURITY_POLICY
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    for name in ("script-src", "connect-src", "worker-src", "font-src", "img-src", "default-src"):
        assert directives[name] == "'self'", name
    assert "unsafe-eval" not in csp
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "access-control-allow-origin" not in response.headers


async def test_index_revalidates_with_its_etag(gateway_url: str, console_bundle: Path) -> None:
    async with httpx.AsyncClient(base_url=gateway_url) as client:
        first = await client.get("/")
        again = await client.get("/", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


async def test_index_says_which_environment_it_runs_in(
    gateway_url: str, console_bundle: Path
) -> None:
    async with httpx.AsyncClient(base_url=gateway_url) as client:
        html = (await client.get("/")).text
    assert '<meta name="flowpilot-env" content="development" />' in html


async def test_hashed_assets_are_immutable_and_gzipped(
    gateway_url: str, console_bundle: Path
) -> None:
    assets = _assets(console_bundle)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    async with httpx.AsyncClient(base_url=gateway_url) as client:
        for asset in assets:
            response = await client.get(asset, headers={"accept-encoding": "gzip"})
            assert response.status_code == 200, asset
            assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert response.headers["content-encoding"] == "gzip"
            assert response.content == (console_bundle / asset.lstrip("/")).read_bytes()
            if asset.endswith(".js"):
                assert response.headers["content-type"].startswith("text/javascript")
        raw = await client.get(assets[0], headers={"accept-encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert raw.content == (console_bundle / assets[0].lstrip("/")).read_bytes()


async def test_other_paths_keep_their_behaviour(gateway_url: str, console_bundle: Path) -> None:
    async with httpx.AsyncClient(base_url=gateway_url) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/openapi.json")).json()["openapi"].startswith("3.1")
        assert "swagger" in (await client.get("/docs")).text.lower()
        api = await client.get("/api/v1/ai-sessions")
        assert api.status_code == 401 and api.json()["error"]["code"] == 401
        for path in ("/api/v1/console", "/nope", "/assets/missing.js", "/ai-sessions/a/b"):
            response = await client.get(path)
            assert response.status_code == 404, path
            assert response.json()["error"]["details"][0]["reason"] == "ROUTE_NOT_FOUND"
        for escape in ("/assets/%2e%2e/index.html", "/assets/%2e%2e/%2e%2e/%2e%2e/console.py"):
            assert (await client.get(escape)).status_code == 404, escape


async def test_unhashed_root_files_are_served_but_not_cached_forever(
    gateway_url: str, console_bundle: Path
) -> None:
    async with httpx.AsyncClient(base_url=gateway_url) as client:
        response = await client.get("/favicon.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.integration  # a gateway on a real socket
async def test_a_missing_bundle_is_explained_not_blank(settings: Settings, tmp_path: Path) -> None:
    app = Starlette(routes=console_routes(settings, tmp_path / "dist"))
    async with serve_http(app) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.get("/")
    assert response.status_code == 503
    assert "bash .ci/install" in response.text


async def test_gzip_copy_is_the_same_file(gateway_url: str, console_bundle: Path) -> None:
    js = next(a for a in _assets(console_bundle) if a.endswith(".js"))
    async with httpx.AsyncClient(base_url=gateway_url) as client:
        response = await client.send(
            client.build_request("GET", js, headers={"accept-encoding": "gzip"}), stream=True
        )
        compressed = b"".join([chunk async for chunk in response.aiter_raw()])
        await response.aclose()
    assert gzip.decompress(compressed) == (console_bundle / js.lstrip("/")).read_bytes()
