"""The drill catalogue: one drill per alert rule and severity, as the promtool cases are one per alert."""

from __future__ import annotations

import pytest

from service.drills.catalogue import DRILLS, UnknownDrill, Via, select
from service.faults.registry import FaultKind
from tests.support import alert_rules as r


def test_catalogue_has_exactly_one_drill_per_alert_rule_and_severity() -> None:
    rules = sorted((rule.alert_name, rule.body["labels"]["severity"]) for rule in r.alerts())
    drills = sorted((drill.alert, drill.severity) for drill in DRILLS)
    assert drills == rules, "every alert rule needs a drill in service/drills/catalogue.py, and only those"


def test_catalogue_fault_drills_name_a_fault_kind() -> None:
    kinds = {kind.value for kind in FaultKind}
    for drill in DRILLS:
        if drill.via is Via.FAULT:
            assert drill.action in kinds, drill.name


def test_catalogue_traffic_drills_are_the_alerts_traffic_alone_fires() -> None:
    traffic = {drill.alert for drill in DRILLS if drill.via is Via.TRAFFIC}
    assert traffic == {
        "AiDiyRateLimitViolations",
        "AiDiyPathTraversalAttempt",
        "AiDiyAuthFailures",
        "AiDiyInputValidationFailures",
        "AiDiySecurityEventsUnusual",
    }


def test_catalogue_receiver_follows_the_severity() -> None:
    assert {(d.severity, d.receiver) for d in DRILLS} == {("critical", "pager"), ("warning", "ticket")}


def test_select_by_alert_takes_every_severity_and_by_name_one() -> None:
    assert [d.name for d in select(["AiDiyHighErrorRate"])] == [
        "AiDiyHighErrorRate:critical",
        "AiDiyHighErrorRate:warning",
    ]
    assert [d.name for d in select(["AiDiyAuthFailures:warning", "AiDiyAuthFailures"])] == [
        "AiDiyAuthFailures:warning",
        "AiDiyAuthFailures:critical",
    ]
    assert select([]) == list(DRILLS)


@pytest.mark.parametrize("name", ["AiDiyNope", "AiDiyHighErrorRate:info", "AiDiyHighErrorRate:page"])
def test_select_refuses_an_unknown_drill_naming_the_known_ones(name: str) -> None:
    with pytest.raises(UnknownDrill, match=f"no drill '{name}': expected ALERT or ALERT:critical|warning") as refused:
        select([name])
    assert "AiDiyServiceDown" in str(refused.value) and "\n" not in str(refused.value)


def test_catalogue_select_takes_alert_names_in_any_case() -> None:
    assert select(["aidiyauthfailures:WARNING"]) == select(["AiDiyAuthFailures:warning"])
    assert len(select(["AIDIYAUTHFAILURES"])) == 2
