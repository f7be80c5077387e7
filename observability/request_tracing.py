"""Per-request tracing: ids and context at the start, the keep rule, a server span at the end.

Two ways, chosen once at start-up (`request_tracing`):

- `TailTracing`, the default: every request gets a trace id, a span id and a
  current span context (a non-recording span, so code inside the request and its
  outgoing calls see and propagate them), but an SDK span is built only when the
  keep rule (`KeepPolicy`, below) says so at the end, with the request's real start
  and end times. A request that is not kept costs a few ids and one context switch.
- `StandardTracing`, when OTEL_TRACES_SAMPLER is set: the standard OpenTelemetry
  meaning, a span from the start by the official ASGI instrumentation
  (opentelemetry-instrumentation-asgi), kept or dropped by the sampler, with the
  same attributes as a kept span of the default mode.

Spans started by application code inside a request follow the request's sampled
flag (parent-based sampling). Under `TailTracing` that flag is set at the start for
caller-sampled and in-ratio requests, which are kept whatever happens; so a child
span is never exported without its parent.

The keep rule (`KeepPolicy`):

A trace is worth exporting when the caller asked for it (its `traceparent` has the
sampled flag), when the request failed (5xx, an exception, or the client left
before the response ended), when it was slow, or when its trace id falls in the
keep ratio. The ratio is decided on the trace id exactly as OpenTelemetry's
`TraceIdRatioBased` sampler does, so that every service of a trace keeps or drops
it alike.

Optionally, a per-process cap bounds how many traces the ratio keeps per second
(`max_ratio_kept_per_second`): then the export work stops growing with the load.
Below the cap the ratio agrees with `TraceIdRatioBased` exactly; past it, a trace
in the ratio is left out until the next second's allowance. Caller-sampled, failed
and slow requests are kept whatever the cap.

`ReservedIds` is the id generator that lets the span built at the end carry the
ids handed out at the start.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any, Protocol

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.propagators.textmap import Getter, TextMapPropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.util.types import AttributeValue

from .outcome import RequestOutcome, error_type
from .redaction import REDACTED, is_secret_key, scrub_text
from .routes import OTHER_METHOD, UNMATCHED, method_label

Scope = MutableMapping[str, Any]
# opentelemetry-instrumentation's switch to the stable HTTP semantic conventions.
SEMCONV_OPT_IN = "OTEL_SEMCONV_STABILITY_OPT_IN"
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)
_getrandbits = random.getrandbits


DEFAULT_SAMPLE_RATIO = 0.05
DEFAULT_SLOW_SECONDS = 1.0
_LOW_64_BITS = TraceIdRatioBased.TRACE_ID_LIMIT


class KeepPolicy:
    """The keep rule: caller-sampled, failed, slow (>= `slow_seconds`) or within `sample_ratio`."""

    __slots__ = (
        "_allowance",
        "_bound",
        "_clock",
        "_second",
        "max_ratio_kept_per_second",
        "sample_ratio",
        "slow_seconds",
    )

    def __init__(
        self,
        sample_ratio: float = DEFAULT_SAMPLE_RATIO,
        slow_seconds: float = DEFAULT_SLOW_SECONDS,
        *,
        max_ratio_kept_per_second: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0.0 <= sample_ratio <= 1.0:
            raise ValueError(f"sample_ratio must be within [0, 1], got {sample_ratio!r}")
        if slow_seconds <= 0:
            raise ValueError(f"slow_seconds must be positive, got {slow_seconds!r}")
        self.sample_ratio = sample_ratio
        self.slow_seconds = slow_seconds
        self.limit_ratio(max_ratio_kept_per_second)
        self._bound = TraceIdRatioBased.get_bound_for_rate(sample_ratio)
        self._clock = clock
        self._second = -1
        self._allowance = 0

    def limit_ratio(self, per_second: int | None) -> None:
        """Cap the traces the ratio keeps per second (None: no cap); see `max_ratio_kept_per_second`."""
        if per_second is not None and per_second < 0:
            raise ValueError(f"max_ratio_kept_per_second must be 0 or more, got {per_second!r}")
        self.max_ratio_kept_per_second = per_second

    def in_ratio(self, trace_id: int) -> bool:
        """Whether the trace id falls within the keep ratio (TraceIdRatioBased's test), under the cap if any."""
        if trace_id & _LOW_64_BITS >= self._bound:
            return False
        cap = self.max_ratio_kept_per_second
        if cap is None:
            return True
        # A fixed one-second window: one clock read per in-ratio trace, nothing per other request.
        second = int(self._clock())
        if second != self._second:
            self._second = second
            self._allowance = cap
        if self._allowance <= 0:
            return False
        self._allowance -= 1
        return True

    def keeps(self, kept_at_start: bool, status: int, failed: bool, duration: float) -> bool:
        """The verdict at the end: `kept_at_start` is caller-sampled or in the ratio."""
        return kept_at_start or failed or status >= 500 or duration >= self.slow_seconds


class ReservedIds(RandomIdGenerator):
    """Random ids, except for the span the telemetry builds at the end of a kept request.

    That span's ids were handed out when the request began (access line, current
    span context, children's parent id), so the SDK must give the span exactly
    those. `reserve` sets them for the next `start_span` on this thread only.
    """

    def __init__(self) -> None:
        self._reserved = threading.local()

    def reserve(self, trace_id: int, span_id: int) -> None:
        """The next trace id and span id generated on this thread."""
        self._reserved.trace_id = trace_id
        self._reserved.span_id = span_id

    def generate_trace_id(self) -> int:
        trace_id: int = getattr(self._reserved, "trace_id", 0)
        if trace_id:
            self._reserved.trace_id = 0
            return trace_id
        return super().generate_trace_id()

    def generate_span_id(self) -> int:
        span_id: int = getattr(self._reserved, "span_id", 0)
        if span_id:
            # A span with a parent asks for no trace id: the reservation ends here.
            self._reserved.span_id = self._reserved.trace_id = 0
            return span_id
        return super().generate_span_id()


class _HeaderGetter(Getter[Mapping[str, str]]):
    def get(self, carrier: Mapping[str, str], key: str) -> list[str] | None:
        value = carrier.get(key)
        return None if value is None else [value]

    def keys(self, carrier: Mapping[str, str]) -> list[str]:
        return list(carrier)


_GETTER = _HeaderGetter()


class RequestTrace(Protocol):
    """What the telemetry asks of one request's trace.

    When `completes_early` is true, `complete` is called just before the last body
    byte is sent (the span ends with it), `finish` after the request in any case.
    """

    trace_id: int
    span_id: int
    kept_at_start: bool
    completes_early: bool

    def complete(self, scope: Scope, outcome: RequestOutcome) -> None:
        """Set what the span needs before the response ends (only when `completes_early`)."""

    def finish(self, scope: Scope, outcome: RequestOutcome) -> None:
        """End the request's trace; `outcome.kept` is the verdict of the keep rule (tail mode)."""

    def discard(self) -> None:
        """End a trace that is not kept and does not `complete_early`: no outcome needed."""


class RequestTracing(Protocol):
    """Starts the trace of each request; `policy` is None when the sampler decides (standard mode)."""

    policy: KeepPolicy | None

    def start(self, scope: Scope, headers: Mapping[str, str], method: str) -> RequestTrace | None:
        """Ids and context for a request that begins now (None: not traced)."""


def _parent(propagator: TextMapPropagator | None, headers: Mapping[str, str]) -> otel_context.Context | None:
    if "traceparent" not in headers:
        return None
    return (propagator or propagate.get_global_textmap()).extract(headers, getter=_GETTER)


class _TailTrace:
    __slots__ = ("headers", "kept_at_start", "parent", "span_id", "token", "trace_id", "tracing")
    completes_early = False

    def __init__(self, tracing: TailTracing, headers: Mapping[str, str]) -> None:
        self.tracing = tracing
        self.headers = headers
        parent_context = _parent(tracing.propagator, headers)
        parent = trace.get_current_span(parent_context).get_span_context() if parent_context is not None else None
        self.parent: SpanContext | None
        if parent is not None and parent.is_valid:
            self.trace_id = trace_id = parent.trace_id
            caller_sampled = parent.trace_flags.sampled
            trace_state = parent.trace_state
            self.parent = parent
        else:
            self.trace_id = trace_id = _getrandbits(128) or 1
            caller_sampled = False
            trace_state = None
            self.parent = None
        self.span_id = _getrandbits(64) or 1
        self.kept_at_start = kept = caller_sampled or tracing.keep.in_ratio(trace_id)
        current = NonRecordingSpan(
            SpanContext(trace_id, self.span_id, False, _SAMPLED if kept else _NOT_SAMPLED, trace_state)
        )
        self.token = otel_context.attach(trace.set_span_in_context(current, parent_context))

    def complete(self, scope: Scope, outcome: RequestOutcome) -> None:
        """Nothing before the end: the span is built in `finish`."""

    def discard(self) -> None:
        otel_context.detach(self.token)

    def finish(self, scope: Scope, outcome: RequestOutcome) -> None:
        otel_context.detach(self.token)
        if not outcome.kept:
            return
        tracing = self.tracing
        parent = self.parent
        context = None
        if parent is not None:
            if not parent.trace_flags.sampled:
                # Kept for its outcome against the caller's choice: the parent-based
                # sampler must not drop it, so the parent is presented as sampled.
                parent = SpanContext(parent.trace_id, parent.span_id, True, _SAMPLED, parent.trace_state)
            context = trace.set_span_in_context(NonRecordingSpan(parent))
        tracing.ids.reserve(self.trace_id, self.span_id)
        span = tracing.tracer.start_span(
            span_name(outcome.method, outcome.route),
            context,
            SpanKind.SERVER,
            attributes=start_attributes(scope, self.headers),
            start_time=outcome.start_ns,
        )
        end_span(span, scope, outcome)


class TailTracing:
    """Ids for every request; an SDK span only for the kept ones, built at their end."""

    def __init__(
        self,
        provider: TracerProvider,
        policy: KeepPolicy,
        *,
        name: str,
        version: str | None = None,
        propagator: TextMapPropagator | None = None,
    ) -> None:
        ids = provider.id_generator
        if not isinstance(ids, ReservedIds):
            raise ValueError("tail tracing needs a TracerProvider built by new_tracer_provider (ReservedIds)")
        self.ids = ids
        self.tracer = provider.get_tracer(name, version)
        self.keep = policy
        self.policy: KeepPolicy | None = policy
        self.propagator = propagator

    def start(self, scope: Scope, headers: Mapping[str, str], method: str) -> RequestTrace:
        return _TailTrace(self, headers)


class _CurrentTrace:
    """The span the official ASGI instrumentation opened around the request (standard mode)."""

    __slots__ = ("headers", "kept_at_start", "span", "span_id", "trace_id")
    completes_early = True

    def __init__(self, span: trace.Span, context: SpanContext, headers: Mapping[str, str]) -> None:
        self.span = span
        self.headers = headers
        self.trace_id = context.trace_id
        self.span_id = context.span_id
        self.kept_at_start = context.trace_flags.sampled

    def complete(self, scope: Scope, outcome: RequestOutcome) -> None:
        """Name the span and set its attributes; before the last body byte, as the instrumentation
        ends its span when that byte is sent."""
        span = self.span
        if not span.is_recording():
            return
        # The instrumentation names the span after the raw path and knows no route;
        # the attributes are made the ones a kept span of the default mode carries
        # (masked query, server address without its port).
        span.update_name(span_name(outcome.method, outcome.route))
        span.set_attributes(start_attributes(scope, self.headers))
        set_end_attributes(span, scope, outcome)

    def finish(self, scope: Scope, outcome: RequestOutcome) -> None:
        # A request that ended without its last body byte: its span is still open.
        self.complete(scope, outcome)

    def discard(self) -> None:
        """Never called: a span of the instrumentation completes early."""


class StandardTracing:
    """The standard OpenTelemetry way, when OTEL_TRACES_SAMPLER is set explicitly.

    The server span comes from opentelemetry-instrumentation-asgi's
    `OpenTelemetryMiddleware` (`asgi_middleware` and `asgi_options`, put outside the
    telemetry by the stack), with this tracer provider, its sampler and its own
    OTEL_PYTHON_ASGI_* and header-capture settings, without receive/send spans, in
    the stable HTTP conventions (OTEL_SEMCONV_STABILITY_OPT_IN=http unless set
    otherwise before the first instrumentation of the process). The telemetry
    reads the ids from it and completes it at the end of the request.
    """

    policy: KeepPolicy | None = None

    def __init__(self, provider: trace.TracerProvider, *, excluded_paths: Sequence[str] = ()) -> None:
        os.environ.setdefault(SEMCONV_OPT_IN, "http")
        self.asgi_middleware = OpenTelemetryMiddleware
        self.asgi_options: dict[str, Any] = {
            "tracer_provider": provider,
            "exclude_spans": ["receive", "send"],
            "excluded_urls": ",".join(f"^{re.escape(path)}$" for path in excluded_paths) or None,
        }

    def start(self, scope: Scope, headers: Mapping[str, str], method: str) -> RequestTrace | None:
        span = trace.get_current_span()
        context = span.get_span_context()
        if not context.is_valid:
            return None  # not instrumented (an excluded path)
        return _CurrentTrace(span, context, headers)


def request_tracing(
    provider: TracerProvider,
    policy: KeepPolicy,
    *,
    explicit_sampler: bool,
    name: str,
    version: str | None = None,
    excluded_paths: Sequence[str] = (),
) -> RequestTracing:
    """Tail tracing under `policy`, or the standard instrumentation when a sampler was asked for explicitly."""
    if explicit_sampler:
        return StandardTracing(provider, excluded_paths=excluded_paths)
    return TailTracing(provider, policy, name=name, version=version)


def span_name(method: str, route: str) -> str:
    """`GET /items/{id}`; the method alone for unmatched requests; `HTTP` for unknown methods."""
    name = method if method != OTHER_METHOD else "HTTP"
    return name if route == UNMATCHED else f"{name} {route}"


def start_attributes(scope: Scope, headers: Mapping[str, str]) -> dict[str, AttributeValue]:
    """Attributes known when the request begins (HTTP semantic conventions)."""
    raw_method = scope["method"]
    attributes: dict[str, AttributeValue] = {
        "http.request.method": method_label(raw_method),
        "url.path": scope["path"],
        "url.scheme": scope.get("scheme", "http"),
        "network.protocol.version": scope.get("http_version", "1.1"),
    }
    if attributes["http.request.method"] == OTHER_METHOD:
        attributes["http.request.method_original"] = raw_method
    query = scope.get("query_string")
    if query:
        attributes["url.query"] = masked_query(query.decode("latin-1"))
    server = scope.get("server")
    host = headers.get("host")
    if host:
        name, _, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
        attributes["server.address"] = name if port.isdigit() else host
        if port.isdigit():
            attributes["server.port"] = int(port)
    elif server:
        attributes["server.address"] = server[0]
        if server[1] is not None:
            attributes["server.port"] = server[1]
    agent = headers.get("user-agent")
    if agent:
        attributes["user_agent.original"] = agent
    return attributes


def masked_query(query: str) -> str:
    """The query string as the logs would show it: secret parameters redacted, personal data masked."""
    parts = []
    for pair in query.split("&"):
        name, sep, _value = pair.partition("=")
        parts.append(f"{name}{sep}{REDACTED}" if sep and is_secret_key(name) else scrub_text(pair))
    return "&".join(parts)


def end_span(span: trace.Span, scope: Scope, outcome: RequestOutcome) -> None:
    """Set what is known at the end (client, route, status, error) and end the span."""
    set_end_attributes(span, scope, outcome)
    span.end(end_time=outcome.end_ns)


def set_end_attributes(span: trace.Span, scope: Scope, outcome: RequestOutcome) -> None:
    """What is known at the end of a request: client, route, status, error."""
    route, status, error = outcome.route, outcome.status, outcome.error
    attributes: dict[str, AttributeValue] = {}
    # Read now: a middleware inside the telemetry may have put the real client there.
    client = scope.get("client")
    if client:
        attributes["client.address"] = client[0]
        if client[1]:  # 0: a forwarded client, whose port is unknown
            attributes["client.port"] = client[1]
    if route != UNMATCHED:
        attributes["http.route"] = route
    attributes["http.response.status_code"] = status
    if error is not None:
        span.record_exception(error)
    failure = error_type(error, status)
    if failure:
        attributes["error.type"] = failure
        span.set_status(Status(StatusCode.ERROR))
    span.set_attributes(attributes)
