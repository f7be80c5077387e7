"""What the service and the commands write by default in a checkout stays out of `git status`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from service.cli.config import DEFAULT_DIR as CONFIG_BACKUPS
from service.settings import Settings
from tests.support.processes import ROOT

# Runs git.
pytestmark = pytest.mark.integration


def default_outputs() -> list[Path]:
    """Every default location written relative to the working directory, read from the code that writes it."""
    settings = Settings.model_fields
    return [settings["log_dir"].default, settings["data_dir"].default, CONFIG_BACKUPS]


def _ignored(tmp_path: Path, paths: list[str]) -> set[str]:
    """The paths git ignores under the checkout's .gitignore, asked of git itself in a scratch repository."""
    git = shutil.which("git")
    assert git, "git is not installed"
    subprocess.run([git, "init", "-q", str(tmp_path)], check=True, timeout=30)
    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    found = subprocess.run(
        [git, "check-ignore", "--no-index", *paths],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert found.returncode in (0, 1), found.stderr  # 1: none ignored
    return set(found.stdout.splitlines())


def test_checkout_outputs_every_default_folder_is_ignored(tmp_path: Path) -> None:
    # A file inside each: git ignores a folder's content through its pattern.
    inside = [f"{folder.as_posix()}/some-file" for folder in default_outputs()]
    assert {"logs/some-file", "data/some-file", "config-backups/some-file"} <= set(inside)
    assert _ignored(tmp_path, [*inside, ".env", "service/app.py", "docs/operations.md"]) == {*inside, ".env"}
