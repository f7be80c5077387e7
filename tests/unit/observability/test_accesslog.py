"""AccessLog: the access line encoded on the loop when the sink alone listens, the same line otherwise."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from observability import LogSink, configure_logging
from observability.accesslog import AccessLog
from observability.logformat import JsonFormatter
from observability.logging import PreparedRecord
from observability.redaction import CUT_MARK, FIELD_LIMIT

LOGGER = "ai_diy.api"
HOSTILE_AGENT = "Mozilla/5.0 (reach me at jane.doe@example.com) " + "A" * 60 * 1024


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[LogSink]:
    root = logging.getLogger()
    level = root.level
    sink = configure_logging(tmp_path / "logs", "INFO", stderr=False, file_prefix="ai_diy_api")
    yield sink
    sink.stop()
    root.setLevel(level)


@contextlib.contextmanager
def alone(sink: LogSink) -> Iterator[LogSink]:
    """The sink as the root logger's only handler, as in a served process.

    pytest's capture handlers sit on the root logger during each test phase: set aside here.
    """
    root = logging.getLogger()
    others = [h for h in root.handlers if type(h).__module__.startswith("_pytest")]
    for handler in others:
        root.removeHandler(handler)
    try:
        yield sink
    finally:
        for handler in others:
            root.addHandler(handler)


def _written(tmp_path: Path, sink: LogSink) -> list[bytes]:
    assert sink.flush(10.0)
    path = tmp_path / "logs" / f"ai_diy_api_{time.strftime('%Y%m%d', time.gmtime())}.jsonl"
    return path.read_bytes().splitlines()


def _write(access: AccessLog, agent: str, status: int = 200, path: str = "/api/env") -> None:
    access.write("GET", path, status, "/api/env", 0.0012, "198.18.0.7", agent, "a" * 32, "b" * 16)


def test_access_line_is_encoded_on_the_loop_when_the_sink_alone_listens(
    sink: LogSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handled: list[logging.LogRecord] = []
    monkeypatch.setattr(logging.Logger, "handle", lambda self, record: handled.append(record))
    with alone(sink):
        assert sink.serves_alone(logging.getLogger(LOGGER))
        _write(AccessLog(logging.getLogger(LOGGER)), "probe/2.0")
    [raw] = _written(tmp_path, sink)
    assert handled == []  # no LogRecord, no logging dispatch
    line = json.loads(raw)
    assert line["event"] == "http_request" and line["message"] == "GET /api/env 200"
    assert line["details"] == {"client_ip": "198.18.0.7", "user_agent": "probe/2.0"}


def test_access_line_is_the_same_whichever_way_it_goes(sink: LogSink, tmp_path: Path) -> None:
    agent = "curl/8 call +44 20 7946 0958"
    with alone(sink):
        _write(AccessLog(logging.getLogger(LOGGER)), agent, path="/api/users/jane@example.com")
    [direct] = _written(tmp_path, sink)
    fields: dict[str, Any] = json.loads(direct)
    record = PreparedRecord(
        LOGGER,
        logging.INFO,
        "GET /api/users/jane@example.com 200",
        {
            "event": "http_request",
            "status": "success",
            "duration_ms": 1.2,
            "method": "GET",
            "path": "/api/users/jane@example.com",
            "route": "/api/env",
            "status_code": 200,
            "details": {"client_ip": "198.18.0.7", "user_agent": agent},
            "trace_id": "a" * 32,
            "span_id": "b" * 16,
        },
    )
    through_logging = json.loads(JsonFormatter().format(record))
    for line in (fields, through_logging):
        line.pop("timestamp")
    assert fields == through_logging
    assert "jane@example.com" not in direct.decode() and "7946" not in direct.decode()


def test_access_line_goes_through_logging_when_another_handler_listens(sink: LogSink) -> None:
    logger = logging.getLogger(LOGGER)
    seen: list[logging.LogRecord] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    capture = Capture()
    logger.addHandler(capture)
    try:
        with alone(sink):
            assert not sink.serves_alone(logger)
            _write(AccessLog(logger), "probe/2.0", status=503)
    finally:
        logger.removeHandler(capture)
    [record] = seen
    assert record.levelname == "ERROR" and record.getMessage() == "GET /api/env 503"


def test_access_line_with_a_60_kib_user_agent_stays_bounded(sink: LogSink, tmp_path: Path) -> None:
    with alone(sink):
        _write(AccessLog(logging.getLogger(LOGGER)), HOSTILE_AGENT)
    [raw] = _written(tmp_path, sink)
    assert len(raw) < 16 * 1024
    agent = json.loads(raw)["details"]["user_agent"]
    assert agent.endswith(CUT_MARK) and len(agent) == FIELD_LIMIT + len(CUT_MARK)
    assert "[EMAIL]" in agent and "jane.doe" not in agent


def test_access_line_through_logging_with_a_60_kib_user_agent_stays_bounded() -> None:
    record = PreparedRecord(
        LOGGER, logging.INFO, "GET /x 200", {"event": "http_request", "details": {"user_agent": HOSTILE_AGENT}}
    )
    line = JsonFormatter().format(record)
    assert len(line.encode()) < 16 * 1024
    assert json.loads(line)["details"]["user_agent"].endswith(CUT_MARK)
