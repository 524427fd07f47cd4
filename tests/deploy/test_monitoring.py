"""The monitoring component: rules that promtool accepts, dashboard queries
that parse, every alert documented, and a PodMonitor that scrapes every
server's metrics port. (That the rules and the dashboard query only series
the processes really export is checked against a scrape, in
tests/observability/test_scrape.py.)"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.k8s import (
    DEPLOY,
    by_kind,
    container_ports,
    render,
    selector_matches,
)
from tests.deploy.monitoring import dashboard, dashboard_queries, rules

MONITORED = "composed/prod-monitoring"
SERVERS = ("flowpilot-fixes", "flowpilot-scriptbuilder", "flowpilot-gateway")


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is not on PATH: install Debian's 'prometheus' package (.ci/install does)",
            pytrace=False,
        )
    return path


def _check_rules(groups: dict, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(groups))
    return subprocess.run(
        [promtool(), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_rules_pass_promtool(tmp_path: Path) -> None:
    (rule,) = by_kind(render(MONITORED), "PrometheusRule")
    result = _check_rules(rule["spec"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_catches_a_broken_rule(tmp_path: Path) -> None:
    """The check above can fail."""
    broken = rules()
    broken["groups"][0]["rules"][0]["expr"] = "sum by (namespace (rate(x[5m]))"
    assert _check_rules(broken, tmp_path).returncode != 0


def test_dashboard_queries_parse(tmp_path: Path) -> None:
    """Each query, as a recording rule, through promtool's PromQL parser."""
    queries = dashboard_queries()
    assert len(queries) >= 20
    groups = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": q} for i, q in enumerate(queries)
                ],
            }
        ]
    }
    result = _check_rules(groups, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_is_a_labelled_configmap() -> None:
    objs = render(MONITORED)
    (config_map,) = [
        o for o in by_kind(objs, "ConfigMap") if o["metadata"]["name"] == "flowpilot-dashboard"
    ]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert set(config_map["data"]) == {"flowpilot.json"}
    board = dashboard()
    assert board["uid"] and board["title"]
    # A panel for each of the three processes.
    queries = " ".join(dashboard_queries())
    for metric in ("flowpilot_http_requests_total", "grpc_server_handled_total"):
        assert metric in queries
    assert 'job=~"flowpilot-(fixes|scriptbuilder)"' in queries


def test_every_alert_is_documented() -> None:
    """deploy/README.md has a section per alert (what it means, what to do),
    which is where each alert's `runbook` annotation points."""
    readme = (DEPLOY / "README.md").read_text()
    headings = set(re.findall(r"^#### (FlowPilot[A-Za-z]+)$", readme, flags=re.MULTILINE))
    alerts = [r for group in rules()["groups"] for r in group["rules"] if "alert" in r]
    assert alerts
    for alert in alerts:
        name = alert["alert"]
        base = name.removesuffix("Slow")
        assert base in headings, f"{name} is not described in deploy/README.md"
        assert alert["annotations"]["runbook"] == f"deploy/README.md#{base.lower()}"
        assert alert["labels"]["severity"] in ("critical", "warning")


def test_pod_monitor_scrapes_every_server_on_its_metrics_port() -> None:
    objs = render(MONITORED)
    (monitor,) = by_kind(objs, "PodMonitor")
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    scraped = []
    for deployment in by_kind(objs, "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        if selector_matches(monitor["spec"]["selector"], labels):
            assert endpoint["port"] in container_ports(deployment)
            scraped.append(deployment["metadata"]["name"])
    assert sorted(scraped) == sorted(SERVERS)
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/name"


def test_the_component_is_optional() -> None:
    """prod alone needs no Prometheus Operator CRDs."""
    assert not [o for o in render("overlays/prod") if "coreos" in o["apiVersion"]]


def _alert(name: str) -> dict:
    return next(r for g in rules()["groups"] for r in g["rules"] if r.get("alert") == name)


def _expected(name: str) -> dict:
    rule = _alert(name)
    annotations = {
        key: value.replace("{{ $labels.namespace }}", "flowpilot")
        for key, value in rule["annotations"].items()
    }
    labels = {**rule["labels"], "namespace": "flowpilot"}
    return {"exp_labels": labels, "exp_annotations": annotations}


FAST, SLOW = "FlowPilotApiErrorBudgetBurn", "FlowPilotApiErrorBudgetBurnSlow"


@pytest.mark.parametrize(
    ("error_share", "eval_time", "firing", "silent"),
    [
        # 5 % errors: 50x the budget; pages within the hour (the ticket fires too).
        (0.05, "70m", [FAST, SLOW], []),
        # 0.5 %: 5x; too slow to page (under 6x), a ticket after a day.
        (0.005, "1d1h", [SLOW], [FAST]),
        # 0.05 %: within the objective; nothing, even after three days.
        (0.0005, "3d1h", [], [FAST, SLOW]),
    ],
)
def test_burn_rate_alerts_fire_as_stated(
    error_share: float, eval_time: str, firing: list[str], silent: list[str], tmp_path: Path
) -> None:
    """`promtool test rules` on synthetic traffic: the multi-window alerts
    page on a fast burn, ticket a slow one, and stay quiet within budget."""
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules()))
    per_minute = 10_000
    errors = round(per_minute * error_share)
    labels = 'namespace="flowpilot",route="/api/v1/ai-sessions",method="GET"'
    minutes = 4500
    cases = [{"eval_time": eval_time, "alertname": name, "exp_alerts": []} for name in silent]
    cases += [
        {"eval_time": eval_time, "alertname": name, "exp_alerts": [_expected(name)]}
        for name in firing
    ]
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": f'flowpilot_http_requests_total{{{labels},status="200"}}',
                        "values": f"0+{per_minute - errors}x{minutes}",
                    },
                    {
                        "series": f'flowpilot_http_requests_total{{{labels},status="503"}}',
                        "values": f"0+{errors}x{minutes}",
                    },
                ],
                "alert_rule_test": cases,
            }
        ],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(test))
    result = subprocess.run(
        [promtool(), "test", "rules", str(tmp_path / "test.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
