"""Every kustomization renders, and every object it renders is valid against
the Kubernetes schemas of the pinned version (custom resources: against the
CRD schemas vendored in tests/deploy/schemas)."""

from __future__ import annotations

import kubernetes_validate
import pytest
from kubernetes_validate import utils as kv_utils

from tests.deploy.crds import custom_resource_schema, validate_custom_resource
from tests.deploy.k8s import DEPLOY, KUBERNETES_VERSION, RENDERABLE, kubectl, render


def test_kubectl_can_render() -> None:
    """kubectl is required (a missing kubectl fails here, it is never skipped)."""
    assert kubectl()


def test_pinned_kubernetes_version_is_supported() -> None:
    versions = {kv_utils.major_minor(v) for v in kv_utils.all_versions()}
    assert KUBERNETES_VERSION in versions, (
        f"kubernetes-validate {kubernetes_validate.__version__} has no schemas for "
        f"{KUBERNETES_VERSION} (it has {sorted(versions)})"
    )


def test_every_overlay_is_tested() -> None:
    overlays = {p.name for p in (DEPLOY / "overlays").iterdir() if p.is_dir()}
    assert {f"overlays/{o}" for o in overlays} <= set(RENDERABLE), (
        f"an overlay is not covered by the deployment tests: {sorted(overlays)}"
    )


@pytest.mark.parametrize("path", RENDERABLE)
def test_renders_and_validates(path: str) -> None:
    objs = render(path)
    assert objs, f"deploy/{path} rendered nothing"
    errors: list[str] = []
    for obj in objs:
        name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        if custom_resource_schema(obj) is not None:
            errors.extend(f"{name}: {error}" for error in validate_custom_resource(obj))
            continue
        try:
            # strict: unknown fields (typos) are errors, not silently dropped.
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{name}: {'.'.join(map(str, exc.path))}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{name}: {exc.message}")
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("path", RENDERABLE)
def test_names_are_unique(path: str) -> None:
    seen: set[tuple[str, str]] = set()
    for obj in render(path):
        key = (obj["kind"], obj["metadata"]["name"])
        assert key not in seen, f"duplicate {key}"
        seen.add(key)
