from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """No AI_DIY_/LOG_LEVEL variables from the caller's shell, and no stray .env."""
    import os

    for name in list(os.environ):
        if name.startswith(("AI_DIY_", "OTEL_")) or name == "LOG_LEVEL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
