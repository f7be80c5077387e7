"""The runbook's log commands (jq, grep, find) against a real server's JSONL file."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.binaries import require
from tests.support.net import wait_for

from .conftest import hypercorn_server

pytestmark = pytest.mark.integration


def shell(command: str, cwd: Path) -> str:
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_runbook_log_commands_on_real_log_file(tmp_path: Path) -> None:
    require("jq")
    logs = tmp_path / "logs"
    today = f"logs/ai_diy_api_{time.strftime('%Y%m%d', time.gmtime())}.jsonl"
    with hypercorn_server(tmp_path, OBS_TEST_LOG_DIR=str(logs), OBS_TEST_RESOURCE_INTERVAL="0.2") as (_, base):
        with httpx.Client(base_url=base, timeout=30) as http:
            assert http.get("/").status_code == 200
            assert http.get("/boom").status_code == 500
            assert http.get("/no/such/page").status_code == 404
            assert http.get("/api/appdocs/..%2f..%2fetc/passwd").status_code == 400
            assert http.get("/slow", params={"s": "5.1"}).status_code == 200

        def written() -> bool:
            text = (tmp_path / today).read_text()
            return text.count('"event":"http_request"') == 5 and "memory_mb" in text

        wait_for(written, timeout=15, what="access and resource lines written")

    # tail -f ... | jq 'select(.logger=="ai_diy.security")'
    security = [
        json.loads(line)
        for line in shell(f"jq -c 'select(.logger==\"ai_diy.security\")' {today}", tmp_path).splitlines()
    ]
    assert [entry["event"] for entry in security] == ["path_traversal_attempt"]
    assert security[0]["message"].startswith("SECURITY_AUDIT")

    # tail -n 50 ... | grep '"status":"error"'
    errors = [
        json.loads(line) for line in shell(f'tail -n 50 {today} | grep \'"status":"error"\'', tmp_path).splitlines()
    ]
    assert sorted(entry.get("status_code", entry.get("event")) for entry in errors if "status_code" in entry) == [
        400,
        404,
        500,
    ]
    assert [entry["event"] for entry in errors if "status_code" not in entry] == ["path_traversal_attempt"]

    # jq '.duration_ms' | awk '{sum+=$1; count++} END {print "Avg response time:", sum/count, "ms"}'
    durations = [json.loads(v) for v in shell(f"jq '.duration_ms' {today}", tmp_path).split()]
    measured = [value for value in durations if value is not None]
    assert len(measured) == 5 and max(measured) > 5000
    average = shell(
        (
            f"jq '.duration_ms' {today} | awk '{{sum+=$1; count++}} END "
            f'{{print "Avg response time:", sum/count, "ms"}}\''
        ),
        tmp_path,
    )
    assert average.startswith("Avg response time: ") and float(average.split()[3]) > 0

    # grep "duration_ms" ... | jq 'select(.duration_ms > 5000)'
    slow = [
        json.loads(line)
        for line in shell(f"grep duration_ms {today} | jq -c 'select(.duration_ms > 5000)'", tmp_path).splitlines()
    ]
    assert [(entry["route"], entry["path"]) for entry in slow] == [("/slow", "/slow")]

    # grep "path_traversal_attempt" ... | jq '.details.client_ip'
    assert shell(f"grep path_traversal_attempt {today} | jq '.details.client_ip'", tmp_path).split() == ['"127.0.0.1"']

    # grep "memory_mb" ... | tail -10
    usage = [json.loads(line) for line in shell(f"grep memory_mb {today} | tail -10", tmp_path).splitlines()]
    assert usage and all(entry["event"] == "resource_usage" and entry["memory_mb"] > 0 for entry in usage)

    # find logs/ -name "*.jsonl" -mtime -1 -exec grep -l "ERROR" {} \;
    assert shell('find logs/ -name "*.jsonl" -mtime -1 -exec grep -l "ERROR" {} \\;', tmp_path).split() == [today]

    # Security events also have their own daily file.
    security_file = today.replace("ai_diy_api_", "ai_diy_security_")
    assert shell(f"jq -r '.event' {security_file}", tmp_path).split() == ["path_traversal_attempt"]
