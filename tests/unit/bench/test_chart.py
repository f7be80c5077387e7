"""bench/chart.py: the SVG of each variant's ratio to bare, from `python -m bench --json` files."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from bench.chart import main
from bench.report import annotate
from bench.variants import CORE, EXTRAS

VARIANTS = ("bare", "full", "metrics", "tracing", "starlette_exporter", "otel_asgi")
JSON_ROUTES = ["/api/env", "/api/config/models"]
ALL_ROUTES = ["/health", "/api/env", "/api/config/models", "/api/data/status", "/api/appdocs"]


def _results(mix: list[str], cost: float) -> dict[str, Any]:
    """What `python -m bench --json` writes (rows as the drivers' as_json give them), ratios by bench.report."""
    inprocess = {
        name: {
            "median_us": 100.0 * (1 + i * cost),
            "min_us": 90.0,
            "max_us": 130.0,
            "samples_us": [100.0],
            "statuses": {"200": 40},
            "unexpected_statuses": 0,
        }
        for i, name in enumerate(VARIANTS)
    }
    server = {
        name: {
            "median_rps": 5000.0 / (1 + i * cost),
            "min_rps": 4000.0,
            "max_rps": 6000.0,
            "rounds_rps": [5000.0],
            "requests": 5000,
            "failed": 0,
            "rss_mib": 40.0 + i,
            "cpu_us_per_request": 150.0,
            "rounds_cpu_us": [150.0],
        }
        for i, name in enumerate(VARIANTS)
    }
    results = {
        "mode": "full",
        "mix": mix,
        "all_routes": mix == ALL_ROUTES,
        "missing": {},
        "cpus": 2,
        "inprocess": inprocess,
        "server": server,
    }
    annotate(results)
    return results


def _texts(svg: Path) -> list[str]:
    svg_text = "{http://www.w3.org/2000/svg}text"
    return ["".join(node.itertext()).strip() for node in ET.parse(svg).iter(svg_text)]  # noqa: S314  # the chart just drawn


def test_chart_names_every_variant_and_both_request_mixes(tmp_path: Path) -> None:
    assert set(VARIANTS) <= set(CORE + EXTRAS), "the synthetic results use the benchmark's variant names"
    paths = []
    for name, mix, cost in (("all.json", ALL_ROUTES, 0.25), ("json.json", JSON_ROUTES, 0.5)):
        (tmp_path / name).write_text(json.dumps(_results(mix, cost)))
        paths.append(str(tmp_path / name))
    svg = tmp_path / "img" / "ratios.svg"

    assert main([*paths, "--output", str(svg)]) == 0

    texts = _texts(svg)
    for name in VARIANTS:
        label = f"{name} (peer)" if name in EXTRAS else name
        assert texts.count(label) == 2, f"{label}: one row in each of the two panels"
    assert "request mix: every GET route (5 paths)" in texts
    assert "request mix: /api/env, /api/config/models" in texts
    # full: 1.25 and 1.5 times bare's time in process; 1/1.25 and 1/1.5 of its req/s under hypercorn.
    assert {"1.25", "1.50", "0.80", "0.67"} <= set(texts)


def test_chart_refuses_results_without_ratios(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = _results(JSON_ROUTES, 0.5)
    del results["inprocess"]["bare"], results["server"]["bare"]
    for row in [*results["inprocess"].values(), *results["server"].values()]:
        del row["ratio_to_bare"]
    source = tmp_path / "no-bare.json"
    source.write_text(json.dumps(results))

    assert main([str(source), "--output", str(tmp_path / "chart.svg")]) == 2
    assert f"{source}: no ratio_to_bare" in capsys.readouterr().err
    assert not (tmp_path / "chart.svg").exists()
