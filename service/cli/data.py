"""`ai-diy data export | validate-backup | import | validate`: backups and data checks."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from observability.errors import ConfigError
from service.cli import progress
from service.cli._common import EXIT_FAILURE, EXIT_OK
from service.cli.progress import FileProgress
from service.data import documents_dir
from service.data.validate import validate_data_dir
from service.ops.backups import (
    BackupError,
    backup_text,
    entry_count,
    export_backup,
    load_backup,
    tree_size,
    verify_backup,
    write_backup,
)
from service.ops.restore import ImportPlan, import_backup
from service.settings import load_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `data` command group."""
    data = subparsers.add_parser("data", help="export, validate and import the documents")
    commands = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")

    export = commands.add_parser("export", help="write every document as one JSON backup")
    export.add_argument("-o", "--output", type=Path, help="backup file (default: stdout)")
    _data_dir_option(export)
    progress.add_options(export)
    export.set_defaults(func=cmd_export)

    check = commands.add_parser("validate-backup", help="check a backup file without changing anything")
    check.add_argument("file", type=Path)
    progress.add_options(check)
    check.set_defaults(func=cmd_validate_backup)

    restore = commands.add_parser("import", help="replace the documents with a backup's (atomically)")
    restore.add_argument("file", type=Path)
    restore.add_argument("--dry-run", action="store_true", help="report what would change, change nothing")
    _data_dir_option(restore)
    progress.add_options(restore)
    restore.set_defaults(func=cmd_import)

    validate = commands.add_parser("validate", help="check the live documents directory")
    _data_dir_option(validate)
    validate.set_defaults(func=cmd_validate)


def _data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="data directory (default: AI_DIY_DATA_DIR)")


def _data_dir(args: argparse.Namespace) -> Path:
    """--data-dir, else AI_DIY_DATA_DIR (a ConfigError when the settings are invalid)."""
    # An explicit --data-dir needs no settings, so a broken unrelated setting does not
    # stand between an operator and a restore.
    if args.data_dir is not None:
        return Path(args.data_dir)
    return load_settings().data_dir


def _fail(lines: list[str], code: int) -> int:
    for line in lines:
        print(line, file=sys.stderr)
    return code


def cmd_export(args: argparse.Namespace) -> int:
    """Print or write the backup; skipped entries are reported on stderr."""
    data_dir = _data_dir(args)
    if args.output is not None:
        # Checked first: a long export must not end in a write that cannot happen.
        if not args.output.resolve().parent.is_dir():
            raise ConfigError(f"--output: {args.output}: directory {args.output.parent} does not exist")
        if args.output.is_dir():
            raise ConfigError(f"--output: {args.output} is a directory; name the backup file")
    root = documents_dir(data_dir)
    if not root.is_dir():
        return _fail([f"{root}: documents directory does not exist"], EXIT_FAILURE)
    with FileProgress.from_args(args) as shown:
        backup, skipped = export_backup(root, on_file=shown.phase("export", *tree_size(root)))
    _fail([f"skipped {line}" for line in skipped], EXIT_OK)
    if args.output is None:
        sys.stdout.write(backup_text(backup))
    else:
        write_backup(args.output, backup)
        print(f"exported {len(backup['documents'])} documents to {args.output}", file=sys.stderr)
    return EXIT_OK


def _refused(file: Path, error: BackupError, *, then: str = "") -> int:
    """The verdict on a refused backup: one line on stderr, exit 1."""
    return _fail([f"{file}: invalid backup: {error.summary()}{then}"], EXIT_FAILURE)


def cmd_validate_backup(args: argparse.Namespace) -> int:
    """Check the backup exactly as `import` does before it changes anything; exit 1 on any problem."""
    try:
        backup = load_backup(args.file)
        with FileProgress.from_args(args) as shown:
            verified = verify_backup(backup, shown.phase("verify", entry_count(backup)))
    except BackupError as exc:
        return _refused(args.file, exc)
    print(
        f"{args.file}: valid backup, {len(verified.documents)} documents, {verified.total_bytes} bytes, "
        f"created {verified.created_at} by version {verified.service_version}"
    )
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    """Verify, then swap the documents in; report added, changed, removed."""
    data_dir = _data_dir(args)
    try:
        backup = load_backup(args.file)
        with FileProgress.from_args(args) as shown:
            verified = shown.phase("verify", entry_count(backup))
            # No bar for writing in a dry run: nothing is written.
            written = None if args.dry_run else shown.phase("write", entry_count(backup))
            plan = import_backup(data_dir, backup, dry_run=args.dry_run, on_verified=verified, on_written=written)
    except BackupError as exc:
        return _refused(args.file, exc, then="; nothing was changed")
    except OSError as exc:
        return _fail([f"import failed, nothing was changed: {exc}"], EXIT_FAILURE)
    _print_plan(plan, dry_run=args.dry_run)
    return EXIT_OK


def _print_plan(plan: ImportPlan, *, dry_run: bool) -> None:
    verb = "would be " if dry_run else ""
    for label, paths in (("added", plan.added), ("changed", plan.changed), ("removed", plan.removed)):
        for rel in paths:
            print(f"{verb}{label}: {rel}")
    print(
        f"{'dry run: ' if dry_run else ''}{len(plan.added)} added, {len(plan.changed)} changed, "
        f"{len(plan.removed)} removed, {plan.unchanged} unchanged"
    )
    if plan.rollback is not None:
        print(f"previous documents kept in {plan.rollback}")


def cmd_validate(args: argparse.Namespace) -> int:
    """The runbook's validate_data: exit 1 when the live directory has problems."""
    data_dir = _data_dir(args)
    root = documents_dir(data_dir)
    problems = validate_data_dir(data_dir)
    if problems:
        return _fail([*problems, f"{len(problems)} problem(s) in {root}"], EXIT_FAILURE)
    count = sum(len(files) for _, _, files in os.walk(root))
    print(f"{root}: {count} documents, no problems")
    return EXIT_OK
