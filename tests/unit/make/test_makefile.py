"""The Makefile: a few lines per step on the terminal, pip's output in a log named on failure."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import ROOT

# Runs make (with stand-ins for python and pip).
pytestmark = pytest.mark.integration

# Stands in for the virtualenv's python: pip runs only print, `-c` snippets run for real.
FAKE_PYTHON = f"""#!/bin/sh
if [ "$1" = "-c" ]; then exec {sys.executable} "$@"; fi
echo "pip said: $*"
case "$*" in *"[test]"*) if [ -n "$FAKE_PIP_FAILS" ]; then echo "ERROR: no matching distribution"; exit 3; fi;; esac
exit 0
"""
# Stands in for `python3 -m venv DIR`: a virtualenv holding the fake python and a fake ai-diy.
FAKE_SYSTEM_PYTHON = """#!/bin/sh
[ "$1 $2" = "-m venv" ] || exit 64
mkdir -p "$3/bin"
cp "$(dirname "$0")/fake-venv-python" "$3/bin/python"
printf '#!/bin/sh\\necho "ai-diy $*"\\n' > "$3/bin/ai-diy"
chmod +x "$3/bin/python" "$3/bin/ai-diy"
"""


@pytest.fixture
def fakes(tmp_path: Path) -> Path:
    for name, text in {"fake-venv-python": FAKE_PYTHON, "fake-python3": FAKE_SYSTEM_PYTHON}.items():
        (tmp_path / name).write_text(text)
        (tmp_path / name).chmod(0o755)
    return tmp_path


def make(fakes: Path, *targets: str, **env: str) -> subprocess.CompletedProcess[str]:
    make_path = shutil.which("make")
    assert make_path, "make is not installed"
    venv = fakes / ".venv"
    return subprocess.run(
        [make_path, "--no-print-directory", f"VENV={venv}", f"PYTHON={fakes / 'fake-python3'}", *targets],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "MAKEFLAGS": "", **env},
    )


def test_make_setup_prints_one_line_per_step_and_logs_pip(fakes: Path) -> None:
    venv = fakes / ".venv"
    result = make(fakes, f"{venv}/.installed-test")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"creating {venv}",
        f"installing ai-diy (log: {venv}/install.log)",
        f"installing ai-diy[test] (log: {venv}/install.log)",
    ]
    assert result.stderr == ""
    log = (venv / "install.log").read_text()
    assert "pip said: -m pip install --upgrade pip" in log and "pip said: -m pip install -e .[test]" in log
    assert (venv / ".installed-run").exists() and (venv / ".installed-test").exists()


def test_make_setup_failure_names_the_log_and_leaves_setup_undone(fakes: Path) -> None:
    venv = fakes / ".venv"
    result = make(fakes, f"{venv}/.installed-test", FAKE_PIP_FAILS="1")
    assert result.returncode != 0
    assert "ERROR: no matching distribution" in result.stderr
    assert f"full output: {venv}/install.log" in result.stderr
    assert not (venv / ".installed-test").exists()
    # The next run tries again, and without recreating the virtualenv.
    again = make(fakes, f"{venv}/.installed-test")
    assert again.returncode == 0 and f"creating {venv}" not in again.stdout


def test_make_run_leaves_the_address_to_serve(fakes: Path) -> None:
    # serve announces the address once it listens there; make announcing it first would claim it too early.
    result = make(fakes, "run", AI_DIY_HOST="127.0.0.1", AI_DIY_PORT="8123")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "ai-diy serve"
    assert "serving on" not in result.stdout + result.stderr


def test_make_run_installs_the_runtime_dependencies_only(fakes: Path) -> None:
    venv = fakes / ".venv"
    result = make(fakes, "run")
    assert result.returncode == 0, result.stderr
    log = (venv / "install.log").read_text()
    assert "pip said: -m pip install -e ." in log.splitlines()
    assert "[test]" not in log and "[test]" not in result.stdout
    assert not (venv / ".installed-test").exists()


def test_make_test_adds_the_test_extra_to_a_run_setup(fakes: Path) -> None:
    venv = fakes / ".venv"
    assert make(fakes, f"{venv}/.installed-run").returncode == 0
    planned = make(fakes, "-n", "test").stdout
    assert "pip install -e '.[test]'" in planned
    assert "pip install -e . >>" not in planned, "the runtime setup is done already"


def test_make_test_lints_before_pytest(fakes: Path) -> None:
    venv = fakes / ".venv"
    assert make(fakes, f"{venv}/.installed-test").returncode == 0
    planned = make(fakes, "-n", "test").stdout.splitlines()
    pytest_at = next(i for i, line in enumerate(planned) if line.endswith("-m pytest"))
    lint = [f"{venv}/bin/ruff check .", f"{venv}/bin/ruff format --check .", f"{venv}/bin/mypy"]
    assert [planned.index(step) for step in lint] == sorted(planned.index(step) for step in lint)
    assert all(planned.index(step) < pytest_at for step in lint)


def test_make_test_installs_the_debian_tools_before_pytest(fakes: Path) -> None:
    venv = fakes / ".venv"
    assert make(fakes, f"{venv}/.installed-test").returncode == 0
    planned = make(fakes, "-n", "test").stdout.splitlines()
    assert planned.index("./scripts/install-system-deps") < next(
        i for i, line in enumerate(planned) if line.endswith("-m pytest")
    )
