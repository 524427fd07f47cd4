"""Builds the web console (`gateway/web` → `gateway/web/dist`) when its sources changed.

    python -m gateway.web_build           # `npm ci` if the lock changed, then build if stale
    python -m gateway.web_build --check   # exit 1 if the bundle is missing or stale

`.ci/install` runs the first form. The bundle is not committed; a stamp in
`dist/` records the digest of the sources it was built from, so an up-to-date
bundle is not rebuilt and the browser tests refuse to run on a stale one.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

WEB_DIR = Path(__file__).resolve().parent / "web"
DIST_DIR = WEB_DIR / "dist"
SOURCE_FILES = (
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "vite.config.ts",
    "index.html",
)
SOURCE_DIRS = ("src", "public", "scripts")
STAMP_NAME = ".source-sha256"
LOCK_STAMP = WEB_DIR / "node_modules" / ".flowpilot-lock-sha256"


def _source_paths() -> Iterator[Path]:
    for name in SOURCE_FILES:
        yield WEB_DIR / name
    for directory in SOURCE_DIRS:
        yield from sorted(p for p in (WEB_DIR / directory).rglob("*") if p.is_file())


def source_digest() -> str:
    """A digest of everything the bundle is built from (paths and contents)."""
    digest = hashlib.sha256()
    for path in _source_paths():
        digest.update(str(path.relative_to(WEB_DIR)).encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()


def bundle_problem(dist: Path = DIST_DIR) -> str | None:
    """Why the bundle cannot be used as it is, or None when it is current."""
    if not (dist / "index.html").is_file():
        return f"the console bundle is missing ({dist})"
    stamp = dist / STAMP_NAME
    if not stamp.is_file() or stamp.read_text().strip() != source_digest():
        return f"the console bundle in {dist} is older than its sources"
    return None


def _npm(*args: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is missing: install Node.js 20 (with npm) to build the console")
    subprocess.run([npm, *args], cwd=WEB_DIR, check=True)


def ensure_dependencies() -> None:
    """`npm ci` when node_modules is missing or was installed from another lock."""
    lock_digest = hashlib.sha256((WEB_DIR / "package-lock.json").read_bytes()).hexdigest()
    if LOCK_STAMP.is_file() and LOCK_STAMP.read_text().strip() == lock_digest:
        return
    # No install scripts: nothing here needs one, and swagger-ui-dist's
    # dependency @scarf/scarf would report the install to its vendor.
    _npm("ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
    LOCK_STAMP.write_text(lock_digest + "\n")


def build() -> None:
    """Type-checks and builds, then stamps the bundle with its sources' digest."""
    digest = source_digest()
    _npm("run", "build", "--silent")
    (DIST_DIR / STAMP_NAME).write_text(digest + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.web_build", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="only say whether the bundle is current"
    )
    parser.add_argument("--force", action="store_true", help="build even when current")
    args = parser.parse_args(argv)
    problem = bundle_problem()
    if args.check:
        print(problem or f"the console bundle is current ({DIST_DIR})")
        return 1 if problem else 0
    ensure_dependencies()
    if problem or args.force:
        build()
        print(f"built the console into {DIST_DIR}")
    else:
        print(f"the console bundle is current ({DIST_DIR})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
