"""The NetworkPolicies allow exactly the edges of the architecture."""

from __future__ import annotations

import ipaddress

import pytest

from tests.deploy.k8s import (
    ANY,
    INGRESS_CONTROLLER,
    KUBE_DNS,
    MONITORING,
    NODELOCAL_DNS,
    OPENSHIFT_DNS,
    Edge,
    allowed_edges,
    by_kind,
    render,
    workloads,
)

GATEWAY, FIXES, SCRIPTBUILDER = "flowpilot-gateway", "flowpilot-fixes", "flowpilot-scriptbuilder"
MIGRATE_FIXES, MIGRATE_SB = "flowpilot-migrate-fixes", "flowpilot-migrate-scriptbuilder"
POSTGRES, PGBOUNCER = "flowpilot-postgres", "flowpilot-pgbouncer"
APP = (GATEWAY, FIXES, SCRIPTBUILDER)
JOBS = (MIGRATE_FIXES, MIGRATE_SB)
DATABASE_CLIENTS = (FIXES, SCRIPTBUILDER, *JOBS)
BOTH = ("UDP", "TCP")


def _dns(pods: tuple[str, ...], peer: str = KUBE_DNS, port: int = 53) -> set[Edge]:
    return {(pod, peer, port, proto) for pod in pods for proto in BOTH}


COMMON: set[Edge] = {
    # Only from the namespace labelled flowpilot.dev/ingress-controller=true.
    (INGRESS_CONTROLLER, GATEWAY, 8080, "TCP"),
    (GATEWAY, FIXES, 50051, "TCP"),
    (GATEWAY, SCRIPTBUILDER, 50052, "TCP"),
    (SCRIPTBUILDER, FIXES, 50051, "TCP"),
    (FIXES, SCRIPTBUILDER, 50052, "TCP"),
    *_dns(APP + JOBS),
}
PROD = COMMON | {(client, "database", 5432, "TCP") for client in DATABASE_CLIENTS}
PROD_PODS = APP + JOBS
EXPECTED: dict[str, set[Edge]] = {
    "overlays/dev": COMMON | {(client, POSTGRES, 5432, "TCP") for client in DATABASE_CLIENTS},
    # Every ipBlock on 5432 is folded into "database" below; the CIDR is the operator's.
    "overlays/prod": PROD,
    # The services and Jobs reach PgBouncer only; PgBouncer reaches the databases.
    "composed/prod-pgbouncer": COMMON
    | {(client, PGBOUNCER, 5432, "TCP") for client in DATABASE_CLIENTS}
    | {(PGBOUNCER, "database", 5432, "TCP")}
    | _dns((PGBOUNCER,)),
    "composed/prod-dns-nodelocal": PROD
    | _dns(PROD_PODS, NODELOCAL_DNS)
    | _dns(PROD_PODS, "ipBlock:10.96.0.10/32"),
    "composed/prod-dns-openshift": PROD | _dns(PROD_PODS, OPENSHIFT_DNS, 5353),
    # Prometheus' namespace reaches each server's metrics port, nothing else.
    "composed/prod-monitoring": PROD
    | {(MONITORING, FIXES, 9051, "TCP"), (MONITORING, SCRIPTBUILDER, 9052, "TCP")}
    | {(MONITORING, GATEWAY, 9080, "TCP")},
}


def _fold_ip_blocks(edges: set[Edge]) -> set[Edge]:
    return {
        (s, "database" if d.startswith("ipBlock:") and port == 5432 else d, port, proto)
        for s, d, port, proto in edges
    }


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_policies_allow_exactly_the_architecture(path: str) -> None:
    edges = _fold_ip_blocks(allowed_edges(render(path)))
    expected = EXPECTED[path]
    assert edges == expected, (
        f"unexpected: {sorted(map(str, edges - expected))}\n"
        f"missing: {sorted(map(str, expected - edges))}"
    )


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_default_deny_covers_every_pod(path: str) -> None:
    objs = render(path)
    deny = [
        p
        for p in by_kind(objs, "NetworkPolicy")
        if p["spec"]["podSelector"] == {}
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert len(deny) == 1, "one namespace-wide default-deny policy"
    assert workloads(objs)


def test_prod_database_egress_is_a_placeholder_that_fails_closed() -> None:
    """Not a private /8 that would reach every database (and pod) on the
    network: a documentation-range address that reaches nothing until the
    operator writes their database's range."""
    documentation = ipaddress.ip_network("192.0.2.0/24")  # RFC 5737 TEST-NET-1
    for policy in by_kind(render("overlays/prod"), "NetworkPolicy"):
        for rule in policy["spec"].get("egress", []):
            for peer in rule.get("to", []):
                if "ipBlock" in peer:
                    network = ipaddress.ip_network(peer["ipBlock"]["cidr"])
                    assert network.subnet_of(documentation), policy["metadata"]["name"]


@pytest.mark.parametrize("path", ["overlays/dev", "overlays/prod"])
def test_overlays_set_their_namespace(path: str) -> None:
    """So the namespace-wide default deny cannot land in whatever namespace
    kubectl's context happens to point at."""
    expected = {"overlays/dev": "flowpilot-dev", "overlays/prod": "flowpilot"}[path]
    for obj in render(path):
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == expected, obj["metadata"]["name"]


def test_edge_computation_sees_an_open_pod() -> None:
    """The checker itself: a pod no egress policy selects may go anywhere."""
    objs = [o for o in render("overlays/dev") if o["kind"] != "NetworkPolicy"]
    edges = allowed_edges(objs)
    assert (FIXES, ANY, "all", "all") in edges
    assert (ANY, FIXES, "all", "all") in edges
