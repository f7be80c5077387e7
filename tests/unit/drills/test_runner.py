"""What the runner refuses before starting anything, and the configs its stack writes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from service.drills import stack
from service.drills.catalogue import select
from service.drills.runner import STEADY_RATE_LIMIT, DrillUnavailable, rules_file, run_drill, service_env
from tests.support.processes import ROOT


def test_runner_refuses_a_drill_whose_rules_were_not_generated(tmp_path: Path) -> None:
    (drill,) = select(["AiDiyHealthCheckFailing"])
    (tmp_path / "alerts" / "drill").mkdir(parents=True)
    (tmp_path / "alerts" / "drill" / "index.yml").write_text("{}\n")
    with pytest.raises(DrillUnavailable, match=r"index.yml does not name it: run make generate$"):
        run_drill(drill, source=tmp_path, workdir=tmp_path / "work")
    assert not (tmp_path / "work").exists(), "nothing was started"


def test_runner_service_env_turns_fault_injection_on_and_sets_what_the_drill_counts_on() -> None:
    (traffic,) = select(["AiDiyPathTraversalAttempt"])
    (fault,) = select(["AiDiyHighErrorRate:critical"])
    assert service_env(traffic)["AI_DIY_RATE_LIMIT"] == "100/minute"
    assert service_env(fault)["AI_DIY_RATE_LIMIT"] == STEADY_RATE_LIMIT
    for drill in (traffic, fault):
        assert service_env(drill)["AI_DIY_FAULT_INJECTION"] == "true"


def test_runner_rules_file_is_the_alert_drill_rules_file() -> None:
    (drill,) = select(["AiDiyErrorBudgetBurn:warning"])
    path = rules_file(ROOT, drill)
    assert path.parent == ROOT / "alerts" / "drill" and path.is_file()
    assert any(
        rule.get("alert") == drill.alert and rule["labels"]["severity"] == drill.severity
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    )


def test_stack_prometheus_config_loads_only_the_drill_rules_at_the_drill_interval(tmp_path: Path) -> None:
    rules = tmp_path / "x10.rules.yml"
    config = stack.prometheus_config(
        ROOT, service="127.0.0.1:1", prometheus="127.0.0.1:2", alertmanager="127.0.0.1:3", rules=rules
    )
    assert config["rule_files"] == [str(rules)]
    assert config["global"]["scrape_interval"] == config["global"]["evaluation_interval"] == "500ms"
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert targets["ai-diy"] == ["127.0.0.1:1"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:3"]


def test_stack_alertmanager_config_keeps_the_shipped_routing_with_local_webhooks() -> None:
    shipped = yaml.safe_load((ROOT / "alerts" / "alertmanager.yml").read_text())
    drill = yaml.safe_load(stack.alertmanager_config(ROOT, "http://127.0.0.1:4"))
    assert drill["route"]["routes"] == shipped["route"]["routes"]
    assert drill["inhibit_rules"] == shipped["inhibit_rules"]
    assert [r["name"] for r in drill["receivers"]] == [r["name"] for r in shipped["receivers"]]
    urls = [c["url"] for r in drill["receivers"] for c in r["webhook_configs"]]
    assert urls == ["http://127.0.0.1:4/page", "http://127.0.0.1:4/ticket"]
    assert drill["route"]["group_wait"] == "1s" and drill["route"]["group_interval"] == "1s"
