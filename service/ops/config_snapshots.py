"""Copies of the configuration (environment file and models_config.json) to roll back to.

A snapshot is a directory `<backups>/<UTC time>[-label]/` holding each file as it was,
its original path, mode and owner, and a sha256 per file in `manifest.json`, written
last: a directory without a manifest is an interrupted snapshot and is ignored. A file
that did not exist is recorded as absent (the models file is optional: the service
then uses its embedded default), so rolling back to that snapshot removes it again.

A rollback is all-or-nothing. The whole snapshot is validated first (the manifest
against `Manifest`, every copy against its sha256, every target's directory), and a
dry run is exactly that validation. Then the configuration it replaces is saved as a
snapshot of its own, the new files are staged beside their targets, and renamed over
them one by one; should any step fail, the files already replaced are put back.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from service.data.atomic import atomic_write, fsync_dir, temp_name

FORMAT = "ai-diy-config-backup"
MANIFEST = "manifest.json"
MODELS_SETTING = "AI_DIY_MODELS_CONFIG"
BEFORE_ROLLBACK = "-before-rollback"
Role = Literal["env", "models"]


class SnapshotError(Exception):
    """A snapshot is damaged and cannot be used; `problems` holds one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class RollbackRefused(SnapshotError):
    """The snapshot is sound, but its files cannot be put where they belong."""


class ManifestFile(BaseModel):
    """One file of a snapshot, as the manifest records it."""

    # Strict: a mode written as "0644" or a `present` of 1 is a damaged manifest, not a guess.
    model_config = ConfigDict(strict=True, frozen=True)

    role: Role
    path: str = Field(min_length=1)
    present: bool
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    size: int | None = Field(None, ge=0)
    mode: int | None = Field(None, ge=0, le=0o7777)
    uid: int | None = Field(None, ge=0, le=2**32 - 2)
    gid: int | None = Field(None, ge=0, le=2**32 - 2)

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("cannot contain a NUL character")
        if not Path(value).is_absolute():
            raise ValueError("must be an absolute path")
        return value

    @model_validator(mode="after")
    def _copy_described(self) -> ManifestFile:
        missing = [name for name in ("sha256", "size", "mode", "uid", "gid") if getattr(self, name) is None]
        if self.present and missing:
            raise ValueError(f"a present file needs {', '.join(missing)}")
        return self


class Manifest(BaseModel):
    """What `manifest.json` holds."""

    model_config = ConfigDict(strict=True, frozen=True)

    format: Literal["ai-diy-config-backup"]
    created_at: str
    files: list[ManifestFile] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_entry_per_file(self) -> Manifest:
        for what, values in (("role", [f.role for f in self.files]), ("path", [f.path for f in self.files])):
            if len(set(values)) != len(values):
                raise ValueError(f"files: each {what} may appear only once")
        return self


@dataclass(frozen=True)
class ConfigFile:
    """One configuration file: its role (`env`, `models`) and path."""

    role: Role
    path: Path


@dataclass(frozen=True)
class Snapshot:
    """A validated snapshot: its manifest and the verified bytes of each present file, by role."""

    directory: Path
    manifest: Manifest
    contents: dict[Role, bytes]


@dataclass(frozen=True)
class Change:
    """What a rollback does to one file: `restore`, `remove` or `unchanged`."""

    path: Path
    verb: str
    entry: ManifestFile


@dataclass(frozen=True)
class Rollback:
    """A rollback's changes, and where the configuration it replaced was saved (None for a dry run)."""

    changes: list[Change]
    replaced: Path | None


def models_config_path(env_file: Path, explicit: Path | None = None) -> Path:
    """Where the service reads models_config.json: as the settings resolve AI_DIY_MODELS_CONFIG.

    Read without validating the other settings, so a copy can be taken (or restored)
    while an unrelated setting is broken.
    """
    if explicit is not None:
        return explicit
    value = os.environ.get(MODELS_SETTING)
    if value is None and env_file.is_file():
        value = dotenv_values(env_file).get(MODELS_SETTING)
    return Path(value or "models_config.json")


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _fresh_dir(backups: Path, name: str) -> Path:
    for suffix in range(1000):  # two snapshots within one second
        candidate = backups / (name if suffix == 0 else f"{name}-{suffix}")
        try:
            candidate.mkdir(mode=0o700)
        except FileExistsError:
            continue
        return candidate
    raise SnapshotError([f"{backups}: too many snapshots named {name}*"])


def save(files: list[ConfigFile], backups: Path, *, now: datetime, label: str = "") -> Path:
    """Copy each file (or record its absence) into a new snapshot; returns its directory."""
    backups.mkdir(parents=True, exist_ok=True, mode=0o700)
    snapshot = _fresh_dir(backups, _stamp(now) + (f"-{label}" if label else ""))
    entries = []
    try:
        for item in files:
            path = item.path.absolute()
            entry: dict[str, Any] = {"role": item.role, "path": str(path), "present": path.is_file()}
            if entry["present"]:
                data = path.read_bytes()
                stat = path.stat()
                atomic_write(snapshot / item.role, data, mode=0o600)  # the environment file holds secrets
                entry.update(
                    sha256=hashlib.sha256(data).hexdigest(),
                    size=len(data),
                    mode=stat.st_mode & 0o7777,
                    uid=stat.st_uid,
                    gid=stat.st_gid,
                )
            entries.append(entry)
        manifest = {"format": FORMAT, "created_at": now.astimezone(UTC).isoformat(timespec="seconds"), "files": entries}
        atomic_write(snapshot / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode(), mode=0o600)
    except BaseException:
        shutil.rmtree(snapshot, ignore_errors=True)
        raise
    fsync_dir(backups)
    return snapshot


def snapshots(backups: Path) -> list[Path]:
    """Complete snapshots in backups (damaged ones included), oldest first."""
    if not backups.is_dir():
        return []
    return sorted(entry for entry in backups.iterdir() if (entry / MANIFEST).is_file())


def _describe_errors(where: Path, error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors(include_url=False):
        loc = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in item["loc"]).lstrip(".")
        got = item.get("input")
        shown = f" (got {got!r})" if isinstance(got, str | int | float | bool) else ""
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {loc or 'manifest'}: {message}{shown}")
    return lines


def load(directory: Path) -> Snapshot:
    """The snapshot in directory, every entry and copy verified; SnapshotError naming each problem."""
    where = directory / MANIFEST
    try:
        manifest = Manifest.model_validate_json(where.read_bytes())
    except OSError as exc:
        raise SnapshotError([f"{where}: unreadable ({exc.strerror or exc})"]) from None
    except ValidationError as exc:
        raise SnapshotError(_describe_errors(where, exc)) from None
    problems: list[str] = []
    contents: dict[Role, bytes] = {}
    for entry in manifest.files:
        if not entry.present:
            continue
        copy = directory / entry.role
        try:
            data = copy.read_bytes()
        except OSError as exc:
            problems.append(f"{copy}: cannot read ({exc.strerror or exc})")
            continue
        if hashlib.sha256(data).hexdigest() != entry.sha256 or len(data) != entry.size:
            problems.append(f"{copy}: sha256 does not match the manifest (the copy was altered or damaged)")
            continue
        contents[entry.role] = data
    if problems:
        raise SnapshotError(problems)
    return Snapshot(directory, manifest, contents)


def plan(snapshot: Snapshot) -> list[Change]:
    """What rolling back to snapshot changes, file by file; RollbackRefused when a file cannot be put back."""
    changes, problems = [], []
    for entry in snapshot.manifest.files:
        path = Path(entry.path)
        if path.exists() and not path.is_file():
            problems.append(f"{path}: is not a regular file; it is left alone")
            continue
        if entry.present:
            if not path.parent.is_dir():
                problems.append(f"{path}: directory {path.parent} does not exist")
                continue
            if not os.access(path.parent, os.W_OK | os.X_OK):
                problems.append(f"{path}: directory {path.parent} is not writable")
                continue
            same = path.is_file() and path.read_bytes() == snapshot.contents[entry.role]
            changes.append(Change(path, "unchanged" if same else "restore", entry))
        else:
            changes.append(Change(path, "remove" if path.exists() else "unchanged", entry))
    if problems:
        raise RollbackRefused(problems)
    return changes


def rollback(directory: Path, backups: Path, *, now: datetime, dry_run: bool = False) -> Rollback:
    """Put the snapshot's files back, all or none; the replaced configuration is saved first.

    A dry run stops after the validation a real rollback runs, so it fails exactly when the rollback would.
    """
    snapshot = load(directory)
    changes = plan(snapshot)
    if dry_run:
        return Rollback(changes, None)
    replaced = save(
        [ConfigFile(entry.role, Path(entry.path)) for entry in snapshot.manifest.files],
        backups,
        now=now,
        label=BEFORE_ROLLBACK.lstrip("-"),
    )
    try:
        apply(changes, snapshot.contents)
    except BaseException:
        # Nothing was changed: the copy of the live configuration would only confuse a later choice.
        shutil.rmtree(replaced, ignore_errors=True)
        raise
    return Rollback(changes, replaced)


def apply(changes: list[Change], contents: dict[Role, bytes]) -> None:
    """Make every change or none: stage beside the targets, rename, and put the old files back on failure."""
    steps = [change for change in changes if change.verb != "unchanged"]
    staged: dict[Path, Path] = {}
    kept: dict[Path, Path | None] = {}
    done: list[Path] = []
    try:
        for change in steps:
            if change.verb == "restore":
                staged[change.path] = _stage(change, contents[change.entry.role])
        for change in steps:
            kept[change.path] = _keep_aside(change.path)
            _commit(change, staged.get(change.path))
            done.append(change.path)
    except BaseException:
        for path in reversed(done):
            _put_back(path, kept[path])
        raise
    finally:
        for leftover in [*staged.values(), *(aside for aside in kept.values() if aside is not None)]:
            leftover.unlink(missing_ok=True)
        for parent in {change.path.parent for change in steps}:
            fsync_dir(parent)


def _stage(change: Change, data: bytes) -> Path:
    """The new content in a temporary file beside the target, with its mode and owner, on disk."""
    staged = temp_name(change.path)
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        entry = change.entry
        # Only root can give a file back to its owner; anyone else writes files they own anyway.
        if os.geteuid() == 0 and entry.uid is not None and entry.gid is not None:
            os.chown(staged, entry.uid, entry.gid)
        if entry.mode is not None:
            os.chmod(staged, entry.mode)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return staged


def _keep_aside(target: Path) -> Path | None:
    """A second name for the file about to be replaced, so it can be put back; None when there is none."""
    if not target.exists():
        return None
    aside = temp_name(target)
    os.link(target, aside)
    return aside


def _commit(change: Change, staged: Path | None) -> None:
    """One rename (or removal): the step a failure can interrupt."""
    if staged is not None:
        os.replace(staged, change.path)
    else:
        change.path.unlink()


def _put_back(target: Path, aside: Path | None) -> None:
    if aside is None:
        target.unlink(missing_ok=True)
    else:
        os.replace(aside, target)
