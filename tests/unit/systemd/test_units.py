"""deploy/systemd: the units verify, are sandboxed, and every command they run exists in the CLI."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from service.cli import build_parser
from service.settings import Settings
from tests.support import binaries
from tests.support.processes import ROOT

UNITS = ROOT / "deploy" / "systemd"
BINARY = "/opt/ai-diy/venv/bin/ai-diy"


def unit(name: str) -> configparser.ConfigParser:
    # strict=False: systemd allows a key to repeat (Environment=), configparser does not by default.
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # configparser's documented way to keep the keys' case
    parser.read(UNITS / name)
    return parser


@pytest.mark.integration
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = binaries.require("systemd-analyze")
    # verify insists the ExecStart binary exists; on a build machine the virtualenv is
    # not at /opt, so the copies point at a stub that runs this checkout's CLI.
    stub = tmp_path / "ai-diy"
    stub.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m service.cli "$@"\n')
    stub.chmod(0o755)
    copies = []
    for source in sorted(UNITS.iterdir()):
        copy = tmp_path / source.name
        copy.write_text(source.read_text().replace(BINARY, str(stub)))
        copies.append(str(copy))
    assert len(copies) == 3
    result = subprocess.run(
        [analyze, "verify", *copies],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice"},
    )
    # verify exits 0 on unknown keys but prints them: any output is a finding.
    assert (result.returncode, result.stderr.strip(), result.stdout.strip()) == (0, "", "")


def _cli_args(command_line: str) -> list[str]:
    argv = shlex.split(command_line.replace("${AI_DIY_LOG_DIR}", "/var/log/ai-diy"))
    assert argv[0] == BINARY
    return argv[1:]


@pytest.mark.parametrize(
    ("name", "key", "command"),
    [
        ("ai-diy.service", "ExecStartPre", "validate-config"),
        ("ai-diy.service", "ExecStart", "serve"),
        ("ai-diy-logs.service", "ExecStart", "logs"),
    ],
)
def test_unit_commands_exist_in_the_cli(name: str, key: str, command: str) -> None:
    args = build_parser().parse_args(_cli_args(unit(name)["Service"][key]))
    assert args.command == command and callable(args.func)


def test_api_unit_restarts_and_drains_within_stop_timeout() -> None:
    service = unit("ai-diy.service")["Service"]
    assert service["Restart"] == "on-failure" and service["KillSignal"] == "SIGTERM"
    stop_timeout = float(service["TimeoutStopSec"])
    assert stop_timeout > Settings.model_fields["drain_timeout"].default
    assert service["User"] == "ai-diy" and service["WorkingDirectory"] == "/var/lib/ai-diy"
    assert service["EnvironmentFile"] == "-/etc/ai-diy/ai-diy.env"


def values(name: str, key: str) -> list[str]:
    """Every value of a key that may repeat (SystemCallFilter=), in order."""
    return [line.split("=", 1)[1] for line in (UNITS / name).read_text().splitlines() if line.startswith(f"{key}=")]


@pytest.mark.parametrize("name", ["ai-diy.service", "ai-diy-logs.service"])
def test_units_are_hardened(name: str) -> None:
    service = unit(name)["Service"]
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "ProtectProc": "invisible",
        "RemoveIPC": "yes",
        "PrivateUsers": "yes",
        "MemoryDenyWriteExecute": "yes",
        "SystemCallErrorNumber": "EPERM",
    }.items():
        assert service[key] == value, key
    filters = values(name, "SystemCallFilter")
    assert filters[0] == "@system-service" and "@privileged" in filters[-1].lstrip("~").split()
    assert "/var/log/ai-diy" in service["ReadWritePaths"].split()


@pytest.mark.integration
@pytest.mark.parametrize(("name", "limit"), [("ai-diy.service", 2.0), ("ai-diy-logs.service", 1.0)])
def test_unit_exposure_stays_at_or_under_its_limit(name: str, limit: float) -> None:
    analyze = binaries.require("systemd-analyze")
    result = subprocess.run(
        [analyze, "security", "--offline=true", str(UNITS / name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(rf"Overall exposure level for {re.escape(name)}: (\d+\.\d+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= limit, result.stdout


def test_log_timer_runs_daily_and_catches_up() -> None:
    timer = unit("ai-diy-logs.timer")["Timer"]
    assert timer["OnCalendar"] == "daily" and timer["Persistent"] == "true"
