"""Reading alerts/*.rules.yml and their promtool tests: the alert contract, promtool and the runbook tests share it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from signals.catalogue import RUNBOOK_BASE_URL

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "alerts"
RUNBOOK = ROOT / "docs" / "runbook.md"
METRICS_DOC = ROOT / "docs" / "metrics.md"
RUNBOOK_URL_PREFIX = RUNBOOK_BASE_URL + "#"

_PROMQL_WORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
}


@dataclass(frozen=True)
class Rule:
    """One rule of a rules file."""

    file: Path
    body: dict[str, Any]

    @property
    def alert(self) -> str | None:
        return self.body.get("alert")

    @property
    def alert_name(self) -> str:
        """The name of an alerting rule (KeyError for a recording rule)."""
        name: str = self.body["alert"]
        return name

    @property
    def record(self) -> str | None:
        return self.body.get("record")

    @property
    def expr(self) -> str:
        return str(self.body["expr"])


def rule_files() -> list[Path]:
    return sorted(ALERTS.glob("*.rules.yml"))


def test_files() -> list[Path]:
    return sorted((ALERTS / "tests").glob("*.test.yml"))


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rules() -> list[Rule]:
    return [Rule(path, rule) for path in rule_files() for group in load(path)["groups"] for rule in group["rules"]]


def alerts() -> list[Rule]:
    return [rule for rule in rules() if rule.alert]


def recorded_names() -> set[str]:
    return {rule.record for rule in rules() if rule.record}


def metric_names(expr: str) -> set[str]:
    """Series names a PromQL expression selects (strings, label sets, ranges and grouping removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w:.])([a-zA-Z_:][\w:]*)\b(?!\s*\()", text):
        name = match.group(1)
        if name.lower() not in _PROMQL_WORDS:
            names.add(name)
    return names


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    slug = heading.strip().lower()
    slug = re.sub(r"[^\w\- ]", "", slug)
    return slug.replace(" ", "-")


def runbook_headings() -> list[str]:
    return [
        line.lstrip("#").strip() for line in RUNBOOK.read_text(encoding="utf-8").splitlines() if line.startswith("## ")
    ]


def documented_metric_names() -> str:
    return METRICS_DOC.read_text(encoding="utf-8")
