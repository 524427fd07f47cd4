"""`flowpilot up` on the embedded default: starts, serves, stops cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flowpilot.runtime.embedded_pg import free_port
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
