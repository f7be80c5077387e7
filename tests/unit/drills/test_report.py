"""The drills' list and result table, as text and as JSON."""

from __future__ import annotations

import json

from service.drills.catalogue import DRILLS, select
from service.drills.report import Result, exit_code, list_json, list_text, results_json, results_text


def test_list_text_names_every_alert_severity_and_runbook_command() -> None:
    lines = list_text(DRILLS).splitlines()
    assert lines[0].split() == ["alert", "severity", "fault", "receiver", "runbook"]
    assert len(lines) == len(DRILLS) + 1
    for drill, line in zip(DRILLS, lines[1:], strict=True):
        assert line.split()[:2] == [drill.alert, drill.severity]
        assert line.endswith(f"ai-diy runbook {drill.alert}")


def test_list_json_is_one_object_with_every_drill() -> None:
    listed = json.loads(list_json(DRILLS))["drills"]
    assert [(d["alert"], d["severity"], d["receiver"]) for d in listed] == [
        (d.alert, d.severity, d.receiver) for d in DRILLS
    ]


def _results() -> list[Result]:
    paged, silent, misrouted = select(
        ["AiDiyHighErrorRate:critical", "AiDiyPathTraversalAttempt", "AiDiyAuthFailures:warning"]
    )
    return [
        Result(paged, 41.6, 12.2, "pager"),
        Result(silent, None, None, None),
        Result(misrouted, 20.0, 8.0, "pager"),
    ]


def test_results_text_shows_times_receiver_and_verdict_per_drill() -> None:
    lines = results_text(_results()).splitlines()
    assert lines[1].split()[:9] == [
        "AiDiyHighErrorRate",
        "critical",
        "fault",
        "error_ratio=0.1",
        "42",
        "s",
        "12",
        "s",
        "pager",
    ]
    assert " pass " in lines[1]
    assert lines[2].split()[4:8] == ["-", "-", "-", "FAIL"]
    assert " FAIL " in lines[3], "a page at the wrong receiver fails"
    assert lines[-1] == "1 of 3 drills passed"


def test_results_json_is_one_object_and_the_exit_code_says_whether_all_passed() -> None:
    results = _results()
    document = json.loads(results_json(results))
    assert document["passed"] is False
    assert [d["passed"] for d in document["drills"]] == [True, False, False]
    assert document["drills"][2]["receiver"] == "pager" and document["drills"][2]["expected_receiver"] == "ticket"
    assert exit_code(results) == 1
    assert exit_code(results[:1]) == 0
    assert exit_code([]) == 1, "no drill run proves nothing"
