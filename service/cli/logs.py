"""`ai-diy logs rotate | archive`: the runbook's log-rotate.sh and log archive, as code."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from service.cli import progress
from service.cli._common import EXIT_FAILURE, EXIT_OK, InputError
from service.cli.progress import FileProgress, total_size
from service.ops import retention
from service.settings import load_settings


def _day(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYYMMDD, got {value!r}") from None


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        days = -1
    if days < 0:
        raise argparse.ArgumentTypeError(f"expected a number of days >= 0, got {value!r}")
    return days


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `logs` command group."""
    logs = subparsers.add_parser("logs", help="log retention and archives")
    commands = logs.add_subparsers(dest="logs_command", required=True, metavar="COMMAND")

    rotate = commands.add_parser(
        "rotate", help="compress old log files and delete expired ones (ages from the date in the file name)"
    )
    rotate.add_argument("--dry-run", action="store_true", help="print what would be done, change nothing")
    rotate.add_argument("--compress-after", type=_days, default=retention.DEFAULT_COMPRESS_AFTER, metavar="DAYS")
    defaults = retention.DEFAULT_KEEP_DAYS
    rotate.add_argument(
        "--app-days", type=_days, default=defaults["api"], metavar="DAYS", help="keep ai_diy_api_* logs"
    )
    rotate.add_argument("--security-days", type=_days, default=defaults["security"], metavar="DAYS")
    rotate.add_argument("--audit-days", type=_days, default=defaults["audit"], metavar="DAYS")
    rotate.add_argument("--backup-days", type=_days, default=defaults["backup"], metavar="DAYS")
    rotate.add_argument(
        "--today", type=_day, help="reference day YYYYMMDD (default: today in UTC, as the log file names)"
    )
    _log_dir_option(rotate)
    progress.add_options(rotate)
    rotate.set_defaults(func=cmd_rotate)

    bundle = commands.add_parser("archive", help="bundle every log file into one .tar.gz")
    bundle.add_argument(
        "-o", "--output", type=Path, required=True, metavar="FILE.tar.gz", help="the archive (.tar.gz or .tgz)"
    )
    bundle.add_argument("--force", action="store_true", help="replace the archive if it exists")
    _log_dir_option(bundle)
    progress.add_options(bundle)
    bundle.set_defaults(func=cmd_archive)


def _log_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-dir", type=Path, help="log directory (default: AI_DIY_LOG_DIR)")


def _log_dir(args: argparse.Namespace) -> Path:
    """--log-dir, else AI_DIY_LOG_DIR (a ConfigError when the settings are invalid)."""
    if args.log_dir is not None:
        return Path(args.log_dir)
    return load_settings().log_dir


def cmd_rotate(args: argparse.Namespace) -> int:
    """Apply (or print) the retention plan; idempotent."""
    log_dir = _log_dir(args)
    if not log_dir.is_dir():
        print(f"{log_dir}: log directory does not exist", file=sys.stderr)
        return EXIT_FAILURE
    keep = {"api": args.app_days, "security": args.security_days, "audit": args.audit_days, "backup": args.backup_days}
    actions = retention.plan(
        log_dir, args.today or datetime.now(UTC).date(), compress_after=args.compress_after, keep_days=keep
    )
    if args.dry_run:
        for action in actions:
            print(f"would {action.verb} {action.file.path.name} ({action.reason})")
        print(f"dry run: {len(actions)} action(s) in {log_dir}")
        return EXIT_OK
    try:
        with FileProgress.from_args(args) as shown:
            lines = retention.apply(
                actions, shown.phase("rotate", len(actions), total_size(a.file.path for a in actions))
            )
    except OSError as exc:
        print(f"log rotation stopped: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    for line in lines:
        print(line)
    print(f"log rotation completed: {len(lines)} action(s) in {log_dir}")
    return EXIT_OK


# What the archive is (a gzip-compressed tar), and what tar and file managers recognise it by.
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")


def _refuse_existing(output: Path) -> InputError:
    return InputError(f"--output: {output} exists; pass --force to replace it")


def cmd_archive(args: argparse.Namespace) -> int:
    """Write the .tar.gz and list what went in; never under another name, nor over an archive unasked."""
    output: Path = args.output
    if not output.name.lower().endswith(ARCHIVE_SUFFIXES):
        raise InputError(f"--output: {output} must end in .tar.gz or .tgz (the archive is a gzip-compressed tar)")
    if output.exists() and not args.force:
        raise _refuse_existing(output)
    log_dir = _log_dir(args)
    files = [log.path for log in retention.log_files(log_dir)]
    try:
        with FileProgress.from_args(args) as shown:
            phase = shown.phase("archive", len(files), total_size(files))
            names = retention.archive(log_dir, output, phase, replace=args.force)
    except FileExistsError:  # made by someone else while this one was written
        raise _refuse_existing(output) from None
    except OSError as exc:
        print(f"archive failed: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"archived {len(names)} log file(s) from {log_dir} to {args.output}")
    return EXIT_OK
