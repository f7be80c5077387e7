"""The image's own pip commands, run here: the wheel builds offline, and pip installs it only with its hash.

The build stage's RUN line (deploy/Dockerfile) runs as written, with /wheels moved to a
temporary directory, in a copy of what the image build copies; the runtime stage's
install of that wheel then runs with --dry-run, as is and after the wheel is altered.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import ROOT

pytestmark = pytest.mark.integration

DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def _runs() -> list[str]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    return [line.strip()[4:] for line in text.splitlines() if line.startswith("RUN ")]


def _context(target: Path) -> Path:
    """What the build stage copies, into `target` (the locks aside: the build reads none)."""
    target.mkdir(parents=True)
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            for source in line.split()[1:-1]:
                path = ROOT / source
                if path.is_dir():
                    shutil.copytree(path, target / source, ignore=shutil.ignore_patterns("__pycache__"))
                elif not source.endswith(".lock"):
                    shutil.copy2(path, target / source)
    return target


def _shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash")
    assert bash
    # `pip` is this interpreter's, as it is the image's own in the image.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [bash, "-euo", "pipefail", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """/wheels as the build stage leaves it: the wheel and the requirement line naming it with its hash."""
    work = tmp_path_factory.mktemp("image")
    context = _context(work / "context")
    (build,) = [run for run in _runs() if "pip wheel" in run]
    done = _shell(build.replace("/wheels", str(work / "wheels")), cwd=context)
    assert done.returncode == 0, done.stdout + done.stderr
    return work / "wheels"


def _install_command(wheels: Path) -> str:
    (install,) = [run for run in _runs() if "-r /wheels/ai-diy.lock" in run]
    pip_part = install.split("&&")[0]
    return pip_part.replace("/wheels", str(wheels)) + " --dry-run --ignore-installed"


def test_image_build_stage_makes_the_wheel_and_names_its_hash(wheels: Path) -> None:
    (wheel,) = wheels.glob("ai_diy-*.whl")
    line = (wheels / "ai-diy.lock").read_text().strip()
    assert re.fullmatch(rf"{re.escape(str(wheel))} --hash=sha256:[0-9a-f]{{64}}", line), line


def test_image_installs_the_wheel_in_hash_checking_mode(wheels: Path) -> None:
    done = _shell(_install_command(wheels), cwd=wheels)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Would install ai-diy-" in done.stdout


def test_image_install_refuses_a_wheel_that_is_not_the_one_built(wheels: Path, tmp_path: Path) -> None:
    altered = tmp_path / "wheels"
    shutil.copytree(wheels, altered)
    (wheel,) = altered.glob("ai_diy-*.whl")
    with wheel.open("ab") as handle:
        handle.write(b"\0")
    lock = altered / "ai-diy.lock"
    lock.write_text(lock.read_text().replace(str(wheels), str(altered)))
    done = _shell(_install_command(altered), cwd=altered)
    assert done.returncode != 0
    assert "DO NOT MATCH THE HASHES" in done.stdout + done.stderr
