"""`ai-diy drill [ALERT ...]`: prove alerts end to end, each on a private stack, and print the table.

The work is in service/drills; this module parses the command line and prints. With
no ALERT every drill runs; `ALERT` runs each severity of it, `ALERT:severity` one.
Drills run side by side (`--parallel`), each on its own stack. Progress goes to stderr
when it is a terminal; the table (or `--json`, one object) to
stdout. Exit 0 when every drill paged at its receiver and resolved, 1 otherwise.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from service.cli._common import EXIT_OK, InputError
from service.drills import report
from service.drills.catalogue import UnknownDrill, select
from service.drills.runner import PARALLEL, run_drills
from service.ops.checkout import find_source


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `drill` command."""
    parser = subparsers.add_parser("drill", help="fire alerts on a private stack and check that they page and resolve")
    parser.add_argument("alerts", nargs="*", metavar="ALERT", help="ALERT or ALERT:critical|warning (default: all)")
    parser.add_argument("--list", action="store_true", help="list the drills instead of running them")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--source", type=Path, default=None, help="checkout holding alerts/ and deploy/")
    parser.add_argument(
        "--workdir",
        type=Path,
        help="directory for configs, data and logs (default: a new temporary one, removed when every drill passed)",
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=PARALLEL,
        metavar="N",
        help=f"drills run side by side (default {PARALLEL}; a CPU drill always runs alone)",
    )
    parser.set_defaults(func=run)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM stops the drills as Ctrl-C does: every drill stops its stack by PID before the command exits."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    try:
        drills = select(args.alerts)
    except UnknownDrill as unknown:
        raise InputError(str(unknown)) from None
    if args.list:
        print(report.list_json(drills) if args.json else report.list_text(drills))
        return EXIT_OK
    if args.parallel < 1:
        raise InputError(f"--parallel: expected 1 or more drills at a time, got {args.parallel}")
    source = find_source(args.source)
    if source is None:
        raise InputError("--source: no checkout found (alerts/, deploy/); run from one or pass --source")
    temporary = args.workdir is None
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ai-diy-drill-"))
    try:
        with _sigterm_interrupts():
            results = run_drills(
                drills,
                source=source,
                workdir=workdir,
                parallel=args.parallel,
                progress=_say if sys.stderr.isatty() else (lambda _: None),
                problem=_say,
            )
    except KeyboardInterrupt:
        # run_drills has stopped every process it started by the time it lets this through.
        _say(f"interrupted: every drill's processes are stopped; configs and logs of the drills: {workdir}")
        raise
    print(report.results_json(results) if args.json else report.results_text(results))
    code = report.exit_code(results)
    if temporary and code == EXIT_OK:
        shutil.rmtree(workdir, ignore_errors=True)
    elif code != EXIT_OK:
        _say(f"configs and logs of the drills: {workdir}")
    return code
