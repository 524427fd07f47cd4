"""checkov over every rendered overlay (and prod with each optional
component) and the Dockerfile. Every failing rule must be listed, with a
reason, in deploy/checkov-skips.yaml; a listed rule that no longer fails is
an error too, so the list stays true.

checkov runs from its own virtualenv (.tools/checkov, created by .ci/install
from requirements/checkov.lock): it pins dependencies that would fight the
project's own lock."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.k8s import DEPLOY, RENDERABLE, REPO, render

CHECKOV = REPO / ".tools/checkov/bin/checkov"
SKIPS = DEPLOY / "checkov-skips.yaml"
# The base is not applied alone (no namespace, no Secrets): its objects are
# all in the overlays checked here.
CHECKED = [path for path in RENDERABLE if path != "base"]


@dataclass(frozen=True)
class Skip:
    check: str
    reason: str
    resources: tuple[str, ...] = ()

    def covers(self, check: str, resource: str) -> bool:
        return check == self.check and (
            not self.resources or any(re.fullmatch(p, resource) for p in self.resources)
        )


def skips() -> list[Skip]:
    return [
        Skip(e["check"], e["reason"].strip(), tuple(e.get("resources", ())))
        for e in yaml.safe_load(SKIPS.read_text())
    ]


@functools.cache
def checkov_results() -> tuple[dict[str, Any], ...]:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `bash .ci/install`", pytrace=False)
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        for path in CHECKED:
            documents = [obj for obj in render(path) if obj]
            (root / f"{path.replace('/', '_')}.yaml").write_text(yaml.safe_dump_all(documents))
        shutil.copy(REPO / "Dockerfile", root / "Dockerfile")
        options = ["--framework", "kubernetes", "dockerfile", "--output", "json"]
        result = subprocess.run(
            [str(CHECKOV), "--directory", str(root), *options, "--skip-download", "--compact"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={**os.environ, "LOG_LEVEL": "ERROR"},
        )
    if result.returncode not in (0, 1):  # 1: some checks failed
        pytest.fail(f"checkov failed to run:\n{result.stderr[-3000:]}", pytrace=False)
    report = json.loads(result.stdout)
    return tuple(report if isinstance(report, list) else [report])


def failures() -> list[tuple[str, str, str]]:
    """(check id, resource, file) of every failed check."""
    return [
        (failed["check_id"], failed["resource"], failed["file_path"])
        for report in checkov_results()
        for failed in report["results"]["failed_checks"]
    ]


def test_checkov_ran_both_frameworks() -> None:
    kinds = {report["check_type"] for report in checkov_results()}
    assert kinds == {"kubernetes", "dockerfile"}
    for report in checkov_results():
        assert report["summary"]["passed"] > 50, report["check_type"]


def test_every_failure_is_a_justified_skip() -> None:
    listed = skips()
    unjustified = sorted(
        f"{check} {resource} ({file})"
        for check, resource, file in failures()
        if not any(skip.covers(check, resource) for skip in listed)
    )
    assert not unjustified, "fix these or justify them in deploy/checkov-skips.yaml:\n" + (
        "\n".join(unjustified)
    )


def test_every_skip_is_needed_and_explained() -> None:
    found = failures()
    for skip in skips():
        assert len(skip.reason) > 80, f"{skip.check}: say why"
        assert any(skip.covers(check, resource) for check, resource, _ in found), (
            f"{skip.check} no longer fails: remove it from deploy/checkov-skips.yaml"
        )


def test_skips_are_documented() -> None:
    text = (DEPLOY / "README.md").read_text()
    for skip in skips():
        assert skip.check in text, f"deploy/README.md does not explain {skip.check}"
