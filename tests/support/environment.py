"""The variables that configure the service, and a fixture that keeps the caller's out of a test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def is_service_setting(name: str) -> bool:
    """AI_DIY_*, OTEL_* and LOG_LEVEL: what the service reads from its environment."""
    return name.startswith(("AI_DIY_", "OTEL_")) or name == "LOG_LEVEL"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No service settings from the caller's shell, and no stray .env (the test runs in tmp_path)."""
    for name in list(os.environ):
        if is_service_setting(name):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
