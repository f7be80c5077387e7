"""Log retention: compress old JSONL files, delete expired ones, bundle the rest.

Ages come from the (UTC) date in the file name (`ai_diy_<kind>_YYYYMMDD[_tag].jsonl[.gz]`),
never from mtime: copying, restoring or touching a file must not change when it
expires. Today's (and any future-dated) file is never touched, nor is any file whose
name this module does not recognise.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import shutil
import tarfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from service.data.atomic import fsync_dir, temp_name

LOG_NAME = re.compile(
    r"^ai_diy_(?P<kind>api|security|audit|backup)_(?P<date>\d{8})(?:_[A-Za-z0-9_-]+)?\.jsonl(?P<gz>\.gz)?$"
)

# The runbook's "Log Retention" table, in days.
DEFAULT_KEEP_DAYS: Mapping[str, int] = {"api": 30, "security": 90, "audit": 365, "backup": 7}
DEFAULT_COMPRESS_AFTER = 7
# "Backup logs: 7 days compressed": gzipped once their day is surely over (1 day of
# slack covers a log writer naming files by UTC date while `today` is local, or back).
COMPRESS_EARLY: Mapping[str, int] = {"backup": 1}


@dataclass(frozen=True)
class LogFile:
    """A recognised log file and the day it covers."""

    path: Path
    kind: str
    day: date
    compressed: bool


@dataclass(frozen=True)
class Action:
    """One retention step on a file: `compress`, `delete`, or `finish` an interrupted compression."""

    verb: str
    file: LogFile
    reason: str


def parse_name(path: Path) -> LogFile | None:
    """The log file behind a name, or None for names retention must leave alone."""
    match = LOG_NAME.match(path.name)
    if not match:
        return None
    try:
        day = datetime.strptime(match["date"], "%Y%m%d").date()
    except ValueError:
        return None
    return LogFile(path, match["kind"], day, bool(match["gz"]))


def log_files(log_dir: Path) -> list[LogFile]:
    """Recognised log files directly in log_dir, sorted by name."""
    if not log_dir.is_dir():
        return []
    found = []
    for entry in sorted(log_dir.iterdir()):
        parsed = parse_name(entry)
        if parsed and entry.is_file() and not entry.is_symlink():
            found.append(parsed)
    return found


def plan(
    log_dir: Path,
    today: date,
    *,
    compress_after: int = DEFAULT_COMPRESS_AFTER,
    keep_days: Mapping[str, int] = DEFAULT_KEEP_DAYS,
) -> list[Action]:
    """What a rotation would do on `today`, without doing it."""
    actions = []
    files = log_files(log_dir)
    gz_names = {f.path.name for f in files if f.compressed}
    for log in files:
        age = (today - log.day).days
        if age <= 0:
            continue
        keep = keep_days[log.kind]
        if age > keep:
            actions.append(Action("delete", log, f"{age} days old, {log.kind} logs are kept {keep} days"))
        elif age > (after := min(compress_after, COMPRESS_EARLY.get(log.kind, compress_after))) and not log.compressed:
            if log.path.name + ".gz" in gz_names:
                actions.append(Action("finish", log, "compressed copy exists (interrupted earlier run)"))
            else:
                actions.append(
                    Action("compress", log, f"{age} days old, {log.kind} logs compressed after {after} days")
                )
    return actions


def apply(actions: Iterable[Action], on_file: Callable[[str, int], None] | None = None) -> list[str]:
    """Carry out the actions; one line per action done (or refused).

    on_file hears of each action done: the file's name and its size before the action.
    """
    done: list[str] = []
    touched: set[Path] = set()
    for action in actions:
        path = action.file.path
        touched.add(path.parent)
        size = path.stat().st_size if on_file is not None else 0
        if action.verb == "delete":
            path.unlink()
            done.append(f"deleted {path.name} ({action.reason})")
        elif action.verb == "compress":
            compress(path)
            done.append(f"compressed {path.name} -> {path.name}.gz ({action.reason})")
        elif action.verb == "finish":
            if _same_content(path, path.with_name(path.name + ".gz")):
                path.unlink()
                done.append(f"removed {path.name}, already compressed ({action.reason})")
            else:
                done.append(f"left {path.name}: {path.name}.gz exists with different content, check by hand")
        if on_file is not None:
            on_file(path.name, size)
    for directory in touched:
        fsync_dir(directory)  # make the unlinks durable
    return done


def compress(path: Path) -> Path:
    """gzip path to path.gz atomically (a crash leaves the original), then remove path."""
    target = path.with_name(path.name + ".gz")
    tmp = temp_name(target)
    try:
        with open(path, "rb") as source, open(tmp, "xb") as raw:
            with gzip.GzipFile(filename=path.name, mode="wb", fileobj=raw, mtime=int(path.stat().st_mtime)) as packed:
                shutil.copyfileobj(source, packed, 1 << 20)
            raw.flush()
            os.fsync(raw.fileno())
        shutil.copystat(path, tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    path.unlink()
    return target


def _digest(stream: io.BufferedIOBase) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def _same_content(plain: Path, packed: Path) -> bool:
    try:
        with open(plain, "rb") as a, gzip.open(packed, "rb") as b:
            return _digest(a) == _digest(b)
    except (OSError, EOFError):
        return False


def archive(
    log_dir: Path, output: Path, on_file: Callable[[str, int], None] | None = None, *, replace: bool = False
) -> list[str]:
    """Bundle every recognised log file into output (.tar.gz) atomically; returns the names.

    An existing output is replaced only when `replace` is true; otherwise FileExistsError,
    even for one that appears while the archive is written, and it is left as it was.
    on_file hears of each file added, with its size.
    """
    files = log_files(log_dir)
    tmp = temp_name(output.resolve())
    try:
        with tarfile.open(tmp, "w:gz") as bundle:
            for log in files:
                bundle.add(log.path, arcname=f"logs/{log.path.name}", recursive=False)
                if on_file is not None:
                    on_file(log.path.name, bundle.getmembers()[-1].size)
        if replace:
            os.replace(tmp, output)
        else:
            # A link, unlike a rename, refuses a name that exists: no check-then-write window.
            os.link(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    return [log.path.name for log in files]
