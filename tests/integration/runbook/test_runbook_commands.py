"""Every command in docs/runbook.md runs against the deployed service and prints what the runbook says.

The deployment is the shipped systemd unit's (environment file, working directory,
ExecStartPre), with Redis as the rate-limit storage and a Prometheus scraping it, after
the incident's traffic (deployment.Deployment.traffic). Each section's commands run in
the situation its alert describes: the data store broken for AiDiyHealthCheckFailing,
Redis down for AiDiySecurityInactive, the service killed with a bad setting for
AiDiyServiceDown. Sections that restart the service run last.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import alert_rules as r
from tests.support.net import wait_for
from tests.support.processes import ROOT

from . import markdown
from .checks import Check, run_checked, section
from .deployment import HAMMER, PROBER, TOKEN, USER, Deployment, Result

pytestmark = pytest.mark.integration

RUNBOOK = ROOT / "docs" / "runbook.md"
UNIT = ROOT / "deploy" / "systemd" / "ai-diy.service"
ALL_OK = {"config": "ok", "data_store": "ok", "security": "ok", "log_sink": "ok"}


def _json(result: Result) -> Any:
    return json.loads(result.out)


def _lines(result: Result) -> list[str]:
    return result.out.splitlines()


def _counts(result: Result) -> dict[str, int]:
    """`sort | uniq -c` output: value -> count."""
    found = {}
    for line in _lines(result):
        count, _, value = line.strip().partition(" ")
        found[value] = int(count)
    return found


# -- what each command prints ---------------------------------------------------------


def _runbook_list(result: Result, _: Deployment) -> None:
    assert _lines(result) == r.runbook_headings()


def _runbook_section(result: Result, _: Deployment) -> None:
    assert result.out.startswith("### Before any command\n")
    assert "\n## AiDiyServiceDown\n" in result.out and "## AiDiyTargetMissing" not in result.out


def _health_summary(result: Result, deployment: Deployment) -> None:
    assert _json(result) == {"status": "healthy", "checks": ALL_OK}


def _security_active(result: Result, _: Deployment) -> None:
    assert result.out == "active\n"


def _daily_check(result: Result, _: Deployment) -> None:
    assert [line[0] for line in _lines(result) if line[0] in "✅❌"] == ["✅", "✅"]


def _status_running(result: Result, deployment: Deployment) -> None:
    assert "Active: active (running)" in result.out
    assert f"Main PID: {deployment.main_pid()} " in result.out


def _status_failed_at_start(result: Result, _: Deployment) -> None:
    assert "Active: failed (Result: exit-code)" in result.out
    assert "ExecStartPre=" in result.out and "validate-config" in result.out


def _journal_names_the_bad_setting(result: Result, _: Deployment) -> None:
    assert "configuration error: AI_DIY_RATE_LIMIT: " in result.out


def _validate_config_names_the_bad_setting(result: Result, _: Deployment) -> None:
    assert "configuration error: AI_DIY_RATE_LIMIT: " in result.err and result.out.endswith("❌ 1 problem(s) found\n")


def _not_answering(result: Result, _: Deployment) -> None:
    assert result.out == "not answering\n"


def _last_errors(result: Result, _: Deployment) -> None:
    errors = result.json_lines()
    assert errors and all(set(entry) == {"timestamp", "logger", "message"} for entry in errors)
    assert "GET /api/data/status 503" in [entry["message"] for entry in errors]


def _rolled_back(result: Result, deployment: Deployment) -> None:
    assert f"restored: {deployment.env_file}" in _lines(result)
    assert _lines(result)[-1] == "apply it with: systemctl restart ai-diy"


def _silent(result: Result, _: Deployment) -> None:
    assert result.out == ""


def _healthy(result: Result, _: Deployment) -> None:
    assert result.out == "healthy\n"


def _promtool_success(result: Result, _: Deployment) -> None:
    assert "SUCCESS" in result.out + result.err and f"{len(r.rule_files())} rule files found" in result.out + result.err


def _targets(result: Result, _: Deployment) -> None:
    assert {"job": "ai-diy", "health": "up", "lastError": ""} in result.json_lines()


def _reloaded(result: Result, _: Deployment) -> None:
    assert result.out == "200\n"


def _own_metrics(result: Result, _: Deployment) -> None:
    first, *rest = _lines(result)
    assert first.startswith("ai_diy_build_info{") and first.endswith(" 1.0")
    assert rest and all(line.startswith("http_server_request_duration_seconds_count{") for line in rest)


def _scrape_url(result: Result, deployment: Deployment) -> None:
    assert result.out == f"{deployment.api}/metrics\n"


def _ports(result: Result, deployment: Deployment) -> None:
    assert result.out == f"AI_DIY_PORT={deployment.port}\n"


def _check_states(result: Result, deployment: Deployment) -> None:
    expected = dict(ALL_OK, data_store="fail") if "data_store" in deployment.faults else ALL_OK
    assert _json(result) == expected


def _data_store_detail(result: Result, deployment: Deployment) -> None:
    detail = _json(result)
    # What a client may see: the cause, never the server's path (the api log names it).
    assert detail["status"] == "fail" and detail["detail"] == "data directory is not a directory"


def _data_validate_fails(result: Result, deployment: Deployment) -> None:
    assert result.err.splitlines()[-1] == f"1 problem(s) in {deployment.state / 'data' / 'appdocs'}"


def _a_file_not_a_directory(result: Result, _: Deployment) -> None:
    assert result.out.startswith("-"), "ls -ld shows a regular file"


def _data_dir_not_a_directory(result: Result, deployment: Deployment) -> None:
    data = deployment.state / "data"
    assert f"configuration error: AI_DIY_DATA_DIR: {data} is not a directory" in result.err.splitlines()
    assert "(held by a running AI-DIY service)" in result.err, "the running service's port is no problem here"


def _disk_and_log_files(result: Result, _: Deployment) -> None:
    assert "Filesystem" in result.out and "ai_diy_api_" in result.out and "ai_diy_security_" in result.out


def _log_sink(result: Result, _: Deployment) -> None:
    assert _json(result) == {"status": "ok", "dropped": {"queue_full": 0, "write_error": 0}}


def _last_lines(result: Result, _: Deployment) -> None:
    lines = result.json_lines()
    assert len(lines) == 5 and all(set(line) == {"timestamp", "message"} for line in lines)


def _archived(result: Result, deployment: Deployment) -> None:
    match = re.fullmatch(r"archived (\d+) log file\(s\) from (\S+) to (\S+)\n", result.out)
    assert match and int(match[1]) >= 3 and match[2] == str(deployment.logs)
    assert Path(match[3]).parent == deployment.backups and Path(match[3]).is_file()


def _rotated(result: Result, deployment: Deployment) -> None:
    assert _lines(result)[-1] == f"log rotation completed: 0 action(s) in {deployment.logs}"


def _degraded_component(result: Result, _: Deployment) -> None:
    assert _json(result)["rate_limiter"] == "degraded"


def _rate_limit_storage(result: Result, deployment: Deployment) -> None:
    report = _json(result)
    assert report["storage"] == "redis" and report["limit"] == "100/minute"
    assert report["healthy"] is ("redis" not in deployment.faults)


def _storage_errors(result: Result, _: Deployment) -> None:
    errors = result.json_lines()
    assert errors and all(set(entry) == {"timestamp", "details"} for entry in errors)


def _redis_unreachable(result: Result, deployment: Deployment) -> None:
    assert f"Could not connect to Redis at 127.0.0.1:{deployment.redis.port}" in result.out + result.err


def _recent_errors(result: Result, _: Deployment) -> None:
    messages = [entry["message"] for entry in result.json_lines()]
    assert "GET /api/data/status 503" in messages


def _failing_routes(result: Result, _: Deployment) -> None:
    assert _counts(result)["503 /api/data/status"] >= 7


def _resource_usage(result: Result, _: Deployment) -> None:
    usage = _json(result)
    assert usage["memory_mb"] > 0 and usage["threads"] > 0


def _average_ms(result: Result, _: Deployment) -> None:
    assert int(result.out) > 0


def _slower_than_5s(result: Result, _: Deployment) -> None:
    slow = {(entry["method"], entry["path"]): entry["duration_ms"] for entry in result.json_lines()}
    assert slow[("PUT", "/api/appdocs/slow.md")] > 5000 and ("PUT", "/api/appdocs/slowish.md") not in slow


def _process_line(result: Result, deployment: Deployment) -> None:
    header, line = _lines(result)
    assert header.split()[0] == "PID" and line.split()[0] == str(deployment.main_pid()) and "ai-diy" in line


def _slower_than_1s(result: Result, _: Deployment) -> None:
    slow = [entry for entry in result.json_lines() if entry["route"] == "/api/appdocs/{path:path}"]
    assert len(slow) >= 2 and all(entry["duration_ms"] > 1000 for entry in result.json_lines())


def _memory_over_time(result: Result, _: Deployment) -> None:
    lines = result.json_lines()
    assert len(lines) >= 2 and all(line["memory_mb"] > 0 for line in lines)


def _rss_three_times(result: Result, _: Deployment) -> None:
    values = [int(line) for line in _lines(result)]
    assert len(values) == 3 and min(values) > 0


def _routes_asked(result: Result, _: Deployment) -> None:
    counts = _counts(result)
    assert max(counts, key=counts.__getitem__) == "/api/env" and counts["/api/env"] >= 100


def _refused_clients(result: Result, _: Deployment) -> None:
    assert _lines(result)[0].split() == ["10", HAMMER]


def _events_by_type(result: Result, _: Deployment) -> None:
    counts = _counts(result)
    assert counts["rate_limit_exceeded"] == 10 and counts["auth_failure"] == 2 and counts["path_traversal_attempt"] >= 2
    assert {"suspicious_input", "request_too_large"} <= set(counts)


def _events_by_source(result: Result, _: Deployment) -> None:
    counts = _counts(result)
    assert _lines(result)[0].split() == ["10", HAMMER] and counts[PROBER] >= 4 and counts[USER] >= 2


def _events_last_hour(result: Result, _: Deployment) -> None:
    events = _json(result)
    assert events["rate_limit_exceeded"] == 10 and events["auth_failure"] == 2 and events["path_traversal_attempt"] >= 2


def _traversal_sources(result: Result, _: Deployment) -> None:
    assert _counts(result)[PROBER] >= 2 and HAMMER not in _counts(result)


def _traversal_details(result: Result, _: Deployment) -> None:
    details = [entry["details"] for entry in result.json_lines()]
    assert details and all(entry["client_ip"] == PROBER and entry["reason"] for entry in details)
    assert "../../etc/passwd" in {entry.get("requested") for entry in details}


def _no_traversal_served(result: Result, deployment: Deployment) -> None:
    assert result.out == ""
    # The same filter does print a traversal answered 200: it can fail.
    refused = next(
        line for line in deployment.log_lines() if line.get("event") == "http_request" and ".." in line.get("path", "")
    )
    served = deployment.root / "served.jsonl"
    served.write_text(json.dumps({**refused, "status_code": 200}) + "\n" + json.dumps({"event": "startup"}) + "\n")
    variant = deployment.run(result.command.replace('"$LOG"', str(served)), RUNBOOK)
    assert variant.code == 0 and json.loads(variant.out)["path"] == refused["path"], variant


def _rejected_input(result: Result, _: Deployment) -> None:
    events = {entry["event"] for entry in result.json_lines()}
    assert {"suspicious_input", "request_too_large", "path_traversal_attempt"} <= events


def _failed_logins(result: Result, _: Deployment) -> None:
    assert _lines(result) == [f"      2 {PROBER}"]


def _config_saved(result: Result, _: Deployment) -> None:
    assert re.fullmatch(r"configuration saved in config-backups/\d{8}T\d{6}Z(-\d+)?", _lines(result)[-1])


def _token_rotated(result: Result, deployment: Deployment) -> None:
    assert f"AI_DIY_ADMIN_TOKEN={TOKEN}\n" not in deployment.env_file.read_text()
    assert re.search(r"^AI_DIY_ADMIN_TOKEN=[\w-]{40,}$", deployment.env_file.read_text(), flags=re.MULTILINE)


def _configuration_valid(result: Result, _: Deployment) -> None:
    assert _lines(result)[-1] == "✅ configuration is valid"


def _restarted(result: Result, deployment: Deployment) -> None:
    assert result.out == "" and deployment.main_pid() > 0


CHECKS: dict[str, Check] = {
    "ai-diy runbook": Check(_runbook_list),
    "ai-diy runbook AiDiyServiceDown": Check(_runbook_section),
    """curl -s "$API/health" | jq -c '{status, checks: (.checks | map_values(.status))}'""": Check(_health_summary),
    """curl -s "$API/api/security/status" | jq -r .security_status""": Check(_security_active),
    'ai-diy check --url "$API"': Check(_daily_check),
    "systemctl status ai-diy": Check(_status_running),
    # AiDiyServiceDown: killed, and a bad setting keeps it from starting again.
    "journalctl -u ai-diy -n 100 --no-pager": Check(_journal_names_the_bad_setting),
    "ai-diy validate-config --env-file /etc/ai-diy/ai-diy.env": Check(_configuration_valid),
    """curl -fsS -o /dev/null "$API/health" && echo answering || echo "not answering\"""": Check(_not_answering),
    """jq -c 'select(.level=="ERROR" or .level=="CRITICAL") | {timestamp, logger, message}' "$LOG" | tail -n 20""": Check(
        _last_errors
    ),
    "ai-diy config rollback": Check(_rolled_back),
    "systemctl restart ai-diy": Check(_restarted),
    """curl -fsS --retry 10 --retry-connrefused --retry-delay 1 "$API/health" | jq -r .status""": Check(_healthy),
    # AiDiyTargetMissing, AiDiyMetricsMissing
    'promtool check config "$PROMETHEUS_CONFIG"': Check(_promtool_success),
    """curl -s "$PROM/api/v1/targets" | jq -c '.data.activeTargets[] | {job: .labels.job, health, lastError}'""": Check(
        _targets
    ),
    """curl -s -X POST -o /dev/null -w '%{http_code}\\n' "$PROM/-/reload\"""": Check(_reloaded),
    """curl -s "$API/metrics" | grep -E '^(ai_diy_build_info|http_server_request_duration_seconds_count)' | head -n 3""": Check(
        _own_metrics
    ),
    """curl -s "$PROM/api/v1/targets" | jq -r '.data.activeTargets[] | select(.labels.job=="ai-diy") | .scrapeUrl'""": Check(
        _scrape_url
    ),
    "grep -E '^AI_DIY_(PORT|METRICS_PORT|METRICS_HOST)=' /etc/ai-diy/ai-diy.env": Check(_ports),
    # AiDiyHealthCheckFailing (the data store broken), AiDiyLogLinesDropped
    """curl -s "$API/health" | jq -c '.checks | map_values(.status)'""": Check(_check_states),
    """curl -s "$API/health" | jq -c .checks.data_store""": Check(_data_store_detail),
    "ai-diy data validate": Check(_data_validate_fails, code=1),
    'ls -ld "$AI_DIY_DATA_DIR"': Check(_a_file_not_a_directory),
    'df -h "$AI_DIY_LOG_DIR" && ls -la "$AI_DIY_LOG_DIR"': Check(_disk_and_log_files),
    """curl -s "$API/health" | jq -c .checks.log_sink""": Check(_log_sink),
    """tail -n 5 "$LOG" | jq -c '{timestamp, message}'""": Check(_last_lines),
    'ai-diy logs archive -o "$BACKUPS/ai-diy-logs-$(date -u +%Y%m%d).tar.gz"': Check(_archived),
    "ai-diy logs rotate": Check(_rotated),
    # AiDiySecurityInactive (Redis down)
    """curl -s "$API/api/security/status" | jq -c '.report.components | map_values(.state)'""": Check(
        _degraded_component
    ),
    """curl -s "$API/api/security/status" | jq -c .report.rate_limit""": Check(_rate_limit_storage),
    """jq -c 'select(.event=="rate_limiter_storage_error") | {timestamp, details}' "$LOG" | tail -n 5""": Check(
        _storage_errors
    ),
    'redis-cli -u "$AI_DIY_RATE_LIMIT_STORAGE" ping': Check(_redis_unreachable, code=1),
    # AiDiyHighErrorRate
    """tail -n 50 "$LOG" | jq -c 'select(.status=="error") | {timestamp, message}'""": Check(_recent_errors),
    """jq -r 'select(.event=="http_request" and .status_code >= 500) | "\\(.status_code) \\(.route)"' "$LOG" | sort | uniq -c | sort -rn | head""": Check(
        _failing_routes
    ),
    """curl -s "$API/api/security/status" | jq -c .report.resource_usage""": Check(_resource_usage),
    # AiDiyHighResponseTime, AiDiyLatencyObjectiveMissed, AiDiyHighMemoryUsage, AiDiyCpuSaturated
    """jq -s 'map(select(.event=="http_request" and .route != "/health" and .route != "/metrics") | .duration_ms) | add / length | round' "$LOG\"""": Check(
        _average_ms
    ),
    """jq -c 'select(.event=="http_request" and .duration_ms > 5000) | {timestamp, method, path, duration_ms}' "$LOG" | tail -n 5""": Check(
        _slower_than_5s
    ),
    'ps -o pid,rss,pcpu,etime,cmd -p "$(systemctl show -p MainPID --value ai-diy)"': Check(_process_line),
    """jq -c 'select(.event=="http_request" and .duration_ms > 1000) | {timestamp, route, duration_ms}' "$LOG" | head -n 5""": Check(
        _slower_than_1s
    ),
    """jq -c 'select(.event=="resource_usage") | {timestamp, memory_mb}' "$LOG" | tail -n 10""": Check(
        _memory_over_time
    ),
    'for i in 1 2 3; do ps -o rss= -p "$(systemctl show -p MainPID --value ai-diy)"; sleep 2; done': Check(
        _rss_three_times
    ),
    'ps -o pid,pcpu,etime,cmd -p "$(systemctl show -p MainPID --value ai-diy)"': Check(_process_line),
    """jq -r 'select(.event=="http_request") | .route' "$LOG" | sort | uniq -c | sort -rn | head""": Check(
        _routes_asked
    ),
    # AiDiyRateLimitViolations, AiDiySecurityEventsUnusual, AiDiyPathTraversalAttempt, AiDiyInputValidationFailures
    """jq -r 'select(.event=="rate_limit_exceeded") | .details.client_ip' "$LOG" | sort | uniq -c | sort -rn | head""": Check(
        _refused_clients
    ),
    """grep SECURITY_AUDIT "$LOG" | jq -r .event | sort | uniq -c""": Check(_events_by_type),
    """grep SECURITY_AUDIT "$LOG" | jq -r .details.client_ip | sort | uniq -c | sort -rn | head""": Check(
        _events_by_source
    ),
    """curl -s "$API/api/security/status" | jq -c .report.events_last_hour""": Check(_events_last_hour),
    """grep path_traversal_attempt "$LOG" | jq -r .details.client_ip | sort | uniq -c""": Check(_traversal_sources),
    """grep path_traversal_attempt "$LOG" | jq -c '{timestamp, details}'""": Check(_traversal_details),
    """jq -c 'select(.event=="http_request" and .status_code == 200 and (.path | test("\\\\.\\\\.|%2e"; "i")))' "$LOG\"""": Check(
        _no_traversal_served
    ),
    """jq -c 'select(.event=="suspicious_input" or .event=="request_too_large" or .event=="path_traversal_attempt") | {event, details}' "$LOG" | tail -n 20""": Check(
        _rejected_input
    ),
    # AiDiyAuthFailures, and rotating the token
    """jq -r 'select(.event=="auth_failure") | .details.client_ip' "$LOG" | sort | uniq -c | sort -rn""": Check(
        _failed_logins
    ),
    "ai-diy config backup --env-file /etc/ai-diy/ai-diy.env": Check(_config_saved),
    """sed -i "s/^AI_DIY_ADMIN_TOKEN=.*/AI_DIY_ADMIN_TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')/" /etc/ai-diy/ai-diy.env""": Check(
        _token_rotated
    ),
}
FOLLOWS = {"""tail -f "$LOG" | jq --unbuffered -c 'select(.logger=="ai_diy.security") | {event, details}'"""}
# Where one command prints differently in another section's situation.
SITUATIONS = {
    ("AiDiyServiceDown", "systemctl status ai-diy"): Check(_status_failed_at_start, code=3),
    ("AiDiyServiceDown", "ai-diy validate-config --env-file /etc/ai-diy/ai-diy.env"): Check(
        _validate_config_names_the_bad_setting, code=2
    ),
    ("AiDiyHealthCheckFailing", "ai-diy validate-config --env-file /etc/ai-diy/ai-diy.env"): Check(
        _data_dir_not_a_directory, code=2
    ),
}


def _run_section(deployment: Deployment, title: str, *, between: dict[int, Callable[[], None]] | None = None) -> None:
    """Every block of the section, with `between[i]()` called before block i."""
    for number, block in enumerate(section(RUNBOOK, title)):
        if between and number in between:
            between[number]()
        checks = {s.text: SITUATIONS.get((title, s.text), CHECKS.get(s.text)) for s in block}
        run_checked(deployment, RUNBOOK, block, checks)


# -- the documents themselves ---------------------------------------------------------


def test_runbook_every_command_has_a_check() -> None:
    documented = {snippet.text for snippet in markdown.commands(RUNBOOK)}
    assert documented == set(CHECKS) | FOLLOWS


def test_runbook_commands_named_in_prose_are_tested_commands() -> None:
    tested = {tuple(snippet.text.split()[:2]) for snippet in markdown.commands(RUNBOOK)}
    named = {tuple(command.split()[:2]) for command in markdown.inline_commands(RUNBOOK)}
    assert named and named <= tested


def _group(pattern: str, text: str) -> str:
    """The first group of the line that matches `pattern`."""
    match = re.search(pattern, text, flags=re.MULTILINE)
    assert match, f"no line matches {pattern!r}"
    return match[1]


def test_runbook_set_up_is_the_systemd_units_environment() -> None:
    unit = UNIT.read_text()
    setup = markdown.setup(RUNBOOK)
    working_directory = _group(r"^WorkingDirectory=(.+)$", unit)
    environment = dict(line.split("=", 1) for line in re.findall(r"^Environment=(.+)$", unit, flags=re.MULTILINE))
    (environment_file,) = re.findall(r"^EnvironmentFile=-?(.+)$", unit, flags=re.MULTILINE)
    executable = _group(r"^ExecStart=(\S+)", unit)
    assert f"cd {working_directory} " in setup
    assert f'export PATH="{Path(executable).parent}:$PATH"' in setup
    exported = _group(r"^export (AI_DIY_\S+=\S+(?: AI_DIY_\S+=\S+)*)", setup)
    assert dict(pair.split("=", 1) for pair in exported.split()) == environment
    assert f"set -a; . {environment_file}; set +a" in setup
    assert setup.index(". /etc/ai-diy/ai-diy.env") > setup.index("export AI_DIY_"), "the file overrides Environment="


# -- the commands, in the situations their sections describe ---------------------------


def test_runbook_intro_and_first_steps_on_a_healthy_service(deployment: Deployment) -> None:
    assert deployment.traffic_seen["server_errors"] == [503] * 5 and deployment.traffic_seen["hammer"].count(429) == 10
    _run_section(deployment, "")
    _run_section(deployment, "First steps for any alert")


def test_runbook_prometheus_sections(deployment: Deployment) -> None:
    _run_section(deployment, "AiDiyTargetMissing")
    _run_section(deployment, "AiDiyMetricsMissing")


def test_runbook_health_check_failing_with_the_data_store_broken(deployment: Deployment) -> None:
    with deployment.data_store_fault():
        wait_for(lambda: httpx.get(f"{deployment.api}/health", timeout=5).status_code == 503, timeout=10, what="503")
        _run_section(deployment, "AiDiyHealthCheckFailing")


def test_runbook_log_lines_dropped(deployment: Deployment) -> None:
    _run_section(deployment, "AiDiyLogLinesDropped")


def test_runbook_security_inactive_with_redis_down(deployment: Deployment) -> None:
    deployment.redis.kill()
    deployment.faults.add("redis")
    httpx.get(f"{deployment.api}/api/env", headers={"X-Forwarded-For": USER}, timeout=5)  # finds the storage gone

    def redis_back() -> None:
        deployment.redis.start()
        deployment.faults.discard("redis")

    _run_section(deployment, "AiDiySecurityInactive", between={1: redis_back})


def _logged(deployment: Deployment, message: str) -> int:
    return sum(line.get("message") == message for line in deployment.log_lines())


def test_runbook_error_rate_after_fresh_server_errors(deployment: Deployment) -> None:
    # Counted before the requests, by their own message: other tests' 503s (a broken data
    # store answers /health with 503 too) must not satisfy the wait below.
    fresh = "GET /api/data/status 503"
    before = _logged(deployment, fresh)
    with deployment.data_store_fault(), httpx.Client(base_url=deployment.api, timeout=5) as client:
        assert [client.get("/api/data/status", headers={"X-Forwarded-For": USER}).status_code for _ in range(2)] == [
            503,
            503,
        ]
    # The access lines are written in batches after the responses: wait for these two.
    wait_for(lambda: _logged(deployment, fresh) >= before + 2, timeout=15, what="the fresh 503s' access lines")
    _run_section(deployment, "AiDiyHighErrorRate")


@pytest.mark.parametrize(
    "title",
    [
        "AiDiyHighResponseTime",
        "AiDiyLatencyObjectiveMissed",
        "AiDiyHighMemoryUsage",
        "AiDiyCpuSaturated",
        "AiDiyRateLimitViolations",
    ],
)
def test_runbook_load_sections(deployment: Deployment, title: str) -> None:
    _run_section(deployment, title)


def test_runbook_security_events_and_following_them(deployment: Deployment) -> None:
    (follow,) = FOLLOWS
    probe = "/api/appdocs/..%2ffollowed"
    result = deployment.follow(
        follow,
        RUNBOOK,
        during=lambda: httpx.get(f"{deployment.api}{probe}", headers={"X-Forwarded-For": PROBER}, timeout=5),
    )
    assert result.code in (-signal.SIGINT, 128 + signal.SIGINT), result  # ended by Ctrl-C, as the comment says
    followed = result.json_lines()
    assert {"event": "path_traversal_attempt"} in [{"event": entry["event"]} for entry in followed]
    assert all(entry["details"]["client_ip"] for entry in followed)
    blocks = section(RUNBOOK, "AiDiySecurityEventsUnusual")
    run_checked(deployment, RUNBOOK, [s for block in blocks for s in block if s.text not in FOLLOWS], CHECKS)


@pytest.mark.parametrize("title", ["AiDiyPathTraversalAttempt", "AiDiyInputValidationFailures"])
def test_runbook_input_sections(deployment: Deployment, title: str) -> None:
    _run_section(deployment, title)


def test_runbook_promql_queries_evaluate_in_prometheus(deployment: Deployment) -> None:
    queries = markdown.queries(RUNBOOK)
    assert len(queries) > 15
    only_during_an_incident = {'ai_diy_health_status{job="ai-diy"} == 0'}

    def answers() -> dict[str, dict[str, Any]]:
        return {query.text: deployment.query(query.text) for query in queries}

    def all_have_data() -> dict[str, dict[str, Any]] | None:
        found = answers()
        empty = [
            q
            for q, a in found.items()
            if a["status"] == "success" and not a["data"]["result"] and q not in only_during_an_incident
        ]
        return None if empty else found

    try:
        found = wait_for(all_have_data, timeout=45, interval=1, what="every runbook query answered with data")
    except TimeoutError:
        found = answers()
    assert {q: a.get("error") for q, a in found.items() if a["status"] != "success"} == {}
    assert [q for q, a in found.items() if not a["data"]["result"] and q not in only_during_an_incident] == []


# Restarting sections last: a restart clears the service's in-memory counts.


def test_runbook_service_down_killed_with_a_bad_setting(deployment: Deployment) -> None:
    saved = deployment.run("ai-diy config backup --env-file /etc/ai-diy/ai-diy.env", RUNBOOK)
    assert saved.code == 0, saved
    with deployment.env_file.open("a") as env:
        env.write("AI_DIY_RATE_LIMIT=often\n")
    os.kill(deployment.main_pid(), signal.SIGKILL)  # the crash
    wait_for(lambda: deployment.main_pid() == 0, timeout=10, what="service gone")
    assert deployment.systemctl("restart", "ai-diy").returncode == 1, "ExecStartPre refuses the bad setting"
    _run_section(deployment, "AiDiyServiceDown")
    assert httpx.get(f"{deployment.api}/health", timeout=5).json()["status"] == "healthy"


def test_runbook_auth_failures_and_token_rotation(deployment: Deployment) -> None:
    _run_section(deployment, "AiDiyAuthFailures")
    wait_for(lambda: httpx.get(f"{deployment.api}/health", timeout=5).status_code == 200, timeout=30, what="restarted")
    old = httpx.put(
        f"{deployment.api}/api/appdocs/after.md", content=b"x", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    assert old.status_code == 401, "the old token stops working with the restart"


def test_runbook_every_section_with_commands_is_run() -> None:
    run_here = {
        "",
        "First steps for any alert",
        "AiDiyTargetMissing",
        "AiDiyMetricsMissing",
        "AiDiyHealthCheckFailing",
        "AiDiyLogLinesDropped",
        "AiDiySecurityInactive",
        "AiDiyHighErrorRate",
        "AiDiyHighResponseTime",
        "AiDiyLatencyObjectiveMissed",
        "AiDiyHighMemoryUsage",
        "AiDiyCpuSaturated",
        "AiDiyRateLimitViolations",
        "AiDiySecurityEventsUnusual",
        "AiDiyPathTraversalAttempt",
        "AiDiyInputValidationFailures",
        "AiDiyServiceDown",
        "AiDiyAuthFailures",
    }
    assert {snippet.section for snippet in markdown.commands(RUNBOOK)} == run_here
