"""Every series a rule selects is exposed by the running service (or recorded by a rule)."""
from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.support.processes import running_service
from tests.unit.alerts import rules as r

pytestmark = pytest.mark.integration

_SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""], "summary": ["_sum", "_count", ""]}


def exposed_names(text: str) -> set[str]:
    """Sample names in a text exposition, including families that have no sample yet."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            base = name.removesuffix("_total") if kind == "counter" else name
            names.update(base + suffix for suffix in _SUFFIXES.get(kind, [""]))
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return names


def test_exposed_names_reads_families_without_samples() -> None:
    text = "# TYPE a_total counter\n# TYPE h histogram\nh_bucket{le=\"1\"} 0\n# TYPE g gauge\ng 1\n"
    assert exposed_names(text) == {"a_total", "h_bucket", "h_sum", "h_count", "g"}


def test_rule_metric_names_are_exposed_by_the_running_service(tmp_path: Path) -> None:
    with running_service(tmp_path) as (_, base_url):
        httpx.get(f"{base_url}/api/env", timeout=5)  # one request, so labelled HTTP series exist
        response = httpx.get(f"{base_url}/metrics", timeout=5)
    assert response.status_code == 200, response.text
    exposed = exposed_names(response.text)
    used = set().union(*(r.metric_names(rule.expr) for rule in r.rules()))
    # `up` is written by Prometheus itself; recording rules are defined in alerts/.
    missing = sorted(used - exposed - r.recorded_names() - {"up"})
    assert missing == []
