"""After a hostile session, no personal data in any log file (the runbook's GDPR check)."""

from __future__ import annotations

import re
import subprocess
import urllib.parse
from pathlib import Path

import pytest

from tests.support.net import wait_for
from tests.support.processes import running_service

from .probes import access_records, log_records
from .rawhttp import exchange, from_app

pytestmark = pytest.mark.integration

TOKEN = "reliability-token"
PHONES = ["555-123-4567", "+15551234567", "(555) 123-4567", "+44 20 7946 0958", "06.12.34.56.78", "0044 20 7946 0958"]
EMAILS = ["john.doe@example.com", "jane+news@mail.example.org"]
STREET = "12 Baker Street"


def _request(method: str, target: str, *headers: str, body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: x", "Connection: close", *headers]
    if method == "PUT":
        lines += [f"Authorization: Bearer {TOKEN}", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# Where a value goes: (method, target, user agent, body); {v} is the value as typed,
# {q} percent-encoded.
_PLACES = [
    ("GET", "/api/customers/{q}", None, b""),
    ("GET", "/api/customers/{v}", None, b""),
    ("GET", "/api/appdocs/{q}.txt", None, b""),
    ("GET", "/api/appdocs/contacts/{q}/card.md", None, b""),
    ("GET", "/api/appdocs/../{q}", None, b""),
    ("GET", "/api/env?contact={q}&page=2", None, b""),
    ("GET", "/api/env", "bot/1.0 (+{v})", b""),
    ("PUT", "/api/appdocs/{q}.md", None, b"note"),
    ("DELETE", "/api/appdocs/{q}.md", None, b""),
]


def _session() -> list[bytes]:
    requests = []
    for value in [*PHONES, *EMAILS]:
        quoted = urllib.parse.quote(value, safe="/+()@")
        for method, target, agent, body in _PLACES:
            headers = [f"User-Agent: {agent.format(v=value)}"] if agent else []
            requests.append(_request(method, target.format(v=value, q=quoted).replace(" ", "%20"), *headers, body=body))
    street = urllib.parse.quote(STREET)
    requests += [
        _request("GET", f"/api/env?address={street}&phone=5551234567&email=x"),
        _request("GET", f"/api/customers/address/{street}"),
        _request("GET", f"/api/customers/Address:{street}"),
        _request("GET", "/api/appdocs/home address.txt".replace(" ", "%20")),
        _request("GET", "/api/appdocs/phone-list.csv"),
        _request("GET", "/api/appdocs/bad<email>.txt"),
        _request("GET", "/api/env", f"User-Agent: email me at home, phone 555 123 4567; address: {STREET}"),
        _request("GET", "/api/env", "User-Agent: Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"),
    ]
    return requests


# Independent of the service's own masking patterns: anything shaped like an e-mail
# address, a number with a + and eight digits or more, or a North American number.
_STRICT = [
    re.compile(rb"[\w.+-]+(?:@|%40)[\w-]+\.[\w.-]+"),
    re.compile(rb"(?:\+|%2B)\d[\d ().-]{6,}\d"),
    re.compile(rb"\(?\d{3}\)?[ .-]?\d{3}[ .-]\d{4}"),
    re.compile(rb"\d{2}[ .]\d{2}[ .]\d{2}[ .]\d{2}[ .]\d{2}"),
]


def test_personal_data_never_reaches_a_log_file(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    requests = _session()
    with running_service(tmp_path, AI_DIY_ADMIN_TOKEN=TOKEN, AI_DIY_RESOURCE_LOG_INTERVAL="0") as (_proc, base):
        port = int(base.rsplit(":", 1)[1])
        reached = sum(from_app(exchange(port, request, timeout=10)) for request in requests)
        wait_for(lambda: len(access_records(log_dir)) >= reached, timeout=10, what="access lines")
    assert reached == len(requests)
    # Every kind of line was written: access, security events and the audit trail.
    assert log_records(log_dir, "ai_diy_security") and log_records(log_dir, "ai_diy_audit")

    # The runbook's own check, run as it is written, from the directory above logs/.
    grep = subprocess.run(
        ["grep", "-r", r"email\|phone\|address", "logs/"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert grep.returncode == 1, f"the runbook's GDPR grep found:\n{grep.stdout[:3000]}"

    files = sorted(log_dir.glob("*.jsonl"))
    assert {path.name.split("_2")[0] for path in files} == {"ai_diy_api", "ai_diy_security", "ai_diy_audit"}
    for path in files:
        raw = path.read_bytes()
        for pattern in _STRICT:
            found = pattern.findall(raw)
            assert not found, (path.name, found[:5])
        compact = re.sub(rb"[^0-9]", b"", raw)
        for phone in PHONES:
            assert re.sub(r"\D", "", phone).encode() not in compact, (path.name, phone)
        for secret in (b"Baker", b"john.doe", b"jane+news"):
            assert secret not in raw, (path.name, secret)
