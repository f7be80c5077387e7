"""Traversal attempts sent as raw request targets to a real hypercorn: all refused, all logged."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.integration.security.conftest import serve_stack
from tests.support.net import wait_for

pytestmark = pytest.mark.integration

PREFIX = "/api/appdocs/"
# Sent byte for byte: no client-side normalisation of dots or escapes.
TRAVERSALS = [
    "../secret.txt",
    "../../secret.txt",
    "..%2fsecret.txt",
    "..%2Fsecret.txt",
    "%2e%2e/secret.txt",
    "%2E%2E/secret.txt",
    "%2e%2e%2fsecret.txt",
    ".%2e/secret.txt",
    "%252e%252e/secret.txt",
    "%252e%252e%252fsecret.txt",
    "..%252fsecret.txt",
    "..\\secret.txt",
    "..%5csecret.txt",
    "%2e%2e%5c%2e%2e%5csecret.txt",
    "guides/../../secret.txt",
    "guides/%2e%2e/%2e%2e/secret.txt",
    "/etc/passwd",
    "//etc/passwd",
    "%2fetc%2fpasswd",
    "readme.md%00.txt",
    "..%00/secret.txt",
    "readme.md%2500.txt",
    "....//secret.txt",
    "..;/secret.txt",
    "%c0%ae%c0%ae/secret.txt",
    "%uff0e%uff0e/secret.txt",
    "%ef%bc%8e%ef%bc%8e/secret.txt",
    ".env",
    ".git/config",
    "guides/.hidden.txt",
    "../secret",
    "link.txt",
    "C:/windows/win.ini",
    "C:\\windows\\win.ini",
    "file:///etc/passwd",
    "..%2f..%2fbad%3Cname%3E.txt",
    "%ef%bc%8e%ef%bc%8e%ef%bc%8fsecret.txt",
    "a%e2%88%95b.txt",
]
# Names the rules refuse without any attempt to leave the documents: their own event.
INVALID_NAMES = [
    "guides//setup.txt",
    "readme.md/",
    "readme.py",
    "bad%3Cname%3E.txt",
    "a%7Cb.md",
    "what%3F.txt",
    "-rf.txt",
    "tab%09name.txt",
    "caf%ff.txt",
    "a" * 300 + ".txt",
]
DOCUMENTS = {
    "readme.md": "# Read me",
    "guides/setup.txt": "setup steps",
    "data.json": '{"ok": true}',
    "new%20file.csv": "a,b",
}


def _raw_get(base: str, target: str) -> tuple[int, bytes]:
    """GET with the request target exactly as given."""
    netloc = urlsplit(base)
    with socket.create_connection((netloc.hostname, netloc.port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode("latin-1"))
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    status = int(response.split(b" ", 2)[1])
    return status, response


def _security_lines(log_file: Path) -> list[dict[str, Any]]:
    if not log_file.exists():
        return []
    lines = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
    return [line for line in lines if line["logger"] == "ai_diy.security"]


def test_path_traversal_corpus_refused_and_logged(tmp_path: Path, docs_root: Path) -> None:
    assert len(TRAVERSALS) >= 30
    log_file = tmp_path / "security.jsonl"
    with serve_stack(
        tmp_path, SEC_DOCS_ROOT=str(docs_root), SEC_LOG_FILE=str(log_file), SEC_LIMIT="1000/minute"
    ) as base:
        results = {attempt: _raw_get(base, PREFIX + attempt) for attempt in TRAVERSALS}
        served = {doc: _raw_get(base, PREFIX + doc) for doc in DOCUMENTS}
        events = wait_for(
            lambda: (
                [e for e in _security_lines(log_file) if e["event"] == "path_traversal_attempt"]
                if len(_security_lines(log_file)) >= len(TRAVERSALS)
                else None
            ),
            timeout=10,
            what="one log line per traversal attempt",
        )
    for attempt, (status, response) in results.items():
        assert status in (400, 404), attempt
        assert b"TOP SECRET" not in response, attempt
        assert b'"error"' in response, attempt
        assert b'"invalid_document_name"' not in response, attempt
    for doc, (status, response) in served.items():
        assert status == 200, doc
        assert DOCUMENTS[doc].encode() in response, doc
    assert len(events) == len(TRAVERSALS)
    for event in events:
        assert event["message"].startswith("SECURITY_AUDIT")
        assert event["severity"] == "warning"
        assert event["details"]["client_ip"] == "127.0.0.1"
        assert event["details"]["reason"]


def test_path_invalid_names_are_their_own_event_not_traversal(tmp_path: Path, docs_root: Path) -> None:
    log_file = tmp_path / "security.jsonl"
    with serve_stack(
        tmp_path, SEC_DOCS_ROOT=str(docs_root), SEC_LOG_FILE=str(log_file), SEC_LIMIT="1000/minute"
    ) as base:
        results = {name: _raw_get(base, PREFIX + name) for name in INVALID_NAMES}
        events = wait_for(
            lambda: lines if len(lines := _security_lines(log_file)) >= len(INVALID_NAMES) else None,
            timeout=10,
            what="one log line per invalid name",
        )
    for name, (status, response) in results.items():
        assert status == 400, name
        assert json.loads(response.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "invalid_document_name", name
    assert [event["event"] for event in events] == ["invalid_document_name"] * len(INVALID_NAMES)
    for event in events:
        assert event["message"] == "SECURITY_AUDIT invalid_document_name"
        assert event["severity"] == "info" and event["details"]["reason"]
