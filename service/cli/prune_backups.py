"""`ai-diy prune-backups DIR --older-than 30d`: the runbook's "Clean old backups", as code.

Only files named like the backups `ai-diy data export` writes (`ai-diy-data-YYYYMMDD*.json`)
and starting like one are considered; ages come from the date in the name (UTC), and
the newest backup is always kept.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from service.cli._common import EXIT_FAILURE, InputError
from service.ops.backup_pruning import prune, prune_plan


def _age(value: str) -> int:
    match = re.fullmatch(r"(\d+)([dw]?)", value.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"expected a number of days like 30d or 4w, got {value!r}")
    return int(match[1]) * (7 if match[2] == "w" else 1)


def _count(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value!r}")
    return int(value)


def _day(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYYMMDD, got {value!r}") from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `prune-backups` command."""
    parser = subparsers.add_parser(
        "prune-backups", help="delete data backups (ai-diy-data-YYYYMMDD*.json) older than an age; keeps the newest"
    )
    parser.add_argument("directory", type=Path, metavar="DIR", help="directory holding the backups")
    parser.add_argument("--older-than", type=_age, required=True, metavar="AGE", help="30d (days) or 4w (weeks)")
    parser.add_argument(
        "--keep-last",
        type=_count,
        default=1,
        metavar="N",
        help="newest backups kept whatever their age (default: %(default)s)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print what would be deleted, delete nothing")
    parser.add_argument(
        "--today", type=_day, help="reference day YYYYMMDD (default: today in UTC, as the backup names)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    directory: Path = args.directory
    if not directory.is_dir():
        raise InputError(f"prune-backups: {directory}: not a directory")
    today = args.today or datetime.now(UTC).date()
    actions = prune_plan(directory, today, older_than_days=args.older_than, keep_last=args.keep_last)
    doomed = [action for action in actions if action.verb == "delete"]
    verb = "would delete" if args.dry_run else "deleted"
    if not args.dry_run:
        try:
            prune(doomed)
        except OSError as exc:
            print(f"prune-backups stopped: {exc}", file=sys.stderr)
            return EXIT_FAILURE
    for action in actions:
        print(f"{verb if action.verb == 'delete' else 'kept'} {action.path.name} ({action.reason})")
    prefix = "dry run: " if args.dry_run else ""
    print(
        f"{prefix}{verb} {len(doomed)} backup(s) older than {args.older_than} days from {directory}; "
        f"kept {len(actions) - len(doomed)}"
    )
    return 0
