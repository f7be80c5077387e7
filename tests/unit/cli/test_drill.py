"""`ai-diy drill`: --list and --json, unknown names, and drills that cannot run reported as failures."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from service.cli import drill
from service.cli._common import InputError
from service.drills import stack
from service.drills.catalogue import DRILLS
from tests.support.processes import ROOT


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ai-diy")
    drill.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["drill", *argv])


def test_drill_list_names_every_alert_and_severity(capsys: pytest.CaptureFixture[str]) -> None:
    assert drill.run(_args("--list")) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert [tuple(line.split()[:2]) for line in lines] == [(d.alert, d.severity) for d in DRILLS]


def test_drill_list_json_is_one_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert drill.run(_args("--list", "--json", "AiDiyAuthFailures")) == 0
    listed = json.loads(capsys.readouterr().out)["drills"]
    assert [(d["alert"], d["severity"], d["receiver"]) for d in listed] == [
        ("AiDiyAuthFailures", "critical", "pager"),
        ("AiDiyAuthFailures", "warning", "ticket"),
    ]


def test_drill_unknown_name_is_an_input_error_naming_the_known_alerts() -> None:
    with pytest.raises(InputError, match=r"no drill 'AiDiyNope'.*AiDiyServiceDown"):
        drill.run(_args("--list", "AiDiyNope"))


def test_drill_that_cannot_run_fails_the_table_and_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack, "find_binary", lambda names: None)
    assert (
        drill.run(_args("--json", "--source", str(ROOT), "--workdir", str(tmp_path), "AiDiyHighErrorRate:warning")) == 1
    )
    captured = capsys.readouterr()
    assert json.loads(captured.out)["drills"][0]["passed"] is False
    assert captured.err.splitlines() == [
        "AiDiyHighErrorRate:warning: a drill needs prometheus and prometheus-alertmanager "
        "(Debian: apt-get install both)",
        f"configs and logs of the drills: {tmp_path}",
    ]


def test_drill_refuses_fewer_than_one_drill_at_a_time() -> None:
    with pytest.raises(InputError, match="--parallel: expected 1 or more"):
        drill.run(_args("--parallel", "0", "AiDiyAuthFailures"))
