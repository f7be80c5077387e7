"""Copies of the configuration (environment file and models_config.json) to roll back to.

A snapshot is a directory `<backups>/<UTC time>[-label]/` holding each file as it was,
its original path, mode and owner, and a sha256 per file in `manifest.json`, written
last: a directory without a manifest is an interrupted snapshot and is ignored. A file
that did not exist is recorded as absent (the models file is optional: the service
then uses its embedded default), so rolling back to that snapshot removes it again.
Rolling back first snapshots the configuration it replaces, so a rollback loses nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from service.data.atomic import atomic_delete, atomic_write, fsync_dir

FORMAT = "ai-diy-config-backup"
MANIFEST = "manifest.json"
MODELS_SETTING = "AI_DIY_MODELS_CONFIG"
BEFORE_ROLLBACK = "-before-rollback"


class SnapshotError(Exception):
    """A snapshot cannot be made or used; `problems` holds one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ConfigFile:
    """One configuration file: its role (`env`, `models`) and absolute path."""

    role: str
    path: Path


@dataclass(frozen=True)
class Change:
    """What a rollback does to one file: `restore`, `remove` or `unchanged`."""

    path: Path
    verb: str


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
    """Complete snapshots in backups, oldest first."""
    if not backups.is_dir():
        return []
    return sorted(entry for entry in backups.iterdir() if (entry / MANIFEST).is_file())


def load(snapshot: Path) -> tuple[list[dict[str, Any]], dict[Path, bytes]]:
    """The manifest's entries and each present file's bytes; raises SnapshotError when damaged."""
    try:
        manifest = json.loads((snapshot / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SnapshotError([f"{snapshot / MANIFEST}: unreadable ({exc})"]) from None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or not isinstance(manifest.get("files"), list)
    ):
        raise SnapshotError([f"{snapshot / MANIFEST}: not a configuration backup manifest"])
    problems, contents = [], {}
    for entry in manifest["files"]:
        if not entry.get("present"):
            continue
        try:
            data = (snapshot / entry["role"]).read_bytes()
        except OSError as exc:
            problems.append(f"{snapshot / entry['role']}: cannot read ({exc.strerror})")
            continue
        if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            problems.append(
                f"{snapshot / entry['role']}: sha256 does not match the manifest (the copy was altered or damaged)"
            )
            continue
        contents[Path(entry["path"])] = data
    if problems:
        raise SnapshotError(problems)
    return manifest["files"], contents


def plan_rollback(snapshot: Path) -> list[Change]:
    """What rolling back to snapshot changes, file by file (raises SnapshotError when damaged)."""
    entries, contents = load(snapshot)
    changes = []
    for entry in entries:
        path = Path(entry["path"])
        if entry["present"]:
            same = path.is_file() and path.read_bytes() == contents[path]
            changes.append(Change(path, "unchanged" if same else "restore"))
        else:
            changes.append(Change(path, "remove" if path.exists() else "unchanged"))
    return changes


def rollback(snapshot: Path, backups: Path, *, now: datetime) -> tuple[list[Change], Path]:
    """Put the snapshot's files back; the replaced configuration is saved first. Returns (changes, that save)."""
    entries, contents = load(snapshot)
    changes = plan_rollback(snapshot)
    replaced = save(
        [ConfigFile(entry["role"], Path(entry["path"])) for entry in entries],
        backups,
        now=now,
        label=BEFORE_ROLLBACK.lstrip("-"),
    )
    for entry, change in zip(entries, changes, strict=True):
        if change.verb == "restore":
            atomic_write(change.path, contents[change.path], mode=entry["mode"])
            _restore_owner(change.path, entry)
        elif change.verb == "remove":
            atomic_delete(change.path)
    return changes, replaced


def _restore_owner(path: Path, entry: dict[str, Any]) -> None:
    # Only root can give a file back to its owner; anyone else writes files they own anyway.
    if os.geteuid() == 0:
        os.chown(path, entry["uid"], entry["gid"])
    os.chmod(path, entry["mode"])  # atomic_write's mode is filtered by the umask
