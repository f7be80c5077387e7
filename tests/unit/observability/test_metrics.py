"""HttpMetrics: the exposition of the HTTP server metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics

from observability import HttpMetrics


def test_openmetrics_exposition_names_the_unit_of_every_http_histogram() -> None:
    registry = CollectorRegistry()
    metrics = HttpMetrics(registry, namespace="ai_diy")
    metrics.observe("GET", "/", 200, 0.01, 10, 20)
    text = openmetrics(registry).decode()
    assert "# UNIT http_server_request_duration_seconds seconds" in text
    assert "# UNIT http_server_request_body_size_bytes bytes" in text
    assert "# UNIT http_server_response_body_size_bytes bytes" in text
