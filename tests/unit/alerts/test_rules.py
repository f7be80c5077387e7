"""The rules as code: every group of every concern, the runbook base as a parameter."""

from __future__ import annotations

import re

from alerts import rules
from signals.catalogue import BURN_WINDOWS, OBJECTIVE_WINDOW
from signals.target import Target
from tests.support import alert_rules as r


def test_rules_runbook_base_url_parameter_sets_every_link() -> None:
    base = "https://wiki.example.org/ops/ai-diy/runbook.md"
    groups = rules.rule_groups(Target(runbook_base_url=base))
    urls = [rule["annotations"]["runbook_url"] for group in groups for rule in group["rules"] if "alert" in rule]
    assert urls and all(url == f"{base}#{url.rsplit('#', 1)[1]}" for url in urls)
    assert {url.rsplit("#", 1)[1] for url in urls} == {rule.alert_name.lower() for rule in r.alerts()}


def test_rule_groups_lists_every_group_of_every_file_in_order() -> None:
    names = [group["name"] for group in rules.rule_groups()]
    in_files = [group["name"] for path in r.rule_files() for group in r.load(path)["groups"]]
    assert sorted(names) == sorted(in_files)
    assert names == [group["name"] for document in rules.rule_files().values() for group in document["groups"]]


def test_rules_grafana_base_url_parameter_sets_every_dashboard_link() -> None:
    base = "https://grafana.example.org"
    groups = rules.rule_groups(Target(grafana_base_url=base))
    urls = [rule["annotations"]["dashboard_url"] for group in groups for rule in group["rules"] if "alert" in rule]
    assert len(urls) == len(r.alerts())
    assert all(url.startswith(f"{base}/d/ai-diy-") and "?viewPanel=" in url for url in urls)


def test_slo_rules_record_one_error_ratio_per_burn_window_and_the_objective_window() -> None:
    recorded = [rule.record for rule in r.rules() if rule.record and rule.record.startswith("slo:sli_error:")]
    windows = [*BURN_WINDOWS, OBJECTIVE_WINDOW]
    assert recorded == [f"slo:sli_error:ratio_rate{window}" for window in windows]
    for rule in r.rules():
        if rule.record in recorded:
            window = rule.record.removeprefix("slo:sli_error:ratio_rate")
            assert set(re.findall(r"\[(\w+)\]", rule.expr)) == {window}


def test_slo_budget_remaining_reads_the_objective_window_ratio_and_the_budget() -> None:
    (rule,) = [rule for rule in r.rules() if rule.record == "slo:error_budget_remaining:ratio"]
    assert f"slo:sli_error:ratio_rate{OBJECTIVE_WINDOW}{{" in rule.expr and "slo:error_budget:ratio{" in rule.expr


def test_every_alert_description_names_the_offline_runbook_command() -> None:
    for rule in r.alerts():
        assert rule.body["annotations"]["description"].endswith(f"Runbook offline: ai-diy runbook {rule.alert}")
