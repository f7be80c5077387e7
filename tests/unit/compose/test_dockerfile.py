"""deploy/Dockerfile: slim base, every package hash-checked, non-root user, urllib healthcheck, `ai-diy serve`."""

from __future__ import annotations

import importlib.metadata
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[3]
LOCK = ROOT / "deploy" / "requirements.lock"
BUILD_LOCK = ROOT / "deploy" / "build-requirements.lock"


def _instructions() -> list[tuple[str, str]]:
    text = (ROOT / "deploy" / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _last(keyword: str) -> str:
    return [args for key, args in _instructions() if key == keyword][-1]


def test_dockerfile_uses_pinned_python_311_slim() -> None:
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", _last("FROM"))


def _runs() -> list[str]:
    return [args for key, args in _instructions() if key == "RUN"]


def test_dockerfile_installs_the_distribution_and_runs_as_non_root() -> None:
    runs = " ".join(_runs())
    assert "-r /wheels/ai-diy.lock" in runs
    user = _last("USER")
    assert user not in {"root", "0"}
    assert "useradd" in runs and user in runs


def test_dockerfile_healthcheck_probes_liveness_with_urllib() -> None:
    # Liveness: an orchestrator replaces an unhealthy container, which only cures a wedged process.
    healthcheck = _last("HEALTHCHECK")
    assert "urllib.request" in healthcheck and "/health/live'" in healthcheck
    assert "curl" not in healthcheck
    timeout = float(re.findall(r"--timeout=(\d+)s", healthcheck)[0])
    assert float(re.findall(r"timeout=(\d+)\)", healthcheck)[0]) < timeout


def test_dockerfile_serves_on_all_interfaces() -> None:
    assert json.loads(_last("CMD")) == ["ai-diy", "serve"]
    env = " ".join(args for key, args in _instructions() if key == "ENV")
    assert "AI_DIY_HOST=0.0.0.0" in env


def test_dockerignore_keeps_context_to_the_distribution() -> None:
    patterns = [p.rstrip("/") for p in (ROOT / ".dockerignore").read_text().splitlines() if p and not p.startswith("#")]
    assert patterns[0] == "*", "everything is excluded first, then the sources are let back in"
    sources = {
        word for key, args in _instructions() if key == "COPY" and "--from=" not in args for word in args.split()[:-1]
    }
    assert sources == {
        "deploy/requirements.lock",
        "deploy/build-requirements.lock",
        "pyproject.toml",
        "README.md",
        "service",
        "observability",
    }
    for source in sources:
        assert f"!{source}" in patterns, source


@dataclass(frozen=True)
class Pin:
    requirement: Requirement
    hashes: tuple[str, ...]
    via: tuple[str, ...]


def _lock(path: Path = LOCK) -> dict[str, Pin]:
    """A hashed lock (deploy/requirements.lock) by package: `name==version ; marker`, its hashes, its `# via` lines."""
    pins: dict[str, Pin] = {}
    for block in re.split(r"\n(?=\S)", path.read_text(encoding="utf-8")):
        if block.startswith("#"):
            continue
        lines = block.splitlines()
        code = " ".join(line.rstrip("\\ ") for line in lines if not line.lstrip().startswith("#"))
        head, *hashes = code.split("--hash=")
        notes = (line.strip().lstrip("#").strip() for line in lines if line.lstrip().startswith("#"))
        via = tuple(note.removeprefix("via").strip() for note in notes)
        requirement = Requirement(head.strip())
        pins[canonicalize_name(requirement.name)] = Pin(requirement, tuple(h.strip() for h in hashes), via)
    return pins


def _runtime_dependencies() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(line) for line in project["dependencies"]]


def test_lock_pins_every_package_with_hashes() -> None:
    pins = _lock()
    assert len(pins) > len(_runtime_dependencies())
    for name, pin in pins.items():
        (specifier,) = pin.requirement.specifier
        assert specifier.operator == "==", name
        assert pin.hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in pin.hashes), name


def test_lock_covers_every_runtime_dependency_at_its_lower_bound_or_above() -> None:
    pins = _lock()
    for dependency in _runtime_dependencies():
        name = canonicalize_name(dependency.name)
        assert name in pins, f"{name} is not in {LOCK.name}: run `make lock`"
        (pinned,) = pins[name].requirement.specifier
        assert dependency.specifier.contains(pinned.version, prereleases=True), (name, pinned.version)
        for extra in dependency.extras:
            for line in importlib.metadata.requires(dependency.name) or []:
                needed = Requirement(line)
                if needed.marker and "extra" in str(needed.marker) and needed.marker.evaluate({"extra": extra}):
                    assert canonicalize_name(needed.name) in pins, f"{needed.name} for {name}[{extra}]"


def test_lock_was_compiled_from_the_current_dependencies() -> None:
    # uv marks the packages named in pyproject.toml; a dependency added or dropped since
    # the last `make lock` shows up here.
    direct = {name for name, pin in _lock().items() if "ai-diy (pyproject.toml)" in pin.via}
    assert direct == {canonicalize_name(d.name) for d in _runtime_dependencies()}


def test_dockerfile_installs_the_hashed_lock_before_the_distribution() -> None:
    instructions = _instructions()
    assert ("COPY", "deploy/requirements.lock ./") in instructions
    runs = _runs()
    lock_install = next(i for i, args in enumerate(runs) if "-r requirements.lock" in args)
    assert "pip install --require-hashes --no-deps -r requirements.lock" in runs[lock_install]
    dist_install = next(i for i, args in enumerate(runs) if "-r /wheels/ai-diy.lock" in args)
    assert lock_install < dist_install


def _pip_commands() -> list[list[str]]:
    """Every pip invocation of every RUN, as words (a RUN may chain several with &&)."""
    commands = []
    for run in _runs():
        for command in re.split(r"&&|;", run):
            words = command.split()
            if words[:1] == ["pip"] and words[1:2] != ["hash"]:
                commands.append(words)
    return commands


def test_dockerfile_installs_every_package_in_hash_checking_mode_from_requirement_files() -> None:
    installs = [words for words in _pip_commands() if words[1] == "install"]
    assert len(installs) == 3  # the build backend, the dependencies, the service's wheel
    for words in installs:
        assert "--require-hashes" in words and "--no-deps" in words, words
        # Only -r files: a bare `pip install .` or name would bypass the hashes (and build isolation).
        named = [w for i, w in enumerate(words[2:], start=2) if not w.startswith("-") and words[i - 1] != "-r"]
        assert named == [], words


def test_dockerfile_builds_the_wheel_from_the_locked_backend_without_fetching() -> None:
    (build,) = [words for words in _pip_commands() if words[1] == "wheel"]
    # Build isolation would download the backend outside the lock; --no-index forbids any download,
    # --check-build-dependencies fails unless the locked backend satisfies build-system.requires.
    assert {"--no-build-isolation", "--no-index", "--check-build-dependencies", "--no-deps"} <= set(build)
    backend = next(i for i, run in enumerate(_runs()) if "-r build-requirements.lock" in run)
    assert backend < next(i for i, run in enumerate(_runs()) if "pip wheel" in run)
    assert ("COPY", "deploy/build-requirements.lock ./") in _instructions()


def test_build_lock_pins_the_build_backend_with_hashes() -> None:
    pins = _lock(BUILD_LOCK)
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]["requires"]
    for line in requires:
        requirement = Requirement(line)
        pin = pins[canonicalize_name(requirement.name)]
        (pinned,) = pin.requirement.specifier
        assert pinned.operator == "==" and requirement.specifier.contains(pinned.version), line
    for name, pin in pins.items():
        assert pin.hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in pin.hashes), name
