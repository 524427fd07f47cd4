"""Helpers for the deployment tests: render overlays, read workloads, and
compute the network edges that a set of NetworkPolicies allows."""

from __future__ import annotations

import base64
import functools
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
OVERLAYS = ("dev", "prod")
# Every kustomization a platform team may apply or build on.
RENDERABLE = ("base", "overlays/dev", "overlays/prod")
# kubernetes-validate schema version the manifests are checked against: the
# oldest Kubernetes they are written for (native gRPC probes are GA since
# 1.27, the preStop `sleep` action is on by default since 1.30).
KUBERNETES_VERSION = "1.30"

Obj = dict[str, Any]


def kubectl() -> str:
    """The kubectl binary; fails (never skips) when it is missing."""
    path = shutil.which("kubectl")
    if path is None:
        pytest.fail(
            "kubectl is not on PATH: the deployment tests render deploy/ with "
            "`kubectl kustomize` and cannot run without it (install kubectl >= 1.27)",
            pytrace=False,
        )
    return path


@functools.cache
def _render(path: str) -> tuple[Obj, ...]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(DEPLOY / path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"kubectl kustomize deploy/{path} failed:\n{result.stderr}", pytrace=False)
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def render(path: str) -> list[Obj]:
    return list(_render(path))


def by_kind(objs: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objs if o["kind"] == kind]


def get(objs: list[Obj], kind: str, name: str) -> Obj:
    for obj in objs:
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return obj
    raise AssertionError(f"no {kind}/{name} in the rendered manifests")


def workloads(objs: list[Obj]) -> list[Obj]:
    return [o for o in objs if o["kind"] in ("Deployment", "StatefulSet")]


def pod_spec(workload: Obj) -> Obj:
    return workload["spec"]["template"]["spec"]


def all_containers(workload: Obj) -> list[Obj]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def is_flowpilot(container: Obj) -> bool:
    return container.get("command", [None])[0] == "flowpilot"


def container_ports(workload: Obj) -> dict[str, tuple[int, str]]:
    """Named container ports of a workload: name -> (port, protocol)."""
    ports: dict[str, tuple[int, str]] = {}
    for container in pod_spec(workload)["containers"]:
        for port in container.get("ports", []):
            ports[port["name"]] = (port["containerPort"], port.get("protocol", "TCP"))
    return ports


def served_process(workload: Obj) -> str | None:
    """`fixes` for a container running `flowpilot serve fixes`, else None."""
    for container in pod_spec(workload)["containers"]:
        args = container.get("args", [])
        if is_flowpilot(container) and args[:1] == ["serve"]:
            return args[1]
    return None


def main_container(workload: Obj) -> Obj:
    containers = pod_spec(workload)["containers"]
    assert len(containers) == 1, f"{workload['metadata']['name']}: expected one container"
    return containers[0]


def effective_env(container: Obj, objs: list[Obj]) -> dict[str, str]:
    """The environment a container starts with. Secret values come from the
    rendered Secrets where the overlay generates them, else a placeholder that
    names the reference (prod's Secrets are created out of band)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef") or source.get("secretRef")
        assert ref is not None, f"unsupported envFrom {source}"
        kind = "ConfigMap" if "configMapRef" in source else "Secret"
        data = _data(get(objs, kind, ref["name"]))
        env.update({source.get("prefix", "") + k: v for k, v in data.items()})
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
            continue
        value_from = var["valueFrom"]
        if "secretKeyRef" in value_from:
            ref = value_from["secretKeyRef"]
            secret = _find(objs, "Secret", ref["name"])
            if secret is None:
                env[var["name"]] = f"from-secret:{ref['name']}/{ref['key']}"
            elif ref["key"] in _data(secret):
                env[var["name"]] = _data(secret)[ref["key"]]
        elif "configMapKeyRef" in value_from:
            ref = value_from["configMapKeyRef"]
            env[var["name"]] = _data(get(objs, "ConfigMap", ref["name"]))[ref["key"]]
        else:
            raise AssertionError(f"unsupported valueFrom {value_from}")
    return env


def _find(objs: list[Obj], kind: str, name: str) -> Obj | None:
    return next((o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name), None)


def _data(obj: Obj) -> dict[str, str]:
    data = dict(obj.get("data") or {})
    if obj["kind"] == "Secret":
        data = {k: base64.b64decode(v).decode() for k, v in data.items()}
        data.update(obj.get("stringData") or {})
    return data


def secret_refs(container: Obj) -> dict[str, tuple[str, str]]:
    """Env var name -> (Secret name, key) for secretKeyRef variables."""
    refs: dict[str, tuple[str, str]] = {}
    for var in container.get("env", []):
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            refs[var["name"]] = (ref["name"], ref["key"])
    return refs


# --- label selectors ---------------------------------------------------------


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Kubernetes LabelSelector semantics; an empty selector matches all."""
    if selector is None:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


# --- network policy edges ----------------------------------------------------

ANY = "*"
KUBE_DNS = "kube-dns"
# How cluster DNS pods and their namespace are labelled on most distributions.
DNS_NAMESPACE_LABELS = {"kubernetes.io/metadata.name": "kube-system"}
DNS_POD_LABELS = {"k8s-app": "kube-dns"}

Edge = tuple[str, str, int | str, str]  # (source, destination, port, protocol)


@dataclass
class _Pod:
    name: str
    labels: dict[str, str]
    ports: dict[str, tuple[int, str]] = field(default_factory=dict)


def _pods(objs: list[Obj]) -> list[_Pod]:
    return [
        _Pod(
            w["metadata"]["name"],
            dict(w["spec"]["template"]["metadata"].get("labels", {})),
            container_ports(w),
        )
        for w in workloads(objs)
    ]


def _peers(peers: list[Obj] | None, pods: list[_Pod]) -> Iterator[str]:
    """Resolve NetworkPolicyPeers to workload names or symbolic outsiders."""
    if not peers:
        yield ANY
        return
    for peer in peers:
        if "ipBlock" in peer:
            yield f"ipBlock:{peer['ipBlock']['cidr']}"
        elif "namespaceSelector" in peer:
            ns_ok = selector_matches(peer["namespaceSelector"], DNS_NAMESPACE_LABELS)
            pod_ok = selector_matches(peer.get("podSelector"), DNS_POD_LABELS)
            if ns_ok and pod_ok and peer["namespaceSelector"]:
                yield KUBE_DNS
            else:
                yield f"namespaces:{peer['namespaceSelector']}"
        else:
            yield from (p.name for p in pods if selector_matches(peer["podSelector"], p.labels))


def _ports(rule_ports: list[Obj] | None, dest: _Pod | None) -> Iterator[tuple[int | str, str]]:
    if not rule_ports:
        yield ("all", "all")
        return
    for port in rule_ports:
        number, protocol = port.get("port", "all"), port.get("protocol", "TCP")
        if isinstance(number, str) and number != "all":
            if dest is None or number not in dest.ports:
                continue  # a named port the destination does not have matches nothing
            number = dest.ports[number][0]
        yield (number, protocol)


def allowed_edges(objs: list[Obj]) -> set[Edge]:
    """Every (source, destination, port, protocol) the policies allow.

    Between two workloads of the namespace an edge needs both the source's
    egress and the destination's ingress (a side that no policy of that
    direction selects is open). Edges to outsiders (DNS, ipBlocks, anything)
    need egress only; edges from outsiders need ingress only.
    """
    pods = _pods(objs)
    by_name = {p.name: p for p in pods}
    policies = by_kind(objs, "NetworkPolicy")

    def selecting(pod: _Pod, direction: str) -> list[Obj]:
        return [
            p
            for p in policies
            if direction in p["spec"].get("policyTypes", ["Ingress"])
            and selector_matches(p["spec"]["podSelector"], pod.labels)
        ]

    egress: set[Edge] = set()
    ingress: set[Edge] = set()
    for pod in pods:
        out = selecting(pod, "Egress")
        if not out:
            egress.add((pod.name, ANY, "all", "all"))
        for policy in out:
            for rule in policy["spec"].get("egress", []):
                for dest in _peers(rule.get("to"), pods):
                    for port, proto in _ports(rule.get("ports"), by_name.get(dest)):
                        egress.add((pod.name, dest, port, proto))
        inn = selecting(pod, "Ingress")
        if not inn:
            ingress.add((ANY, pod.name, "all", "all"))
        for policy in inn:
            for rule in policy["spec"].get("ingress", []):
                for port, proto in _ports(rule.get("ports"), pod):
                    for src in _peers(rule.get("from"), pods):
                        ingress.add((src, pod.name, port, proto))

    def allows(edges: set[Edge], src: str, dst: str, port: int, proto: str) -> bool:
        return any(
            s in (src, ANY) and d in (dst, ANY) and p in (port, "all") and pr in (proto, "all")
            for s, d, p, pr in edges
        )

    result: set[Edge] = set()
    for src in pods:
        for dst in pods:
            for port, proto in dst.ports.values():
                if (
                    src is not dst
                    and allows(egress, src.name, dst.name, port, proto)
                    and allows(ingress, src.name, dst.name, port, proto)
                ):
                    result.add((src.name, dst.name, port, proto))
    result |= {e for e in egress if e[1] not in by_name}
    result |= {e for e in ingress if e[0] not in by_name}
    return result
