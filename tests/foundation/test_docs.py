"""The README's configuration table names every variable the code reads."""

from __future__ import annotations

import re

from flowpilot.runtime import tracing
from flowpilot.runtime.codegen import PROJECT_ROOT
from flowpilot.runtime.settings import Settings


def test_readme_lists_every_setting() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `(FLOWPILOT_[A-Z0-9_]+)` \|", readme, flags=re.MULTILINE))
    expected = {f"FLOWPILOT_{name.upper()}" for name in Settings.model_fields}
    assert expected - documented == set(), "undocumented settings"


def test_readme_lists_the_opentelemetry_variables_read() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `(OTEL_[A-Z0-9_]+)` \|", readme, flags=re.MULTILINE))
    assert {tracing.ENDPOINT_VARIABLE, tracing.SERVICE_NAME_VARIABLE} <= documented


def test_readme_opens_with_the_two_commands() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in first_block.splitlines() if line and not line.startswith("#")]
    assert commands == ["bash .ci/install && flowpilot up", "bash .ci/install && python -m pytest"]
