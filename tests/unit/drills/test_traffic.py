"""Each traffic drill, sent to the production app, moves its alert's metric past the alert's line."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette

from service.drills.catalogue import DRILLS, Drill, Via
from service.drills.traffic import requests_for
from signals.catalogue import AUTH_FAILURES, INPUT_VALIDATION, PATH_TRAVERSAL, RATE_LIMIT_REFUSALS, SECURITY_EVENTS

pytestmark = pytest.mark.anyio

TOKEN = "drill-admin-token"
ALLOWANCE = 100
TRAFFIC = [drill for drill in DRILLS if drill.via is Via.TRAFFIC]
# What each alert counts, as (metric family, label filter): the alert's own selection.
COUNTED = {
    RATE_LIMIT_REFUSALS.alert: ("ai_diy_rate_limit_violations", lambda labels: True),
    PATH_TRAVERSAL.alert: ("ai_diy_security_events", lambda labels: labels.get("event") == "path_traversal_attempt"),
    INPUT_VALIDATION.alert: ("ai_diy_input_validation_failures", lambda labels: True),
    AUTH_FAILURES.alert: ("ai_diy_auth_failures", lambda labels: True),
    SECURITY_EVENTS.alert: (
        "ai_diy_security_events",
        lambda labels: labels.get("event") not in {"rate_limit_exceeded", "invalid_document_name"},
    ),
}
SIGNALS = {s.alert: s for s in (RATE_LIMIT_REFUSALS, PATH_TRAVERSAL, INPUT_VALIDATION, AUTH_FAILURES, SECURITY_EVENTS)}


def _counted(registry: CollectorRegistry, family: str, selected: Callable[[dict[str, str]], bool]) -> float:
    return sum(
        sample.value
        for metric in registry.collect()
        if metric.name == family
        for sample in metric.samples
        if sample.name == f"{family}_total" and selected(sample.labels)
    )


@pytest.mark.parametrize("drill", TRAFFIC, ids=lambda d: d.name)
async def test_traffic_drill_moves_its_alert_metric_past_the_line(
    drill: Drill, make_app: Callable[..., Starlette]
) -> None:
    app = make_app(admin_token=TOKEN, rate_limit=f"{ALLOWANCE}/minute")
    family, selected = COUNTED[drill.alert]
    async with app.router.lifespan_context(app):
        registry = app.state.context.registry
        before = _counted(registry, family, selected)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            for request in requests_for(drill, allowance=ALLOWANCE, admin_token=TOKEN):
                response = await http.request(
                    request.method, request.path, headers=request.headers, content=request.body
                )
                assert response.status_code < 500, (request, response.text)
        increase = _counted(registry, family, selected) - before
    assert increase > SIGNALS[drill.alert].thresholds[drill.severity], f"{drill.name}: {family} rose by {increase}"


def test_traffic_refuses_a_drill_not_fired_by_requests() -> None:
    fault = next(drill for drill in DRILLS if drill.via is Via.FAULT)
    with pytest.raises(ValueError, match="is not fired by a number of requests"):
        requests_for(fault, allowance=ALLOWANCE, admin_token=TOKEN)
