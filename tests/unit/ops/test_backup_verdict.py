"""Malformed backups, as an attacker or a damaged disk would make them: one line, exit 1, data untouched.

`validate-backup` and `import --dry-run` give the same verdict for each: the same problems,
from the same check.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from service.cli import main

Tamper = Callable[[dict[str, Any]], "dict[str, Any] | bytes"]

DOCUMENTS = {"index.md": b"# Docs\n", "guides/setup.json": b'{"steps": ["install"]}', "notes.txt": b"plain"}


def _entry(path: Any, data: bytes) -> dict[str, Any]:
    return {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "content": data.decode()}


def _checksum(documents: Any) -> str:
    canonical = json.dumps(documents, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _with_entries(doc: dict[str, Any], *entries: dict[str, Any]) -> dict[str, Any]:
    """The backup with these entries added and a checksum that matches: a deliberate forgery."""
    doc["documents"].extend(entries)
    doc["checksum"] = _checksum(doc["documents"])
    return doc


def _set_entry_field(field: str, value: Any) -> Tamper:
    def tamper(doc: dict[str, Any]) -> dict[str, Any]:
        doc["documents"][0][field] = value
        doc["checksum"] = _checksum(doc["documents"])
        return doc

    return tamper


def _drop_entry_field(field: str) -> Tamper:
    def tamper(doc: dict[str, Any]) -> dict[str, Any]:
        del doc["documents"][0][field]
        doc["checksum"] = _checksum(doc["documents"])
        return doc

    return tamper


def _set_field(field: str, value: Any) -> Tamper:
    def tamper(doc: dict[str, Any]) -> dict[str, Any]:
        doc[field] = value
        return doc

    return tamper


def _drop_field(field: str) -> Tamper:
    def tamper(doc: dict[str, Any]) -> dict[str, Any]:
        del doc[field]
        return doc

    return tamper


def _raw(text: bytes) -> Tamper:
    return lambda _doc: text


def _deep_inside_documents(doc: dict[str, Any]) -> bytes:
    head = json.dumps({k: v for k, v in doc.items() if k != "documents"})[:-1]
    return (head + ', "documents": ' + "[" * 100_000 + "]" * 100_000 + "}").encode()


def _deep_size(doc: dict[str, Any]) -> dict[str, Any]:
    # Parses (under the parser's limit), then nests deep enough to trouble a recursive walk.
    deep: Any = 1
    for _ in range(sys.getrecursionlimit() - 60):
        deep = [deep]
    doc["documents"][0]["size"] = deep
    return doc


def _deep_json_document(doc: dict[str, Any]) -> dict[str, Any]:
    data = b"[" * 100_000 + b"]" * 100_000
    return _with_entries(doc, _entry("deep.json", data))


def _duplicate_key(doc: dict[str, Any]) -> bytes:
    text = json.dumps(doc)
    return text.replace('"path": "guides/setup.json"', '"path": "guides/setup.json", "path": "../escape.json"').encode()


def _huge_integer(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).replace('"format_version": 1', '"format_version": ' + "9" * 5000).encode()


def _nan_size(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).replace('"size": 5,', '"size": NaN,').encode()


def _file_and_directory(doc: dict[str, Any]) -> dict[str, Any]:
    return _with_entries(doc, _entry("index.md/inner.md", b"inner"))


def _binary_bad_base64(doc: dict[str, Any]) -> dict[str, Any]:
    entry = _entry("blob.txt", b"xx")
    entry.update(content="not base64!", encoding="base64")
    return _with_entries(doc, entry)


def _duplicate_path(doc: dict[str, Any]) -> dict[str, Any]:
    return _with_entries(doc, _entry("index.md", b"# Docs\n"))


MALFORMED: dict[str, Tamper] = {
    "empty file": _raw(b""),
    "not JSON": _raw(b"this is not a backup"),
    "not UTF-8": _raw(b'{"format": "\xff\xfe"}'),
    "a JSON list": _raw(b"[]"),
    "a JSON string": _raw(b'"ai-diy-appdocs-backup"'),
    "nested 100,000 levels": _raw(b"[" * 100_000 + b"]" * 100_000),
    "objects nested 100,000 levels": _raw(b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
    "documents nested 100,000 levels": _deep_inside_documents,
    "a size nested just under the parser's limit": _deep_size,
    "a .json document nested 100,000 levels": _deep_json_document,
    "a duplicate key": _duplicate_key,
    "a 5,000-digit integer": _huge_integer,
    "NaN for a size": _nan_size,
    "format missing": _drop_field("format"),
    "format wrong": _set_field("format", "tar"),
    "format_version a string": _set_field("format_version", "1"),
    "format_version true": _set_field("format_version", True),
    "format_version 1.0": _set_field("format_version", 1.0),
    "checksum missing": _drop_field("checksum"),
    "checksum a list": _set_field("checksum", ["sha256:"]),
    "created_at missing": _drop_field("created_at"),
    "documents missing": _drop_field("documents"),
    "documents an object": _set_field("documents", {"index.md": "# Docs"}),
    "an entry that is a string": _set_field("documents", ["index.md"]),
    "an entry that is null": _set_field("documents", [None]),
    "path missing": _drop_entry_field("path"),
    "content missing": _drop_entry_field("content"),
    "size missing": _drop_entry_field("size"),
    "sha256 missing": _drop_entry_field("sha256"),
    "path a number": _set_entry_field("path", 5),
    "path a list": _set_entry_field("path", ["index.md"]),
    "content a number": _set_entry_field("content", 5),
    "size a string": _set_entry_field("size", "7"),
    "size true": _set_entry_field("size", True),
    "size negative": _set_entry_field("size", -1),
    "sha256 a number": _set_entry_field("sha256", 5),
    "encoding a list": _set_entry_field("encoding", ["base64"]),
    "encoding unknown": _set_entry_field("encoding", "rot13"),
    "an unknown entry field": _set_entry_field("mode", "0777"),
    "an unknown top-level field": _set_field("hooks", ["rm -rf /"]),
    "content altered": _set_entry_field("content", "# Docs\r"),
    "checksum altered": _set_field("checksum", "sha256:" + "0" * 64),
    "bad base64": _binary_bad_base64,
    "lone surrogate": _set_entry_field("content", "\ud800"),
    "a duplicate name": _duplicate_path,
    "a name that is a file and a directory": _file_and_directory,
    "a 300-byte name": lambda doc: _with_entries(doc, _entry("a" * 297 + ".md", b"x")),
    "a 5,000-byte path": lambda doc: _with_entries(doc, _entry("/".join(["abcd"] * 1249) + "/x.md", b"x")),
    "a dot-dot path": lambda doc: _with_entries(doc, _entry("../escape.md", b"x")),
    "an absolute path": lambda doc: _with_entries(doc, _entry("/etc/cron.d/x.txt", b"x")),
    "a hidden name": lambda doc: _with_entries(doc, _entry(".env.txt", b"x")),
    "a look-alike dot-dot": lambda doc: _with_entries(doc, _entry("\uff0e\uff0e/escape.md", b"x")),
    "a look-alike slash": lambda doc: _with_entries(doc, _entry("a\u2215b.md", b"x")),
    "a name with a pipe": lambda doc: _with_entries(doc, _entry("a|b.md", b"x")),
    "a name with a newline": lambda doc: _with_entries(doc, _entry("a\nb.md", b"x")),
    "a name starting with a dash": lambda doc: _with_entries(doc, _entry("-rf.txt", b"x")),
    "an extension not served": lambda doc: _with_entries(doc, _entry("run.sh", b"x")),
    "no extension": lambda doc: _with_entries(doc, _entry("README", b"x")),
    "a NUL in the name": lambda doc: _with_entries(doc, _entry("a\x00.md", b"x")),
    "a backslash": lambda doc: _with_entries(doc, _entry("a\\b.md", b"x")),
    "an empty segment": lambda doc: _with_entries(doc, _entry("a//b.md", b"x")),
    "an empty name": lambda doc: _with_entries(doc, _entry("", b"x")),
    "broken JSON document": lambda doc: _with_entries(doc, _entry("broken.json", b'{"a": ')),
}


def _hashes(data_dir: Path) -> dict[str, str]:
    """Every entry under data_dir, directories included, with the hash of each file."""
    return {
        p.relative_to(data_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(data_dir.rglob("*"))
    }


@pytest.fixture
def good_backup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    source = tmp_path / "source"
    for rel, data in DOCUMENTS.items():
        (source / "appdocs" / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / "appdocs" / rel).write_bytes(data)
    out = tmp_path / "good.json"
    assert main(["data", "export", "--data-dir", str(source), "-o", str(out)]) == 0
    capsys.readouterr()
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


@pytest.fixture
def live(tmp_path: Path) -> Path:
    data_dir = tmp_path / "live"
    (data_dir / "appdocs" / "kept").mkdir(parents=True)
    (data_dir / "appdocs" / "kept" / "page.md").write_bytes(b"# live page\n")
    (data_dir / "appdocs" / "live.json").write_bytes(b'{"live": true}')
    return data_dir


def _verdict(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, list[str], str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err.splitlines(), captured.out


@pytest.mark.parametrize("tamper", MALFORMED.values(), ids=MALFORMED.keys())
def test_backup_malformed_gets_one_line_exit_1_and_leaves_the_data_untouched(
    tmp_path: Path,
    good_backup: dict[str, Any],
    live: Path,
    capsys: pytest.CaptureFixture[str],
    tamper: Tamper,
) -> None:
    made = tamper(good_backup)
    backup = tmp_path / "backup.json"
    backup.write_bytes(made if isinstance(made, bytes) else json.dumps(made).encode())
    before = _hashes(live)

    checked = _verdict(capsys, ["data", "validate-backup", str(backup)])
    dry_run = _verdict(capsys, ["data", "import", "--dry-run", "--data-dir", str(live), str(backup)])
    imported = _verdict(capsys, ["data", "import", "--data-dir", str(live), str(backup)])

    for code, err, out in (checked, dry_run, imported):
        assert code == 1, err
        assert len(err) == 1, err
        assert err[0].startswith(f"{backup}: invalid backup: ") and "Traceback" not in err[0]
        assert out == ""
    # One check: the dry run's verdict is validate-backup's, and the import's.
    assert dry_run[1] == imported[1] == [checked[1][0] + "; nothing was changed"]
    assert _hashes(live) == before


def test_backup_good_is_valid_for_validate_backup_and_import_dry_run(
    tmp_path: Path, good_backup: dict[str, Any], live: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = tmp_path / "backup.json"
    backup.write_text(json.dumps(good_backup))
    before = _hashes(live)
    checked = _verdict(capsys, ["data", "validate-backup", str(backup)])
    dry_run = _verdict(capsys, ["data", "import", "--dry-run", "--data-dir", str(live), str(backup)])
    assert checked[0] == 0 and "valid backup, 3 documents" in checked[2]
    assert dry_run[0] == 0 and "dry run: 3 added, 0 changed, 2 removed, 0 unchanged" in dry_run[2]
    assert _hashes(live) == before


def test_backup_base64_document_round_trips(tmp_path: Path, good_backup: dict[str, Any], live: Path) -> None:
    data = "caf\xe9".encode("latin-1")
    entry = {
        "path": "latin1.txt",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "content": base64.b64encode(data).decode(),
        "encoding": "base64",
    }
    backup = tmp_path / "backup.json"
    backup.write_text(json.dumps(_with_entries(good_backup, entry)))
    assert main(["data", "import", "--data-dir", str(live), str(backup)]) == 0
    assert (live / "appdocs" / "latin1.txt").read_bytes() == data


@pytest.mark.parametrize("kind", ["missing", "directory", "endless device"])
def test_backup_file_that_cannot_be_read_gets_one_line_and_exit_1(
    tmp_path: Path, live: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    backup = tmp_path / "backup.json"
    if kind == "directory":
        backup.mkdir()
    elif kind == "endless device":
        backup = Path("/dev/zero")
    before = _hashes(live)
    for argv in (["data", "validate-backup", str(backup)], ["data", "import", "--data-dir", str(live), str(backup)]):
        code, err, _ = _verdict(capsys, argv)
        assert code == 1 and len(err) == 1 and err[0].startswith(f"{backup}: "), err
    assert _hashes(live) == before
