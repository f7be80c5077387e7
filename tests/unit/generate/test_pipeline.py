"""`python -m generate`: every generated file up to date with the code, `--check`, parameters."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

import generate.__main__ as generate
from generate import pipeline
from signals.catalogue import JOB
from tests.support import alert_rules as r
from tests.support import binaries


def test_generate_committed_files_match_the_code() -> None:
    differ, extra = pipeline.stale(pipeline.ROOT, pipeline.rendered())
    assert differ == [], "out of date: run make generate"
    assert extra == [], "no longer generated: run make generate"


def test_generate_writes_the_outputs_in_pipeline_order() -> None:
    assert list(pipeline.rendered()) == [output.name for output in pipeline.OUTPUTS]
    names = [output.name for output in pipeline.OUTPUTS]
    assert names == ["rules", "dashboards", "kubernetes", "runbook", "drill rules"]


def test_generate_packaged_runbook_is_the_docs_runbook() -> None:
    (copy,) = pipeline.rendered()["runbook"].items()
    assert copy == (pipeline.PACKAGED_RUNBOOK, r.RUNBOOK.read_text(encoding="utf-8"))


def test_generate_check_names_stale_and_orphaned_files_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert generate.main(["--root", str(tmp_path)]) == 0
    assert generate.main(["--check", "--root", str(tmp_path)]) == 0
    capsys.readouterr()
    slo = tmp_path / "alerts" / "slo.rules.yml"
    slo.write_text("groups: []\n", encoding="utf-8")
    orphan = tmp_path / "grafana" / "dashboards" / "retired.json"
    orphan.write_text("{}\n", encoding="utf-8")
    assert generate.main(["--check", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{slo} is out of date" in err and f"{orphan} is no longer generated" in err
    assert slo.read_text(encoding="utf-8") == "groups: []\n" and orphan.exists(), "--check must not write"
    assert generate.main(["--root", str(tmp_path)]) == 0
    assert not orphan.exists()
    assert generate.main(["--check", "--root", str(tmp_path)]) == 0


def test_generate_kubernetes_resources_carry_the_dashboards_of_the_same_run() -> None:
    outputs = pipeline.rendered()
    (configmaps,) = [text for path, text in outputs["kubernetes"].items() if path.endswith("grafana-dashboards.yaml")]
    carried = {key: text for doc in yaml.safe_load_all(configmaps) for key, text in doc["data"].items()}
    assert carried == {f"ai-diy-{path.rsplit('/', 1)[1]}": text for path, text in outputs["dashboards"].items()}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--job", 'shop"api'], "--job: expected a Prometheus label value"),
        (["--job", " "], "--job: expected a Prometheus label value"),
        (["--runbook-base-url", "wiki/runbook.md"], "--runbook-base-url: expected an http(s) URL"),
        (["--runbook-base-url", "https://wiki.example.org/runbook#top"], "--runbook-base-url: expected an http(s) URL"),
        (["--grafana-base-url", "grafana:3000"], "--grafana-base-url: expected an http(s) URL"),
        (["--grafana-base-url", "https://grafana.example.org/"], "--grafana-base-url: expected an http(s) URL"),
        (["--grafana-base-url", "https://grafana.example.org?orgId=1"], "--grafana-base-url: expected an http(s) URL"),
    ],
    ids=[
        "quote-in-job",
        "blank-job",
        "relative-url",
        "url-with-fragment",
        "grafana-no-scheme",
        "grafana-slash",
        "grafana-query",
    ],
)
def test_generate_rejects_bad_parameters_with_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as exited:
        generate.main([*argv, "--root", str(tmp_path)])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.integration
def test_generate_job_parameter_rewrites_every_selector(tmp_path: Path) -> None:
    assert generate.main(["--job", "shop-api", "--root", str(tmp_path)]) == 0
    written = sorted((tmp_path / "alerts").glob("*.rules.yml"))
    texts = {path.name: path.read_text(encoding="utf-8") for path in written}
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
    prometheus_rule = (tmp_path / "deploy" / "kubernetes" / "generated" / "prometheusrule.yaml").read_text()
    assert f'job="{JOB}"' not in prometheus_rule and 'job="shop-api"' in prometheus_rule
    result = subprocess.run(
        [binaries.require("promtool"), "check", "rules", *map(str, written)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
