"""The rule generator: committed files up to date, the job and runbook base as parameters."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from alerts import generate
from alerts.definitions import BURN_WINDOWS, JOB
from alerts.kit import Target
from tests.support import alert_rules as r
from tests.support import binaries


def test_rules_committed_yaml_matches_generator() -> None:
    committed = {path.name: path.read_text(encoding="utf-8") for path in r.rule_files()}
    assert committed == generate.rendered(), "alerts/*.rules.yml is stale: run make rules"


def test_rules_packaged_runbook_matches_docs() -> None:
    assert generate.PACKAGED_RUNBOOK.read_text(encoding="utf-8") == r.RUNBOOK.read_text(encoding="utf-8"), (
        "service/cli/runbook.md is stale: run make rules"
    )


def test_generate_check_reports_a_stale_rules_file_and_runbook_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--output", str(tmp_path), "--packaged-runbook", str(tmp_path / "runbook.md")]
    assert generate.main(argv) == 0
    assert (tmp_path / "runbook.md").read_text(encoding="utf-8") == r.RUNBOOK.read_text(encoding="utf-8")
    assert generate.main(["--check", *argv]) == 0
    (tmp_path / "slo.rules.yml").write_text("groups: []\n", encoding="utf-8")
    (tmp_path / "runbook.md").write_text("# old\n", encoding="utf-8")
    assert generate.main(["--check", *argv]) == 1
    err = capsys.readouterr().err
    assert "slo.rules.yml is out of date" in err and "runbook.md is out of date" in err
    assert (tmp_path / "slo.rules.yml").read_text(encoding="utf-8") == "groups: []\n", "--check must not write"


@pytest.mark.integration
def test_generate_job_parameter_rewrites_every_selector(tmp_path: Path) -> None:
    assert (
        generate.main(
            ["--job", "shop-api", "--output", str(tmp_path), "--packaged-runbook", str(tmp_path / "runbook.md")]
        )
        == 0
    )
    texts = {path.name: path.read_text(encoding="utf-8") for path in sorted(tmp_path.glob("*.rules.yml"))}
    assert set(texts) == {path.name for path in r.rule_files()}
    everything = "\n".join(texts.values())
    assert f'job="{JOB}"' not in everything and "job: ai-diy" not in everything
    for document in map(yaml.safe_load, texts.values()):
        for group in document["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") or "job=" in rule["expr"]:
                    assert 'job="shop-api"' in rule["expr"], rule
                assert rule.get("labels", {}).get("service", "ai-diy") == "ai-diy", "routing does not follow the job"
    objective = next(
        rule
        for group in yaml.safe_load(texts["slo.rules.yml"])["groups"]
        for rule in group["rules"]
        if rule.get("record") == "slo:objective:ratio"
    )
    assert objective["labels"] == {"job": "shop-api", "slo": "availability"}
    result = subprocess.run(
        [binaries.require("promtool"), "check", "rules", *map(str, sorted(tmp_path.glob("*.rules.yml")))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_generate_runbook_base_url_parameter_sets_every_link() -> None:
    base = "https://wiki.example.org/ops/ai-diy/runbook.md"
    groups = generate.rule_groups(Target(runbook_base_url=base))
    urls = [rule["annotations"]["runbook_url"] for group in groups for rule in group["rules"] if "alert" in rule]
    assert urls and all(url == f"{base}#{url.rsplit('#', 1)[1]}" for url in urls)
    assert {url.rsplit("#", 1)[1] for url in urls} == {rule.alert_name.lower() for rule in r.alerts()}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--job", 'shop"api'], "--job: expected a Prometheus label value"),
        (["--job", " "], "--job: expected a Prometheus label value"),
        (["--runbook-base-url", "wiki/runbook.md"], "--runbook-base-url: expected an http(s) URL"),
        (["--runbook-base-url", "https://wiki.example.org/runbook#top"], "--runbook-base-url: expected an http(s) URL"),
    ],
    ids=["quote-in-job", "blank-job", "relative-url", "url-with-fragment"],
)
def test_generate_rejects_bad_parameters_with_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        generate.main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_rule_groups_lists_every_group_of_every_file_in_order() -> None:
    names = [group["name"] for group in generate.rule_groups()]
    in_files = [group["name"] for path in r.rule_files() for group in r.load(path)["groups"]]
    assert sorted(names) == sorted(in_files)
    assert names == [group["name"] for document in generate.rule_files().values() for group in document["groups"]]


def test_slo_rules_record_one_error_ratio_per_definitions_window() -> None:
    recorded = [rule.record for rule in r.rules() if rule.record and rule.record.startswith("slo:sli_error:")]
    assert recorded == [f"slo:sli_error:ratio_rate{window}" for window in BURN_WINDOWS]
    for rule in r.rules():
        if rule.record in recorded:
            window = rule.record.removeprefix("slo:sli_error:ratio_rate")
            assert set(re.findall(r"\[(\w+)\]", rule.expr)) == {window}


def test_every_alert_description_names_the_offline_runbook_command() -> None:
    for rule in r.alerts():
        assert rule.body["annotations"]["description"].endswith(f"Runbook offline: ai-diy runbook {rule.alert}")
