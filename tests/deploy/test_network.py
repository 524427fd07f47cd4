"""The NetworkPolicies allow exactly the edges of the architecture."""

from __future__ import annotations

import ipaddress

import pytest

from tests.deploy.k8s import ANY, KUBE_DNS, Edge, allowed_edges, by_kind, render, workloads

GATEWAY, FIXES, SCRIPTBUILDER = "flowpilot-gateway", "flowpilot-fixes", "flowpilot-scriptbuilder"
POSTGRES = "flowpilot-postgres"
APP = (GATEWAY, FIXES, SCRIPTBUILDER)

COMMON: set[Edge] = {
    (ANY, GATEWAY, 8080, "TCP"),  # ingress controller -> gateway
    (GATEWAY, FIXES, 50051, "TCP"),
    (GATEWAY, SCRIPTBUILDER, 50052, "TCP"),
    (SCRIPTBUILDER, FIXES, 50051, "TCP"),
    *((app, KUBE_DNS, 53, proto) for app in APP for proto in ("UDP", "TCP")),
}
EXPECTED: dict[str, set[Edge]] = {
    "dev": COMMON | {(FIXES, POSTGRES, 5432, "TCP"), (SCRIPTBUILDER, POSTGRES, 5432, "TCP")},
    # Every ipBlock is folded into "database" below; the CIDR is the operator's.
    "prod": COMMON | {(FIXES, "database", 5432, "TCP"), (SCRIPTBUILDER, "database", 5432, "TCP")},
}


def _fold_ip_blocks(edges: set[Edge]) -> set[Edge]:
    return {
        (s, "database" if d.startswith("ipBlock:") else d, port, proto)
        for s, d, port, proto in edges
    }


@pytest.mark.parametrize("overlay", sorted(EXPECTED))
def test_policies_allow_exactly_the_architecture(overlay: str) -> None:
    edges = _fold_ip_blocks(allowed_edges(render(f"overlays/{overlay}")))
    expected = EXPECTED[overlay]
    assert edges == expected, (
        f"unexpected: {sorted(map(str, edges - expected))}\n"
        f"missing: {sorted(map(str, expected - edges))}"
    )


@pytest.mark.parametrize("overlay", sorted(EXPECTED))
def test_default_deny_covers_every_pod(overlay: str) -> None:
    objs = render(f"overlays/{overlay}")
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


def test_prod_database_egress_is_a_bounded_network() -> None:
    for policy in by_kind(render("overlays/prod"), "NetworkPolicy"):
        for rule in policy["spec"].get("egress", []):
            for peer in rule.get("to", []):
                if "ipBlock" in peer:
                    network = ipaddress.ip_network(peer["ipBlock"]["cidr"])
                    assert network.prefixlen > 0, f"{policy['metadata']['name']}: 0.0.0.0/0"


def test_edge_computation_sees_an_open_pod() -> None:
    """The checker itself: a pod no egress policy selects may go anywhere."""
    objs = [o for o in render("overlays/dev") if o["kind"] != "NetworkPolicy"]
    edges = allowed_edges(objs)
    assert (FIXES, ANY, "all", "all") in edges
    assert (ANY, FIXES, "all", "all") in edges
