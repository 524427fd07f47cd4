"""Custom resources (the Prometheus Operator's) checked against their CRDs'
OpenAPI schemas, vendored in `schemas/` (no network at test time), strictly:
a field the schema does not name is an error, as `kubectl apply
--validate=strict` would make it, instead of being pruned in silence."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

SCHEMAS = Path(__file__).parent / "schemas"


@functools.cache
def _schemas() -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(SCHEMAS.glob("*.json")):
        kind, group_version = path.stem.split("-", 1)
        group, _, version = group_version.rpartition("-")
        schema = json.loads(path.read_text())
        schema.pop("$comment", None)
        found[(f"{group}/{version}", kind)] = _strict(schema)
    return found


def _strict(node: Any) -> Any:
    """No unknown fields where the schema lists the properties."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    strict = {key: _strict(value) for key, value in node.items()}
    if (
        "properties" in strict
        and "additionalProperties" not in strict
        and not strict.get("x-kubernetes-preserve-unknown-fields")
    ):
        strict["additionalProperties"] = False
    return strict


def custom_resource_schema(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The vendored schema of `obj`'s kind, if it is a vendored custom resource."""
    for (api_version, kind), schema in _schemas().items():
        if obj.get("apiVersion") == api_version and obj.get("kind", "").lower() == kind:
            return schema
    return None


def validate_custom_resource(obj: dict[str, Any]) -> list[str]:
    schema = custom_resource_schema(obj)
    assert schema is not None
    # metadata is the API server's ObjectMeta, not part of the CRD schema.
    checked = copy.deepcopy(obj)
    checked["metadata"] = {}
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'.'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in validator.iter_errors(checked)
    ]


def vendored_kinds() -> set[tuple[str, str]]:
    return set(_schemas())
