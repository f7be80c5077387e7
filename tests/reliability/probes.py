"""Reading a running service from the outside: HTTP GETs, /metrics, the JSONL log, RSS."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil
from prometheus_client.parser import text_string_to_metric_families

DURATION = "http_server_request_duration_seconds"


def get(url: str, headers: dict[str, str] | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    """Status and body of a GET (HTTP errors are answers too)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def get_json(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    status, body = get(url, headers)
    return status, json.loads(body)


def samples(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics keyed by (name, sorted labels)."""
    status, body = get(f"{base}/metrics")
    assert status == 200, body[:200]
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def metric_sum(data: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **match: str) -> float:
    """Sum of the samples called `name` whose labels include `match`."""
    total = 0.0
    for (sample_name, labels), value in data.items():
        if sample_name == name and all(dict(labels).get(k) == v for k, v in match.items()):
            total += value
    return total


def requests_counted(
    data: dict[tuple[str, tuple[tuple[str, str], ...]], float], *, exclude_route: str = "/metrics"
) -> int:
    """Requests in the duration histogram (sum of `_count` over series), except one route."""
    total = 0.0
    for (name, labels), value in data.items():
        if name == f"{DURATION}_count" and dict(labels).get("http_route") != exclude_route:
            total += value
    return int(total)


def rss(pid: int) -> int:
    """Resident set size of the process, bytes."""
    return psutil.Process(pid).memory_info().rss


def log_file(log_dir: Path, prefix: str = "ai_diy_api") -> Path:
    """Today's (UTC) daily JSONL file of the service."""
    return log_dir / f"{prefix}_{time.strftime('%Y%m%d', time.gmtime())}.jsonl"


def log_records(log_dir: Path, prefix: str = "ai_diy_api") -> list[dict[str, Any]]:
    """Every line of today's log file, parsed; a line that is not a JSON object fails the test."""
    path = log_file(log_dir, prefix)
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_bytes().split(b"\n"), 1):
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise AssertionError(f"{path.name}:{number} is not JSON ({exc}): {line[:300]!r}") from None
        assert isinstance(record, dict), f"{path.name}:{number} is not a JSON object: {line[:300]!r}"
        records.append(record)
    return records


def access_records(log_dir: Path) -> list[dict[str, Any]]:
    """The access lines (`logger: ai_diy.api`, `event: http_request`) of today's log."""
    return [r for r in log_records(log_dir) if r.get("logger") == "ai_diy.api" and r.get("event") == "http_request"]


def server_errors(output: str, log_dir: Path) -> list[str]:
    """ERROR/CRITICAL lines or tracebacks in the server's stderr and JSONL log."""
    found = [line for line in output.splitlines() if "Traceback" in line]
    for line in output.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("level") in ("ERROR", "CRITICAL"):
            found.append(line)
    found += [json.dumps(r) for r in log_records(log_dir) if r.get("level") in ("ERROR", "CRITICAL")]
    return found
