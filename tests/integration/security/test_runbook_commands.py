"""The runbook's own shell commands against a real hypercorn."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.security.conftest import serve_stack

pytestmark = pytest.mark.integration


def _curl() -> str:
    path = shutil.which("curl")
    if path is None:
        pytest.fail("curl is required for the runbook command tests (Debian: apt-get install curl)")
    return path


def test_security_headers_runbook_curl_grep_prints_all_three(tmp_path: Path, docs_root: Path) -> None:
    _curl()
    with serve_stack(tmp_path, SEC_DOCS_ROOT=str(docs_root)) as base:
        port = base.rsplit(":", 1)[1]
        command = (
            f"curl -I http://localhost:{port}/ | grep -E "
            '"(X-Frame-Options|X-Content-Type-Options|Strict-Transport-Security)"'
        )
        result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30, check=True)
        raw = subprocess.run(
            ["curl", "-sI", f"http://localhost:{port}/"], capture_output=True, text=True, timeout=30, check=True
        )
    lines = result.stdout.splitlines()
    assert any(line.startswith("X-Frame-Options: DENY") for line in lines)
    assert any(line.startswith("X-Content-Type-Options: nosniff") for line in lines)
    assert any(line.startswith("Strict-Transport-Security: max-age=31536000") for line in lines)
    assert not any(line.lower().startswith("server:") for line in raw.stdout.splitlines())


def test_rate_limit_runbook_loop_against_hypercorn(tmp_path: Path, docs_root: Path) -> None:
    _curl()
    with serve_stack(tmp_path, SEC_DOCS_ROOT=str(docs_root), SEC_LIMIT="100/minute") as base:
        # The runbook loop, printing each status instead of discarding it.
        command = f'for i in {{1..110}}; do curl -s -o /dev/null -w "%{{http_code}}\\n" {base}/api/env; done'
        result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.split() == ["200"] * 100 + ["429"] * 10
