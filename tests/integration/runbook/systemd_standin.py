"""A stand-in for `systemctl` and `journalctl`, which need systemd as PID 1 (tests run without it).

It runs the units of deploy/systemd the way systemd does, for what the runbook and the
operations guide use: the Environment= lines, then the EnvironmentFile= (its values
win), WorkingDirectory=, ${VAR} in command lines, ExecStartPre= (a failure fails the
start and leaves the service down) and ExecStart=. A long-running unit (ai-diy) runs
under a small supervisor that records how the process ended; `stop` sends KillSignal=
and waits TimeoutStopSec= before SIGKILL. A Type=oneshot unit (ai-diy-logs) runs to its
end within `start`. The units' absolute paths are mapped to the test's directories;
each unit's output goes to a journal file that `journalctl -u <unit>` reads. Only the
service's own process is signalled, by the PID the supervisor recorded.

    python -m tests.integration.runbook.systemd_standin CONFIG systemctl start|stop|restart|status UNIT
    python -m tests.integration.runbook.systemd_standin CONFIG systemctl show -p MainPID|LoadState --value UNIT
    python -m tests.integration.runbook.systemd_standin CONFIG journalctl -u UNIT -n N --no-pager

CONFIG is a JSON file: {"units": {name: unit file}, "paths": {unit path: test path},
"state": dir, "env": {base environment}}.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dotenv import dotenv_values


@dataclass
class Unit:
    """The [Service] settings the stand-in honours."""

    description: str = ""
    type: str = "simple"
    working_directory: str = "/"
    environment: list[str] = field(default_factory=list)
    environment_files: list[str] = field(default_factory=list)
    exec_start_pre: list[str] = field(default_factory=list)
    exec_start: str = ""
    kill_signal: str = "SIGTERM"
    timeout_stop: float = 90.0


def parse_unit(text: str) -> Unit:
    """The unit file's settings (repeated keys accumulate, as systemd's do)."""
    unit, section = Unit(), ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        if section == "Unit" and key == "Description":
            unit.description = value
        if section != "Service":
            continue
        if key == "Type":
            unit.type = value
        elif key == "WorkingDirectory":
            unit.working_directory = value
        elif key == "Environment":
            unit.environment.extend(shlex.split(value))
        elif key == "EnvironmentFile":
            unit.environment_files.append(value)
        elif key == "ExecStartPre":
            unit.exec_start_pre.append(value)
        elif key == "ExecStart":
            unit.exec_start = value
        elif key == "KillSignal":
            unit.kill_signal = value
        elif key == "TimeoutStopSec":
            unit.timeout_stop = float(value)
    return unit


class StandIn:
    """One unit's processes, state and journal."""

    def __init__(self, config_path: str, name: str) -> None:
        config = json.loads(Path(config_path).read_text(encoding="utf-8"))
        self.config_path = config_path
        self.name = name.removesuffix(".service")
        if self.name not in config["units"]:
            raise SystemExit(f"Unit {self.name}.service could not be found.")
        self.unit_path = config["units"][self.name]
        self.paths: dict[str, str] = config["paths"]
        self.unit = parse_unit(Path(self.unit_path).read_text(encoding="utf-8"))
        self.state = Path(config["state"]) / self.name
        self.state.mkdir(parents=True, exist_ok=True)
        self.base_env: dict[str, str] = config["env"]
        self.journal = self.state / "journal.log"
        self.pid_file = self.state / "main.pid"
        self.result_file = self.state / "result.json"

    def map(self, text: str) -> str:
        """A unit path as this test lays it out (longest unit path first)."""
        for unit_path in sorted(self.paths, key=len, reverse=True):
            text = text.replace(unit_path, self.paths[unit_path])
        return text

    def environment(self) -> dict[str, str]:
        env = dict(self.base_env)
        for assignment in self.unit.environment:
            key, _, value = assignment.partition("=")
            env[key] = self.map(value)
        for name in self.unit.environment_files:
            optional = name.startswith("-")
            path = Path(self.map(name.lstrip("-")))
            if not path.is_file():
                if optional:
                    continue
                raise SystemExit(f"{path}: environment file missing")
            env.update({k: v for k, v in dotenv_values(path).items() if v is not None})
        return env

    def argv(self, command: str, env: dict[str, str]) -> list[str]:
        """The command line with the unit's paths mapped and ${VAR} taken from the unit's environment."""
        return [re.sub(r"\$\{(\w+)\}", lambda m: env.get(m[1], ""), self.map(word)) for word in shlex.split(command)]

    def log(self, text: str) -> None:
        with open(self.journal, "a", encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")

    def main_pid(self) -> int:
        """The service's PID while it runs, else 0."""
        try:
            pid = int(self.pid_file.read_text())
        except (OSError, ValueError):
            return 0
        return pid if _alive(pid) else 0

    def result(self) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = json.loads(self.result_file.read_text())
            return answer
        except (OSError, ValueError):
            return {}

    def start(self) -> int:
        if self.main_pid():
            return 0
        env, cwd = self.environment(), self.map(self.unit.working_directory)
        self.result_file.unlink(missing_ok=True)
        for command in self.unit.exec_start_pre:
            with open(self.journal, "ab") as journal:
                code = subprocess.run(
                    self.argv(command, env),
                    env=env,
                    cwd=cwd,
                    stdout=journal,
                    stderr=subprocess.STDOUT,
                    timeout=60,
                    check=False,
                ).returncode
            if code != 0:
                self.result_file.write_text(
                    json.dumps(
                        {"result": "exit-code", "process": f"ExecStartPre={command}", "code": code, "at": _now()}
                    )
                )
                self._job_failed()
                return 1
        if self.unit.type == "oneshot":
            with open(self.journal, "ab") as journal:
                code = subprocess.run(
                    self.argv(self.unit.exec_start, env),
                    env=env,
                    cwd=cwd,
                    stdout=journal,
                    stderr=subprocess.STDOUT,
                    timeout=120,
                    check=False,
                ).returncode
            outcome = {"result": "success" if code == 0 else "exit-code", "code": f"exited, status={code}"}
            self.result_file.write_text(
                json.dumps({**outcome, "process": f"ExecStart={self.unit.exec_start}", "at": _now()})
            )
            if code != 0:
                self._job_failed()
            return 0 if code == 0 else 1
        with open(self.journal, "ab") as journal:
            supervisor = subprocess.Popen(
                [sys.executable, "-m", __spec__.name, self.config_path, "supervise", self.name],
                stdout=journal,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ},
            )
        # Type=exec: systemctl returns once the main process runs, not once it is ready.
        deadline = time.monotonic() + 30
        while not self.main_pid() and supervisor.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        return 0 if self.main_pid() or self.result() else 1

    def _job_failed(self) -> None:
        print(
            f"Job for {self.name}.service failed because the control process exited with error code.\n"
            f'See "systemctl status {self.name}.service" and "journalctl -xeu {self.name}.service" for details.',
            file=sys.stderr,
        )

    def supervise(self) -> int:
        """Run ExecStart, record its PID, wait, record how it ended."""
        env = self.environment()
        process = subprocess.Popen(
            self.argv(self.unit.exec_start, env),
            env=env,
            cwd=self.map(self.unit.working_directory),
            stdout=sys.stdout,
            stderr=subprocess.STDOUT,
        )
        self.pid_file.write_text(str(process.pid))
        self.result_file.write_text(json.dumps({"result": "running", "since": _now()}))
        code = process.wait()
        if code < 0:
            outcome = {"result": "signal", "code": f"killed, signal={signal.Signals(-code).name.removeprefix('SIG')}"}
        else:
            outcome = {"result": "success" if code == 0 else "exit-code", "code": f"exited, status={code}"}
        self.result_file.write_text(
            json.dumps({**outcome, "process": f"ExecStart={self.unit.exec_start}", "at": _now()})
        )
        self.pid_file.unlink(missing_ok=True)
        return 0

    def stop(self) -> int:
        pid = self.main_pid()
        if not pid:
            return 0
        os.kill(pid, getattr(signal, self.unit.kill_signal))
        deadline = time.monotonic() + self.unit.timeout_stop
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        while self.pid_file.exists() and time.monotonic() < deadline + 10:  # the supervisor records the end
            time.sleep(0.05)
        return 0

    def status(self) -> int:
        pid, result = self.main_pid(), self.result()
        print(f"● {self.name}.service - {self.unit.description}")
        print(f"     Loaded: loaded ({self.unit_path}; enabled)")
        if pid:
            print(f"     Active: active (running) since {result.get('since', '?')}")
            print(f"   Main PID: {pid} ({self.name})")
            return 0
        if result.get("result") in (None, "success"):
            print("     Active: inactive (dead)")
            return 3
        print(f"     Active: failed (Result: {result['result']}) since {result.get('at', '?')}")
        print(f"    Process: {self.map(result.get('process', ''))} (code={result.get('code')})")
        return 3


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _now() -> str:
    return datetime.now().astimezone().strftime("%a %Y-%m-%d %H:%M:%S %Z")


def _systemctl(config: str, args: list[str]) -> int:
    if args[:4] == ["show", "-p", "MainPID", "--value"] and len(args) == 5:
        print(StandIn(config, args[4]).main_pid())
        return 0
    if args[:4] == ["show", "-p", "LoadState", "--value"] and len(args) == 5:
        units = json.loads(Path(config).read_text(encoding="utf-8"))["units"]
        print("loaded" if args[4].removesuffix(".service") in units else "not-found")
        return 0
    if len(args) == 2 and args[0] in ("start", "stop", "restart", "status"):
        standin = StandIn(config, args[1])
        if args[0] == "restart":
            standin.stop()
            return standin.start()
        answer: int = getattr(standin, args[0])()
        return answer
    print(f"systemctl stand-in: unsupported: {' '.join(args)}", file=sys.stderr)
    return 1


def _journalctl(config: str, args: list[str]) -> int:
    if "-u" not in args:
        print(f"journalctl stand-in: unsupported: {' '.join(args)}", file=sys.stderr)
        return 1
    standin = StandIn(config, args[args.index("-u") + 1])
    lines = int(args[args.index("-n") + 1]) if "-n" in args else 10
    text = standin.journal.read_text(encoding="utf-8", errors="replace") if standin.journal.exists() else ""
    sys.stdout.write("".join(text.splitlines(keepends=True)[-lines:]))
    return 0


def main(argv: list[str]) -> int:
    config, command, args = argv[0], argv[1], argv[2:]
    if command == "supervise":
        return StandIn(config, args[0]).supervise()
    if command == "systemctl":
        return _systemctl(config, args)
    if command == "journalctl":
        return _journalctl(config, args)
    print(f"stand-in: unknown command {command}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
