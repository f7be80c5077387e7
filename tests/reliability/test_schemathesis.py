"""Property-based requests from /openapi.json against the real server (the schemathesis CLI).

One bounded run with every check; one test reads it for server errors, the other for
any failure at all (status codes, content types, Allow headers, response schemas).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import running_service

pytestmark = pytest.mark.integration

TOKEN = "reliability-token"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
SEED = "20260101"
BUDGETS = [
    pytest.param((20, 30), id="30s"),
    pytest.param((300, 300), id="300s", marks=pytest.mark.heavy),
]


# Two rules OpenAPI cannot tie to a request's values: PUT bodies must parse as JSON
# when the document path ends in .json, and If-Match / If-None-Match succeed only
# for the document's current ETag (a 412 otherwise, whatever well-formed tag is
# sent). /api/appdocs/{path} (GET, PUT, DELETE) is fuzzed with every check but the
# one that treats a 4xx for a schema-valid request as a failure; every other
# operation gets every check.
# A third pass sends schema-valid data only to /api/appdocs/{path}: malformed values
# dominate the mixed pass, and the conditions must also be judged (412), not only refused (400).
PASSES = [
    ("--exclude-path", "/api/appdocs/{path}"),
    ("--include-path", "/api/appdocs/{path}", "--exclude-checks", "positive_data_acceptance"),
    ("--include-path", "/api/appdocs/{path}", "--exclude-checks", "positive_data_acceptance", "--mode", "positive"),
]


@dataclass(frozen=True)
class Run:
    """The bounded `schemathesis run` passes: worst exit code, joined output, every exchange (HAR entries)."""

    code: int
    output: str
    exchanges: list[dict[str, Any]]


@pytest.fixture(scope="module", params=BUDGETS)
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The bounded `schemathesis run` passes against a real server."""
    examples, max_time = request.param
    root = tmp_path_factory.mktemp("schemathesis")
    codes, outputs, exchanges = [], [], []
    # Writes enabled (bearer token) so PUT and DELETE are explored; limits out of the way.
    with running_service(root, AI_DIY_ADMIN_TOKEN=TOKEN, AI_DIY_RATE_LIMIT="1000000/minute") as (proc, base):
        for number, selection in enumerate(PASSES):
            har = root / f"pass-{number}.har"
            result = subprocess.run(
                [
                    str(SCHEMATHESIS),
                    "run",
                    f"{base}/openapi.json",
                    "--checks",
                    "all",
                    *selection,
                    "--max-examples",
                    str(examples),
                    "--max-time",
                    str(max_time // len(PASSES)),
                    "--seed",
                    SEED,
                    "--workers",
                    "2",
                    "--request-timeout",
                    "10",
                    "-H",
                    f"Authorization: Bearer {TOKEN}",
                    "--report",
                    "har",
                    "--report-har-path",
                    str(har),
                ],
                capture_output=True,
                text=True,
                cwd=root,
                timeout=max_time + 120,
                env=dict(os.environ),
                check=False,
            )
            assert proc.popen.poll() is None, "the server died under schemathesis:\n" + proc.output()[-3000:]
            output = result.stdout + result.stderr
            assert "Loaded specification" in output, output[-3000:]
            codes.append(result.returncode)
            outputs.append(output)
            exchanges += json.loads(har.read_text())["log"]["entries"]
    return Run(max(codes), "\n".join(outputs), exchanges)


def test_schemathesis_no_server_error(run: Run) -> None:
    assert "Server error" not in run.output, run.output[-6000:]
    # 1: failures found (judged below); anything else: the run broke
    assert run.code in (0, 1), run.output[-6000:]
    assert all(entry["response"]["status"] < 500 for entry in run.exchanges)


def test_schemathesis_responses_conform_to_the_schema(run: Run) -> None:
    assert run.code == 0, run.output[-6000:]


@pytest.mark.parametrize("header", ["if-match", "if-none-match"])
def test_schemathesis_exercises_the_conditional_request_headers(run: Run, header: str) -> None:
    """The header reaches /api/appdocs/{path} well-formed and malformed; some conditions are judged (412)."""
    answers = [
        entry["response"]["status"]
        for entry in run.exchanges
        if "/api/appdocs/" in entry["request"]["url"]
        and any(h["name"].lower() == header for h in entry["request"]["headers"])
    ]
    assert 400 in answers, "no malformed value was sent"
    assert set(answers) - {400}, "no well-formed value was sent"
    assert 412 in [entry["response"]["status"] for entry in run.exchanges]
