"""scripts/install-system-deps against a stand-in apt-get: only what is missing, nothing upgraded or enabled."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.processes import ROOT

# Runs the script (bash) with stand-ins for apt-get and id.
pytestmark = pytest.mark.integration

SCRIPT = ROOT / "scripts" / "install-system-deps"
# What the script and the stand-ins run; every other command is absent from their PATH.
TOOLS = ("bash", "sh", "find", "sort", "comm", "xargs", "rm", "tee", "chmod", "tail", "sed", "seq", "mkdir", "ln")
BINARIES = (
    "prometheus",
    "promtool",
    "prometheus-alertmanager",
    "amtool",
    "redis-server",
    "redis-cli",
    "redis-sentinel",
    "wrk",
    "jq",
    "curl",
    "systemd-analyze",
)
# Records its arguments; like the maintainer scripts of Debian's redis-sentinel, enables
# the service at boot (a link in multi-user.target.wants) and prints a page of dpkg output.
FAKE_APT_GET = """#!/bin/bash
echo "$*" >> "$FAKE_APT_CALLS"
if [ "$1" = install ] && [[ " $* " == *" --simulate "* ]]; then
  for package in $FAKE_APT_UPGRADES; do echo "Inst $package [1.0-1] (1.0-2 Debian:12/stable [amd64])"; done
  for package in "$@"; do
    [[ $package == -* || $package == install ]] || echo "Inst $package (2.0-1 Debian:12/stable [amd64])"
  done
  exit 0
fi
if [ "$1" = install ]; then
  [ -x "$POLICY_RC_D" ] && echo "policy-rc.d present" >> "$FAKE_APT_CALLS"
  for i in $(seq 45); do echo "Setting up package $i ..."; done
  [ -n "$FAKE_APT_FAILS" ] && { echo "E: Unable to locate package"; exit 100; }
  for package in "$@"; do
    if [ "$package" = redis-sentinel ]; then
      unit=/lib/systemd/system/redis-sentinel.service
      mkdir -p "$SYSTEMD_SYSTEM_DIR/multi-user.target.wants"
      ln -s "$unit" "$SYSTEMD_SYSTEM_DIR/multi-user.target.wants/redis-sentinel.service"
      ln -s "$unit" "$SYSTEMD_SYSTEM_DIR/sentinel.service"
    fi
  done
fi
exit 0
"""


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def _host(tmp_path: Path, *, present: tuple[str, ...], uid: int = 0) -> tuple[Path, dict[str, str]]:
    """A PATH holding the script's tools, fake apt-get and id, and the `present` binaries; its environment."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, f"{tool} is not installed"
        (bin_dir / tool).symlink_to(found)
    _executable(bin_dir / "apt-get", FAKE_APT_GET)
    _executable(bin_dir / "id", f"#!/bin/sh\necho {uid}\n")
    for binary in present:
        _executable(bin_dir / binary, "#!/bin/sh\nexit 0\n")
    systemd = tmp_path / "etc-systemd-system"
    (systemd / "multi-user.target.wants").mkdir(parents=True)
    # Enabled by the administrator before: stays.
    (systemd / "multi-user.target.wants" / "ssh.service").symlink_to("/lib/systemd/system/ssh.service")
    env = {
        "PATH": str(bin_dir),
        "FAKE_APT_CALLS": str(tmp_path / "apt-calls"),
        "SYSTEMD_SYSTEM_DIR": str(systemd),
        "POLICY_RC_D": str(tmp_path / "policy-rc.d"),
        "SYSTEM_DEPS_LOG": str(tmp_path / "system-deps.log"),
    }
    return systemd, env


def _run(env: dict[str, str], **extra: str) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash")
    assert bash
    return subprocess.run(
        [bash, str(SCRIPT)], env={**env, **extra}, capture_output=True, text=True, timeout=60, check=False
    )


def _apt_calls(env: dict[str, str]) -> list[str]:
    calls = Path(env["FAKE_APT_CALLS"])
    return calls.read_text().splitlines() if calls.exists() else []


def _links(systemd: Path) -> set[str]:
    return {str(p.relative_to(systemd)) for p in systemd.rglob("*") if p.is_symlink()}


def test_install_system_deps_installs_only_the_missing_packages_without_upgrades(tmp_path: Path) -> None:
    _, env = _host(tmp_path, present=tuple(b for b in BINARIES if b not in {"redis-sentinel", "wrk"}))
    result = _run(env)
    assert result.returncode == 0, result.stderr
    calls = _apt_calls(env)
    (install,) = [call.split() for call in calls if call.startswith("install") and "--simulate" not in call]
    assert [word for word in install if not word.startswith("-")] == ["install", "redis-sentinel", "wrk"]
    assert "--no-upgrade" in install and "--no-install-recommends" in install
    assert not any(call.startswith(("upgrade", "dist-upgrade", "full-upgrade")) for call in calls)
    assert "policy-rc.d present" in calls, "services must not start during the installation"
    assert not Path(env["POLICY_RC_D"]).exists(), "the temporary policy-rc.d is removed"


def test_install_system_deps_says_what_it_installs_in_one_line_and_logs_the_rest(tmp_path: Path) -> None:
    _, env = _host(tmp_path, present=tuple(b for b in BINARIES if b not in {"redis-sentinel", "wrk"}))
    result = _run(env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"installing Debian packages: redis-sentinel wrk (log: {env['SYSTEM_DEPS_LOG']})"
    ]
    assert result.stderr == ""
    assert "Setting up package 45 ..." in Path(env["SYSTEM_DEPS_LOG"]).read_text()


def test_install_system_deps_names_what_a_new_package_needs_upgraded(tmp_path: Path) -> None:
    _, env = _host(tmp_path, present=tuple(b for b in BINARIES if b != "jq"))
    result = _run(env, FAKE_APT_UPGRADES="libonig5")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"installing Debian packages: jq, upgrading libonig5 as they require (log: {env['SYSTEM_DEPS_LOG']})"
    ]


def test_install_system_deps_enables_no_service_at_boot(tmp_path: Path) -> None:
    systemd, env = _host(tmp_path, present=tuple(b for b in BINARIES if b != "redis-sentinel"))
    result = _run(env)
    assert result.returncode == 0, result.stderr
    assert any(call.startswith("install") and "redis-sentinel" in call for call in _apt_calls(env))
    assert _links(systemd) == {"multi-user.target.wants/ssh.service"}


def test_install_system_deps_does_nothing_when_every_tool_is_there(tmp_path: Path) -> None:
    systemd, env = _host(tmp_path, present=BINARIES)
    result = _run(env)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert _apt_calls(env) == []
    assert _links(systemd) == {"multi-user.target.wants/ssh.service"}


def test_install_system_deps_without_root_prints_the_command_and_installs_nothing(tmp_path: Path) -> None:
    _, env = _host(tmp_path, present=tuple(b for b in BINARIES if b != "jq"), uid=1000)
    result = _run(env)
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "apt-get install -y -q --no-install-recommends --no-upgrade jq" in line
    assert _apt_calls(env) == []


def test_install_system_deps_failure_shows_the_log_tail_and_its_path(tmp_path: Path) -> None:
    _, env = _host(tmp_path, present=tuple(b for b in BINARIES if b != "wrk"))
    result = _run(env, FAKE_APT_FAILS="1")
    assert result.returncode == 1
    assert "E: Unable to locate package" in result.stderr
    assert result.stderr.splitlines()[-1] == f"full output: {env['SYSTEM_DEPS_LOG']}"
    assert not Path(env["POLICY_RC_D"]).exists()
