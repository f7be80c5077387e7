"""observability/ is a reusable layer: it knows nothing of the service that uses it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import observability

PACKAGE = Path(observability.__file__).parent


@pytest.mark.integration
def test_observability_imports_without_loading_the_service() -> None:
    code = (
        "import sys, observability, observability.request_tracing, observability.redaction; print(sorted(m for m in "
        "sys.modules if m == 'service' or m.startswith('service.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE.parent
    )
    assert result.stdout.strip() == "[]"


def test_observability_source_names_no_service() -> None:
    named = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.glob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"ai[_-]diy", line, re.IGNORECASE)
    ]
    assert named == []
