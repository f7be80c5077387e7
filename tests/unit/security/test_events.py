from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry

from service.security.events import SecurityEvents


def test_security_events_record_logs_audit_line_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    registry = CollectorRegistry()
    events = SecurityEvents(registry)
    with caplog.at_level(logging.INFO, logger="ai_diy.security"):
        events.record("path_traversal_attempt", "warning", "192.0.2.4", requested="../x", reason="dot_segment")
    (record,) = caplog.records
    assert record.name == "ai_diy.security"
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "SECURITY_AUDIT path_traversal_attempt"
    assert record.event == "path_traversal_attempt"  # type: ignore[attr-defined]  # a field logged with extra=
    assert record.severity == "warning"  # type: ignore[attr-defined]  # a field logged with extra=
    assert record.status == "error"  # type: ignore[attr-defined]  # a field logged with extra=
    assert record.details == {"client_ip": "192.0.2.4", "requested": "../x", "reason": "dot_segment"}  # type: ignore[attr-defined]  # a field logged with extra=
    sample = {"event": "path_traversal_attempt", "severity": "warning"}
    assert registry.get_sample_value("ai_diy_security_events_total", sample) == 1
    assert registry.get_sample_value("ai_diy_input_validation_failures_total", {"reason": "path_traversal"}) == 1


def test_security_events_auth_failure_counts_auth_failures() -> None:
    registry = CollectorRegistry()
    events = SecurityEvents(registry)
    events.record("auth_failure", "warning", "192.0.2.4", path="/api/appdocs/a.md")
    events.record("auth_failure", "critical", "192.0.2.4")
    assert registry.get_sample_value("ai_diy_auth_failures_total") == 2


def test_security_events_unknown_input_reason_collapses_to_other() -> None:
    registry = CollectorRegistry()
    SecurityEvents(registry).record("suspicious_input", "info", "192.0.2.4", reason="anything-a-caller-says")
    assert registry.get_sample_value("ai_diy_input_validation_failures_total", {"reason": "other"}) == 1


def test_security_events_counters_start_at_zero() -> None:
    registry = CollectorRegistry()
    SecurityEvents(registry)
    assert (
        registry.get_sample_value("ai_diy_security_events_total", {"event": "auth_failure", "severity": "warning"}) == 0
    )
    assert (
        registry.get_sample_value(
            "ai_diy_security_events_total", {"event": "rate_limiter_storage_error", "severity": "critical"}
        )
        == 0
    )
    assert registry.get_sample_value("ai_diy_rate_limiter_errors_total") == 0
    # Only the severity each event is recorded with starts at zero: a third of the series.
    assert (
        registry.get_sample_value("ai_diy_security_events_total", {"event": "auth_failure", "severity": "info"}) is None
    )


@pytest.mark.parametrize(("event", "severity"), [("made_up", "warning"), ("auth_failure", "loud")])
def test_security_events_refuse_unbounded_labels(event: str, severity: str) -> None:
    with pytest.raises(ValueError):
        SecurityEvents(CollectorRegistry()).record(event, severity, "192.0.2.4")


def test_security_events_last_hour_forgets_old_events() -> None:
    now = [10_000.0]
    events = SecurityEvents(CollectorRegistry(), clock=lambda: now[0])
    events.record("rate_limit_exceeded", "warning", "192.0.2.4")
    now[0] += 1800
    events.record("rate_limit_exceeded", "warning", "192.0.2.4")
    events.record("rate_limit_exceeded", "warning", "192.0.2.4")
    assert events.last_hour()["rate_limit_exceeded"] == 3
    now[0] += 1900
    assert events.last_hour()["rate_limit_exceeded"] == 2
    assert events.last_hour()["auth_failure"] == 0


def test_security_events_last_hour_memory_is_bounded() -> None:
    now = [0.0]
    events = SecurityEvents(CollectorRegistry(), clock=lambda: now[0])
    for _ in range(5000):
        now[0] += 7
        events.record("suspicious_input", "info", "192.0.2.4", reason="nul_byte")
    assert len(events._recent["suspicious_input"]) <= 61
    assert events.last_hour()["suspicious_input"] in range(500, 530)
