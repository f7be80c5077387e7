"""The backup file: export of the documents directory, and the one verdict on a backup.

A backup is self-describing and self-checking: every document carries its size and
sha256, and `checksum` covers the canonical serialisation of the whole documents
list, so a flipped byte, a truncated file or a hand-edited entry is caught before
anything on disk changes. `load_backup` + `verify_backup` are the whole verdict:
`data validate-backup` prints it and `data import` (dry run or not) acts on it, so the
two can never disagree. Names are checked by the document-name rules the API uses.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from service import __version__
from service.data.atomic import atomic_write, is_temp_name
from service.data.names import file_and_directory, name_problem
from service.data.validate import json_problem

FORMAT = "ai-diy-appdocs-backup"
FORMAT_VERSION = 1
# A progress callback: called once per file done, with its name and size in bytes.
FileDone = Callable[[str, int], None]
_FIELDS = frozenset({"format", "format_version", "created_at", "service_version", "documents", "checksum"})
_ENTRY_FIELDS = frozenset({"path", "size", "sha256", "content", "encoding"})
_ENCODINGS = ("utf-8", "base64")
# Sizes and the version are the only numbers in a backup; longer digit strings are an
# attack on int() (which refuses over 4,300 digits with a ValueError of its own).
_MAX_DIGITS = 20
# A refusal shows this many problems on its one line, then how many more there are.
SHOWN_PROBLEMS = 5


class BackupError(Exception):
    """The backup or the import cannot proceed; `problems` holds one short line each."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems

    def summary(self) -> str:
        """Every problem on one line (the first SHOWN_PROBLEMS, then a count of the rest)."""
        shown = self.problems[:SHOWN_PROBLEMS]
        more = len(self.problems) - len(shown)
        return "; ".join(shown + ([f"and {more} more problem(s)"] if more else []))


@dataclass(frozen=True)
class VerifiedBackup:
    """A backup that passed every check: its documents by relative path, and where it came from."""

    documents: dict[str, bytes]
    created_at: str
    service_version: str

    @property
    def total_bytes(self) -> int:
        return sum(len(data) for data in self.documents.values())


def documents_checksum(documents: list[Any]) -> str:
    """sha256 over the canonical JSON of the documents list (sorted keys, no spaces)."""
    canonical = json.dumps(documents, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # surrogatepass: a lone surrogate only makes the checksum differ, never an exception.
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _show(value: object, limit: int = 60) -> str:
    """repr() cut to a length one line can carry: values come from the file, any size.

    Arrays and objects are named, never printed: one nested near the parser's limit
    would take repr() past the recursion limit.
    """
    if isinstance(value, (list, dict)):
        return "a JSON array" if isinstance(value, list) else "a JSON object"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- export ------------------------------------------------------------------------


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
            problem = name_problem(rel)
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


def backup_text(backup: dict[str, Any]) -> str:
    """The backup file's text, as export writes it."""
    return json.dumps(backup, ensure_ascii=False, indent=1) + "\n"


def write_backup(path: Path, backup: dict[str, Any]) -> None:
    """The backup as a file, whole or not at all; 0600, since documents may be private."""
    atomic_write(path.resolve(), backup_text(backup).encode("utf-8"), mode=0o600)


# --- the verdict ---------------------------------------------------------------------


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _small_int(digits: str) -> int:
    if len(digits.lstrip("-")) > _MAX_DIGITS:
        raise ValueError(f"a number of {len(digits)} digits")
    return int(digits)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            # json.loads would keep the last silently: two readers could disagree on the entry.
            raise ValueError(f"duplicate key {_show(key)}")
        found[key] = value
    return found


def load_backup(path: Path) -> dict[str, Any]:
    """Parse a backup file; raises BackupError when it is not one JSON object that parses strictly."""
    try:
        # A device or a pipe (/dev/zero, /dev/urandom) would be read forever.
        if path.exists() and not path.is_file():
            raise BackupError(["not a regular file"])
        raw = path.read_bytes()
    except OSError as exc:
        raise BackupError([f"cannot read ({exc.strerror})"]) from None
    try:
        backup = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_unique_keys,
            parse_constant=_refuse_constant,
            parse_int=_small_int,
        )
    except UnicodeDecodeError as exc:
        raise BackupError([f"not UTF-8 ({exc.reason} at byte {exc.start})"]) from None
    except json.JSONDecodeError as exc:
        raise BackupError(
            [f"not valid JSON, truncated or corrupted? ({exc.msg} at line {exc.lineno} column {exc.colno})"]
        ) from None
    except RecursionError:
        raise BackupError(["nested far deeper than a backup is (not a backup, or a hostile file)"]) from None
    except ValueError as exc:
        raise BackupError([f"not a backup: {exc}"]) from None
    if not isinstance(backup, dict):
        raise BackupError([f"expected a JSON object at the top level, got {type(backup).__name__}"])
    return backup


def entry_count(backup: dict[str, Any]) -> int:
    """Entries a backup lists (0 when it lists none, which validation reports): a progress bar's total."""
    documents = backup.get("documents")
    return len(documents) if isinstance(documents, list) else 0


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _header_problems(backup: dict[str, Any]) -> list[str]:
    problems = [f"unknown field {_show(name)}" for name in sorted(set(backup) - _FIELDS)]
    if backup.get("format") != FORMAT:
        problems.append(f"format: expected {FORMAT!r}, got {_show(backup.get('format'))}")
    version = backup.get("format_version")
    if not (_is_int(version) and version == FORMAT_VERSION):
        problems.append(f"format_version: expected {FORMAT_VERSION}, got {_show(version)}")
    for name in ("created_at", "service_version", "checksum"):
        if not isinstance(backup.get(name), str):
            problems.append(f"{name}: expected a string, got {_show(backup.get(name))}")
    return problems


def _flat(entry: object) -> bool:
    """An object of plain values: what a documents entry is, and what the checksum can serialise safely."""
    return isinstance(entry, dict) and all(isinstance(v, (str, int, float, type(None))) for v in entry.values())


def verify_backup(backup: dict[str, Any], on_entry: FileDone | None = None) -> VerifiedBackup:
    """The backup's documents when every check passes; raises BackupError with every problem otherwise.

    on_entry hears of each entry checked, valid or not (with 0 bytes when it could not be decoded).
    """
    problems = _header_problems(backup)
    documents = backup.get("documents")
    if not isinstance(documents, list):
        raise BackupError([*problems, f"documents: expected a list, got {_show(documents)}"])
    # Only entries of plain values are serialised: anything else is already a problem,
    # and nesting under it could be deep enough to exhaust a recursive encoder.
    checksum = backup.get("checksum")
    serialisable = isinstance(checksum, str) and all(_flat(entry) for entry in documents)
    if serialisable and checksum != documents_checksum(documents):
        problems.append("checksum: does not match the documents (the backup was altered or damaged)")
    decoded: dict[str, bytes] = {}
    for index, entry in enumerate(documents):
        path = entry.get("path") if isinstance(entry, dict) else None
        label = f"documents[{index}]" + (f" {_show(path)}" if path is not None else "")
        data, entry_problems = _decode_entry(entry)
        problems.extend(f"{label}: {problem}" for problem in entry_problems)
        if on_entry is not None:
            on_entry(str(path) if isinstance(path, str) else f"documents[{index}]", len(data or b""))
        if data is None or not isinstance(path, str):
            continue
        if path in decoded:
            problems.append(f"{label}: duplicate path")
            continue
        decoded[path] = data
    problems.extend(
        f"{_show(parent)} is a document and also a folder of {_show(deeper)}"
        for parent, deeper in file_and_directory(decoded)
    )
    if problems:
        raise BackupError(problems)
    return VerifiedBackup(decoded, str(backup["created_at"]), str(backup["service_version"]))


def _decode_entry(entry: object) -> tuple[bytes | None, list[str]]:
    if not isinstance(entry, dict):
        return None, [f"expected an object, got {_show(entry)}"]
    problems = [f"unknown field {_show(name)}" for name in sorted(set(entry) - _ENTRY_FIELDS)]
    problems += [f"{name}: missing" for name in ("path", "size", "sha256") if name not in entry]
    problem = name_problem(entry.get("path")) if "path" in entry else None
    if problem:
        problems.append(problem)
    data, content_problem = _content(entry.get("content"), entry.get("encoding", "utf-8"))
    if data is None:
        return None, [*problems, content_problem or "content: not decodable"]
    size, digest = entry.get("size"), entry.get("sha256")
    if "size" in entry and not (_is_int(size) and size == len(data)):
        problems.append(f"size: expected {_show(size)}, content has {len(data)} bytes")
    if "sha256" in entry and digest != hashlib.sha256(data).hexdigest():
        problems.append("sha256: does not match the content")
    if not problems and str(entry["path"]).lower().endswith(".json"):
        problem = json_problem(data)
        if problem:
            problems.append(problem)
    return (None if problems else data), problems


def _content(content: object, encoding: object) -> tuple[bytes | None, str | None]:
    """The bytes of an entry's content, or why there are none."""
    if content is None:
        return None, "content: missing"
    if not isinstance(content, str):
        return None, f"content: expected a string, got {_show(content)}"
    if encoding not in _ENCODINGS:
        return None, f"encoding: expected 'utf-8' or 'base64', got {_show(encoding)}"
    if encoding == "base64":
        try:
            return base64.b64decode(content, validate=True), None
        except (binascii.Error, ValueError):
            return None, "content: not valid base64"
    try:
        return content.encode("utf-8"), None
    except UnicodeEncodeError:
        return None, "content: not encodable as UTF-8 (lone surrogate)"
