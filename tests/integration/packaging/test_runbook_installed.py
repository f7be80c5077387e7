"""The runbook ships inside the installed package: `ai-diy runbook` works from a built wheel, away from the repository.

The wheel is built from what the image build copies (deploy/Dockerfile's COPY lines),
installed with pip into an empty directory, and run from there with that directory
first on the path, so nothing can come from the repository's docs/.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import ROOT

pytestmark = pytest.mark.integration

DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def _image_sources() -> list[str]:
    """What the Dockerfile copies into the build: the distribution's files and nothing else."""
    sources = []
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:  # not what a stage copies from another
            sources += line.split()[1:-1]
    return sources


def _pip(*args: str, cwd: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package as pip installs it from its wheel, in a directory of its own."""
    work = tmp_path_factory.mktemp("wheel")
    context = work / "context"
    context.mkdir()
    for source in _image_sources():
        path = ROOT / source
        if path.is_dir():
            shutil.copytree(path, context / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (context / source).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, context / source)
    _pip("wheel", "--no-build-isolation", "--no-deps", "--no-index", "-q", "-w", str(work / "dist"), ".", cwd=context)
    (wheel,) = (work / "dist").glob("ai_diy-*.whl")
    _pip("install", "--no-deps", "--no-index", "-q", "--target", str(work / "site"), str(wheel), cwd=work)
    return work / "site"


def _ai_diy(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The installed copy goes first on the path; the test's own environment supplies the dependencies.
    program = (
        "import sys; sys.path.insert(0, sys.argv[1]); import service; "
        "assert service.__file__.startswith(sys.argv[1]), service.__file__; "
        "from service.cli import main; sys.exit(main(sys.argv[2:]))"
    )
    return subprocess.run(
        [sys.executable, "-c", program, str(site), *args],
        cwd=site.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_installed_package_holds_the_runbook(installed: Path) -> None:
    packaged = installed / "service" / "cli" / "runbook.md"
    assert packaged.read_text(encoding="utf-8") == (ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")


def test_installed_ai_diy_runbook_prints_a_section(installed: Path) -> None:
    result = _ai_diy(installed, "runbook", "AiDiyPathTraversalAttempt")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("### Before any command\n")
    assert "\n## AiDiyPathTraversalAttempt\n" in result.stdout
    assert re.findall(r"^## (\w+)$", result.stdout, flags=re.MULTILINE) == ["AiDiyPathTraversalAttempt"]


def test_installed_ai_diy_runbook_lists_alerts_and_refuses_unknown_ones(installed: Path) -> None:
    listed = _ai_diy(installed, "runbook")
    assert listed.returncode == 0 and "AiDiyServiceDown" in listed.stdout.split()
    unknown = _ai_diy(installed, "runbook", "NoSuchAlert")
    assert unknown.returncode == 2 and "no section for alert 'NoSuchAlert'" in unknown.stderr
