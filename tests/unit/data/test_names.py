"""One set of document-name rules: the API, `data validate-backup`, `data import` and `data validate` agree."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from service.cli import main
from service.data.names import PathRejected, check_name, file_and_directory, name_problem
from service.data.store import DocumentStore
from service.data.validate import validate_data_dir
from service.ops.backups import BackupError, documents_checksum, export_backup, verify_backup
from service.security.paths import resolve_document

REFUSED = {
    "a 300-byte name": ("a" * 297 + ".md", "segment_too_long"),
    "a 5,000-byte path": ("/".join(["abcd"] * 1249) + "/x.md", "path_too_long"),
    "a 513-character path": ("a/" * 255 + "abc.md", "path_too_long"),
    "dot-dot": ("../x.md", "dot_segment"),
    "hidden": ("notes/.draft.md", "hidden_file"),
    "look-alike dot-dot": ("\uff0e\uff0e/x.md", "lookalike_character"),
    "look-alike slash": ("a\u2215b.md", "lookalike_character"),
    "fraction slash": ("a\u2044b.md", "lookalike_character"),
    "pipe": ("a|b.md", "invalid_character"),
    "angle bracket": ("bad<name>.txt", "invalid_character"),
    "question mark": ("what?.txt", "invalid_character"),
    "newline": ("line\nbreak.txt", "invalid_character"),
    "leading dash": ("-rf.txt", "invalid_character"),
    "leading space": (" x.txt", "invalid_character"),
    "combining accent (NFD)": ("cafe\u0301.txt", "invalid_character"),
    "replacement character": ("caf\ufffd.txt", "invalid_character"),
    "shell script": ("run.sh", "extension_not_allowed"),
    "no extension": ("README", "extension_not_allowed"),
    "yaml": ("config.yaml", "extension_not_allowed"),
    "percent": ("100%.txt", "encoded_characters"),
    "backslash": ("a\\b.txt", "backslash"),
    "absolute": ("/etc/x.txt", "absolute_path"),
    "drive letter": ("C:/x.txt", "absolute_path"),
    "empty segment": ("a//b.txt", "empty_segment"),
    "trailing slash": ("a/", "empty_segment"),
}
ACCEPTED = ["readme.md", "guides/setup.txt", "table.CSV", "new file.csv", "café-notes_2.html", "a" * 252 + ".md"]


def _backup_with(path: str) -> dict[str, object]:
    entry = {"path": path, "size": 1, "sha256": hashlib.sha256(b"x").hexdigest(), "content": "x"}
    documents = [entry]
    return {
        "format": "ai-diy-appdocs-backup",
        "format_version": 1,
        "created_at": "2026-01-01T00:00:00Z",
        "service_version": "test",
        "documents": documents,
        "checksum": documents_checksum(documents),
    }


@pytest.mark.parametrize(("name", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_names_refused_alike_by_the_api_and_the_backup_check(tmp_path: Path, name: str, reason: str) -> None:
    with pytest.raises(PathRejected) as by_rules:
        check_name(name)
    with pytest.raises(PathRejected) as by_api:
        resolve_document(tmp_path, name)
    with pytest.raises(BackupError) as by_backup:
        verify_backup(_backup_with(name))
    description = reason.replace("_", " ")
    assert by_rules.value.reason == by_api.value.reason == reason
    assert name_problem(name) == f"name refused: {description}"
    [problem] = by_backup.value.problems
    assert problem.startswith("documents[0] ") and problem.endswith(f": name refused: {description}")


@pytest.mark.parametrize("name", ACCEPTED)
def test_names_accepted_alike_by_the_api_the_backup_check_and_the_listing(tmp_path: Path, name: str) -> None:
    root = tmp_path / "data" / "appdocs"
    assert resolve_document(root, name) == root.resolve().joinpath(*name.split("/"))
    assert verify_backup(_backup_with(name)).documents == {name: b"x"}
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_bytes(b"x")
    assert [doc.path for doc in DocumentStore(tmp_path / "data").documents()] == [name]
    assert validate_data_dir(tmp_path / "data") == []


@pytest.mark.parametrize(
    "name", [name for name, _ in REFUSED.values() if not name.startswith(("/", "../", "a//")) and len(name) < 200]
)
def test_names_refused_on_disk_are_reported_unlisted_and_not_exported(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "data" / "appdocs"
    target = root / name
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"x")
    except OSError:
        pytest.skip(f"this file system cannot hold {name!r}")
    if not target.is_file():
        pytest.skip(f"{name!r} is not a file name here")
    relative = target.relative_to(root).as_posix()
    assert DocumentStore(tmp_path / "data").documents() == []
    assert [p for p in validate_data_dir(tmp_path / "data") if p.startswith(f"{relative}: name refused")]
    backup, skipped = export_backup(root)
    assert backup["documents"] == [] and skipped == [f"{relative}: {name_problem(relative)}"]
    assert main(["data", "validate", "--data-dir", str(tmp_path / "data")]) == 1
    assert "name refused" in capsys.readouterr().err


def test_names_file_and_directory_clash_is_found() -> None:
    assert file_and_directory(["a.md", "a.md/b.md", "c/d.md", "c.md"]) == [("a.md", "a.md/b.md")]
    assert file_and_directory(["x/y/z.md", "x/y"]) == [("x/y", "x/y/z.md")]


def test_names_backup_with_a_file_that_is_also_a_folder_is_refused_by_validate_and_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    documents = [
        {"path": p, "size": 1, "sha256": hashlib.sha256(b"x").hexdigest(), "content": "x"}
        for p in ("guide.md", "guide.md/part.md")
    ]
    backup = dict(_backup_with("unused.md"), documents=documents, checksum=documents_checksum(documents))
    file = tmp_path / "backup.json"
    file.write_text(json.dumps(backup))
    assert main(["data", "validate-backup", str(file)]) == 1
    assert main(["data", "import", "--data-dir", str(tmp_path / "data"), str(file)]) == 1
    err = capsys.readouterr().err.splitlines()
    verdict = f"{file}: invalid backup: 'guide.md' is a document and also a folder of 'guide.md/part.md'"
    assert err == [verdict, f"{verdict}; nothing was changed"]
    assert not (tmp_path / "data").exists()
