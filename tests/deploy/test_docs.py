"""deploy/README.md documents every setting, Secret and kustomization."""

from __future__ import annotations

import pytest

from flowpilot.runtime.settings import Settings
from tests.deploy.k8s import DEPLOY, RENDERABLE, all_containers, render, secret_refs, workloads

README = DEPLOY / "README.md"


def test_every_setting_is_documented() -> None:
    text = README.read_text()
    missing = [
        f"FLOWPILOT_{name.upper()}"
        for name in Settings.model_fields
        if f"`FLOWPILOT_{name.upper()}`" not in text
    ]
    assert not missing, f"deploy/README.md does not list {missing}"


@pytest.mark.parametrize("path", RENDERABLE)
def test_every_secret_reference_is_documented(path: str) -> None:
    text = README.read_text()
    for workload in workloads(render(path)):
        for container in all_containers(workload):
            for secret, key in secret_refs(container, workload).values():
                # Generated Secrets carry a hash suffix in dev.
                base = secret if f"`{secret}`" in text else secret.rsplit("-", 1)[0]
                assert f"`{base}`" in text and f"`{key}`" in text, (secret, key)


def test_every_kustomization_is_documented() -> None:
    text = README.read_text()
    for kind in ("overlays", "components"):
        for directory in sorted((DEPLOY / kind).iterdir()):
            assert f"{directory.name}/" in text, f"deploy/{kind}/{directory.name} undocumented"
