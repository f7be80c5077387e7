"""Unit tests run in this process: one that starts a process is an integration test."""

from __future__ import annotations

import subprocess

import pytest


@pytest.fixture(autouse=True)
def no_processes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail a unit test that starts a process, unless it carries the `integration` marker."""
    if request.node.get_closest_marker("integration") is not None:
        return

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(
            f"{request.node.nodeid} starts a process ({args[0] if args else kwargs.get('args')!r}): "
            "move it to tests/integration/ or mark it @pytest.mark.integration"
        )

    monkeypatch.setattr(subprocess, "Popen", refuse)
