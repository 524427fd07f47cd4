"""Helpers for the deployment tests: render overlays, read workloads, and
compute the network edges that a set of NetworkPolicies allows."""

from __future__ import annotations

import atexit
import base64
import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
OVERLAYS = ("dev", "prod")
# The optional components, as an overlay would add them to prod (rendered
# from a kustomization the tests write; see `_composed_root`).
COMPOSED: dict[str, tuple[str, ...]] = {
    "composed/prod-pgbouncer": ("pgbouncer",),
    "composed/prod-dns-nodelocal": ("dns-nodelocal",),
    "composed/prod-dns-openshift": ("dns-openshift",),
    "composed/prod-monitoring": ("monitoring",),
    "composed/prod-all": (
        "monitoring",
        "pgbouncer",
        "dns-nodelocal",
        "dns-openshift",
        "autoscaling-inflight",
        "openai-egress",
    ),
}
# Every kustomization a platform team may apply or build on.
RENDERABLE = ("base", "overlays/dev", "overlays/prod", *COMPOSED)
PROD_NAMESPACE = "flowpilot"
# The directory every FlowPilot secret file is mounted under (settings.env).
SECRETS_ROOT = "/var/run/secrets/flowpilot"
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
def _composed_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="flowpilot-kustomize-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def _kustomization_dir(path: str) -> Path:
    """deploy/<path>, or a kustomization written for a COMPOSED name: the
    prod overlay plus the named components, in prod's namespace (relative
    paths, which Kustomize requires)."""
    if path not in COMPOSED:
        return DEPLOY / path
    directory = _composed_root() / path.replace("/", "_")
    directory.mkdir(exist_ok=True)
    deploy = os.path.relpath(DEPLOY, directory)
    components = "".join(f"  - {deploy}/components/{c}\n" for c in COMPOSED[path])
    (directory / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"namespace: {PROD_NAMESPACE}\nresources:\n  - {deploy}/overlays/prod\n"
        f"components:\n{components}"
    )
    return directory


@functools.cache
def _render(path: str) -> tuple[Obj, ...]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(_kustomization_dir(path))],
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
    return [o for o in objs if o["kind"] in ("Deployment", "StatefulSet", "Job")]


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


def placeholder(secret: str, key: str) -> str:
    """A stand-in for a Secret value created out of band (prod); URLs stay URLs."""
    if key == "url":
        return f"postgresql://from-secret@{secret}.invalid:5432/{key}"
    return f"from-secret:{secret}/{key}"


def mounted_secrets(container: Obj, workload: Obj, objs: list[Obj]) -> dict[str, str]:
    """Files the container sees under SECRETS_ROOT, by file name (each a
    FLOWPILOT_* setting), from the projected Secret volumes it mounts.
    Values as in `effective_env`; optional keys a generated Secret lacks are
    absent, as they would be in the pod."""
    volumes = {v["name"]: v for v in pod_spec(workload).get("volumes", [])}
    files: dict[str, str] = {}
    for mount in container.get("volumeMounts", []):
        if not mount["mountPath"].startswith(SECRETS_ROOT + "/"):
            continue
        volume = volumes[mount["name"]]
        sources = volume.get("projected", {}).get("sources", [])
        assert sources, f"{mount['name']}: secrets are projected Secret volumes"
        for source in sources:
            ref = source["secret"]
            secret = _find(objs, "Secret", ref["name"])
            for item in ref["items"]:
                if secret is None:
                    if not ref.get("optional"):
                        files[item["path"]] = placeholder(ref["name"], item["key"])
                elif item["key"] in _data(secret):
                    files[item["path"]] = _data(secret)[item["key"]]
    return files


def effective_env(container: Obj, objs: list[Obj], workload: Obj | None = None) -> dict[str, str]:
    """The environment a container starts with, plus (given its workload) the
    secret files it mounts, by setting name. Secret values come from the
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
    if workload is not None:
        env.update(mounted_secrets(container, workload, objs))
    return env


def _find(objs: list[Obj], kind: str, name: str) -> Obj | None:
    return next((o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name), None)


def _data(obj: Obj) -> dict[str, str]:
    data = dict(obj.get("data") or {})
    if obj["kind"] == "Secret":
        data = {k: base64.b64decode(v).decode() for k, v in data.items()}
        data.update(obj.get("stringData") or {})
    return data


def secret_refs(container: Obj, workload: Obj | None = None) -> dict[str, tuple[str, str]]:
    """Setting name -> (Secret name, key), for secretKeyRef variables and, given
    the workload, for the secret files the container mounts."""
    refs: dict[str, tuple[str, str]] = {}
    for var in container.get("env", []):
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            refs[var["name"]] = (ref["name"], ref["key"])
    if workload is not None:
        volumes = {v["name"]: v for v in pod_spec(workload).get("volumes", [])}
        for mount in container.get("volumeMounts", []):
            volume = volumes.get(mount["name"], {})  # PVC templates are not volumes
            for source in volume.get("projected", {}).get("sources", []):
                ref = source.get("secret")
                for item in (ref or {}).get("items", []):
                    refs[item["path"]] = (ref["name"], item["key"])
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
NODELOCAL_DNS = "nodelocal-dns"
OPENSHIFT_DNS = "openshift-dns"
INGRESS_CONTROLLER = "ingress-controller"
MONITORING = "monitoring"
# How cluster DNS pods and their namespace are labelled on most distributions.
DNS_NAMESPACE_LABELS = {"kubernetes.io/metadata.name": "kube-system"}
DNS_POD_LABELS = {"k8s-app": "kube-dns"}
OPENSHIFT_DNS_NAMESPACE_LABELS = {"kubernetes.io/metadata.name": "openshift-dns"}
OPENSHIFT_DNS_POD_LABELS = {"dns.operator.openshift.io/daemonset-dns": "default"}
# NodeLocal DNSCache's link-local address.
NODELOCAL_DNS_CIDR = "169.254.20.10/32"
# The label an operator puts on the ingress controller's namespace.
INGRESS_NAMESPACE_LABELS = {"flowpilot.dev/ingress-controller": "true"}
# The label an operator puts on Prometheus' namespace (component monitoring).
MONITORING_NAMESPACE_LABELS = {"flowpilot.dev/monitoring": "true"}

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
            cidr = peer["ipBlock"]["cidr"]
            yield NODELOCAL_DNS if cidr == NODELOCAL_DNS_CIDR else f"ipBlock:{cidr}"
        elif "namespaceSelector" in peer:
            namespaces, selector = peer["namespaceSelector"], peer.get("podSelector")
            if not namespaces:
                yield f"namespaces:{namespaces}"
            elif selector_matches(namespaces, DNS_NAMESPACE_LABELS) and selector_matches(
                selector, DNS_POD_LABELS
            ):
                yield KUBE_DNS
            elif selector_matches(namespaces, OPENSHIFT_DNS_NAMESPACE_LABELS) and (
                selector_matches(selector, OPENSHIFT_DNS_POD_LABELS)
            ):
                yield OPENSHIFT_DNS
            elif namespaces == {"matchLabels": INGRESS_NAMESPACE_LABELS} and selector is None:
                yield INGRESS_CONTROLLER
            elif namespaces == {"matchLabels": MONITORING_NAMESPACE_LABELS} and selector is None:
                yield MONITORING
            else:
                yield f"namespaces:{namespaces}"
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
