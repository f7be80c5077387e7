"""`python -m bench.chart RESULTS.json [RESULTS.json] --output chart.svg`: each variant's ratio to bare.

Reads the files `python -m bench --json` writes (one per request mix, e.g. every route
and the JSON routes alone) and draws one panel per measure: in process, time per
request over bare's (lower is better), and under hypercorn, requests per second over
bare's (higher is better). Each variant gets one bar per file; the peer
instrumentations are drawn apart from the service's own layers.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .variants import EXTRAS as PEERS

MEASURES = (
    ("inprocess", "In process: time per request × bare (lower is better)"),
    ("server", "Hypercorn + wrk: requests/s × bare (higher is better)"),
)
# Without `all_routes` in a file, a mix of at most this many paths is taken for chosen routes.
NAMED_PATHS = 3
# Hue: the service's own layers or a peer; shade: the request mix (first file dark).
OWN_COLOURS = ("#1f77b4", "#aec7e8")
PEER_COLOURS = ("#ff7f0e", "#ffbb78")
MIX_SHADES = ("#555555", "#bbbbbb")


@dataclass(frozen=True)
class Run:
    """One results file: its request mix and its ratio to bare per measure and variant."""

    label: str
    smoke: bool
    ratios: dict[str, dict[str, float]]


def load(path: Path) -> Run:
    """A `python -m bench --json` file; ValueError naming the file when it has no ratio to chart."""
    results: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    mix = results.get("mix") or []
    every_route = results.get("all_routes", len(mix) > NAMED_PATHS)  # older files lack `all_routes`
    label = f"every GET route ({len(mix)} paths)" if every_route else ", ".join(mix)
    ratios = {
        measure: {
            name: float(row["ratio_to_bare"])
            for name, row in results.get(measure, {}).items()
            if "ratio_to_bare" in row
        }
        for measure, _ in MEASURES
    }
    if not any(ratios.values()):
        raise ValueError(f"{path}: no ratio_to_bare in 'inprocess' or 'server' (was 'bare' measured?)")
    return Run(label=label, smoke=results.get("mode") == "smoke", ratios=ratios)


def _variants(runs: Sequence[Run], measure: str) -> list[str]:
    """The service's own variants in the benchmark's order, then the peers."""
    names: list[str] = []
    for run in runs:
        names += [name for name in run.ratios[measure] if name not in names]
    return [n for n in names if n not in PEERS] + [n for n in names if n in PEERS]


def draw(runs: Sequence[Run], output: Path) -> None:
    """Write the chart of `runs` (one bar per run for each variant) to `output` as SVG."""
    measures = [(m, title) for m, title in MEASURES if any(run.ratios[m] for run in runs)]
    rows = {m: _variants(runs, m) for m, _ in measures}
    figure = Figure(figsize=(9, 1.2 + sum(0.32 * len(runs) * len(names) + 0.8 for names in rows.values())))
    axes = figure.subplots(len(measures), 1, squeeze=False)[:, 0]
    height = 0.8 / len(runs)
    for ax, (measure, title) in zip(axes, measures, strict=True):
        names = rows[measure]
        for i, run in enumerate(runs):
            values = [run.ratios[measure].get(name, math.nan) for name in names]
            colours = [(PEER_COLOURS if name in PEERS else OWN_COLOURS)[i % 2] for name in names]
            ys = [row + (i - (len(runs) - 1) / 2) * height for row in range(len(names))]
            bars = ax.barh(ys, values, height=height, color=colours)
            ax.bar_label(bars, labels=["" if math.isnan(v) else f"{v:.2f}" for v in values], padding=3, fontsize=8)
        ax.set_yticks(range(len(names)), [f"{name} (peer)" if name in PEERS else name for name in names])
        ax.invert_yaxis()
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_title(title, fontsize=10, loc="left")
        ax.margins(x=0.12)
    smoke = " (smoke run: counts too small to mean anything)" if any(run.smoke for run in runs) else ""
    figure.suptitle(f"Each variant against the bare app of the same run{smoke}", fontsize=11)
    handles = [Patch(color=MIX_SHADES[i % 2], label=f"request mix: {run.label}") for i, run in enumerate(runs)]
    handles += [
        Patch(color=OWN_COLOURS[0], label="the service's layers"),
        Patch(color=PEER_COLOURS[0], label="peer instrumentation"),
    ]
    figure.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    figure.set_layout_engine("constrained")
    output.parent.mkdir(parents=True, exist_ok=True)
    # Text stays text (searchable, and names each variant); no date, so a rerun on the
    # same numbers writes the same file.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "bench"}):
        figure.savefig(output, format="svg", metadata={"Date": None})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chart", description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, nargs="+", help="`python -m bench --json` files, one per request mix")
    parser.add_argument("--output", type=Path, required=True, help="SVG file to write")
    args = parser.parse_args(argv)
    try:
        runs = [load(path) for path in args.results]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"python -m bench.chart: {exc}", file=sys.stderr)
        return 2
    draw(runs, args.output)
    print(f"chart: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
