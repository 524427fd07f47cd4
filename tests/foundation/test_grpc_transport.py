"""Every FlowPilot process picks gRPC core's transport before grpc is imported
(flowpilot.runtime.grpc_transport), and an operator's own choice wins.

Each case runs a fresh interpreter: grpc reads GRPC_EXPERIMENTS once, at import."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from flowpilot.runtime.codegen import PROJECT_ROOT
from flowpilot.runtime.grpc_transport import GRPC_EXPERIMENTS

pytestmark = pytest.mark.integration  # fresh interpreters


def _imported(code: str, **env: str) -> tuple[str | None, str]:
    """GRPC_EXPERIMENTS after running `code` in a fresh interpreter, and its stderr."""
    environment = {k: v for k, v in os.environ.items() if k != "GRPC_EXPERIMENTS"}
    environment.update(env)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"{code}\nimport json, os\nprint(json.dumps(os.environ.get('GRPC_EXPERIMENTS')))",
        ],
        env=environment,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1]), result.stderr


# How each process starts: `python -m <module>`, or the `flowpilot` CLI.
ENTRY_POINTS = [
    "import fixes_service.main",
    "import scriptbuilder_service.main",
    "import gateway.app",
    "import flowpilot.cli",
]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_every_entry_point_chooses_the_transport_before_grpc_reads_it(entry: str) -> None:
    chosen, stderr = _imported(f"{entry}\nimport grpc")
    assert chosen == GRPC_EXPERIMENTS
    # A grpc that no longer knows an experiment says so when it is imported.
    assert "experiment" not in stderr.lower(), stderr


def test_an_operators_choice_wins() -> None:
    assert _imported("import gateway.app", GRPC_EXPERIMENTS="")[0] == ""
    assert _imported("import gateway.app", GRPC_EXPERIMENTS="-tcp_rcv_lowat")[0] == (
        "-tcp_rcv_lowat"
    )


def test_too_late_is_left_alone() -> None:
    # grpc has read its configuration: setting it now would claim a choice
    # that never took effect (and leak into child processes).
    assert _imported("import grpc\nimport flowpilot")[0] is None
