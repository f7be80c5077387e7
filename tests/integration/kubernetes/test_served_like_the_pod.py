"""The real service, configured by the Deployment's environment, answers what the cluster will ask of it.

What is the cluster's stays the cluster's, on loopback: the addresses (127.0.0.1 and free
ports for the Deployment's 0.0.0.0, 8000 and 8001), the directories (the test's), the
Redis behind the Sentinel URI (a real redis-server and redis-sentinel), the collector
(an OTLP receiver) and the downward API's values. Everything else is the manifest's.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.net import free_port, wait_for
from tests.support.otlp import Receiver, otlp_receiver
from tests.support.processes import running_service
from tests.support.redis_server import RedisSentinel, RedisServer
from tests.unit.kubernetes import manifests as m

pytestmark = pytest.mark.integration

DOCUMENTS = m.documents()
DOWNWARD = {"metadata.name": "ai-diy-5c8d-k7x2p", "metadata.namespace": "shop", "spec.nodeName": "node-2"}
PROBES = ("startupProbe", "livenessProbe", "readinessProbe")


@dataclass
class Pod:
    base: str  # the API listener, where the probes go
    metrics: str  # the metrics listener, where the ServiceMonitor scrapes
    collector: Receiver


def _pod_environment(sentinel: RedisSentinel, collector: Receiver, api_port: int, metrics_port: int) -> dict[str, str]:
    env = m.environment(DOCUMENTS, DOWNWARD)
    uri = env["AI_DIY_RATE_LIMIT_STORAGE"]
    master_name = uri.rsplit("/", 1)[1]
    env.update(
        AI_DIY_METRICS_HOST="127.0.0.1",
        AI_DIY_PORT=str(api_port),
        AI_DIY_METRICS_PORT=str(metrics_port),
        AI_DIY_RATE_LIMIT_STORAGE=f"redis+sentinel://127.0.0.1:{sentinel.port}/{master_name}",
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint,
    )
    # running_service binds 127.0.0.1 and gives the test's own directories.
    for name in ("AI_DIY_HOST", "AI_DIY_LOG_DIR", "AI_DIY_DATA_DIR"):
        del env[name]
    return env


@pytest.fixture(scope="module")
def pod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pod]:
    workdir = tmp_path_factory.mktemp("pod")
    with ExitStack() as stack:
        master = RedisServer(workdir, name="master")
        master.start()
        stack.callback(master.stop)
        sentinel = RedisSentinel(workdir, master.port, quorum=1)
        sentinel.start()
        stack.callback(sentinel.stop)
        wait_for(lambda: sentinel.master_port_now() == master.port, timeout=15, what="sentinel names the master")
        collector = stack.enter_context(otlp_receiver())
        api_port, metrics_port = free_port(), free_port()
        env = _pod_environment(sentinel, collector, api_port, metrics_port)
        stack.enter_context(running_service(workdir, timeout=30, env=env))
        yield Pod(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{metrics_port}", collector)


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_servicemonitor_scrape_answers_on_the_metrics_port_only(pod: Pod) -> None:
    (endpoint,) = m.one(DOCUMENTS, "ServiceMonitor")["spec"]["endpoints"]
    status, text = _get(pod.metrics + endpoint["path"])
    assert status == 200
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {"ai_diy_build_info", "http_server_request_duration_seconds"} <= names
    # The API listener keeps /metrics to itself, so the NetworkPolicy's metrics rule is the only way in.
    status, body = _get(pod.base + endpoint["path"])
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"


def test_rate_limit_storage_reached_through_the_sentinel_is_healthy(pod: Pod) -> None:
    status, body = _get(pod.base + "/api/security/status")
    assert status == 200
    assert json.loads(body)["security_status"] == "active"


def test_kept_trace_reaches_the_collector_with_the_pod_resource_attributes(pod: Pod) -> None:
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    assert _get(pod.base + "/api/env", {"traceparent": f"00-{trace_id}-b7ad6b7169203331-01"})[0] == 200

    def resource_of_the_trace() -> dict[str, str] | None:
        for request in list(pod.collector.requests):
            for resource_spans in request.resource_spans:
                if any(span.trace_id.hex() == trace_id for scope in resource_spans.scope_spans for span in scope.spans):
                    return {a.key: a.value.string_value for a in resource_spans.resource.attributes}
        return None

    attributes = wait_for(resource_of_the_trace, timeout=20, what="the kept trace at the collector")
    assert attributes["service.name"] == "ai-diy"
    assert attributes["k8s.pod.name"] == DOWNWARD["metadata.name"]
    assert attributes["k8s.namespace.name"] == DOWNWARD["metadata.namespace"]


@pytest.mark.parametrize("probe", PROBES)
def test_probe_path_answers_200(pod: Pod, probe: str) -> None:
    path = m.container(DOCUMENTS)[probe]["httpGet"]["path"]
    status, body = _get(pod.base + path)
    assert status == 200, body
