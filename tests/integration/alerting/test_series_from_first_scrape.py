"""Every series a rule, a dashboard or the runbook reads has a sample in the service's first scrape.

A counter whose series appears only with its first event hides that event from rate()
and increase(): the first sample already holds it. So the service exposes each series
at 0 from start-up, and this test scrapes a freshly started service (hypercorn, the
real create_app) once, before any other request, and looks for a sample of every metric
name the rules, the dashboards and the runbook's PromQL use. Recording rules count
through the series they are computed from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import alert_rules as r
from tests.support.net import wait_for
from tests.support.processes import ROOT, running_service

pytestmark = pytest.mark.integration

# Written by Prometheus itself, not by the service.
FROM_PROMETHEUS = {"up", "ALERTS"}
# Series that cannot exist before the first request is answered, and why.
BY_STATUS = "labelled by the response's status code, known only once one is sent"
AFTER_FIRST_REQUEST = {
    "http_server_request_duration_seconds_bucket": BY_STATUS,
    "http_server_request_duration_seconds_sum": BY_STATUS,
    "http_server_request_duration_seconds_count": BY_STATUS,
}


def _dashboard_exprs() -> list[str]:
    exprs: list[str] = []
    for path in sorted((ROOT / "grafana" / "dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            exprs.extend(target["expr"] for target in panel["targets"])
    return exprs


def _runbook_promql() -> list[str]:
    return re.findall(r"```promql\n(.*?)```", r.RUNBOOK.read_text(encoding="utf-8"), flags=re.DOTALL)


def _sources(recorded: dict[str, set[str]], name: str, seen: frozenset[str] = frozenset()) -> set[str]:
    """The exposed metric names a (possibly recorded) name is computed from."""
    if name not in recorded:
        return {name}
    assert name not in seen, f"recording rules form a loop through {name}"
    return set().union(*(_sources(recorded, source, seen | {name}) for source in recorded[name]))


def read_names() -> dict[str, set[str]]:
    """Exposed metric name -> where it is read (rule, dashboard, runbook)."""
    recorded: dict[str, set[str]] = {}
    for rule in r.rules():
        if rule.record:
            recorded.setdefault(rule.record, set()).update(r.metric_names(rule.expr))
    readers: dict[str, set[str]] = {}
    sources = [("rules", rule.expr) for rule in r.rules()]
    sources += [("dashboards", expr) for expr in _dashboard_exprs()]
    sources += [("runbook", expr) for expr in _runbook_promql()]
    for where, expr in sources:
        for name in r.metric_names(expr):
            for source in _sources(recorded, name):
                readers.setdefault(source, set()).add(where)
    return readers


def _sample_names(text: str) -> set[str]:
    return {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}


def test_read_names_resolve_recording_rules_to_exposed_series() -> None:
    names = read_names()
    assert not any(":" in name for name in names), "a recording rule was not resolved to its sources"
    assert {
        "ai_diy_log_lines_dropped_total",
        "process_resident_memory_bytes",
        "ai_diy_process_memory_limit_bytes",
    } <= set(names)
    # Read only through instance:ai_diy_memory_usage:ratio and job:..._p95_5m by the alerts.
    assert "rules" in names["ai_diy_process_memory_limit_bytes"]
    assert "rules" in names["http_server_request_duration_seconds_bucket"]


@dataclass(frozen=True)
class Scrapes:
    """The first scrape of a freshly started service, and the one after it."""

    first: str
    second: str

    def first_series(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        """(sample name, labels) -> value of every sample in the first scrape."""
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(self.first)
            for sample in family.samples
        }


@pytest.fixture(scope="module")
def scrapes(tmp_path_factory: pytest.TempPathFactory) -> Scrapes:
    with running_service(tmp_path_factory.mktemp("first-scrape")) as (_, base_url):
        first = httpx.get(f"{base_url}/metrics", timeout=10)
        assert first.status_code == 200, first.text
        # The scrape is a request: its request-labelled series exist once it is recorded,
        # just after its last byte, so a scrape sent at once may still miss them.
        second = wait_for(
            lambda: (
                text
                if set(AFTER_FIRST_REQUEST) <= _sample_names(text := httpx.get(f"{base_url}/metrics", timeout=10).text)
                else None
            ),
            timeout=10,
            what="the first scrape recorded",
        )
    return Scrapes(first.text, second)


def test_every_read_series_has_a_sample_in_the_first_scrape(scrapes: Scrapes) -> None:
    readers = read_names()
    first_names = _sample_names(scrapes.first)
    expected = set(readers) - FROM_PROMETHEUS
    missing = {name: sorted(readers[name]) for name in sorted(expected - first_names - set(AFTER_FIRST_REQUEST))}
    assert missing == {}, f"no sample in the first scrape (read by): {missing}"
    assert set(AFTER_FIRST_REQUEST) <= _sample_names(scrapes.second)
    dropped = sorted(
        (dict(labels)["reason"], value)
        for (name, labels), value in scrapes.first_series().items()
        if name == "ai_diy_log_lines_dropped_total"
    )
    assert dropped == [("queue_full", 0.0), ("write_error", 0.0)]


_SERIES = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)\{(?P<labels>.*)\}$")
_ADDED_BY_PROMETHEUS = {"job", "instance"}
_ADDED_PER_WORKER = {"pid"}


def _input_series() -> list[tuple[str, str, frozenset[tuple[str, str]], str]]:
    """(test file, sample name, labels the service sets, first value) of every promtool input series."""
    found = []
    for path in r.test_files():
        for group in r.load(path)["tests"]:
            for series in group.get("input_series", []):
                match = _SERIES.match(series["series"])
                assert match, series["series"]
                labels = frozenset(
                    (key, value)
                    for key, value in re.findall(r'(\w+)="([^"]*)"', match["labels"])
                    if key not in _ADDED_BY_PROMETHEUS | _ADDED_PER_WORKER
                )
                found.append((path.name, match["name"], labels, str(series["values"]).split()[0]))
    return found


def test_promtool_inputs_start_as_the_service_starts(scrapes: Scrapes) -> None:
    """A series present at start-up starts from its start-up value; one that is not starts with its first event."""
    at_start = scrapes.first_series()
    routes = {dict(labels)["http_route"] for (name, labels) in at_start if name == "ai_diy_rate_limit_violations_total"}
    routes |= {"/health", "/metrics", "_unmatched"}
    wrong = []
    for file, name, labels, first in _input_series():
        where = f"{file}: {name}{dict(labels)} starting {first}"
        starts_at_zero = re.match(r"^0(\.0*)?([x+]|$)", first) is not None
        if (name, labels) in at_start:
            if at_start[(name, labels)] == 0 and not starts_at_zero:
                wrong.append(f"{where}: the service exposes it at 0 from start-up")
        elif name in {n for n, _ in at_start} and name.endswith("_total"):
            known = sorted(str(dict(sorted(pairs))) for n, pairs in at_start if n == name)
            wrong.append(f"{where}: the service never exposes this label set; it has {', '.join(known)}")
        elif starts_at_zero:
            wrong.append(f"{where}: the service has no such series at start-up; its first sample is its first event")
        route = dict(labels).get("http_route")
        if route is not None and route not in routes:
            wrong.append(f"{where}: {route} is not a route of the service")
    assert wrong == []
