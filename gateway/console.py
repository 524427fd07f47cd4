"""The web console, served by the gateway at `/` (CONTRACT §7, §8).

The bundle is what `npm run build` writes to `gateway/web/dist` (see
`gateway/web_build.py`): `index.html`, hashed files under `assets/`, and a few
unhashed files (the favicon). It is served from the same origin as `/api/v1`,
so the console needs no CORS and no token in a cookie.

- Console routes (`/`, `/ai-sessions/{id}`, `/script-builder[/{id}]`,
  `/script-templates`, `/analytics`) answer `index.html`; the client-side router takes over.
  `/api/*`, `/docs`, `/openapi.json`, `/healthz` and `/readyz` keep their
  behaviour, and any other path is still the gateway's JSON 404.
- `index.html`: `Cache-Control: no-cache` (revalidated with its ETag), so a new
  deployment is picked up at once. Hashed assets: `public, max-age=31536000,
  immutable`. Other files: `no-cache`.
- A strict Content-Security-Policy on every console response: scripts,
  workers, fonts, images and connections from 'self' only, no inline script,
  no eval, no frames, no plugins. Styles also allow 'unsafe-inline' because
  Monaco writes `<style>` elements and `style="..."` attributes at run time
  and supports no nonce; CSS cannot run script, and every fetch it could make
  is held to 'self' by the other directives.
- Files are read on first use and kept in memory with a gzip copy (bundles
  are small and immutable); a client that accepts gzip gets it.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import logging
import mimetypes
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from flowpilot.runtime.settings import Settings

log = logging.getLogger("flowpilot.gateway.console")

BUNDLE_DIR = Path(__file__).resolve().parent / "web" / "dist"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# Paths the client-side router owns (see gateway/web/src/router.tsx).
CONSOLE_PATHS = [
    "/",
    "/ai-sessions/{session_id}",
    "/script-builder",
    "/script-builder/{session_id}",
    "/script-templates",
    "/analytics",
]
_ENV_META = re.compile(r'<meta name="flowpilot-env" content="[^"]*"\s*/?>')
_TEXT_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml")
_COMPRESSIBLE_MIN_BYTES = 1024
_MEDIA_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".ttf": "font/ttf",
    ".woff2": "font/woff2",
    ".json": "application/json",
    ".map": "application/json",
}


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str


_cache: dict[tuple[str, str, int, int], StaticFile] = {}
_cache_lock = threading.Lock()


def _media_type(path: Path) -> str:
    media = _MEDIA_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    media = media or "application/octet-stream"
    if media.startswith(_TEXT_TYPES) and "charset" not in media:
        media += "; charset=utf-8"
    return media


def load_file(
    path: Path, rewrite: Callable[[bytes], bytes] | None = None, variant: str = ""
) -> StaticFile:
    """The file's bytes (after `rewrite`), a gzip copy and an ETag; cached by mtime and size."""
    stat = path.stat()
    key = (str(path), variant, stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    body = path.read_bytes()
    if rewrite is not None:
        body = rewrite(body)
    media = _media_type(path)
    gzipped = None
    if len(body) >= _COMPRESSIBLE_MIN_BYTES and media.startswith(_TEXT_TYPES):
        gzipped = gzip.compress(body, compresslevel=6, mtime=0)
    digest = hashlib.sha256(body).hexdigest()[:32]
    loaded = StaticFile(body, gzipped, media, f'"{digest}"')
    with _cache_lock:
        _cache[key] = loaded
    return loaded


def _accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


def file_response(request: Request, file: StaticFile, cache_control: str) -> Response:
    headers = {**SECURITY_HEADERS, "Cache-Control": cache_control, "ETag": file.etag}
    headers["Vary"] = "Accept-Encoding"
    if request.headers.get("if-none-match") == file.etag:
        return Response(status_code=304, headers=headers)
    body = file.body
    if file.gzipped is not None and _accepts_gzip(request):
        body = file.gzipped
        headers["Content-Encoding"] = "gzip"
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return Response(status_code=200, headers=headers, media_type=file.media_type)
    return Response(body, status_code=200, headers=headers, media_type=file.media_type)


class Console:
    """The bundle of one gateway app: `index.html` and its files."""

    def __init__(self, bundle_dir: Path, environment: str) -> None:
        self.bundle_dir = bundle_dir.resolve()
        self.environment = environment

    @property
    def built(self) -> bool:
        return (self.bundle_dir / "index.html").is_file()

    def _resolve(self, relative: str, within: str = "") -> Path | None:
        """The file at `relative`, if it is inside `within` of the bundle (no `..` escapes)."""
        if not relative or "\x00" in relative:
            return None
        candidate = (self.bundle_dir / relative).resolve()
        if not candidate.is_relative_to(self.bundle_dir / within) or not candidate.is_file():
            return None
        return candidate

    def index(self) -> StaticFile:
        meta = f'<meta name="flowpilot-env" content="{html.escape(self.environment)}" />'

        def with_environment(body: bytes) -> bytes:
            # The console shows development-only helpers ("Propose a fix") by this tag.
            return _ENV_META.sub(meta, body.decode("utf-8"), count=1).encode("utf-8")

        return load_file(self.bundle_dir / "index.html", with_environment, self.environment)

    async def page(self, request: Request) -> Response:
        if not self.built:
            return HTMLResponse(
                "<!doctype html><title>FlowPilot</title><h1>The web console is not built</h1>"
                "<p>Run <code>bash .ci/install</code> (it runs <code>npm ci</code> and the "
                "build in <code>gateway/web</code>). The API is at <code>/api/v1</code>, "
                'its documentation at <a href="/docs">/docs</a>.</p>',
                status_code=503,
                headers={**SECURITY_HEADERS, "Cache-Control": NO_CACHE},
            )
        return file_response(request, self.index(), NO_CACHE)

    async def asset(self, request: Request) -> Response:
        path = self._resolve("assets/" + request.path_params["path"], within="assets")
        if path is None:
            raise HTTPException(404)  # the gateway's JSON 404 (ROUTE_NOT_FOUND)
        return file_response(request, load_file(path), IMMUTABLE)

    def root_files(self) -> list[str]:
        """The unhashed files beside index.html (favicon.svg)."""
        if not self.built:
            return []
        return sorted(
            p.name for p in self.bundle_dir.iterdir() if p.is_file() and p.name != "index.html"
        )

    async def root_file(self, request: Request) -> Response:
        path = self._resolve(request.url.path.lstrip("/"))
        if path is None:
            raise HTTPException(404)
        return file_response(request, load_file(path), NO_CACHE)


def console_routes(settings: Settings, bundle_dir: Path = BUNDLE_DIR) -> list[Route]:
    """Routes serving the console; add them after the API routes."""
    console = Console(bundle_dir, settings.env.value)
    if not console.built:
        log.warning("the web console is not built (%s); `/` explains how to build it", bundle_dir)
    methods = ["GET", "HEAD"]
    routes = [Route(path, console.page, methods=methods) for path in CONSOLE_PATHS]
    routes.append(Route("/assets/{path:path}", console.asset, methods=methods))
    # Exact routes for the unhashed files at the bundle's root, so that any
    # other path keeps the gateway's 404.
    routes += [
        Route(f"/{name}", console.root_file, methods=methods) for name in console.root_files()
    ]
    return routes
