from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.security.paths import PathRejected, resolve_document


@pytest.mark.parametrize(
    ("requested", "reason"),
    [
        ("../secret.txt", "dot_segment"),
        ("guides/../../secret.txt", "dot_segment"),
        ("./readme.md", "dot_segment"),
        ("..\\secret.txt", "backslash"),
        ("/etc/passwd.txt", "absolute_path"),
        ("C:/windows/win.ini.txt", "absolute_path"),
        ("readme.md\x00.txt", "nul_byte"),
        ("%2e%2e/secret.txt", "encoded_characters"),
        ("guides//setup.txt", "empty_segment"),
        ("guides/", "empty_segment"),
        ("", "empty_path"),
        (".env.txt", "hidden_file"),
        ("guides/.hidden.md", "hidden_file"),
        ("script.py", "extension_not_allowed"),
        ("readme", "extension_not_allowed"),
        ("\uff0e\uff0e/secret.txt", "lookalike_character"),
        ("guides/\ufe52\ufe52/secret.txt", "lookalike_character"),
        ("a\u2215b.txt", "lookalike_character"),
        ("a\uff0fb.txt", "lookalike_character"),
        ("file:///etc/passwd", "absolute_path"),
        ("../bad<name>.txt", "dot_segment"),
        ("../" * 300 + "secret.txt", "dot_segment"),
        ("-rf.txt", "invalid_character"),
        ("bad<name>.txt", "invalid_character"),
        ("a|b.md", "invalid_character"),
        ("line\nbreak.txt", "invalid_character"),
        ("caf\ufffd.txt", "invalid_character"),
        ("a" * 600 + ".txt", "path_too_long"),
        ("a" * 300 + ".txt", "segment_too_long"),
    ],
)
def test_resolve_document_refuses(docs_root: Path, requested: str, reason: str) -> None:
    with pytest.raises(PathRejected) as excinfo:
        resolve_document(docs_root, requested)
    assert excinfo.value.reason == reason


@pytest.mark.parametrize(
    "requested",
    [
        "../secret.txt",
        "..\\secret.txt",
        "/etc/passwd.txt",
        "readme.md\x00.txt",
        ".env.txt",
        "\uff0e\uff0e/secret.txt",
        "file:///etc/passwd",
        "../bad<name>.txt",
    ],
)
def test_path_rejection_traversal_is_a_traversal(docs_root: Path, requested: str) -> None:
    with pytest.raises(PathRejected) as excinfo:
        resolve_document(docs_root, requested)
    assert excinfo.value.traversal


@pytest.mark.parametrize(
    "requested",
    [
        "bad<name>.txt",
        "a|b.md",
        "-rf.txt",
        "what?.txt",
        "guides//setup.txt",
        "script.py",
        "a" * 300 + ".txt",
        "a" * 600 + ".txt",
        "caf\ufffd.txt",
        "caf\u00e9\uff0etxt",
    ],
)
def test_path_rejection_bad_name_is_not_a_traversal(docs_root: Path, requested: str) -> None:
    with pytest.raises(PathRejected) as excinfo:
        resolve_document(docs_root, requested)
    assert not excinfo.value.traversal


@pytest.mark.parametrize(
    "raw",
    [
        b"/api/appdocs/%2e%2e/secret.txt",
        b"/api/appdocs/%252e%252e/secret.txt",
        b"/api/appdocs/a%2Fb.txt",
        b"/api/appdocs/a%5Cb.txt",
        b"/api/appdocs/a%00.txt",
        b"/api/appdocs/%c0%ae%c0%ae/secret.txt",
        b"/api/appdocs/%e0%80%ae%e0%80%ae/secret.txt",
    ],
)
def test_resolve_document_refuses_encoded_raw_paths(docs_root: Path, raw: bytes) -> None:
    with pytest.raises(PathRejected) as excinfo:
        resolve_document(docs_root, "readme.md", raw_path=raw)
    assert excinfo.value.reason == "encoded_characters"


def test_resolve_document_refuses_symlink_leaving_root(docs_root: Path) -> None:
    os.symlink(docs_root.parent / "secret.txt", docs_root / "escape.txt")
    with pytest.raises(PathRejected) as excinfo:
        resolve_document(docs_root, "escape.txt")
    assert excinfo.value.reason == "outside_root"


def test_resolve_document_follows_symlink_inside_root(docs_root: Path) -> None:
    os.symlink(docs_root / "readme.md", docs_root / "alias.md")
    assert resolve_document(docs_root, "alias.md") == (docs_root / "readme.md").resolve()


@pytest.mark.parametrize(
    "requested", ["readme.md", "guides/setup.txt", "data.json", "new file.CSV", "café-notes_2.html"]
)
def test_resolve_document_accepts_documents(docs_root: Path, requested: str) -> None:
    path = resolve_document(docs_root, requested, raw_path=b"/api/appdocs/" + requested.encode())
    assert path.is_relative_to(docs_root.resolve())
    assert path.name == requested.rsplit("/", maxsplit=1)[-1]
