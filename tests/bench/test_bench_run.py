"""`python -m bench` runs end to end: the whole system and the bare chain as
processes, wrk against each, for one second per path. Nothing here is timed:
speed is what the benchmark prints, not what a test asserts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run import PATHS
from flowpilot.runtime.codegen import PROJECT_ROOT

pytestmark = pytest.mark.e2e  # separate processes, the whole system over HTTP


def test_one_short_round_prints_every_path_without_a_non_2xx(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    short = ["--seconds", "1", "--rounds", "1", "--warmup", "0", "--sessions", "50"]
    result = subprocess.run(
        [sys.executable, "-m", "bench", *short, "--json", str(out)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for path in PATHS:
        assert f"| {path} |" in result.stdout, result.stdout
    data = json.loads(out.read_text())
    assert data["clean"] is True
    (measured,) = data["rounds"]
    assert set(measured) == set(PATHS)
    for path, figures in measured.items():
        assert figures["requests"] > 0, path
        assert figures["non2xx"] == 0 and figures["statuses"] == {}, (path, figures)
    (machine,) = data["machine"]  # how the machine's CPU time went, per path
    assert set(machine) == set(PATHS)
    for share in machine.values():
        assert 0 <= share["idle"] <= 1 and 0 <= share["steal"] <= 1
    assert "| path | idle % | steal % |" in result.stdout
    assert set(data["rss_peak_mb"]) == {
        "fixes",
        "scriptbuilder",
        "gateway",
        "bare-grpc",
        "bare-http",
    }
