"""The monitoring component's PromQL: the rules and the dashboard's queries,
and the metric names they reference (checked against a real scrape in
tests/observability/test_scrape.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

COMPONENT = Path(__file__).resolve().parents[2] / "deploy" / "components" / "monitoring"
# Grafana's variables, as a query would see them once substituted.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$namespace": "flowpilot", "${datasource}": "x"}
# Series FlowPilot does not export: Prometheus' own and kube-state-metrics'.
EXTERNAL_METRICS = re.compile(r"^(up|kube_[a-z0-9_]+)$")
_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool"}
    | {"and", "or", "unless", "offset", "inf", "nan"}
)


def rules() -> dict[str, Any]:
    """The PrometheusRule's spec (`groups:`), what `promtool check rules` reads."""
    return yaml.safe_load((COMPONENT / "rules.yaml").read_text())["spec"]


def dashboard() -> dict[str, Any]:
    return json.loads((COMPONENT / "dashboard.json").read_text())


def dashboard_queries() -> list[str]:
    queries = []
    for panel in dashboard()["panels"]:
        for target in panel.get("targets", []):
            query = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                query = query.replace(variable, value)
            queries.append(query)
    return queries


def rule_expressions() -> list[str]:
    return [rule["expr"] for group in rules()["groups"] for rule in group["rules"]]


def recorded_names() -> set[str]:
    return {
        rule["record"] for group in rules()["groups"] for rule in group["rules"] if "record" in rule
    }


def metric_names(query: str) -> set[str]:
    """The series names a PromQL query selects (not functions, keywords,
    label names or values)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', query)  # strings
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        name = match.group()
        following = text[match.end() :].lstrip()
        if following.startswith("(") or name.lower() in _KEYWORDS:
            continue  # a function or an operator
        names.add(name)
    return names


def referenced_metrics() -> set[str]:
    """Every FlowPilot series the rules and the dashboard query."""
    names: set[str] = set()
    for query in [*rule_expressions(), *dashboard_queries()]:
        names |= metric_names(query)
    return {n for n in names - recorded_names() if not EXTERNAL_METRICS.match(n)}
