"""`python -m bench`: run the benchmark and print (and optionally save) the results."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
from collections.abc import Callable, Coroutine, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from .driver import Probe
from .report import annotate, render
from .variants import CORE, EXTRAS, available, build
from .workspace import apply_env, create_workspace, request_mix

T = TypeVar("T")

MODES = ("inprocess", "scrape", "profile", "server")
FULL = {
    "requests": 2000,
    "repetitions": 7,
    "warmup": 500,
    "scrape_requests": 10_000,
    "profile_requests": 5000,
    "rounds": 5,
    "duration": 5.0,
    "wrk_warmup": 2.0,
    "threads": 2,
    "connections": 32,
}
SMOKE = {
    "requests": 40,
    "repetitions": 2,
    "warmup": 20,
    "scrape_requests": 200,
    "profile_requests": 100,
    "rounds": 1,
    "duration": 1.0,
    "wrk_warmup": 1.0,
    "threads": 1,
    "connections": 4,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny counts: checks the harness in seconds")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated subset of {','.join(MODES)}")
    parser.add_argument("--variants", default=",".join(CORE + EXTRAS), help="comma-separated variants")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--profile-text", type=Path, help="write pyinstrument's call tree to this file")
    parser.add_argument("--workspace", type=Path, help="directory for data and logs (default: a new temp dir, removed)")
    parser.add_argument(
        "--paths",
        help="comma-separated GET paths to use instead of every GET route (e.g. the JSON routes without "
        "thread-pool work: /api/env,/api/config/models); each must answer 200",
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="let the scheduler place the servers and wrk (default: each server on one CPU, wrk on the others)",
    )
    for key, value in FULL.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=type(value), default=None, help=f"default {value}")
    args = parser.parse_args(argv)
    preset = SMOKE if args.smoke else FULL
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def _run(coro_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    # uvloop in process too: the event loop hypercorn's uvloop worker runs on.
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro_factory())


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    unknown = set(modes) - set(MODES)
    if unknown:
        print(f"unknown modes: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    # The process-wide switches of a served process (no `_created` series), for every variant alike.
    from service.server import configure_process

    configure_process()
    names, missing = available([v for v in args.variants.split(",") if v])
    space = create_workspace(args.workspace)
    apply_env(space)
    results: dict[str, Any] = {
        "mode": "smoke" if args.smoke else "full",
        "settings": {k: getattr(args, k) for k in FULL},
        "missing": missing,
        "cpus": os.cpu_count(),
        # Other work on the machine widens the ranges; the load shows how much there was.
        "load_before": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        if args.paths:
            mix = [Probe("GET", path) for path in args.paths.split(",") if path]
        else:
            mix = request_mix(build("bare", space).app.routes)
        results["mix"] = [p.path for p in mix]
        results["all_routes"] = not args.paths
        if "inprocess" in modes:
            results["inprocess"] = _inprocess(names, space, mix, args)
        if "scrape" in modes:
            results["scrape"] = _scrape(names, space, mix, args)
        if "profile" in modes and "full" in names:
            results["profile"] = _profile(space, mix, args)
        if "server" in modes:
            from .server import cpu_plan, run_servers

            wrk = shutil.which("wrk")
            if wrk is None:
                results["missing"]["server"] = "wrk is not installed (Debian: apt-get install wrk)"
            else:
                plan = cpu_plan(pin=not args.no_pin)
                results["pinning"] = plan.describe()
                loaded = run_servers(
                    names,
                    space,
                    mix,
                    wrk_path=wrk,
                    rounds=args.rounds,
                    duration=args.duration,
                    warmup=args.wrk_warmup,
                    threads=args.threads,
                    connections=args.connections,
                    plan=plan,
                )
                results["server"] = {name: row.as_json() for name, row in loaded.items()}
    finally:
        if args.workspace is None:
            shutil.rmtree(space.root, ignore_errors=True)
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    annotate(results)
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


def _inprocess(names: list[str], space: Any, mix: list[Any], args: argparse.Namespace) -> dict[str, Any]:
    from .inprocess import run_inprocess

    built = [build(name, space) for name in names]
    try:
        timed = _run(
            lambda: run_inprocess(built, mix, warmup=args.warmup, requests=args.requests, repetitions=args.repetitions)
        )
    finally:
        for b in built:
            b.close()
    return {name: timed[name].as_json() for name in names}


def _scrape(names: list[str], space: Any, mix: list[Any], args: argparse.Namespace) -> dict[str, Any]:
    from .scrape import measure_scrape

    out: dict[str, Any] = {}
    for name in names:
        built = build(name, space)
        try:
            if built.has_metrics_endpoint:
                out[name] = _run(partial(measure_scrape, built, mix, requests=args.scrape_requests)).as_json()
        finally:
            built.close()
    return out


def _profile(space: Any, mix: list[Any], args: argparse.Namespace) -> dict[str, Any]:
    from .profile import profile_requests

    built = build("full", space)
    try:
        profile = _run(lambda: profile_requests(built, mix, requests=args.profile_requests, warmup=args.warmup))
    finally:
        built.close()
    if args.profile_text:
        args.profile_text.write_text(profile.text, encoding="utf-8")
    return profile.as_json()


if __name__ == "__main__":
    sys.exit(main())
