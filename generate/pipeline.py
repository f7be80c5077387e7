"""The generated files, in order: rules, dashboards, Kubernetes resources, runbook copy, drill rules.

Everything is rendered in memory before anything is written, so a failure (an SDK for
another Grafana, a bad parameter) leaves every file as it was. The Kubernetes resources
carry the dashboards rendered in this same run, never the files on disk, so one run is
consistent with itself and `--check` sees a stale dashboard once, where it is.

Each output owns a set of paths (globs under the root): a file there that the pipeline did
not render is stale too, and is removed on writing, so a rule file or dashboard deleted
from the code does not linger in a Prometheus or Grafana that loads the directory.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from alerts import drill, rules
from deploy.kubernetes import render as kubernetes
from grafana import render as dashboards
from signals.target import Target

ROOT = Path(__file__).resolve().parents[1]
RUNBOOK = ROOT / "docs" / "runbook.md"
PACKAGED_RUNBOOK = "service/cli/runbook.md"

Files = dict[str, str]
"""Path relative to the root -> text."""


@dataclass(frozen=True)
class Output:
    """One kind of generated file: where it goes and how it is made from what came before."""

    name: str
    owns: tuple[str, ...]
    """Globs (relative to the root) of the files only this output writes."""
    build: Callable[[Target, dict[str, Files]], Files]
    """(target, outputs rendered so far by name) -> this output's files."""


def _under(directory: str, files: dict[str, str]) -> Files:
    return {f"{directory}/{name}": text for name, text in files.items()}


def _kubernetes(target: Target, before: dict[str, Files]) -> Files:
    boards = {path.rsplit("/", 1)[1]: text for path, text in before["dashboards"].items()}
    return _under("deploy/kubernetes/generated", kubernetes.rendered(target, boards))


OUTPUTS = (
    Output("rules", ("alerts/*.rules.yml",), lambda target, _: _under("alerts", rules.rendered(target))),
    Output(
        "dashboards", ("grafana/dashboards/*.json",), lambda _, __: _under("grafana/dashboards", dashboards.rendered())
    ),
    Output("kubernetes", ("deploy/kubernetes/generated/*",), _kubernetes),
    # `ai-diy runbook` prints the runbook offline wherever the package is installed.
    Output("runbook", (PACKAGED_RUNBOOK,), lambda _, __: {PACKAGED_RUNBOOK: RUNBOOK.read_text(encoding="utf-8")}),
    Output("drill rules", (f"{drill.DIRECTORY}/*",), lambda target, _: _under(drill.DIRECTORY, drill.rendered(target))),
)


def rendered(target: Target = Target()) -> dict[str, Files]:
    """Output name -> its files, in pipeline order."""
    done: dict[str, Files] = {}
    for output in OUTPUTS:
        done[output.name] = output.build(target, done)
    return done


def stale(root: Path, outputs: dict[str, Files]) -> tuple[list[Path], list[Path]]:
    """(files to write because they are missing or differ, files to remove because no output renders them)."""
    differ = [
        root / relative
        for files in outputs.values()
        for relative, text in files.items()
        if not (root / relative).is_file() or (root / relative).read_text(encoding="utf-8") != text
    ]
    wanted = {root / relative for files in outputs.values() for relative in files}
    owned = {path for output in OUTPUTS for pattern in output.owns for path in root.glob(pattern) if path.is_file()}
    return differ, sorted(owned - wanted)


def write(root: Path, outputs: dict[str, Files]) -> list[Path]:
    """Bring the files under root up to date; the paths written or removed, in pipeline order."""
    differ, extra = stale(root, outputs)
    texts = {root / relative: text for files in outputs.values() for relative, text in files.items()}
    for path in differ:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Beside the target, then renamed: a reader (Prometheus reloading) never sees half a file.
        staged = path.with_name(f".{path.name}.tmp")
        staged.write_text(texts[path], encoding="utf-8")
        os.replace(staged, path)
    for path in extra:
        path.unlink()
    return differ + extra
