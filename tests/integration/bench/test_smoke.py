"""The benchmark harness runs end to end in smoke mode and reports every variant.

These tests check that the harness works (numbers exist, no request was refused or
answered wrongly), never how fast anything is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.server import cpu_plan
from bench.variants import CORE, EXTRAS, available
from tests.support.binaries import require
from tests.support.processes import ROOT, service_env

pytestmark = pytest.mark.integration

TIMEOUT = 240


def _run_bench(tmp_path: Path, modes: str) -> dict[str, Any]:
    out = tmp_path / "results.json"
    env = service_env(tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--smoke",
            "--modes",
            modes,
            "--json",
            str(out),
            "--workspace",
            str(tmp_path / "ws"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    answer: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return answer


def _expected_variants() -> list[str]:
    names, _ = available(CORE + EXTRAS)
    return names


def test_inprocess_smoke_reports_every_variant(tmp_path: Path) -> None:
    results = _run_bench(tmp_path, "inprocess,scrape,profile")
    expected = _expected_variants()
    assert list(results["inprocess"]) == expected
    for name, row in results["inprocess"].items():
        assert row["samples_us"] and all(s > 0 for s in row["samples_us"]), name
        assert row["min_us"] <= row["median_us"] <= row["max_us"], name
        assert row["unexpected_statuses"] == 0, (name, row["statuses"])
        assert set(row["statuses"]) == {"200"}, (name, row["statuses"])
    assert results["inprocess"]["bare"]["ratio_to_bare"] == 1.0
    # Every variant that serves /metrics was scraped and the answer holds the request series.
    assert "metrics" in results["scrape"]
    for name, row in results["scrape"].items():
        assert row["bytes"] > 0 and row["series"] > 0 and row["median_ms"] > 0, name
    assert results["profile"]["layers"], "the profile attributed no time"
    assert results["mix"], "no request mix derived from the routes"


def test_server_smoke_reports_every_variant(tmp_path: Path) -> None:
    require("wrk")
    results = _run_bench(tmp_path, "server")
    expected = _expected_variants()
    assert list(results["server"]) == expected
    for name, row in results["server"].items():
        assert row["requests"] > 0 and row["median_rps"] > 0, name
        # The rate limit (100/minute per client) stays on: spreading clients means nothing is refused.
        assert row["failed"] == 0, (name, row)
        assert row["rss_mib"] > 0, name
        assert row["cpu_us_per_request"] > 0 and len(row["rounds_cpu_us"]) == len(row["rounds_rps"]), name
    assert results["pinning"] == cpu_plan(pin=True).describe()
    expected_budgets = {
        "hypercorn, all routes: full stack req/s / bare req/s",
        "hypercorn: full stack RSS - bare RSS (MiB)",
    }
    if "peer_stack" in results["server"]:  # the peers come with the bench extra only
        expected_budgets.add(
            "hypercorn, all routes: full stack req/s / peer stack (starlette-exporter + OTel ASGI) req/s"
        )
    assert {b["budget"] for b in results["budgets"]} >= expected_budgets
