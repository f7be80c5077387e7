"""configure_tracer_provider: OTEL_* variables, sampling without an exporter."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from observability import configure_tracer_provider
from observability.tracing import TracingConfigError


@pytest.fixture(autouse=True)
def clean_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)


@pytest.fixture
def providers() -> Iterator[list[TracerProvider]]:
    made: list[TracerProvider] = []
    yield made
    for provider in made:
        provider.shutdown()


def processors(provider: TracerProvider) -> list[object]:
    return list(provider._active_span_processor._span_processors)


def test_tracer_provider_without_endpoint_samples_but_exports_nothing(providers: list[TracerProvider]) -> None:
    provider = configure_tracer_provider("ai-diy", "1.0.0")
    providers.append(provider)
    span = provider.get_tracer("t").start_span("x")
    assert span.get_span_context().trace_flags.sampled
    assert span.is_recording()
    span.end()
    assert processors(provider) == []
    assert provider.resource.attributes["service.name"] == "ai-diy"
    assert provider.resource.attributes["service.version"] == "1.0.0"


def test_tracer_provider_environment_wins_over_defaults(monkeypatch: pytest.MonkeyPatch, providers: list[TracerProvider]) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "ai-diy-canary")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=staging,service.version=9")
    provider = configure_tracer_provider("ai-diy", "1.0.0")
    providers.append(provider)
    attributes = provider.resource.attributes
    assert (attributes["service.name"], attributes["service.version"], attributes["deployment.environment"]) == (
        "ai-diy-canary",
        "9",
        "staging",
    )


def test_tracer_provider_honours_sampler_variables(monkeypatch: pytest.MonkeyPatch, providers: list[TracerProvider]) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    provider = configure_tracer_provider()
    providers.append(provider)
    assert not provider.get_tracer("t").start_span("x").get_span_context().trace_flags.sampled


def test_tracer_provider_disabled_sdk_gives_no_op_spans(monkeypatch: pytest.MonkeyPatch, providers: list[TracerProvider]) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    provider = configure_tracer_provider()
    providers.append(provider)
    assert not provider.get_tracer("t").start_span("x").get_span_context().is_valid
    assert processors(provider) == []


def test_tracer_provider_endpoint_adds_batch_exporter(monkeypatch: pytest.MonkeyPatch, providers: list[TracerProvider]) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:9/v1/traces")
    provider = configure_tracer_provider()
    providers.append(provider)
    [processor] = processors(provider)
    assert isinstance(processor, BatchSpanProcessor)


@pytest.mark.parametrize("protocol", ["http/json", "carrier-pigeon"])
def test_tracer_provider_rejects_unsupported_protocol(monkeypatch: pytest.MonkeyPatch, protocol: str) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    with pytest.raises(TracingConfigError, match="supported are http/protobuf, grpc"):
        configure_tracer_provider()
