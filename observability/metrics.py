"""HTTP server metric definitions (prometheus-client).

Every factory takes the `CollectorRegistry` to register on; nothing here touches the
global registry. Names, labels and buckets follow docs/metrics.md.

With several worker processes (prometheus-client multiprocess mode, see
`observability.exposition`) the gauges below aggregate as their `multiprocess_mode`
says (and so should a service's own gauges). prometheus-client's multiprocess value
store discards exemplars, so there the
latency exemplars go to each worker's `observability.exemplars` store instead and
/metrics merges them.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .exemplars import multiprocess_exemplar_store

# Label names of the duration histogram, in the OpenTelemetry HTTP semantic conventions
# order: url_scheme is required, error_type conditionally (set only on failed requests;
# empty, which Prometheus reads as absent, on the others).
DURATION_LABELS = ("http_request_method", "http_route", "http_response_status_code", "url_scheme", "error_type")
SCHEMES = frozenset({"http", "https"})
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
SIZE_BUCKETS = (100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0, 10_000_000.0)


class HttpMetrics:
    """HTTP server metrics (OpenTelemetry semantic-convention names) for one registry."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        namespace: str,
        duration_buckets: tuple[float, ...] = DURATION_BUCKETS,
        size_buckets: tuple[float, ...] = SIZE_BUCKETS,
    ) -> None:
        self.duration = Histogram(
            "http_server_request_duration_seconds",
            "Time from request start to the last response body byte.",
            DURATION_LABELS,
            buckets=duration_buckets,
            unit="seconds",
            registry=registry,
        )
        # None with a single process: the histogram keeps its own exemplars then.
        self.exemplars = multiprocess_exemplar_store(
            "http_server_request_duration_seconds", DURATION_LABELS, duration_buckets
        )
        self.active = Gauge(
            "http_server_active_requests",
            "Requests in flight.",
            ["http_request_method", "url_scheme"],
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.request_size = Histogram(
            "http_server_request_body_size_bytes",
            "Request body size in bytes, of requests that carry a body.",
            ["http_request_method", "http_route"],
            buckets=size_buckets,
            unit="bytes",
            registry=registry,
        )
        self.response_size = Histogram(
            "http_server_response_body_size_bytes",
            "Response body size in bytes.",
            ["http_request_method", "http_route", "http_response_status_code"],
            buckets=size_buckets,
            unit="bytes",
            registry=registry,
        )
        self.aborted = Counter(
            f"{namespace}_http_responses_aborted",
            "Responses that broke after their headers were sent.",
            ["http_route"],
            registry=registry,
        )
        # Label children cached by label values: `.labels()` takes a lock and builds
        # a tuple every call; the label sets are bounded, so the caches are too.
        self._active: dict[tuple[str, str], Gauge] = {}
        self._finished: dict[tuple[str, str, int, str, str], tuple[Histogram, Histogram]] = {}
        self._request_size: dict[tuple[str, str], Histogram] = {}
        self._aborted: dict[str, Counter] = {}

    def active_gauge(self, method: str, scheme: str = "http") -> Gauge:
        """The in-flight gauge child for (bounded) method and scheme labels (see `scheme_label`)."""
        key = (method, scheme)
        child = self._active.get(key)
        if child is None:
            child = self._active[key] = self.active.labels(method, scheme)
        return child

    def observe(
        self,
        method: str,
        route: str,
        status: int,
        duration: float,
        request_bytes: int,
        response_bytes: int,
        trace_id: str | None = None,
        *,
        scheme: str = "http",
        error_type: str = "",
    ) -> None:
        """Record one finished request; `trace_id` becomes the latency exemplar.

        `scheme` is a label value (`scheme_label`); `error_type` names why a request
        failed (an exception's class, or the 5xx status), empty for the others.
        """
        key = (method, route, status, scheme, error_type)
        children = self._finished.get(key)
        if children is None:
            status_label = str(status)
            children = self._finished[key] = (
                self.duration.labels(method, route, status_label, scheme, error_type),
                self.response_size.labels(method, route, status_label),
            )
        if trace_id is None:
            children[0].observe(duration)
        elif self.exemplars is None:
            children[0].observe(duration, {"trace_id": trace_id})
        else:
            children[0].observe(duration)
            self.exemplars.record(key, duration, trace_id)
        children[1].observe(response_bytes)
        if not request_bytes:
            # Most requests carry no body: a zero per GET route would be a tenth of
            # every scrape and say nothing; the duration count already counts them.
            return
        size_key = (method, route)
        size_child = self._request_size.get(size_key)
        if size_child is None:
            size_child = self._request_size[size_key] = self.request_size.labels(method, route)
        size_child.observe(request_bytes)

    def response_aborted(self, route: str) -> None:
        """Count a response that broke after its headers were sent."""
        child = self._aborted.get(route)
        if child is None:
            child = self._aborted[route] = self.aborted.labels(route)
        child.inc()


def scheme_label(scheme: str) -> str:
    """`http` or `https`; anything else `_OTHER` (bounded label values)."""
    return scheme if scheme in SCHEMES else "_OTHER"
