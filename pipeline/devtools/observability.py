"""What the provisioned Grafana dashboard and the Prometheus rules (deploy/) read from the workers:
the metric names in their expressions, so a test can hold them to a running worker's /metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "pulse.json"
RULES = DEPLOY / "prometheus" / "rules.yml"
# Series Prometheus makes itself, which no worker exposes.
PROMETHEUS_OWN = frozenset({"up"})
_NAME = re.compile(r"\b([a-z_][a-z0-9_]*)\s*(?=\{|\[|\)|$|\s*(?:==|>|<|!=|and|or|unless))")
_NOT_NAMES = frozenset(
    {"by", "without", "on", "ignoring", "and", "or", "unless", "le", "offset", "bool"}
)
_SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created")


def expressions() -> list[str]:
    """Every PromQL expression in the dashboard's panels and the alerting rules."""
    dashboard = json.loads(DASHBOARD.read_text())
    found = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", ())]
    rules = yaml.safe_load(RULES.read_text())
    found += [r["expr"] for group in rules["groups"] for r in group["rules"]]
    return found


def metric_names(expr: str) -> set[str]:
    """The series an expression selects: names followed by a selector, a range or an operator,
    never the functions (followed by '(') nor the label names inside braces or by (...)."""
    without_labels = re.sub(r"\{[^}]*\}", "{}", expr)
    without_groupings = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", " ", without_labels)
    return {m for m in _NAME.findall(without_groupings) if m not in _NOT_NAMES and not m.isdigit()}


def missing(exposed: set[str]) -> dict[str, set[str]]:
    """Per expression, the names it reads that ``exposed`` (metric family names) does not offer."""
    gaps = {}
    for expr in expressions():
        absent = {
            name
            for name in metric_names(expr) - PROMETHEUS_OWN
            if name not in exposed
            and not any(name.endswith(s) and name.removesuffix(s) in exposed for s in _SUFFIXES)
        }
        if absent:
            gaps[expr] = absent
    return gaps
