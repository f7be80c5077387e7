"""Results as ratios against the bare app of the same run, the budgets, and a text table."""

from __future__ import annotations

from typing import Any

MIB = 2**20
# The bare app sending the full stack's response headers: the limit the full stack is measured against.
LIMIT = "bare_headers"


def _added(inproc: dict[str, Any], name: str) -> float | None:
    if name not in inproc or "bare" not in inproc:
        return None
    return float(inproc[name]["median_us"] - inproc["bare"]["median_us"])


def annotate(results: dict[str, Any]) -> None:
    """Add ratios to bare and the budget checks to `results` (in place)."""
    inproc = results.get("inprocess", {})
    if "bare" in inproc:
        base = inproc["bare"]["median_us"]
        for row in inproc.values():
            row["ratio_to_bare"] = round(row["median_us"] / base, 3)
            row["added_us"] = round(row["median_us"] - base, 2)
    if LIMIT in inproc:
        limit_us = inproc[LIMIT]["median_us"]
        for row in inproc.values():
            row["ratio_to_bare_headers"] = round(row["median_us"] / limit_us, 3)
    server = results.get("server", {})
    if "bare" in server:
        base_rps = server["bare"]["median_rps"]
        base_rss = server["bare"]["rss_mib"]
        for row in server.values():
            row["ratio_to_bare"] = round(row["median_rps"] / base_rps, 3)
            row["rss_added_mib"] = round(row["rss_mib"] - base_rss, 1)
    if LIMIT in server:
        limit_rps = server[LIMIT]["median_rps"]
        for row in server.values():
            row["ratio_to_bare_headers"] = round(row["median_rps"] / limit_rps, 3)
    budgets: list[dict[str, Any]] = []

    metrics, instr = _added(inproc, "metrics"), _added(inproc, "instrumentator")
    if metrics is not None and instr is not None:
        budgets.append(
            _budget(
                "in process: metrics layer added cost / prometheus-fastapi-instrumentator added cost",
                metrics / instr if instr > 0 else float("inf"),
                "<",
                1.0,
            )
        )
    all_routes = results.get("all_routes", True)
    mix = "all routes" if all_routes else "chosen routes"
    full = _added(inproc, "full")
    if full is not None and not all_routes:
        budgets.append(_budget(f"in process, {mix}: full stack added µs per request", full, "<=", 60.0))
    if "full" in server and "bare" in server:
        budgets.append(
            _budget(
                f"hypercorn, {mix}: full stack req/s / bare req/s",
                server["full"]["ratio_to_bare"],
                ">=",
                0.80 if all_routes else 0.70,
            )
        )
    if "full" in server and LIMIT in server and not all_routes:
        budgets.append(
            _budget(
                f"hypercorn, {mix}: full stack req/s / bare_headers req/s (the same bytes, no work)",
                server["full"]["ratio_to_bare_headers"],
                ">=",
                0.80,
            )
        )
    if "full" in server and "bare" in server:
        budgets.append(
            _budget("hypercorn: full stack RSS - bare RSS (MiB)", server["full"]["rss_added_mib"], "<=", 10.0)
        )
    if "full" in server and "peer_stack" in server:
        budgets.append(
            _budget(
                f"hypercorn, {mix}: full stack req/s / peer stack (starlette-exporter + OTel ASGI) req/s",
                server["full"]["median_rps"] / server["peer_stack"]["median_rps"],
                ">=",
                2.0,
            )
        )
    scrape = results.get("scrape", {}).get("full")
    if scrape is not None:
        budgets.append(_budget("/metrics scrape of the full stack, median (ms)", scrape["median_ms"], "<", 5.0))
    results["budgets"] = budgets


def _budget(what: str, value: float, op: str, limit: float) -> dict[str, Any]:
    ok = {"<": value < limit, "<=": value <= limit, ">=": value >= limit}[op]
    return {"budget": what, "value": round(value, 3), "limit": f"{op} {limit}", "met": ok}


def render(results: dict[str, Any]) -> str:
    """The results as plain-text tables."""
    lines: list[str] = [
        f"mode: {results['mode']}   request mix: {', '.join(results.get('mix', []))}",
        (
            f"cpus: {results.get('cpus')}   load average before {results.get('load_before')} after "
            f"{results.get('load_after')}"
        ),
    ]
    inproc = results.get("inprocess")
    if inproc:
        lines += [
            "",
            "In process (µs per request, flush included)",
            f"{'variant':<20}{'median':>9}{'min':>9}{'max':>9}{'x bare':>8}{'x hdrs':>8}{'added':>9}  statuses",
        ]
        for name, row in inproc.items():
            lines.append(
                f"{name:<20}{row['median_us']:>9.1f}{row['min_us']:>9.1f}{row['max_us']:>9.1f}"
                f"{row.get('ratio_to_bare', 0):>8.2f}{row.get('ratio_to_bare_headers', 0):>8.2f}"
                f"{row.get('added_us', 0):>9.1f}  {row['statuses']}"
            )
    server = results.get("server")
    if server:
        lines += [
            "",
            f"Hypercorn + wrk (req/s, server CPU µs per request, RSS after the run; {results.get('pinning')})",
            f"{'variant':<20}{'median':>9}{'min':>9}{'max':>9}{'x bare':>8}{'x hdrs':>8}{'CPU µs':>8}"
            f"{'RSS MiB':>9}{'+MiB':>7}{'failed':>8}",
        ]
        for name, row in server.items():
            lines.append(
                f"{name:<20}{row['median_rps']:>9.0f}{row['min_rps']:>9.0f}{row['max_rps']:>9.0f}"
                f"{row.get('ratio_to_bare', 0):>8.2f}{row.get('ratio_to_bare_headers', 0):>8.2f}"
                f"{row['cpu_us_per_request']:>8.0f}"
                f"{row['rss_mib']:>9.1f}{row.get('rss_added_mib', 0):>7.1f}{row['failed']:>8}"
            )
    scrape = results.get("scrape")
    if scrape:
        lines += [
            "",
            "/metrics scrape after N requests over all routes",
            f"{'variant':<20}{'N':>7}{'median ms':>11}{'max ms':>9}{'bytes':>9}{'series':>8}",
        ]
        for name, row in scrape.items():
            lines.append(
                f"{name:<20}{row['requests_before']:>7}{row['median_ms']:>11.3f}{row['max_ms']:>9.3f}"
                f"{row['bytes']:>9}{row['series']:>8}"
            )
    profile = results.get("profile")
    if profile:
        lines += ["", f"Profile of the full stack ({profile['requests']} requests), self time by layer"]
        for row in profile["layers"]:
            lines.append(f"  {row['share'] * 100:5.1f}%  {row['layer']}")
    if results.get("budgets"):
        lines += ["", "Budgets"]
        for b in results["budgets"]:
            lines.append(f"  [{'met' if b['met'] else 'MISSED'}] {b['budget']}: {b['value']} (want {b['limit']})")
    if results.get("missing"):
        lines += ["", "Not measured"] + [f"  {k}: {v}" for k, v in results["missing"].items()]
    return "\n".join(lines)
