"""`flowpilot up` on the embedded default: starts, serves, stops cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from flowpilot.runtime.embedded_pg import EmbeddedPostgres, free_port
from tests.conftest import postgres_dir

pytestmark = pytest.mark.e2e  # `flowpilot up` in a subprocess, the system over HTTP


@pytest.fixture
def data_dir() -> Iterator[Path]:
    with postgres_dir() as path:
        yield path


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            child = int(stat.parent.name)
            found |= {child, *_descendants(child)}
    return found


def test_up_serves_and_stops(data_dir: Path) -> None:
    http_port = free_port()
    env = {
        **os.environ,
        "FLOWPILOT_DATA_DIR": str(data_dir),
        "FLOWPILOT_HTTP_PORT": str(http_port),
        "FLOWPILOT_FIXES_GRPC_PORT": str(free_port()),
        "FLOWPILOT_SCRIPTBUILDER_GRPC_PORT": str(free_port()),
        "FLOWPILOT_SHUTDOWN_GRACE_SECONDS": "2",
    }
    for key in (
        "FLOWPILOT_FIXES_DATABASE_URL",
        "FLOWPILOT_SCRIPTBUILDER_DATABASE_URL",
        "FLOWPILOT_JWT_SECRET",
    ):
        env.pop(key, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "flowpilot", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        output = ""
        deadline = time.monotonic() + 120
        while "export TOKEN=" not in output and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            output += line
        match = re.search(r"export TOKEN=(\S+)", output)
        assert match, f"no token printed:\n{output}"
        assert f"http://127.0.0.1:{http_port}" in output
        base = f"http://127.0.0.1:{http_port}"
        headers = {"Authorization": f"Bearer {match.group(1)}"}
        assert httpx.get(f"{base}/readyz").status_code == 200
        # The console's development sign-in link: the token in the fragment.
        assert f"{base}/#token={match.group(1)}" in output
        console = httpx.get(f"{base}/")
        assert console.status_code == 200 and '<div id="root">' in console.text
        created = httpx.post(
            f"{base}/api/v1/ai-sessions", json={"title": "Outlook"}, headers=headers
        )
        assert created.status_code == 201, created.text
        listed = httpx.get(f"{base}/api/v1/ai-sessions", headers=headers).json()
        assert [s["id"] for s in listed["ai_sessions"]] == [created.json()["id"]]
        # The development secret is generated once per data dir.
        assert (data_dir / "jwt-secret").exists()

        children = _descendants(process.pid)
        assert children, "up started no child processes"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        time.sleep(0.5)
        alive = [pid for pid in children if Path(f"/proc/{pid}").exists()]
        assert alive == [], "processes left behind"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _child(up: subprocess.Popen[str], name: str) -> int | None:
    found = [p for p in _descendants(up.pid) if _cmdline(p).endswith(f" serve {name} ")]
    return found[0] if found else None


def _eventually(check: Callable[[], bool], within: float = 60) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "not within the deadline"
        time.sleep(0.1)


def test_up_restarts_killed_children_and_stops_cleanly(data_dir: Path, tmp_path: Path) -> None:
    """Issue 9, point 9: a child killed with SIGKILL (a server, then the
    embedded PostgreSQL) is restarted with a log line and the stack serves
    again; SIGTERM then stops everything, leaving no process behind. Also
    point 8 through `up` itself: right after it says it is up, the first
    inline get-or-create succeeds."""
    http_port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FLOWPILOT_")},
        "FLOWPILOT_DATA_DIR": str(data_dir),
        "FLOWPILOT_HTTP_PORT": str(http_port),
        "FLOWPILOT_FIXES_GRPC_PORT": str(free_port()),
        "FLOWPILOT_SCRIPTBUILDER_GRPC_PORT": str(free_port()),
        "FLOWPILOT_SHUTDOWN_GRACE_SECONDS": "2",
        "FLOWPILOT_LOG_LEVEL": "WARNING",
    }
    stderr_path = tmp_path / "up.stderr"
    with stderr_path.open("w") as stderr:
        up = subprocess.Popen(
            [sys.executable, "-m", "flowpilot", "up"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        assert up.stdout is not None
        output = ""
        deadline = time.monotonic() + 120
        while "export TOKEN=" not in output and time.monotonic() < deadline:
            line = up.stdout.readline()
            if not line and up.poll() is not None:
                break
            output += line
        match = re.search(r"export TOKEN=(\S+)", output)
        assert match, f"no token printed:\n{output}\n{stderr_path.read_text()}"
        api = httpx.Client(
            base_url=f"http://127.0.0.1:{http_port}/api/v1",
            headers={"Authorization": f"Bearer {match.group(1)}"},
            timeout=30,
        )
        ai_session = api.post("/ai-sessions", json={"title": "Outlook"}).json()["id"]
        inline = {"origin": "pilot_inline", "ai_session_id": ai_session}
        first = api.post("/script-builder/sessions", json=inline)
        assert first.status_code == 201, first.text

        def inline_again() -> bool:
            return api.post("/script-builder/sessions", json=inline).status_code == 200

        fixes = _child(up, "fixes")
        assert fixes is not None
        os.kill(fixes, signal.SIGKILL)
        _eventually(lambda: _child(up, "fixes") not in (None, fixes) and inline_again())
        assert "fixes was killed by SIGKILL; restarting it" in stderr_path.read_text()

        postmaster = EmbeddedPostgres(data_dir / "postgres").pid()
        assert postmaster is not None
        os.kill(postmaster, signal.SIGKILL)
        # The killed postmaster's backends keep serving pooled connections for a
        # moment, so a request may succeed before the supervisor has noticed:
        # wait for the restart itself, then for service through the new cluster.
        _eventually(
            lambda: "postgresql was killed by SIGKILL; restarting it" in stderr_path.read_text()
        )
        _eventually(inline_again)
        restarted_postmaster = EmbeddedPostgres(data_dir / "postgres").pid()
        assert restarted_postmaster not in (None, postmaster)

        children = _descendants(up.pid) | {restarted_postmaster}
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=60) == 0, stderr_path.read_text()
        _eventually(lambda: not any(Path(f"/proc/{pid}").exists() for pid in children), 10)
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
