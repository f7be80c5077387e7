"""Checks of the live documents directory (the runbook's validate_data) and of document paths."""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath

from service.data import documents_dir
from service.data.atomic import is_temp_name
from service.data.store import MEDIA_TYPES

ALLOWED_EXTENSIONS = frozenset(MEDIA_TYPES)
# Directories an interrupted import leaves beside the live tree (see service.data.backup).
STAGING_PREFIX = ".appdocs.import-"


def path_problem(path: object) -> str | None:
    """Why a relative document path (as stored in a backup) is not acceptable, or None."""
    if not isinstance(path, str) or not path:
        return "path must be a non-empty string"
    if "\x00" in path or "\\" in path:
        return "path contains a NUL byte or a backslash"
    if path.startswith("/"):
        return "path is absolute"
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "path has an empty, '.' or '..' segment"
    if any(part.startswith(".") for part in parts):
        return "path has a hidden segment (names starting with '.' are never served)"
    if PurePosixPath(path).suffix.lower() not in ALLOWED_EXTENSIONS:
        return f"extension not allowed (allowed: {', '.join(sorted(ALLOWED_EXTENSIONS))})"
    return None


def json_problem(data: bytes) -> str | None:
    """Why a .json document does not parse, or None."""
    try:
        json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return f"not UTF-8 ({exc.reason} at byte {exc.start})"
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    return None


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def validate_data_dir(data_dir: Path) -> list[str]:
    """Every problem of `<data_dir>/appdocs`, one readable line each (empty when healthy)."""
    root = documents_dir(data_dir)
    problems = (
        [
            f"{data_dir / name}: leftover of an interrupted import (safe to delete)"
            for name in sorted(os.listdir(data_dir))
            if name.startswith(STAGING_PREFIX)
        ]
        if data_dir.is_dir()
        else []
    )
    if not root.is_dir():
        return [*problems, f"{root}: documents directory does not exist"]
    real_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        current = Path(dirpath)
        for name in sorted(dirnames):
            entry = current / name
            rel = entry.relative_to(root).as_posix()
            if entry.is_symlink() and not _within(entry.resolve(), real_root):
                problems.append(f"{rel}: directory symlink escapes the documents root (-> {os.readlink(entry)})")
        for name in sorted(filenames):
            problems.extend(_file_problems(current / name, root, real_root))
    return problems


def _file_problems(entry: Path, root: Path, real_root: Path) -> list[str]:
    rel = entry.relative_to(root).as_posix()
    if is_temp_name(entry.name):
        return []  # an interrupted write's temporary file: not a document, swept at the next start
    if entry.is_symlink():
        target = entry.resolve()
        if not _within(target, real_root):
            return [f"{rel}: symlink escapes the documents root (-> {os.readlink(entry)})"]
        if not target.exists():
            return [f"{rel}: dangling symlink (-> {os.readlink(entry)})"]
    if not entry.is_file():
        return [f"{rel}: not a regular file"]
    if entry.name.startswith("."):
        return [f"{rel}: hidden file (never served)"]
    suffix = entry.suffix.lower()
    if suffix not in ALLOWED_EXTENSIONS:
        return [f"{rel}: extension {suffix or '(none)'} not allowed"]
    try:
        data = entry.read_bytes()
    except OSError as exc:
        return [f"{rel}: unreadable ({exc.strerror})"]
    if suffix == ".json":
        problem = json_problem(data)
        if problem:
            return [f"{rel}: {problem}"]
    return []
