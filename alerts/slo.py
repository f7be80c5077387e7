"""Availability objective: 99.9 % of user requests answered without a 5xx.

Recording rules follow the Sloth naming (slo:sli_error:ratio_rate<window>) so the
dashboards and the burn-rate alerts read one set of series. Probe traffic (/health,
/metrics) is left out: it is Prometheus and load balancers talking to the service, not
users, and counting it would both dilute the error ratio and defeat the minimum-traffic
guard.

`(errors or total * 0) / total` keeps the ratio at 0 instead of "no data" while no 5xx
series exists yet (the service creates a status code's series with its first response),
so a healthy service still has a value to graph.

One group: Prometheus runs a group's rules in order, so the burn-rate alerts below always
read this evaluation's ratios. In separate groups they could read the previous one's,
which moved a page by a minute (and its value) at random.
"""

from __future__ import annotations

from typing import Any

from signals.catalogue import (
    BURN_ALERT,
    BURN_MIN_RATE,
    BURN_RATES,
    BURN_WINDOWS,
    DURATION,
    OBJECTIVE,
    OBJECTIVE_WINDOW,
    SLO,
    slo_selector,
    user_traffic,
)
from signals.target import Target

from .kit import alert, number, record

_OBJECTIVE_TEXT = f"{OBJECTIVE * 100:g} %"
# Per severity: `for:` and the wording. for 2m (page): one more evaluation than the 5m
# window needs to be sure the burn is not a single scrape's blip; paging later than that
# wastes budget. for 15m (ticket): not urgent; waiting filters slow burns that stop by
# themselves (a short deploy) without delaying anyone's reaction.
_BURN_ALERTS = {
    "critical": (
        "2m",
        f"AI-DIY is burning its {_OBJECTIVE_TEXT} availability error budget fast",
        "over the short window; at this pace the 30-day error budget is gone within days.",
    ),
    "warning": (
        "15m",
        f"AI-DIY is slowly burning its {_OBJECTIVE_TEXT} availability error budget",
        "over the long window; at this pace the 30-day error budget runs out before the month ends.",
    ),
}


def _requests(selector: str, window: str) -> str:
    return f"sum by (job) (rate({DURATION}_count{{{selector}}}[{window}]))"


def _error_ratio(users: str, window: str) -> str:
    errors = f'{users}, http_response_status_code=~"5.."'
    return f"(\n  {_requests(errors, window)}\n  or {_requests(users, window)} * 0\n)\n/ {_requests(users, window)}\n"


def _times_budget(factor: float) -> str:
    return f"({number(factor)} * slo:error_budget:ratio)"


def _burn(target: Target, severity: str) -> str:
    """Both windows of any pair above factor x budget, and enough traffic to mean it."""
    slo = slo_selector(target.sel)
    pairs = [
        f"  (\n"
        f"    slo:sli_error:ratio_rate{rate.short}{{{slo}}} > on (job, slo) {_times_budget(rate.factor)}\n"
        f"    and on (job, slo) slo:sli_error:ratio_rate{rate.long} > on (job, slo) {_times_budget(rate.factor)}\n"
        f"  )\n"
        for rate in BURN_RATES[severity]
    ]
    either = "  or\n".join(pairs)
    return f"(\n{either})\nand on (job) job:http_server_requests:rate1h >= {BURN_MIN_RATE}\n"


def _budget(target: Target) -> list[dict[str, Any]]:
    """The error ratio over the objective's window and the share of the budget it leaves.

    Averaged from the recorded 5-minute ratio, as Sloth does: one series over 30 days,
    where a range over the raw counters would read every route's and status code's
    series for a month at each evaluation. No alert reads these; the SLO dashboard does.
    """
    slo = slo_selector(target.sel)
    ratio5m = f"slo:sli_error:ratio_rate5m{{{slo}}}"
    return [
        record(
            f"slo:sli_error:ratio_rate{OBJECTIVE_WINDOW}",
            f"sum_over_time({ratio5m}[{OBJECTIVE_WINDOW}])\n/ count_over_time({ratio5m}[{OBJECTIVE_WINDOW}])\n",
        ),
        record(
            "slo:error_budget_remaining:ratio",
            f"1 - slo:sli_error:ratio_rate{OBJECTIVE_WINDOW}{{{slo}}} / on (job, slo) slo:error_budget:ratio{{{slo}}}",
        ),
    ]


def groups(target: Target) -> list[dict[str, Any]]:
    """The SLO group: traffic, objective, budget, one error ratio per window, burn alerts."""
    users = user_traffic(target.sel)
    rules = [
        record("job:http_server_requests:rate5m", _requests(users, "5m")),
        record("job:http_server_requests:rate1h", _requests(users, "1h")),
        record("slo:objective:ratio", f"vector({number(OBJECTIVE)})", {"job": target.job, "slo": SLO}),
        record("slo:error_budget:ratio", f"1 - slo:objective:ratio{{{slo_selector(target.sel)}}}"),
    ]
    rules += [
        record(f"slo:sli_error:ratio_rate{window}", _error_ratio(users, window), {"slo": SLO})
        for window in BURN_WINDOWS
    ]
    rules += _budget(target)
    # Multiwindow, multi-burn-rate alerts (Google SRE workbook, chapter 5). A burn rate of
    # 14.4 spends 2 % of a 30-day budget in one hour, 6 spends 5 % in six hours: both page.
    # 3 and 1 spend 10 % in a day / three days: a ticket is enough. The short window of
    # each pair makes the alert stop soon after the burn stops.
    #
    # Minimum traffic: at least 0.05 request/s over the last hour (180 requests). With
    # fewer requests one failure is already a 0.5 %+ ratio; with 180 or more a single
    # failed request stays under every threshold of both alerts (1/180 = 0.56 % < 1.44 %;
    # over the 2 h and 6 h windows it is < 0.3 % and < 0.1 %), so one failed request at
    # 3 a.m. on an idle service pages nobody.
    for severity, (wait, summary, tail) in _BURN_ALERTS.items():
        rules.append(
            alert(
                target,
                BURN_ALERT,
                _burn(target, severity),
                wait=wait,
                severity=severity,
                summary=summary,
                description=(
                    f"{{{{ $value | humanizePercentage }}}} of requests to {{{{ $labels.job }}}} "
                    f"failed with a 5xx {tail}"
                ),
            )
        )
    return [{"name": "ai-diy-slo", "rules": rules}]
