"""configure_logging: JSONL format, scrubbing, routing, non-blocking writes, faults."""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from observability import LogSink, ResourceLogger, configure_logging
from observability.logformat import JsonFormatter
from tests.support.net import wait_for

Configure = Callable[..., LogSink]


@pytest.fixture
def configure(tmp_path: Path) -> Iterator[Configure]:
    root = logging.getLogger()
    level = root.level
    sinks: list[LogSink] = []

    def start(**options: Any) -> LogSink:
        options.setdefault("stderr", False)
        options.setdefault("file_prefix", "ai_diy_api")
        options.setdefault("extra_files", {"ai_diy.security": "ai_diy_security", "ai_diy.audit": "ai_diy_audit"})
        sink = configure_logging(tmp_path / "logs", options.pop("level", "INFO"), **options)
        sinks.append(sink)
        return sink

    yield start
    for sink in sinks:
        sink.stop()
    root.setLevel(level)


def today(prefix: str = "ai_diy_api") -> str:
    return f"{prefix}_{time.strftime('%Y%m%d', time.gmtime())}.jsonl"


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().decode("utf-8").splitlines()]


def test_log_line_has_contract_fields_and_extras(configure: Configure, tmp_path: Path) -> None:
    sink = configure()
    logging.getLogger("ai_diy.security").warning(
        "SECURITY_AUDIT path_traversal_attempt",
        extra={
            "event": "path_traversal_attempt",
            "severity": "warning",
            "status": "error",
            "details": {"client_ip": "10.0.0.7"},
        },
    )
    sink.stop()
    raw = (tmp_path / "logs" / today()).read_text().splitlines()
    [entry] = [json.loads(line) for line in raw]
    assert list(entry)[:4] == ["timestamp", "level", "logger", "message"]
    assert entry["level"] == "WARNING" and entry["logger"] == "ai_diy.security"
    assert entry["message"] == "SECURITY_AUDIT path_traversal_attempt"
    assert (entry["event"], entry["severity"], entry["status"]) == ("path_traversal_attempt", "warning", "error")
    assert entry["details"] == {"client_ip": "10.0.0.7"}
    assert entry["timestamp"].endswith("Z") and entry["timestamp"][10] == "T"
    assert raw[0] == json.dumps(entry, ensure_ascii=False, separators=(",", ":"))


def test_log_lines_redact_secrets_and_mask_personal_data(configure: Configure, tmp_path: Path) -> None:
    sink = configure()
    logging.getLogger("ai_diy.api").info(
        "mail bob.smith@example.com or call +44 20 7946 0958 from 192.168.1.20 on 2026-11-29",
        extra={
            "headers": {
                "Authorization": "Bearer s3cr3t",
                "Cookie": "sid=abc",
                "Set-Cookie": "sid=def",
                "Accept": "*/*",
            },
            "api_token": "tok-123",
            "details": {"password": "hunter2", "note": "reach me at (555) 123-4567"},
        },
    )
    sink.stop()
    text = (tmp_path / "logs" / today()).read_text()
    for secret in ("s3cr3t", "sid=abc", "sid=def", "tok-123", "hunter2", "bob.smith", "7946", "123-4567"):
        assert secret not in text
    [entry] = lines(tmp_path / "logs" / today())
    assert entry["message"] == "mail [EMAIL] or call [PHONE] from 192.168.1.20 on 2026-11-29"
    assert entry["headers"] == {
        "Authorization": "[REDACTED]",
        "Cookie": "[REDACTED]",
        "Set-Cookie": "[REDACTED]",
        "Accept": "*/*",
    }
    assert entry["api_token"] == "[REDACTED]"
    assert entry["details"] == {"password": "[REDACTED]", "note": "reach me at [PHONE]"}


def test_log_lines_cannot_be_forged_by_request_data(configure: Configure, tmp_path: Path) -> None:
    sink = configure()
    forged = '/x\n{"level":"CRITICAL","logger":"ai_diy.security"}\r\x1b[2J'
    undecodable = b"/caf\xe9\xff".decode("utf-8", "surrogateescape")
    api = logging.getLogger("ai_diy.api")
    api.info("request %s", forged, extra={"path": forged})
    api.info("request %s", undecodable, extra={"path": undecodable, "raw": b"\x00\xff"})
    sink.stop()
    raw = (tmp_path / "logs" / today()).read_bytes()
    assert raw.count(b"\n") == 2
    first, second = lines(tmp_path / "logs" / today())
    assert first["path"] == forged and first["level"] == "INFO"
    assert second["path"] == "/caf\udce9\udcff"


def test_extra_files_get_their_loggers_too(configure: Configure, tmp_path: Path) -> None:
    sink = configure()
    logging.getLogger("ai_diy.security").warning("SECURITY_AUDIT x")
    logging.getLogger("ai_diy.audit.documents").info("document written")
    logging.getLogger("ai_diy.securityish").info("not security")
    sink.stop()
    logs = tmp_path / "logs"
    assert [e["message"] for e in lines(logs / today())] == ["SECURITY_AUDIT x", "document written", "not security"]
    assert [e["message"] for e in lines(logs / today("ai_diy_security"))] == ["SECURITY_AUDIT x"]
    assert [e["message"] for e in lines(logs / today("ai_diy_audit"))] == ["document written"]


def test_log_level_from_environment(configure: Configure, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "warning")
    sink = configure(level=None)
    logging.getLogger("ai_diy.x").info("quiet")
    logging.getLogger("ai_diy.x").warning("loud")
    sink.stop()
    assert [e["message"] for e in lines(tmp_path / "logs" / today())] == ["loud"]


def test_log_lines_carry_current_trace_id(configure: Configure, tmp_path: Path) -> None:
    provider = TracerProvider()
    sink = configure()
    with provider.get_tracer("t").start_as_current_span("work") as span:
        logging.getLogger("ai_diy.data").info("inside a span")
    sink.stop()
    provider.shutdown()
    [entry] = lines(tmp_path / "logs" / today())
    assert entry["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert entry["span_id"] == format(span.get_span_context().span_id, "016x")


def test_full_queue_drops_and_counts_without_blocking(configure: Configure, tmp_path: Path) -> None:
    release = threading.Event()

    class Blocker:
        def __str__(self) -> str:  # formatted on the writer thread: holds it up
            release.wait(10)
            return "blocker"

    reasons: list[str] = []
    sink = configure(queue_size=2, on_drop=reasons.append)
    log = logging.getLogger("ai_diy.x")
    log.info("first", extra={"blocker": Blocker()})
    wait_for(lambda: sink.pending() == 0, timeout=5, what="writer picked the first record")
    for number in range(10):
        log.info("line %d", number)  # returns at once even though the writer is stuck
    release.set()
    sink.stop()
    written = [e["message"] for e in lines(tmp_path / "logs" / today())]
    assert written == ["first", "line 0", "line 1"]
    assert reasons == ["queue_full"] * 8
    assert sink.dropped["queue_full"] == 8


def _log_while(log: logging.Logger, message: str, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Keep logging `message` while `condition` holds (the writer notices faults and recovery by writing)."""
    deadline = time.monotonic() + timeout
    while condition() and time.monotonic() < deadline:
        log.info(message)
        time.sleep(0.01)


def test_unwritable_log_dir_drops_counts_and_recovers(configure: Configure, tmp_path: Path) -> None:
    # Root ignores permission bits, so the fault is real in another way: the log
    # directory is replaced by a regular file, and every open() under it fails.
    reasons: list[str] = []
    sink = configure(on_drop=reasons.append, check_interval=0.05)
    log = logging.getLogger("ai_diy.x")
    logs = tmp_path / "logs"
    log.info("before")
    wait_for(lambda: (logs / today()).exists(), timeout=5, what="first line written")  # noqa: PLW0108  # today() on every poll
    shutil.rmtree(logs)
    logs.write_text("not a directory")
    _log_while(log, "during", lambda: sink.healthy)
    assert not sink.healthy
    assert "NotADirectory" in (sink.last_error or "") or "FileExists" in (sink.last_error or "")
    assert sink.dropped["write_error"] >= 1 and "write_error" in reasons
    logs.unlink()  # the fault goes away: the directory is recreated on the next retry
    _log_while(log, "after", lambda: not sink.healthy)
    log.info("resumed")
    sink.stop()
    assert sink.healthy
    messages = [e["message"] for e in lines(logs / today())]
    assert messages[-1] == "resumed" and "before" not in messages


def test_full_disk_drops_counts_and_recovers(configure: Configure, tmp_path: Path) -> None:
    # /dev/full answers every write with ENOSPC: a real "disk full" without privileges.
    if not Path("/dev/full").exists():
        pytest.fail("/dev/full is missing: this test needs Linux")
    sink = configure(check_interval=0.05)
    log = logging.getLogger("ai_diy.x")
    current = tmp_path / "logs" / today()
    log.info("before")
    wait_for(current.exists, timeout=5, what="first line written")
    current.unlink()
    current.symlink_to("/dev/full")
    _log_while(log, "during", lambda: sink.healthy)
    assert not sink.healthy and "No space left on device" in (sink.last_error or "")
    assert sink.dropped["write_error"] >= 1
    current.unlink()  # space is back
    _log_while(log, "after", lambda: not sink.healthy)
    log.info("resumed")
    sink.stop()
    assert sink.healthy and lines(current)[-1]["message"] == "resumed"


def test_daily_file_switches_at_utc_midnight(configure: Configure, tmp_path: Path) -> None:
    sink = configure()
    log = logging.getLogger("ai_diy.x")
    log.info("today")
    tomorrow = time.time() + 86_400
    record = log.makeRecord(log.name, logging.INFO, __file__, 0, "tomorrow", (), None)
    record.created = tomorrow
    log.handle(record)
    sink.stop()
    tomorrow_file = tmp_path / "logs" / f"ai_diy_api_{time.strftime('%Y%m%d', time.gmtime(tomorrow))}.jsonl"
    assert [e["message"] for e in lines(tmp_path / "logs" / today())] == ["today"]
    assert [e["message"] for e in lines(tomorrow_file)] == ["tomorrow"]


def test_resource_logger_writes_usage_lines(configure: Configure, tmp_path: Path) -> None:
    sink = configure()
    resources = ResourceLogger(logging.getLogger("ai_diy.resources"), 0.05)
    resources.start()
    wait_for(
        lambda: (tmp_path / "logs" / today()).exists() and len(lines(tmp_path / "logs" / today())) >= 2,
        timeout=10,
        what="two usage lines",
    )
    resources.stop()
    sink.stop()
    entries = lines(tmp_path / "logs" / today())
    assert all(entry["event"] == "resource_usage" for entry in entries)
    assert {"memory_mb", "memory_percent", "cpu_percent", "open_files", "threads"} <= set(entries[0])
    assert entries[0]["memory_mb"] > 0


def test_log_line_escapes_unicode_line_separators() -> None:
    message = "a\u2028b\u2029c\x85d"
    record = logging.LogRecord("ai_diy.api", logging.INFO, "", 0, message, None, None)
    record.details = {"user_agent": "ua\u2028x"}
    line = JsonFormatter().format(record)
    assert len(line.splitlines()) == 1
    parsed = json.loads(line)
    assert parsed["message"] == message and parsed["details"]["user_agent"] == "ua\u2028x"


def test_security_event_line_with_a_60_kib_client_field_stays_bounded(configure: Configure, tmp_path: Path) -> None:
    sink = configure()
    logging.getLogger("ai_diy.security").warning(
        "SECURITY_AUDIT request_too_large",
        extra={
            "event": "request_too_large",
            "severity": "warning",
            "status": "error",
            "details": {"client_ip": "10.0.0.7", "path": "/api/" + "p" * 60 * 1024, "user_agent": "u" * 60 * 1024},
        },
    )
    assert sink.flush(10.0)
    for prefix in ("ai_diy_api", "ai_diy_security"):
        raw = (tmp_path / "logs" / today(prefix)).read_bytes()
        assert len(raw) < 16 * 1024, prefix
        details = json.loads(raw)["details"]
        assert details["path"].endswith("…[cut]") and details["user_agent"].endswith("…[cut]")
