"""pyproject.toml's `dependencies` are exactly what the runtime packages import."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.processes import ROOT

RUNTIME_PACKAGES = ("service", "observability")
# Imported only when OTEL_EXPORTER_OTLP_PROTOCOL=grpc asks for it; a clear error names the package otherwise.
OPTIONAL_IMPORTS = {"opentelemetry.exporter.otlp.proto.grpc.trace_exporter"}


def _deptry(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deptry", "--no-ansi", *RUNTIME_PACKAGES],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _project(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, Any]:
    answer: dict[str, Any] = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    return answer


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(line).name) for line in requirements}


@pytest.mark.integration
def test_deptry_finds_no_dependency_issue_in_the_runtime_packages() -> None:
    result = _deptry(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No dependency issues found" in result.stdout + result.stderr


@pytest.mark.integration
def test_deptry_fails_on_a_missing_or_an_unused_runtime_dependency(tmp_path: Path) -> None:
    # The project's own configuration on a copy whose dependencies lost anyio and gained a
    # package nothing imports: both must be reported.
    for package in RUNTIME_PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    anyio_line = next(line for line in text.splitlines() if line.strip().startswith('"anyio'))
    changed = text.replace(anyio_line, '    "never-imported-package>=1.0",')
    (tmp_path / "pyproject.toml").write_text(changed, encoding="utf-8")
    assert "anyio" not in _names(_project(tmp_path / "pyproject.toml")["dependencies"])

    result = _deptry(tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    # DEP003 rather than DEP001 here: starlette happens to pull anyio in, which is no declaration.
    assert "'anyio' imported but" in output
    assert "DEP002 'never-imported-package' defined as a dependency but not used" in output


def _imported_modules() -> set[str]:
    modules: set[str] = set()
    for package in RUNTIME_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    modules.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module)
    return modules


def _opentelemetry_owners() -> dict[Path, str]:
    """Every installed file of an opentelemetry-* distribution, mapped to that distribution."""
    owners: dict[Path, str] = {}
    for dist in importlib.metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name.startswith("opentelemetry") and dist.files:
            owners.update({Path(str(dist.locate_file(f))).resolve(): name for f in dist.files if f.suffix == ".py"})
    return owners


def test_runtime_opentelemetry_imports_and_dependencies_match_module_by_module() -> None:
    # deptry sees one top-level module, `opentelemetry`, shared by every opentelemetry-*
    # distribution; here each imported module is traced to the distribution that ships it.
    declared = {name for name in _names(_project()["dependencies"]) if name.startswith("opentelemetry")}
    owners = _opentelemetry_owners()
    used: dict[str, str] = {}
    for module in sorted(m for m in _imported_modules() if m.startswith("opentelemetry.")):
        if module in OPTIONAL_IMPORTS:
            continue
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin, module
        used[module] = owners[Path(spec.origin).resolve()]
    assert set(used.values()) <= declared, f"imported but not a runtime dependency: {used}"
    assert declared <= set(used.values()), f"runtime dependencies nothing imports: {declared - set(used.values())}"


def test_benchmark_peers_are_bench_extras_not_runtime_dependencies() -> None:
    project = _project()
    peers = {"starlette-exporter", "prometheus-fastapi-instrumentator"}
    assert peers <= _names(project["optional-dependencies"]["bench"])
    assert not peers & _names(project["dependencies"])
    # The official ASGI instrumentation is the service's own standard tracing mode.
    assert "opentelemetry-instrumentation-asgi" in _names(project["dependencies"])
