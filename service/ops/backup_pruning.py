"""`prune-backups`: delete backups older than a number of days, by the date in their names.

Ages come from the date in the file name, never from mtime, so copying or restoring a
backup does not change when it expires; the newest backups stay whatever their age.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from service.data.atomic import fsync_dir
from service.ops.backups import FORMAT

# Backups as the runbook names them: `ai-diy data export -o backup/ai-diy-data-$(date -u +%Y%m%d).json`,
# optionally with a time or tag after the date.
BACKUP_NAME = re.compile(r"^ai-diy-data-(?P<date>\d{8})(?:[-_T][0-9A-Za-z-]+)?\.json$")
_HEAD_BYTES = 512


@dataclass(frozen=True)
class PruneAction:
    """One backup file and what pruning does with it (`delete` or `keep`), with why."""

    path: Path
    day: date
    verb: str
    reason: str


def backup_day(path: Path) -> date | None:
    """The (UTC) day in a backup's file name, or None for a name pruning must leave alone."""
    match = BACKUP_NAME.match(path.name)
    if not match:
        return None
    try:
        return datetime.strptime(match["date"], "%Y%m%d").date()
    except ValueError:
        return None


def looks_like_backup(path: Path) -> bool:
    """True when the file starts like a backup `ai-diy data export` writes (format marker first)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError:
        return False
    return re.match(rb'\s*\{\s*"format"\s*:\s*"' + FORMAT.encode() + rb'"', head) is not None


def prune_plan(directory: Path, today: date, *, older_than_days: int, keep_last: int = 1) -> list[PruneAction]:
    """What pruning does with each backup in directory, oldest first.

    Ages come from the date in the file name, never from mtime, so copying or restoring
    a backup does not change when it expires. The newest `keep_last` backups stay
    whatever their age: pruning never leaves a directory without a backup. Files whose
    name or content is not a backup's are not in the plan at all.
    """
    found = []
    for entry in sorted(directory.iterdir()):
        day = backup_day(entry)
        if day is None or entry.is_symlink() or not entry.is_file() or not looks_like_backup(entry):
            continue
        found.append((day, entry))
    found.sort()
    newest = {path for _, path in found[len(found) - keep_last :]} if keep_last > 0 else set()
    actions = []
    for day, path in found:
        age = (today - day).days
        if age <= older_than_days:
            actions.append(PruneAction(path, day, "keep", f"{age} days old"))
        elif path in newest:
            actions.append(PruneAction(path, day, "keep", f"{age} days old, but one of the newest {keep_last}"))
        else:
            actions.append(PruneAction(path, day, "delete", f"{age} days old"))
    return actions


def prune(actions: list[PruneAction]) -> list[Path]:
    """Delete what the plan says; returns the deleted paths."""
    deleted = []
    directories = set()
    for action in actions:
        if action.verb != "delete":
            continue
        action.path.unlink()
        deleted.append(action.path)
        directories.add(action.path.parent)
    for directory in directories:
        fsync_dir(directory)
    return deleted
