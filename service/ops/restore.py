"""`data import`: the documents directory replaced by a backup's, all or nothing.

The backup is verified whole first (service.ops.backups: the same verdict
`validate-backup` prints), then the new tree is built beside the live one and the two
are swapped with renames; the previous tree stays as `appdocs.rollback-<UTC time>`.
Any failure before the swap removes the staged tree and leaves the live one as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.data import documents_dir
from service.data.atomic import fsync_dir
from service.data.validate import STAGING_PREFIX
from service.ops.backups import BackupError, FileDone, read_tree, verify_backup

ROLLBACK_PREFIX = "appdocs.rollback-"


@dataclass
class ImportPlan:
    """What an import changes, by relative path."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    rollback: Path | None = None


def plan_import(current: dict[str, bytes], incoming: dict[str, bytes]) -> ImportPlan:
    """Compare the live documents with the backup's."""
    plan = ImportPlan()
    for rel in sorted(incoming):
        if rel not in current:
            plan.added.append(rel)
        elif current[rel] != incoming[rel]:
            plan.changed.append(rel)
        else:
            plan.unchanged += 1
    plan.removed = sorted(set(current) - set(incoming))
    return plan


def import_backup(
    data_dir: Path,
    backup: dict[str, Any],
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    on_verified: FileDone | None = None,
    on_written: FileDone | None = None,
) -> ImportPlan:
    """Replace `<data_dir>/appdocs` with the backup's documents; raises BackupError, data untouched.

    on_verified hears of each entry checked, on_written of each document written to the new tree.
    """
    incoming = verify_backup(backup, on_verified).documents
    root = documents_dir(data_dir)
    current, _ = read_tree(root)
    plan = plan_import(current, incoming)
    if dry_run:
        return plan
    data_dir.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=data_dir))
    try:
        _build_tree(staged, incoming, on_written)
        plan.rollback = _swap_in(root, staged, now or datetime.now(UTC))
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return plan


def _build_tree(staged: Path, documents: dict[str, bytes], on_file: FileDone | None = None) -> None:
    os.chmod(staged, 0o755)  # noqa: S103  # mkdtemp makes it 0700; the live tree must stay readable like before
    directories = {staged}
    for rel, data in documents.items():
        target = staged / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        directories.add(target.parent)
        with open(target, "xb") as handle:  # names were verified unique: an existing file is a bug, not a merge
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if on_file is not None:
            on_file(rel, len(data))
    for directory in directories:
        fsync_dir(directory)


def _swap_in(root: Path, staged: Path, now: datetime) -> Path | None:
    """Rename root away and staged into its place; on failure root is put back."""
    rollback = None
    if root.exists():
        rollback = _rollback_path(root, now)
        os.rename(root, rollback)
    try:
        os.rename(staged, root)
    except BaseException:
        if rollback is not None:
            os.rename(rollback, root)
        raise
    fsync_dir(root.parent)
    return rollback


def _rollback_path(root: Path, now: datetime) -> Path:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = root.with_name(ROLLBACK_PREFIX + stamp)
    for suffix in range(1, 1000):  # two imports within one second
        if not candidate.exists():
            return candidate
        candidate = root.with_name(f"{ROLLBACK_PREFIX}{stamp}-{suffix}")
    raise BackupError([f"{root.parent}: too many rollback copies named {ROLLBACK_PREFIX}{stamp}*"])
