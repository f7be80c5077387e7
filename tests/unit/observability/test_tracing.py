"""configure_tracer_provider: OTEL_* variables, sampling without an exporter."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk import resources
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult

from observability import configure_tracer_provider
from observability.tracing import TracingConfigError, check_tracing_config


@pytest.fixture(autouse=True)
def clean_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
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


def test_tracer_provider_environment_wins_over_defaults(
    monkeypatch: pytest.MonkeyPatch, providers: list[TracerProvider]
) -> None:
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


def test_tracer_provider_honours_sampler_variables(
    monkeypatch: pytest.MonkeyPatch, providers: list[TracerProvider]
) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    provider = configure_tracer_provider("ai-diy")
    providers.append(provider)
    assert not provider.get_tracer("t").start_span("x").get_span_context().trace_flags.sampled


def test_tracer_provider_disabled_sdk_gives_no_op_spans(
    monkeypatch: pytest.MonkeyPatch, providers: list[TracerProvider]
) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    provider = configure_tracer_provider("ai-diy")
    providers.append(provider)
    assert not provider.get_tracer("t").start_span("x").get_span_context().is_valid
    assert processors(provider) == []


def test_tracer_provider_endpoint_adds_batch_exporter(
    monkeypatch: pytest.MonkeyPatch, providers: list[TracerProvider]
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:9/v1/traces")
    provider = configure_tracer_provider("ai-diy")
    providers.append(provider)
    [processor] = processors(provider)
    assert isinstance(processor, BatchSpanProcessor)


@pytest.mark.parametrize("protocol", ["http/json", "carrier-pigeon"])
def test_tracer_provider_rejects_unsupported_protocol(monkeypatch: pytest.MonkeyPatch, protocol: str) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    with pytest.raises(TracingConfigError, match="supported are http/protobuf, grpc"):
        configure_tracer_provider("ai-diy")


def test_tracer_provider_resource_hashes_once_and_groups_spans_like_a_plain_resource(
    monkeypatch: pytest.MonkeyPatch, providers: list[TracerProvider]
) -> None:
    provider = configure_tracer_provider("ai-diy", "9.9.9")
    providers.append(provider)
    resource = provider.resource
    plain = resources.Resource(resource.attributes, resource.schema_url)
    assert resource == plain and plain == resource and hash(resource) == hash(plain)

    dumps_calls: list[object] = []
    real_dumps = json.dumps  # what opentelemetry.sdk.resources imports as `dumps`

    def counting_dumps(*args: Any, **kwargs: Any) -> str:
        dumps_calls.append(args)
        return real_dumps(*args, **kwargs)

    monkeypatch.setattr("opentelemetry.sdk.resources.dumps", counting_dumps)
    ended: list[ReadableSpan] = []

    class Keep(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            ended.extend(spans)
            return SpanExportResult.SUCCESS

    provider.add_span_processor(SimpleSpanProcessor(Keep()))
    for _ in range(3):
        provider.get_tracer("test").start_span("GET").end()
    request = encode_spans(ended)
    # Three spans of one resource: one resource entry, and its attributes never re-serialised.
    assert len(request.resource_spans) == 1 and len(request.resource_spans[0].scope_spans[0].spans) == 3
    assert dumps_calls == []
    service = {kv.key: kv.value.string_value for kv in request.resource_spans[0].resource.attributes}
    assert service["service.name"] == "ai-diy" and service["service.version"] == "9.9.9"


def test_check_tracing_config_refuses_an_unsupported_protocol_only_when_spans_are_exported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    check_tracing_config()  # no endpoint: nothing is exported, nothing to refuse
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    with pytest.raises(TracingConfigError, match="OTEL_EXPORTER_OTLP_PROTOCOL='http/json'"):
        check_tracing_config()
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    check_tracing_config()
