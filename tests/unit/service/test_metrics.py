"""ServiceMetrics: build info, health, security state, dropped log lines."""

from __future__ import annotations

import platform

import pytest
from prometheus_client import CollectorRegistry

from service.metrics import ServiceMetrics


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def test_service_metrics_expose_state_under_namespace(registry: CollectorRegistry) -> None:
    metrics = ServiceMetrics(registry, namespace="ai_diy", version="1.2.3")
    metrics.set_health("config", True)
    metrics.set_health("log_sink", False)
    metrics.security_active.set(1)
    metrics.log_line_dropped("queue_full")
    metrics.log_line_dropped("queue_full")
    assert (
        registry.get_sample_value("ai_diy_build_info", {"version": "1.2.3", "python": platform.python_version()}) == 1
    )
    assert registry.get_sample_value("ai_diy_health_status", {"check": "config"}) == 1
    assert registry.get_sample_value("ai_diy_health_status", {"check": "log_sink"}) == 0
    assert registry.get_sample_value("ai_diy_security_active") == 1
    assert registry.get_sample_value("ai_diy_log_lines_dropped_total", {"reason": "queue_full"}) == 2


def test_service_metrics_every_metric_has_help(registry: CollectorRegistry) -> None:
    ServiceMetrics(registry, namespace="other", version="0")
    families = list(registry.collect())
    assert {family.name for family in families} == {
        "other_build_info",
        "other_health_status",
        "other_security_active",
        "other_log_lines_dropped",
    }
    assert all(family.documentation for family in families)
