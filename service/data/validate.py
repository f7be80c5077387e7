"""Checks of the live documents directory (the runbook's validate_data), by the document rules the API serves by."""

from __future__ import annotations

import json
import os
from pathlib import Path

from service.data import documents_dir
from service.data.atomic import is_temp_name
from service.data.names import name_problem

# Directories an interrupted import leaves beside the live tree (see service.ops.restore).
STAGING_PREFIX = ".appdocs.import-"


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def json_problem(data: bytes) -> str | None:
    """Why a .json document does not parse, or None."""
    try:
        json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        return f"not UTF-8 ({exc.reason} at byte {exc.start})"
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    except RecursionError:
        return "not valid JSON (nested deeper than the parser goes)"
    except ValueError as exc:  # NaN / Infinity, or a number of more than 4,300 digits
        return f"not valid JSON ({exc})"
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
    problem = name_problem(rel)
    if problem:
        return [f"{rel}: {problem} (never served)"]
    suffix = entry.suffix.lower()
    try:
        data = entry.read_bytes()
    except OSError as exc:
        return [f"{rel}: unreadable ({exc.strerror})"]
    if suffix == ".json":
        problem = json_problem(data)
        if problem:
            return [f"{rel}: {problem}"]
    return []
