"""Export, validation and atomic import of the documents directory as one JSON backup.

A backup is self-describing and self-checking: every document carries its size and
sha256, and `checksum` covers the canonical serialisation of the whole documents
list, so a flipped byte, a truncated file or a hand-edited entry is caught before
anything on disk changes. Import builds the new tree beside the live one and swaps
the two with renames; the previous tree stays as `appdocs.rollback-<UTC time>`.
Pruning deletes backups older than a number of days, by the date in their names.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from service import __version__
from service.data import documents_dir
from service.data.atomic import fsync_dir, is_temp_name
from service.data.validate import STAGING_PREFIX, json_problem, path_problem

FORMAT = "ai-diy-appdocs-backup"
FORMAT_VERSION = 1
ROLLBACK_PREFIX = "appdocs.rollback-"
# A progress callback: called once per file done, with its name and size in bytes.
FileDone = Callable[[str, int], None]


class BackupError(Exception):
    """The backup or the import cannot proceed; `problems` holds one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def documents_checksum(documents: list[dict[str, Any]]) -> str:
    """sha256 over the canonical JSON of the documents list (sorted keys, no spaces)."""
    canonical = json.dumps(documents, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _document_entry(rel: str, data: bytes) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": rel, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    try:
        entry["content"] = data.decode("utf-8")
    except UnicodeDecodeError:
        entry["content"] = base64.b64encode(data).decode("ascii")
        entry["encoding"] = "base64"
    return entry


def _tree_entries(root: Path) -> Iterator[tuple[str, Path, str | None]]:
    """Every file under root in a stable order: relative path, full path, and why it is skipped (None: a document)."""
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if is_temp_name(name):
                continue  # an interrupted write's temporary file: not a document, swept at the next start
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            problem = path_problem(rel)
            if problem is None and (full.is_symlink() or not full.is_file()):
                problem = "not a regular file"
            yield rel, full, problem


def read_tree(root: Path, on_file: FileDone | None = None) -> tuple[dict[str, bytes], list[str]]:
    """Documents under root by relative path, and what was skipped (with why); on_file hears of each read."""
    documents: dict[str, bytes] = {}
    skipped: list[str] = []
    for rel, full, problem in _tree_entries(root):
        if problem:
            skipped.append(f"{rel}: {problem}")
            continue
        documents[rel] = full.read_bytes()
        if on_file is not None:
            on_file(rel, len(documents[rel]))
    return documents, skipped


def tree_size(root: Path) -> tuple[int, int]:
    """How many documents `read_tree` would read under root, and their bytes: the totals of a progress bar."""
    count = size = 0
    for _, full, problem in _tree_entries(root):
        if problem is None:
            count += 1
            with contextlib.suppress(OSError):  # gone since the walk: reading it reports that
                size += full.stat().st_size
    return count, size


def export_backup(
    root: Path, *, now: datetime | None = None, on_file: FileDone | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The backup document of every document under root, and the skipped entries; on_file hears of each read."""
    tree, skipped = read_tree(root, on_file)
    documents = [_document_entry(rel, data) for rel, data in sorted(tree.items())]
    created = (now or datetime.now(UTC)).astimezone(UTC)
    backup = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": created.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "service_version": __version__,
        "documents": documents,
        "checksum": documents_checksum(documents),
    }
    return backup, skipped


def load_backup(path: Path) -> dict[str, Any]:
    """Parse a backup file; raises BackupError when it is not a JSON object."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BackupError([f"{path}: cannot read ({exc.strerror})"]) from None
    try:
        backup = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BackupError([f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})"]) from None
    except json.JSONDecodeError as exc:
        raise BackupError(
            [f"{path}: not valid JSON, truncated or corrupted? ({exc.msg} at line {exc.lineno} column {exc.colno})"]
        ) from None
    if not isinstance(backup, dict):
        raise BackupError([f"{path}: expected a JSON object at the top level"])
    return backup


def decode_documents(backup: dict[str, Any], on_file: FileDone | None = None) -> tuple[dict[str, bytes], list[str]]:
    """Documents of a parsed backup by path, and every problem found (empty when valid).

    on_file hears of each entry checked, valid or not (with 0 bytes when it could not be decoded).
    """
    problems: list[str] = []
    if backup.get("format") != FORMAT:
        problems.append(f"format: expected {FORMAT!r}, got {backup.get('format')!r}")
    if backup.get("format_version") != FORMAT_VERSION:
        problems.append(f"format_version: expected {FORMAT_VERSION}, got {backup.get('format_version')!r}")
    documents = backup.get("documents")
    if not isinstance(documents, list):
        return {}, [*problems, "documents: expected a list"]
    if backup.get("checksum") != documents_checksum(documents):
        problems.append("checksum: does not match the documents (the backup was altered or damaged)")
    decoded: dict[str, bytes] = {}
    for index, entry in enumerate(documents):
        data, entry_problems = _decode_entry(entry)
        label = f"documents[{index}]" + (f" {entry['path']!r}" if isinstance(entry, dict) and "path" in entry else "")
        problems.extend(f"{label}: {problem}" for problem in entry_problems)
        if on_file is not None:
            on_file(
                str(entry["path"]) if isinstance(entry, dict) and "path" in entry else f"documents[{index}]",
                len(data or b""),
            )
        if data is None:
            continue
        if entry["path"] in decoded:
            problems.append(f"{label}: duplicate path")
            continue
        decoded[entry["path"]] = data
    return decoded, problems


def _decode_entry(entry: Any) -> tuple[bytes | None, list[str]]:
    if not isinstance(entry, dict):
        return None, ["expected an object"]
    problems = []
    problem = path_problem(entry.get("path"))
    if problem:
        problems.append(problem)
    content, encoding = entry.get("content"), entry.get("encoding", "utf-8")
    if not isinstance(content, str):
        return None, [*problems, "content: expected a string"]
    if encoding == "base64":
        try:
            data = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            return None, [*problems, "content: not valid base64"]
    elif encoding == "utf-8":
        try:
            data = content.encode("utf-8")
        except UnicodeEncodeError:
            return None, [*problems, "content: not encodable as UTF-8 (lone surrogate)"]
    else:
        return None, [*problems, f"encoding: expected 'utf-8' or 'base64', got {encoding!r}"]
    if entry.get("size") != len(data):
        problems.append(f"size: expected {entry.get('size')!r}, content has {len(data)} bytes")
    if entry.get("sha256") != hashlib.sha256(data).hexdigest():
        problems.append("sha256: does not match the content")
    if not problems and str(entry["path"]).lower().endswith(".json"):
        problem = json_problem(data)
        if problem:
            problems.append(problem)
    return (None if problems else data), problems


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
    incoming, problems = decode_documents(backup, on_verified)
    if problems:
        raise BackupError(problems)
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
        with open(target, "wb") as handle:
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
