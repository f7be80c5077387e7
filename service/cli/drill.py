"""`ai-diy drill [ALERT ...]`: prove alerts end to end, each on a private stack, and print the table.

The work is in service/drills; this module parses the command line and prints. With
no ALERT every drill runs; `ALERT` runs each severity of it, `ALERT:severity` one.
Progress goes to stderr when it is a terminal; the table (or `--json`, one object) to
stdout. Exit 0 when every drill paged at its receiver and resolved, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from service.cli._common import EXIT_OK, InputError
from service.drills import report
from service.drills.catalogue import UnknownDrill, select
from service.drills.runner import DrillUnavailable, run_drill
from service.drills.stack import StackError
from service.ops.checkout import find_source


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `drill` command."""
    parser = subparsers.add_parser("drill", help="fire alerts on a private stack and check that they page and resolve")
    parser.add_argument("alerts", nargs="*", metavar="ALERT", help="ALERT or ALERT:critical|warning (default: all)")
    parser.add_argument("--list", action="store_true", help="list the drills instead of running them")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--source", type=Path, default=None, help="checkout holding alerts/ and deploy/")
    parser.add_argument("--workdir", type=Path, help="directory for configs, data and logs (default: a new temp dir)")
    parser.set_defaults(func=run)


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    try:
        drills = select(args.alerts)
    except UnknownDrill as unknown:
        raise InputError(str(unknown)) from None
    if args.list:
        print(report.list_json(drills) if args.json else report.list_text(drills))
        return EXIT_OK
    source = find_source(args.source)
    if source is None:
        raise InputError("--source: no checkout found (alerts/, deploy/); run from one or pass --source")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ai-diy-drill-"))
    progress = _progress if sys.stderr.isatty() else (lambda _: None)
    results = []
    for drill in drills:
        try:
            results.append(
                run_drill(drill, source=source, workdir=workdir / drill.name.replace(":", "-"), progress=progress)
            )
        except (DrillUnavailable, StackError) as failed:
            print(f"{drill.name}: {failed}", file=sys.stderr)
            results.append(report.Result(drill, None, None, None))
    print(report.results_json(results) if args.json else report.results_text(results))
    return report.exit_code(results)
