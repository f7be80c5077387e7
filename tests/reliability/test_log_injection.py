"""Hostile header, path and body values never forge or break a JSONL log line."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.support.net import wait_for
from tests.support.processes import running_service

from .probes import access_records, log_records
from .rawhttp import exchange, from_app, status_of

pytestmark = pytest.mark.integration

TOKEN = "reliability-token"
ANNOUNCEMENT = re.compile(r"serving on http://\S+ \(Ctrl-C stops\)")
FORGED = b'{"level":"CRITICAL","logger":"ai_diy.security","message":"SECURITY_AUDIT forged"}'


def _quoted(raw: bytes) -> bytes:
    return urllib.parse.quote_from_bytes(raw, safe="").encode()


def _get(target: bytes, *headers: bytes) -> bytes:
    return (
        b"GET "
        + target
        + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + b"".join(h + b"\r\n" for h in headers)
        + b"\r\n"
    )


def _put(target: bytes, body: bytes) -> bytes:
    return (
        b"PUT "
        + target
        + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer "
        + TOKEN.encode()
        + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
        + body
    )


HOSTILE = {
    "ansi-user-agent": _get(b"/api/env", b"User-Agent: \x1b[31mred\x1b[0m\x1b[2J\x1b]0;title\x07"),
    "long-user-agent": _get(b"/api/env", b"User-Agent: " + b"L" * 8000),
    "invalid-utf8-user-agent": _get(b"/api/env", b"User-Agent: \xff\xfe\xc3(\xed\xa0\x80"),
    "line-separators-user-agent": _get(b"/api/env", b"User-Agent: a\xe2\x80\xa8b\xc2\x85c"),
    "control-byte-header": _get(b"/api/env", b"User-Agent: a\x01\x02\x7fb"),
    "json-in-user-agent": _get(b"/api/env", b'User-Agent: "}' + FORGED),
    "newline-in-path": _get(b"/api/appdocs/x%0A" + _quoted(FORGED) + b".txt"),
    "crlf-in-unmatched-path": _get(b"/no/such%0d%0a%0d%0a" + _quoted(FORGED)),
    "ansi-and-invalid-utf8-in-path": _get(b"/api/appdocs/%1B%5B2J%FF%FE.txt"),
    "newline-in-query": _get(b"/api/env?q=%0a" + _quoted(FORGED)),
    "long-path": _get(b"/api/appdocs/" + b"p" * 8000 + b".txt"),
    "traversal-with-newline": _get(b"/api/appdocs/..%2f..%2fetc%0apasswd"),
    "hostile-forwarded-for": _get(b"/api/env", b"X-Forwarded-For: 1.2.3.4\x1b[2J, \xff\xfe, 10.0.0.1"),
    "nul-and-newline-body": _put(b"/api/appdocs/hostile.txt", b"line1\nline2\r\n\x1b[31m\x00" + FORGED + b"\n"),
    # Refused by hypercorn itself (h11): no request reaches the service, so no access line.
    "bare-cr-in-header": _get(b"/api/env", b"User-Agent: a\rb"),
    "obs-fold-header": _get(b"/api/env", b"User-Agent: a", b" folded"),
}


def test_log_injection_hostile_values_never_forge_or_break_a_line(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    with running_service(
        tmp_path,
        AI_DIY_ADMIN_TOKEN=TOKEN,
        AI_DIY_TRUSTED_PROXIES="127.0.0.1",
        AI_DIY_RESOURCE_LOG_INTERVAL="0",
    ) as (proc, base):
        port = int(base.rsplit(":", 1)[1])
        reached_app = 0
        statuses: dict[str, int | None] = {}
        for name, payload in HOSTILE.items():
            answer = exchange(port, payload, timeout=10)
            statuses[name] = status = status_of(answer)
            assert status is None or status < 500, (name, answer[:300])
            reached_app += from_app(answer)
        # Every request the service answered has exactly one access line, no more.
        wait_for(lambda: len(access_records(log_dir)) >= reached_app, timeout=10, what="access lines")
        time.sleep(0.5)
        access = access_records(log_dir)
        output = proc.output()
    assert reached_app >= len(HOSTILE) - 2, {name: (statuses[name]) for name in HOSTILE}
    assert len(access) == reached_app, (len(access), reached_app, statuses)
    # Every line of every log file is one JSON object (log_records fails otherwise).
    records = [r for prefix in ("ai_diy_api", "ai_diy_security", "ai_diy_audit") for r in log_records(log_dir, prefix)]
    # The forged record appears only inside the escaped path/agent of a real one, never as a record.
    assert not [r for r in records if r.get("message") == "SECURITY_AUDIT forged"]
    assert not [r for r in records if r.get("level") == "CRITICAL"]
    for path in log_dir.glob("*.jsonl"):
        raw = path.read_bytes()
        assert b"\x1b" not in raw and b"\r" not in raw and b"\x00" not in raw, path.name
    # The hostile values are kept (escaped), not lost: an operator can still see them.
    agents = [(r.get("details") or {}).get("user_agent") or "" for r in access]
    assert any("\x1b[31mred" in agent for agent in agents)
    assert any(agent == "L" * 8000 or agent.startswith("L" * 1000) for agent in agents)
    # stderr carries the same JSON lines. Split on "\n" only, as JSONL readers do
    # (str.splitlines would also split on U+2028 and U+0085 inside a string).
    # The one line that is not a log line: serve's announcement of its address on stdout.
    for line in output.split("\n"):
        if line.strip() and not ANNOUNCEMENT.fullmatch(line):
            assert isinstance(json.loads(line), dict), line[:300]
