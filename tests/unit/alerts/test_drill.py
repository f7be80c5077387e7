"""The drill rules: the production rules with only their durations divided, never where production loads rules."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts import drill
from service.cli.stack import local_prometheus_config
from tests.support import alert_rules as r

DRILL = r.ROOT / drill.DIRECTORY
_FACTOR = re.compile(r"x(\d+)\.rules\.yml")


def _drill_files() -> dict[int, Path]:
    files = {}
    for path in sorted(DRILL.iterdir()):
        if path.name == drill.INDEX:
            continue
        match = _FACTOR.fullmatch(path.name)
        assert match, f"{path.name}: not a drill rules file"
        files[int(match[1])] = path
    return files


def _production_rules() -> list[dict[str, Any]]:
    return [rule for path in r.rule_files() for group in r.load(path)["groups"] for rule in group["rules"]]


def _without_durations(expr: str) -> str:
    return re.sub(r"\d+(?:ms|[smhdwy])(?=[\]:])|(?<=offset )\d+(?:ms|[smhdwy])", "<duration>", expr)


def _scaled(milliseconds: int, factor: int) -> int:
    return max(1, round(milliseconds / factor))


@pytest.mark.parametrize("factor", sorted(_drill_files()))
def test_drill_rules_differ_from_production_rules_only_in_durations(factor: int) -> None:
    drilled = [rule for group in r.load(_drill_files()[factor])["groups"] for rule in group["rules"]]
    production = _production_rules()
    assert len(drilled) == len(production)
    for fast, slow in zip(drilled, production, strict=True):
        assert {k: v for k, v in fast.items() if k not in ("expr", "for")} == {
            k: v for k, v in slow.items() if k not in ("expr", "for")
        }
        assert _without_durations(fast["expr"]) == _without_durations(slow["expr"])
        slow_windows = drill.expr_durations(slow["expr"])
        assert drill.expr_durations(fast["expr"]) == [_scaled(ms, factor) for ms in slow_windows]
        assert ("for" in fast) == ("for" in slow)
        if "for" in slow:
            assert drill.parse_duration(fast["for"]) == _scaled(drill.parse_duration(slow["for"]), factor)


def test_drill_index_names_the_file_of_every_alert_rule() -> None:
    entries = yaml.safe_load((DRILL / drill.INDEX).read_text(encoding="utf-8"))
    assert entries == {
        f"{alert}:{severity}": f"x{factor}.rules.yml" for (alert, severity), factor in drill.factors().items()
    }
    assert set(entries.values()) == {path.name for path in _drill_files().values()}


def test_drill_groups_are_the_production_groups_in_order() -> None:
    names = [group["name"] for path in r.rule_files() for group in r.load(path)["groups"]]
    for path in _drill_files().values():
        assert [group["name"] for group in r.load(path)["groups"]] == names, path.name


def test_drill_every_alert_rule_has_a_factor_and_its_file() -> None:
    production = {(rule["alert"], rule["labels"]["severity"]) for rule in _production_rules() if "alert" in rule}
    factors = drill.factors()
    assert set(factors) == production
    assert set(factors.values()) == set(_drill_files())


def test_drill_factor_keeps_four_scrapes_in_the_shortest_window_and_the_longest_within_minutes() -> None:
    rules = _production_rules()
    records = {rule["record"]: rule["expr"] for rule in rules if "record" in rule}
    for rule in rules:
        if "alert" not in rule:
            continue
        factor = drill.factors()[(rule["alert"], rule["labels"]["severity"])]
        reads = drill.windows(rule["expr"], records)
        if reads:
            assert min(reads) / factor >= drill.MIN_SCRAPES * drill.SCRAPE_INTERVAL_MS, rule["alert"]
            assert max(reads) / factor <= drill.LIMIT_MS, rule["alert"]
        assert drill.parse_duration(rule["for"]) / factor <= drill.LIMIT_MS, rule["alert"]


def test_drill_burn_rate_alerts_fit_five_minutes_to_three_days_into_minutes() -> None:
    factors = drill.factors()
    assert 259_200_000 / factors[("AiDiyErrorBudgetBurn", "warning")] <= drill.LIMIT_MS  # 3d
    assert 300_000 / factors[("AiDiyErrorBudgetBurn", "critical")] >= 4 * drill.SCRAPE_INTERVAL_MS  # 5m


def test_drill_factor_refuses_windows_no_factor_can_fit() -> None:
    rule = {"alert": "Wide", "labels": {"severity": "warning"}, "expr": "rate(x[30s]) > 0 and rate(x[30d]) > 0"}
    with pytest.raises(ValueError, match=r"Wide \(warning\): windows 30s to 30d cannot all fit a drill"):
        drill.factor(rule, {})


@pytest.mark.parametrize(
    ("text", "milliseconds"),
    [("5m", 300_000), ("1h30m", 5_400_000), ("250ms", 250), ("3d", 259_200_000), ("1w", 604_800_000)],
)
def test_drill_parse_duration_reads_prometheus_durations(text: str, milliseconds: int) -> None:
    assert drill.parse_duration(text) == milliseconds


@pytest.mark.parametrize("text", ["", "5", "m5", "5 m", "1.5h"])
def test_drill_parse_duration_rejects_what_prometheus_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a Prometheus duration"):
        drill.parse_duration(text)


def test_drill_format_duration_writes_the_shortest_exact_unit() -> None:
    assert [drill.format_duration(ms) for ms in (60_000, 144_000, 2_500, 86_400_000, 7)] == [
        "1m",
        "144s",
        "2500ms",
        "1d",
        "7ms",
    ]


def test_drill_scale_expr_divides_ranges_subqueries_and_offsets_only() -> None:
    expr = 'max_over_time(rate(x{route=~"/a[0-9]+"}[1h])[30m:1m]) > 5 and y offset 10m'
    assert drill.scale_expr(expr, 60) == 'max_over_time(rate(x{route=~"/a[0-9]+"}[1m])[30s:1s]) > 5 and y offset 10s'


def _production_globs() -> list[Path]:
    """Every rule-file glob a production loader uses, as a path in the checkout."""
    deploy = yaml.safe_load((r.ROOT / "deploy" / "prometheus.yml").read_text(encoding="utf-8"))
    compose = yaml.safe_load((r.ROOT / "deploy" / "compose" / "prometheus.yml").read_text(encoding="utf-8"))
    globs = [(r.ROOT / "deploy" / pattern).resolve() for pattern in deploy["rule_files"]]
    # docker-compose.yml mounts ./alerts at /etc/prometheus/alerts.
    mounted = "/etc/prometheus/alerts"
    globs += [r.ROOT / "alerts" / pattern.removeprefix(f"{mounted}/") for pattern in compose["rule_files"]]
    # `ai-diy stack` points its Prometheus at the checkout's rules.
    local = local_prometheus_config(
        r.ROOT, service_target="127.0.0.1:1", prometheus_port=2, alertmanager_ports=(), interval="15s"
    )
    return globs + [Path(pattern) for pattern in local["rule_files"]]


def test_drill_rules_are_outside_every_production_rule_glob() -> None:
    globs = _production_globs()
    assert len(globs) >= 3
    loaded = {path for pattern in globs for path in pattern.parent.glob(pattern.name)}
    assert loaded == set(r.rule_files())
    assert not {path for path in loaded if DRILL in path.parents}
