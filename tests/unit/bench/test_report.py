"""bench/report.py: ratios against bare and against bare_headers, and the budgets."""

from __future__ import annotations

from typing import Any

from bench.report import annotate, render


def _server(rps: float, rss: float = 60.0) -> dict[str, Any]:
    return {
        "median_rps": rps,
        "min_rps": rps,
        "max_rps": rps,
        "rss_mib": rss,
        "cpu_us_per_request": 1e6 / rps,
        "failed": 0,
    }


def _inprocess(us: float) -> dict[str, Any]:
    return {"median_us": us, "min_us": us, "max_us": us, "statuses": {"200": 1}}


def _results(all_routes: bool) -> dict[str, Any]:
    return {
        "mode": "full",
        "all_routes": all_routes,
        "inprocess": {"bare": _inprocess(40.0), "bare_headers": _inprocess(50.0), "full": _inprocess(90.0)},
        "server": {"bare": _server(4000.0), "bare_headers": _server(3500.0), "full": _server(3000.0, 68.0)},
    }


def test_report_gives_full_against_bare_headers_beside_bare() -> None:
    results = _results(all_routes=True)
    annotate(results)
    assert results["server"]["full"]["ratio_to_bare"] == 0.75
    assert results["server"]["full"]["ratio_to_bare_headers"] == 0.857
    assert results["inprocess"]["full"]["ratio_to_bare_headers"] == 1.8
    text = render(results)
    assert "x hdrs" in text


def test_report_budgets_on_the_json_routes() -> None:
    results = _results(all_routes=False)
    annotate(results)
    budgets = {b["budget"]: b for b in results["budgets"]}
    assert budgets["hypercorn, chosen routes: full stack req/s / bare_headers req/s (the same bytes, no work)"]["met"]
    assert budgets["hypercorn, chosen routes: full stack req/s / bare req/s"]["met"]  # 0.75 >= 0.70
    assert budgets["in process, chosen routes: full stack added µs per request"]["value"] == 50.0
    assert budgets["in process, chosen routes: full stack added µs per request"]["met"]
    assert budgets["hypercorn: full stack RSS - bare RSS (MiB)"]["met"]


def test_report_budgets_on_all_routes_want_080_of_bare() -> None:
    results = _results(all_routes=True)
    annotate(results)
    budgets = {b["budget"]: b for b in results["budgets"]}
    assert not budgets["hypercorn, all routes: full stack req/s / bare req/s"]["met"]  # 0.75 < 0.80
    assert not any("bare_headers" in name for name in budgets)
    assert budgets["hypercorn: full stack RSS - bare RSS (MiB)"]["met"]
