"""`ai-diy config backup | list | rollback`: the runbook's configuration backup and rollback procedure.

`backup` keeps a copy of the environment file and models_config.json before a change;
`rollback` puts the latest (or a named) copy back, after saving what it replaces.
Restart the service afterwards to apply a restored configuration.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from service.cli._common import EXIT_FAILURE, InputError
from service.ops import config_snapshots as snap
from service.ops.service_manager import UNIT, systemd_unit_installed

DEFAULT_DIR = Path("config-backups")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `config` command group."""
    config = subparsers.add_parser("config", help="keep copies of the configuration and roll back to one")
    commands = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")

    backup = commands.add_parser("backup", help="copy the environment file and models_config.json into a new snapshot")
    backup.add_argument(
        "--env-file", type=Path, help="environment file (default: ./.env; under systemd /etc/ai-diy/ai-diy.env)"
    )
    backup.add_argument(
        "--models-config",
        type=Path,
        help="models configuration (default: AI_DIY_MODELS_CONFIG, as the service reads it)",
    )
    _dir_option(backup)
    backup.set_defaults(func=cmd_backup)

    listing = commands.add_parser("list", help="list the snapshots, oldest first")
    _dir_option(listing)
    listing.set_defaults(func=cmd_list)

    back = commands.add_parser(
        "rollback", help="restore a snapshot's files (default: the latest), saving the current ones first"
    )
    back.add_argument(
        "snapshot", nargs="?", help="snapshot name or directory (default: the latest one made by `config backup`)"
    )
    back.add_argument("--dry-run", action="store_true", help="print what would change, change nothing")
    _dir_option(back)
    back.set_defaults(func=cmd_rollback)


def _dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="snapshot directory (default: %(default)s)")


def _fail(lines: list[str]) -> int:
    """The command ran and failed part-way: what happened, on stderr."""
    for line in lines:
        print(line, file=sys.stderr)
    return EXIT_FAILURE


def _saved_line(entry: snap.ManifestFile) -> str:
    # An absent file is recorded as absent (a rollback to this snapshot removes it again), not saved.
    if entry.present:
        return f"saved {entry.path} ({entry.size} bytes)"
    return f"skipped {entry.path}: absent (a rollback to this snapshot removes it)"


def restart_hint() -> str:
    """How to apply a restored configuration here: the systemd unit where one is installed, else serve itself."""
    if systemd_unit_installed():
        return f"apply it with: systemctl restart {UNIT}"
    return "apply it by restarting `ai-diy serve` (in a checkout: Ctrl-C, then `make run`)"


def cmd_backup(args: argparse.Namespace) -> int:
    """Save a snapshot; an explicitly named file that does not exist is a mistake, not an absence."""
    problems = [
        f"--{name}: {path} does not exist"
        for name, path in (("env-file", args.env_file), ("models-config", args.models_config))
        if path is not None and not path.is_file()
    ]
    if problems:
        raise InputError(*problems, "nothing was saved")
    env_file = args.env_file or Path(".env")
    files = [
        snap.ConfigFile("env", env_file),
        snap.ConfigFile("models", snap.models_config_path(env_file, args.models_config)),
    ]
    try:
        snapshot = snap.save(files, args.dir, now=datetime.now(UTC))
    except OSError as exc:
        return _fail([f"config backup failed, nothing was saved: {exc}"])
    try:
        # What the snapshot recorded, read back from it: the live files may have changed since.
        recorded = snap.load(snapshot).manifest.files
    except snap.SnapshotError as exc:
        return _fail([*exc.problems, f"{snapshot} cannot be read back; make the backup again"])
    for entry in recorded:
        print(_saved_line(entry))
    if any(entry.present for entry in recorded):
        print(f"configuration saved in {snapshot}")
    else:
        print(f"no configuration file exists; {snapshot} records their absence")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """Every snapshot, oldest first; a damaged one is shown as damaged and the listing goes on."""
    found = snap.snapshots(args.dir)
    if not found:
        print(f"no configuration backups in {args.dir}")
        return 0
    for directory in found:
        try:
            snapshot = snap.load(directory)
        except snap.SnapshotError as exc:
            print(f"{directory.name}: damaged ({exc.problems[0]})")
            continue
        files = ", ".join(entry.path + ("" if entry.present else " (absent)") for entry in snapshot.manifest.files)
        print(f"{directory.name}: {files}")
    return 0


def _choose(args: argparse.Namespace) -> Path:
    found = snap.snapshots(args.dir)
    if args.snapshot is None:
        # The latest copy an operator made; the copies rollback itself keeps are chosen by name.
        made = [path for path in found if not path.name.endswith(snap.BEFORE_ROLLBACK)]
        if not made:
            raise InputError(f"no configuration backups in {args.dir}: make one with ai-diy config backup")
        return made[-1]
    for candidate in (Path(args.snapshot), args.dir / args.snapshot):
        if (candidate / snap.MANIFEST).is_file():
            return candidate
    known = ", ".join(path.name for path in found) or "none"
    raise InputError(f"no configuration backup {args.snapshot!r} in {args.dir} (known: {known})")


def cmd_rollback(args: argparse.Namespace) -> int:
    """Restore a snapshot, all files or none; a dry run is the real rollback's validation, and stops there."""
    snapshot = _choose(args)
    try:
        result = snap.rollback(snapshot, args.dir, now=datetime.now(UTC), dry_run=args.dry_run)
    except snap.RollbackRefused as exc:
        return _fail([*exc.problems, f"{snapshot} cannot be rolled back to; nothing was changed"])
    except snap.SnapshotError as exc:
        return _fail([*exc.problems, f"{snapshot} is damaged; nothing was changed"])
    except OSError as exc:
        return _fail([f"config rollback failed, nothing was changed: {_os_error(exc)}"])
    verbs = {"restore": "restored", "remove": "removed", "unchanged": "unchanged"}
    for change in result.changes:
        would = "would be " if args.dry_run and change.verb != "unchanged" else ""
        print(f"{would}{verbs[change.verb]}: {change.path}")
    if args.dry_run:
        changed = sum(change.verb != "unchanged" for change in result.changes)
        print(f"dry run: nothing changed; rollback to {snapshot} would change {changed} file(s)")
        return 0
    print(f"rolled back to {snapshot}; the replaced configuration is kept in {result.replaced}")
    print(restart_hint())
    return 0


def _os_error(exc: OSError) -> str:
    names = " -> ".join(str(name) for name in (exc.filename, exc.filename2) if name)
    return f"{names}: {exc.strerror or exc}" if names else str(exc.strerror or exc)
