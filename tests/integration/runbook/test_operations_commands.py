"""Every procedure in docs/operations.md runs against the deployed service and prints what it says.

Same deployment and traffic as the runbook's test (a module of its own, so a fresh
service and Redis). Each procedure starts from a running service and brings what it needs,
so they pass in any order (`pytest --random-order`). The
rate-limit loop spends this client's budget for a minute, so it runs on a deployment of
its own (test_operations_rate_limit.py).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import httpx
import pytest

from service.drills.catalogue import DRILLS
from service.ops.backups import export_backup
from tests.support.net import wait_for
from tests.support.processes import ROOT

from . import markdown
from .checks import Check, run_checked, section
from .deployment import USER, Deployment, Result

pytestmark = pytest.mark.integration

OPERATIONS = ROOT / "docs" / "operations.md"
RUNBOOK = ROOT / "docs" / "runbook.md"
TODAY_BACKUP = re.compile(r"ai-diy-data-\d{8}\.json")


def _lines(result: Result) -> list[str]:
    return result.out.splitlines()


def _silent(result: Result, _: Deployment) -> None:
    assert result.out == "" and result.err == ""


def _healthy(result: Result, _: Deployment) -> None:
    assert result.out == "healthy\n"


def _configuration_valid(result: Result, _: Deployment) -> None:
    assert _lines(result)[-1] == "✅ configuration is valid" and "❌" not in result.out


def _started(result: Result, deployment: Deployment) -> None:
    assert result.out == "" and deployment.main_pid() > 0


def _stopped(result: Result, deployment: Deployment) -> None:
    assert result.out == "" and deployment.main_pid() == 0


def _config_saved(result: Result, deployment: Deployment) -> None:
    assert f"saved {deployment.env_file} (" in result.out
    assert re.fullmatch(r"configuration saved in config-backups/\d{8}T\d{6}Z(-\d+)?", _lines(result)[-1])


def _journal_start_up(result: Result, _: Deployment) -> None:
    assert "✅ configuration is valid" in result.out
    assert any('"level":"INFO"' in line and "started" in line for line in _lines(result)), "the start-up line"


def _started_with_debug(result: Result, _: Deployment) -> None:
    (line,) = result.json_lines()
    assert (
        line["log_level"] == "DEBUG" and line["message"].startswith("AI-DIY ") and line["message"].endswith(" started")
    )


def _rolled_back(result: Result, deployment: Deployment) -> None:
    assert f"restored: {deployment.env_file}" in _lines(result)
    assert re.fullmatch(
        r"rolled back to config-backups/\S+; the replaced configuration is kept in config-backups/\S+-before-rollback",
        _lines(result)[-2],
    )


def _would_roll_back(result: Result, deployment: Deployment) -> None:
    assert f"would be restored: {deployment.env_file}" in _lines(result)
    assert _lines(result)[-1].startswith("dry run: nothing changed; rollback to config-backups/")


def _daily_check(result: Result, _: Deployment) -> None:
    assert _lines(result)[0] == "=== AI-DIY Daily Health Check ===" and [line[0] for line in _lines(result)[1:3]] == [
        "✅",
        "✅",
    ]


def _todays_errors(result: Result, _: Deployment) -> None:
    assert "GET /api/data/status 503" in [entry["message"] for entry in result.json_lines()]


def _files_with_errors(result: Result, deployment: Deployment) -> None:
    assert f"{deployment.logs}/ai_diy_api_" in result.out


def _alerts(result: Result, _: Deployment) -> None:
    alerts = result.json_lines()
    assert all(
        set(alert) == {"alert", "severity", "state"} and alert["state"] in {"pending", "firing"} for alert in alerts
    )
    assert "AiDiyPathTraversalAttempt" in {alert["alert"] for alert in alerts}


def _runbook_section(result: Result, _: Deployment) -> None:
    assert result.out.startswith("### Before any command\n") and "\n## AiDiyPathTraversalAttempt\n" in result.out


def _drills_listed(result: Result, _: Deployment) -> None:
    lines = result.out.splitlines()
    assert lines[0].split()[:2] == ["alert", "severity"]
    assert [tuple(line.split()[:2]) for line in lines[1:]] == [(d.alert, d.severity) for d in DRILLS]


def _drill_passed(result: Result, _: Deployment) -> None:
    rows = result.out.splitlines()
    assert rows[-1] == "1 of 1 drills passed", result.out
    assert rows[1].split()[:2] == ["AiDiyPathTraversalAttempt", "warning"] and "ticket pass" in " ".join(
        rows[1].split()
    )


def _archived(result: Result, deployment: Deployment) -> None:
    match = re.fullmatch(r"archived (\d+) log file\(s\) from (\S+) to (\S+)\n", result.out)
    assert match and int(match[1]) >= 3 and match[2] == str(deployment.logs) and Path(match[3]).is_file()


def _config_copies(result: Result, _: Deployment) -> None:
    assert result.out == "no configuration backups in config-backups\n" or all(
        re.match(r"\d{8}T\d{6}Z\S*: /", line) for line in _lines(result)
    )


def _limit_in_force(result: Result, deployment: Deployment) -> None:
    expected = "200/minute" if "AI_DIY_RATE_LIMIT=200/minute" in deployment.env_file.read_text() else "100/minute"
    assert result.out == f"{expected}\n"


def _exported(result: Result, deployment: Deployment) -> None:
    assert re.fullmatch(
        rf"exported \d+ documents to {re.escape(str(deployment.backups))}/ai-diy-data-\d{{8}}\.json\n", result.err
    )


def _valid_backup(result: Result, _: Deployment) -> None:
    assert re.fullmatch(
        r"\S+ai-diy-data-\d{8}\.json: valid backup, \d+ documents, \d+ bytes, created \S+ by version \S+\n", result.out
    )


def _would_prune(result: Result, deployment: Deployment) -> None:
    assert "would delete ai-diy-data-20200101.json" in result.out
    assert re.search(r"kept ai-diy-data-\d{8}\.json \(0 days old\)", result.out)
    assert (
        _lines(result)[-1] == f"dry run: would delete 1 backup(s) older than 30 days from {deployment.backups}; kept 1"
    )


def _pruned(result: Result, deployment: Deployment) -> None:
    assert _lines(result)[-1] == f"deleted 1 backup(s) older than 30 days from {deployment.backups}; kept 1"
    assert not (deployment.backups / "ai-diy-data-20200101.json").exists()


def _retention_ran(result: Result, deployment: Deployment) -> None:
    assert result.out == "" and not (deployment.logs / "ai_diy_api_20200101.jsonl").exists()


def _retention_journal(result: Result, deployment: Deployment) -> None:
    assert _lines(result)[-1] == f"log rotation completed: 1 action(s) in {deployment.logs}"


def _log_files(result: Result, _: Deployment) -> None:
    assert all(kind in result.out for kind in ("ai_diy_api_", "ai_diy_security_", "ai_diy_audit_"))


def _copied_log(result: Result, deployment: Deployment) -> None:
    assert result.out == "" and list(deployment.logs.glob("ai_diy_api_*_pre_restart.jsonl"))


def _restarted(result: Result, deployment: Deployment) -> None:
    assert result.out == "" and deployment.main_pid() > 0


def _import_plan(result: Result, _: Deployment) -> None:
    assert "added: notes/readme.md" in _lines(result)
    assert re.search(r"^1 added, 0 changed, 1 removed, \d+ unchanged$", result.out, flags=re.MULTILINE)
    assert re.match(r"previous documents kept in \S+appdocs\.rollback-", _lines(result)[-1])


def _data_valid(result: Result, _: Deployment) -> None:
    assert re.fullmatch(r"\S+/appdocs: \d+ documents, no problems\n", result.out)


def _would_import_export(result: Result, _: Deployment) -> None:
    assert "would be added: imported/from-elsewhere.md" in _lines(result)
    assert _lines(result)[-1].startswith("dry run: 1 added, ")


def _imported_export(result: Result, _: Deployment) -> None:
    assert "added: imported/from-elsewhere.md" in _lines(result)
    assert _lines(result)[-1].startswith("previous documents kept in ")


def _serves_imported(result: Result, _: Deployment) -> None:
    assert json.loads(result.out) == {"status": "ok", "documents": 1}


def _rate_limit_holds(result: Result, _: Deployment) -> None:
    assert _lines(result) == ["    100 200", "     10 429"]


def _headers(result: Result, _: Deployment) -> None:
    names = [line.split(":", 1)[0] for line in _lines(result)]
    assert sorted(names) == ["Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options"]


def _no_emails(result: Result, deployment: Deployment) -> None:
    assert result.out == "No e-mail addresses found\n"
    assert any("[EMAIL]" in json.dumps(line) for line in deployment.log_lines()), "an address was sent, and masked"


def _retention_plan(result: Result, deployment: Deployment) -> None:
    assert "would delete ai_diy_api_20200101.jsonl" in result.out
    assert _lines(result)[-1] == f"dry run: 1 action(s) in {deployment.logs}"


def _failed_at_start(result: Result, _: Deployment) -> None:
    assert "Active: failed (Result: exit-code)" in result.out and "ExecStartPre=" in result.out


def _journal_bad_setting(result: Result, _: Deployment) -> None:
    assert "configuration error: AI_DIY_WORKERS: " in result.out


def _config_bad_setting(result: Result, _: Deployment) -> None:
    assert "configuration error: AI_DIY_WORKERS: " in result.err and _lines(result)[-1] == "❌ 1 problem(s) found"


def _version(result: Result, _: Deployment) -> None:
    assert re.fullmatch(r"ai-diy \d+\.\d+\.\d+\n", result.out)


def _requirements(result: Result, _: Deployment) -> None:
    assert result.out == "No broken requirements found.\n"


def _directories(result: Result, deployment: Deployment) -> None:
    assert f"f: {deployment.state / 'data' / 'appdocs'}" in result.out and f"f: {deployment.logs}" in result.out


CHECKS: dict[str, Check] = {
    "ai-diy validate-config --env-file /etc/ai-diy/ai-diy.env": Check(_configuration_valid),
    "systemctl start ai-diy": Check(_started),
    """curl -fsS --retry 10 --retry-connrefused --retry-delay 1 "$API/health" | jq -r .status""": Check(_healthy),
    "ai-diy config backup --env-file /etc/ai-diy/ai-diy.env": Check(_config_saved),
    "echo AI_DIY_LOG_LEVEL=DEBUG >> /etc/ai-diy/ai-diy.env": Check(_silent),
    "systemctl restart ai-diy": Check(_restarted),
    'journalctl -u ai-diy -n 50 --no-pager | grep -E "(INFO|DEBUG|ERROR|✅|❌)"': Check(_journal_start_up),
    """jq -c 'select(.event=="startup") | {timestamp, message, log_level}' "$LOG" | tail -n 1""": Check(
        _started_with_debug
    ),
    "ai-diy config rollback": Check(_rolled_back),
    'ai-diy check --url "$API"': Check(_daily_check),
    """jq -c 'select(.level=="ERROR" or .level=="CRITICAL") | {timestamp, message}' "$LOG" | tail -n 20""": Check(
        _todays_errors
    ),
    """find "$AI_DIY_LOG_DIR" -name "*.jsonl" -mtime -1 -exec grep -l '"level":"ERROR"' {} \\;""": Check(
        _files_with_errors
    ),
    """curl -s "$PROM/api/v1/alerts" | jq -c '.data.alerts[] | {alert: .labels.alertname, severity: .labels.severity, state}'""": Check(
        _alerts
    ),
    "ai-diy runbook AiDiyPathTraversalAttempt": Check(_runbook_section),
    "ai-diy drill --list": Check(_drills_listed),
    "ai-diy drill AiDiyPathTraversalAttempt": Check(_drill_passed),
    'ai-diy logs archive -o "$BACKUPS/incident-$(date -u +%Y%m%dT%H%M).tar.gz"': Check(_archived),
    "ai-diy config list": Check(_config_copies),
    "cp /etc/ai-diy/ai-diy.env /etc/ai-diy/ai-diy.env.new": Check(_silent),
    "echo AI_DIY_RATE_LIMIT=200/minute >> /etc/ai-diy/ai-diy.env.new": Check(_silent),
    'env -i PATH="$PATH" AI_DIY_DATA_DIR=/var/lib/ai-diy/data AI_DIY_LOG_DIR=/var/log/ai-diy ai-diy validate-config --env-file /etc/ai-diy/ai-diy.env.new': Check(
        _configuration_valid
    ),
    "mv /etc/ai-diy/ai-diy.env.new /etc/ai-diy/ai-diy.env": Check(_silent),
    """curl -s "$API/api/security/status" | jq -r .report.rate_limit.limit""": Check(_limit_in_force),
    "ai-diy config rollback --dry-run": Check(_would_roll_back),
    'mkdir -p "$BACKUPS" && ai-diy data export -o "$BACKUPS/ai-diy-data-$(date -u +%Y%m%d).json"': Check(_exported),
    'ai-diy data validate-backup "$BACKUPS/ai-diy-data-$(date -u +%Y%m%d).json"': Check(_valid_backup),
    'ai-diy prune-backups "$BACKUPS" --older-than 30d --dry-run': Check(_would_prune),
    'ai-diy prune-backups "$BACKUPS" --older-than 30d': Check(_pruned),
    "systemctl start ai-diy-logs": Check(_retention_ran),
    "journalctl -u ai-diy-logs -n 5 --no-pager": Check(_retention_journal),
    'ls -la "$AI_DIY_LOG_DIR"': Check(_log_files),
    'ai-diy logs archive -o "$BACKUPS/ai-diy-logs-$(date -u +%Y%m%d).tar.gz"': Check(_archived),
    'cp "$LOG" "${LOG%.jsonl}_pre_restart.jsonl"': Check(_copied_log),
    "systemctl stop ai-diy": Check(_stopped),
    'ai-diy data validate-backup "$(ls -1 "$BACKUPS"/ai-diy-data-*.json | tail -n 1)"': Check(_valid_backup),
    'ai-diy data import "$(ls -1 "$BACKUPS"/ai-diy-data-*.json | tail -n 1)"': Check(_import_plan),
    "ai-diy data validate": Check(_data_valid),
    'ai-diy data import --dry-run "$BACKUPS/ai-diy-export.json"': Check(_would_import_export),
    'ai-diy data import "$BACKUPS/ai-diy-export.json"': Check(_imported_export),
    """curl -s "$API/api/data/status" | jq -c '{status, documents}'""": Check(_serves_imported),
    'for i in {1..110}; do curl -s -o /dev/null -w "%{http_code}\\n" "$API/api/env"; done | sort | uniq -c': Check(
        _rate_limit_holds
    ),
    'curl -sI "$API/" | grep -E "(X-Frame-Options|X-Content-Type-Options|Strict-Transport-Security)"': Check(_headers),
    """zgrep -lE '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}' "$AI_DIY_LOG_DIR"/* || echo "No e-mail addresses found\"""": Check(
        _no_emails
    ),
    "ai-diy logs rotate --dry-run": Check(_retention_plan),
    "systemctl status ai-diy": Check(_failed_at_start, code=3),
    "journalctl -u ai-diy -n 50 --no-pager": Check(_journal_bad_setting),
    "ai-diy --version": Check(_version),
    "/opt/ai-diy/venv/bin/python -m pip check": Check(_requirements),
    'namei -l "$AI_DIY_DATA_DIR/appdocs" "$AI_DIY_LOG_DIR"': Check(_directories),
}
FOLLOWS = {'tail -f "$LOG"'}
SITUATIONS = {
    ("The service does not start", "ai-diy validate-config --env-file /etc/ai-diy/ai-diy.env"): Check(
        _config_bad_setting, code=2
    ),
}
OLD_DAY = "20200101"


def _run_section(deployment: Deployment, title: str) -> None:
    for block in section(OPERATIONS, title):
        checks = {s.text: SITUATIONS.get((title, s.text), CHECKS.get(s.text)) for s in block}
        run_checked(deployment, OPERATIONS, [s for s in block if s.text not in FOLLOWS], checks)


# -- the document -----------------------------------------------------------------------


def test_operations_every_command_has_a_check() -> None:
    assert {snippet.text for snippet in markdown.commands(OPERATIONS)} == set(CHECKS) | FOLLOWS


def test_operations_set_up_is_the_runbooks() -> None:
    assert markdown.setup(OPERATIONS) == markdown.setup(RUNBOOK)


def test_operations_commands_named_in_prose_are_tested_commands() -> None:
    tested = {tuple(s.text.split()[:2]) for s in markdown.commands(OPERATIONS)}
    named = {tuple(command.split()[:2]) for command in markdown.inline_commands(OPERATIONS)}
    assert named and named <= tested


def _slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_operations_links_resolve_and_each_procedure_names_what_it_replaces() -> None:
    text = OPERATIONS.read_text()
    anchors = {_slug(h) for h in re.findall(r"^#{2,3} (.+)$", text, flags=re.MULTILINE)}
    linked = re.findall(r"\]\(#([\w-]+)\)", text)
    assert linked and set(linked) <= anchors
    runbook_anchors = {_slug(h) for h in re.findall(r"^#{2,3} (.+)$", RUNBOOK.read_text(), flags=re.MULTILINE)}
    assert set(re.findall(r"\]\(runbook\.md#([\w-]+)\)", text)) <= runbook_anchors
    assert set(re.findall(r"\]\(operations\.md#([\w-]+)\)", RUNBOOK.read_text())) <= anchors
    procedures = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    without = [
        p.splitlines()[0] for p in procedures if "*Replaces:" not in p and p.splitlines()[0] not in {"Quick reference"}
    ]
    assert without == []


# -- the procedures -----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _serving(request: pytest.FixtureRequest) -> None:
    """Each procedure starts from a running, answering service, whichever procedure ran before it."""
    if "deployment" in request.fixturenames:
        deployment: Deployment = request.getfixturevalue("deployment")
        deployment.serving()


def test_operations_compliance_checks(deployment: Deployment) -> None:
    masked = httpx.get(
        f"{deployment.api}/api/appdocs/contact-jane.doe@example.com.md", headers={"X-Forwarded-For": USER}, timeout=5
    )
    assert masked.status_code in (400, 404)  # refused or not found; either way its access line is written
    wait_for(lambda: any("[EMAIL]" in json.dumps(line) for line in deployment.log_lines()), timeout=10, what="logged")
    (deployment.logs / f"ai_diy_api_{OLD_DAY}.jsonl").write_text('{"event": "old"}\n')  # overdue for retention
    for title in ("Security headers", "Personal data in the logs (GDPR)", "Log retention"):
        _run_section(deployment, title)


def test_operations_fire_drills(deployment: Deployment) -> None:
    _run_section(deployment, "Fire drills")


def test_operations_daily_check_and_log_monitoring(deployment: Deployment) -> None:
    (follow,) = FOLLOWS

    def during() -> httpx.Response:
        return httpx.get(f"{deployment.api}/api/appdocs/followed.md", headers={"X-Forwarded-For": USER}, timeout=5)

    result = deployment.follow(follow, OPERATIONS, during=during)
    followed = [json.loads(line) for line in _lines(result)]
    assert {"path": "/api/appdocs/followed.md", "status_code": 404} in [
        {"path": line.get("path"), "status_code": line.get("status_code")} for line in followed
    ]
    _run_section(deployment, "Daily health check and log monitoring")


def test_operations_incident_response(deployment: Deployment) -> None:
    _run_section(deployment, "Incident response")


def test_operations_backups(deployment: Deployment) -> None:
    blocks = section(OPERATIONS, "Backups: make, verify, prune")
    make, verify, dry, prune = blocks[0]
    run_checked(deployment, OPERATIONS, [make, verify], CHECKS)
    (today,) = [p for p in deployment.backups.iterdir() if TODAY_BACKUP.fullmatch(p.name)]
    shutil.copy2(today, deployment.backups / f"ai-diy-data-{OLD_DAY}.json")  # a backup from long ago
    run_checked(deployment, OPERATIONS, [dry, prune], CHECKS)


def test_operations_log_management(deployment: Deployment) -> None:
    (deployment.logs / f"ai_diy_api_{OLD_DAY}.jsonl").write_text('{"event": "old"}\n')
    _run_section(deployment, "Log management")


def test_operations_normal_start_up_and_emergency_restart(deployment: Deployment) -> None:
    assert deployment.systemctl("stop", "ai-diy").returncode == 0
    _run_section(deployment, "Normal start-up")
    _run_section(deployment, "Emergency restart")


def test_operations_start_up_with_detailed_logging(deployment: Deployment) -> None:
    _run_section(deployment, "Start-up with detailed logging")
    assert "AI_DIY_LOG_LEVEL=DEBUG" not in deployment.env_file.read_text()


def test_operations_safe_configuration_update_and_rollback(deployment: Deployment) -> None:
    _run_section(deployment, "Safe configuration updates and rollback")
    assert "AI_DIY_RATE_LIMIT=200/minute" not in deployment.env_file.read_text()


def test_operations_data_recovery_from_a_backup(deployment: Deployment) -> None:
    appdocs = deployment.state / "data" / "appdocs"
    # Its own backup of a known document, so it does not depend on what earlier procedures
    # (an import of another host's export, say) left in the documents or in $BACKUPS.
    (appdocs / "notes").mkdir(exist_ok=True)
    (appdocs / "notes" / "readme.md").write_text("# Notes\n")
    make = section(OPERATIONS, "Backups: make, verify, prune")[0][0]
    for old in deployment.backups.glob("ai-diy-data-*.json"):
        old.unlink()
    run_checked(deployment, OPERATIONS, [make], CHECKS)
    (appdocs / "notes" / "readme.md").unlink()  # a document lost
    (appdocs / "stray.md").write_text("written by mistake\n")  # and one that should not be there
    _run_section(deployment, "From a backup")
    assert (appdocs / "notes" / "readme.md").read_text() == "# Notes\n" and not (appdocs / "stray.md").exists()


def test_operations_data_recovery_from_an_export(deployment: Deployment, tmp_path: Path) -> None:
    elsewhere = tmp_path / "appdocs"
    (elsewhere / "imported").mkdir(parents=True)
    (elsewhere / "imported" / "from-elsewhere.md").write_text("# From another host\n")
    backup, _ = export_backup(elsewhere)
    (deployment.backups / "ai-diy-export.json").write_text(json.dumps(backup, indent=1) + "\n")
    _run_section(deployment, "From an export")


def test_operations_service_does_not_start(deployment: Deployment) -> None:
    saved = deployment.run("ai-diy config backup --env-file /etc/ai-diy/ai-diy.env", OPERATIONS)
    assert saved.code == 0, saved
    with deployment.env_file.open("a") as env:
        env.write("AI_DIY_WORKERS=many\n")
    assert deployment.systemctl("restart", "ai-diy").returncode == 1
    _run_section(deployment, "The service does not start")
    assert deployment.run("ai-diy config rollback", OPERATIONS).code == 0
    assert deployment.systemctl("start", "ai-diy").returncode == 0


def test_operations_every_procedure_with_commands_is_run() -> None:
    run_here = {
        "Rate limiting holds",
        "Security headers",
        "Personal data in the logs (GDPR)",
        "Log retention",
        "Daily health check and log monitoring",
        "Incident response",
        "Backups: make, verify, prune",
        "Log management",
        "Normal start-up",
        "Emergency restart",
        "Start-up with detailed logging",
        "Safe configuration updates and rollback",
        "From a backup",
        "From an export",
        "The service does not start",
        "Fire drills",
    }
    assert {snippet.section for snippet in markdown.commands(OPERATIONS)} == run_here
