"""`flowpilot bench` is `python -m bench`, honestly: in a source checkout it
runs the benchmark, elsewhere it says where the benchmark lives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flowpilot import cli
from flowpilot.runtime.codegen import PROJECT_ROOT


def test_this_checkout_is_found() -> None:
    assert cli.source_checkout() == PROJECT_ROOT


def test_outside_a_checkout_it_says_where_the_benchmark_is(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli._bench(["--seconds", "1"], None) == 2
    message = capsys.readouterr().err
    assert "python -m bench" in message and "checkout" in message


def test_the_benchmark_is_not_shipped() -> None:
    import tomllib

    find = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "bench*" in find["packages"]["find"]["exclude"]
    admitted = (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
    assert "!bench/" not in admitted and "!bench" not in admitted


@pytest.mark.integration  # runs the CLI
def test_in_the_checkout_it_is_python_m_bench(tmp_path: Path) -> None:
    # From another directory: the alias finds the checkout itself.
    result = subprocess.run(
        [sys.executable, "-m", "flowpilot.cli", "bench", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m bench")
