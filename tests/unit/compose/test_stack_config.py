"""`ai-diy stack`: the compose Prometheus config rewritten for loopback, and the command's wiring."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.cli import build_parser
from service.cli.stack import alertmanager_pair, local_prometheus_config
from service.ops.checkout import find_source
from tests.support.binaries import require

ROOT = Path(__file__).resolve().parents[3]


def _config(alertmanager_ports: tuple[int, ...] = (19093, 19095)) -> dict[str, Any]:
    return local_prometheus_config(
        ROOT,
        service_target="127.0.0.1:18000",
        prometheus_port=19090,
        alertmanager_ports=alertmanager_ports,
        interval="1s",
    )


def test_stack_config_scrapes_service_statically_on_loopback() -> None:
    jobs = {job["job_name"]: job for job in _config()["scrape_configs"]}
    assert jobs["ai-diy"]["static_configs"] == [{"targets": ["127.0.0.1:18000"]}]
    assert "dns_sd_configs" not in jobs["ai-diy"]
    assert jobs["prometheus"]["static_configs"] == [{"targets": ["127.0.0.1:19090"]}]
    assert jobs["alertmanager"]["static_configs"] == [{"targets": ["127.0.0.1:19093", "127.0.0.1:19095"]}]


def test_stack_config_loads_the_checkout_rules_and_alerts_both_local_alertmanagers() -> None:
    config = _config()
    assert config["rule_files"] == [str(ROOT / "alerts" / "*.rules.yml")]
    assert config["alerting"]["alertmanagers"] == [
        {"static_configs": [{"targets": ["127.0.0.1:19093", "127.0.0.1:19095"]}]}
    ]
    assert config["global"]["scrape_interval"] == config["global"]["evaluation_interval"] == "1s"


def test_stack_config_without_alertmanager_drops_it() -> None:
    config = _config(alertmanager_ports=())
    assert "alerting" not in config
    assert "alertmanager" not in {job["job_name"] for job in config["scrape_configs"]}


@pytest.mark.integration
def test_stack_config_passes_promtool(tmp_path: Path) -> None:
    promtool = require("promtool")
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(_config()))
    result = subprocess.run(
        [promtool, "check", "config", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_stack_find_source_finds_this_checkout(tmp_path: Path) -> None:
    assert find_source(ROOT) == ROOT
    assert find_source(tmp_path) is None


def test_stack_command_is_registered() -> None:
    args = build_parser().parse_args(
        [
            "stack",
            "--prometheus-port",
            "1",
            "--alertmanager-port",
            "2",
            "--alertmanager-2-port",
            "3",
            "--scrape-interval",
            "1s",
        ]
    )
    assert isinstance(args, argparse.Namespace)
    assert (args.prometheus_port, args.alertmanager_port, args.alertmanager_2_port, args.scrape_interval) == (
        1,
        2,
        3,
        "1s",
    )
    assert args.func.__module__ == "service.cli.stack"


def _flags(argv: list[str], name: str) -> list[str]:
    return [arg.split("=", 1)[1] for arg in argv if arg.startswith(f"--{name}=")]


def test_stack_alertmanager_pair_gossips_on_loopback_with_each_other(tmp_path: Path) -> None:
    first, second = alertmanager_pair("alertmanager", ROOT / "alerts" / "alertmanager.yml", [19093, 19095], tmp_path)
    assert (first.name, first.url, second.name, second.url) == (
        "alertmanager",
        "http://127.0.0.1:19093",
        "alertmanager-2",
        "http://127.0.0.1:19095",
    )
    [first_gossip] = _flags(first.argv, "cluster.listen-address")
    [second_gossip] = _flags(second.argv, "cluster.listen-address")
    assert (
        first_gossip.startswith("127.0.0.1:")
        and second_gossip.startswith("127.0.0.1:")
        and first_gossip != second_gossip
    )
    assert _flags(first.argv, "cluster.peer") == [second_gossip] and _flags(second.argv, "cluster.peer") == [
        first_gossip
    ]
    assert _flags(first.argv, "cluster.advertise-address") == [first_gossip]
    assert _flags(first.argv, "storage.path") != _flags(second.argv, "storage.path")
