"""Time-compressed copies of the rules, for fire drills: every range window and `for` divided by a factor.

A drill proves an alert end to end (fault, scrape, rule, `for`, routing, page) in
minutes instead of the hours its production windows take. The copy is made from the same
rule documents as alerts/*.rules.yml, so the two differ only in durations; the thresholds,
labels, annotations and rule names are the production ones.

The factor is chosen per alert rule (alert and severity), from every window it reads,
its own and those of the recording rules it uses:
- its shortest window still holds MIN_SCRAPES scrapes at the drill's SCRAPE_INTERVAL,
  or `rate()` has too few samples to mean anything;
- its longest window or `for` comes down to about TARGET, and never above LIMIT.
The multiwindow burn-rate alerts (5m to 3d) need both ends, which one factor for all
rules could not give: a recording rule shared by two alerts would need two windows.
So each distinct factor gets its own file holding every group, compressed by that
factor, and a drill loads the one file of the alert it drills.

The files live in alerts/drill/: Prometheus' globs (`alerts/*.rules.yml`) do not descend
into it, and the Kubernetes PrometheusRule is built from the rule code, not from files.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any

import yaml

from signals.target import Target

from .rules import GeneratedYaml, rule_files

DIRECTORY = "alerts/drill"
SCRAPE_INTERVAL_MS = 500
"""The drill's scrape and rule evaluation interval."""
MIN_SCRAPES = 4
TARGET_MS = 30_000
"""What the longest window or `for` of an alert comes down to, when its shortest window allows."""
LIMIT_MS = 5 * 60_000
"""No compressed window may be longer: a drill that needs more is not a drill."""

_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000, "y": 31_536_000_000}
_DURATION = r"(?:\d+(?:ms|[smhdwy]))+"
_PART = re.compile(r"(\d+)(ms|[smhdwy])")
# A range `[5m]`, a subquery `[1h:1m]` (both durations), or an `offset 5m`.
_IN_EXPR = re.compile(rf"\[(?P<range>{_DURATION})(?::(?P<step>{_DURATION})?)?\]|\boffset\s+(?P<offset>{_DURATION})")
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def parse_duration(text: str) -> int:
    """A Prometheus duration (`5m`, `1h30m`, `250ms`) in milliseconds."""
    if not re.fullmatch(_DURATION, text):
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(count) * _UNITS_MS[unit] for count, unit in _PART.findall(text))


def format_duration(milliseconds: int) -> str:
    """Milliseconds as the shortest exact Prometheus duration: 60000 -> `1m`, 2500 -> `2500ms`."""
    for unit in ("d", "h", "m", "s"):
        if milliseconds % _UNITS_MS[unit] == 0:
            return f"{milliseconds // _UNITS_MS[unit]}{unit}"
    return f"{milliseconds}ms"


def expr_durations(expr: str) -> list[int]:
    """Every duration of a PromQL expression (ranges, subquery steps, offsets), in milliseconds, in order."""
    return [parse_duration(text) for match in _IN_EXPR.finditer(expr) for text in match.groups() if text]


def scale_expr(expr: str, factor: int) -> str:
    """The expression with every duration divided by factor (rounded to a millisecond, never 0)."""

    def scaled(text: str | None) -> str:
        return format_duration(max(1, round(parse_duration(text) / factor))) if text else ""

    def replace(match: re.Match[str]) -> str:
        if match["offset"]:
            return f"offset {scaled(match['offset'])}"
        step = f":{scaled(match['step'])}" if ":" in match[0] else ""
        return f"[{scaled(match['range'])}{step}]"

    return _IN_EXPR.sub(replace, expr)


def _rules(target: Target) -> list[dict[str, Any]]:
    return [rule for document in rule_files(target).values() for group in document["groups"] for rule in group["rules"]]


def windows(expr: str, records: dict[str, str]) -> list[int]:
    """The durations an expression reads: its own and, transitively, those of the recorded series it uses."""
    seen: set[str] = set()
    pending = [expr]
    found: list[int] = []
    while pending:
        text = pending.pop()
        found += expr_durations(text)
        for name in set(_NAME.findall(text)) & records.keys() - seen:
            seen.add(name)
            pending.append(records[name])
    return found


def factor(rule: dict[str, Any], records: dict[str, str]) -> int:
    """The compression of one alert rule (see the module's docstring)."""
    reads = windows(str(rule["expr"]), records)
    wait = parse_duration(str(rule.get("for", "0s")))
    longest = max([wait, *reads])
    wanted = math.ceil(longest / TARGET_MS)
    allowed = min(reads) // (MIN_SCRAPES * SCRAPE_INTERVAL_MS) if reads else wanted
    chosen = max(1, min(wanted, allowed))
    if reads and max(reads) / chosen > LIMIT_MS:
        raise ValueError(
            f"{rule['alert']} ({rule['labels']['severity']}): windows {format_duration(min(reads))} to"
            f" {format_duration(max(reads))} cannot all fit a drill; split the alert or widen its shortest window"
        )
    return chosen


def factors(target: Target = Target()) -> dict[tuple[str, str], int]:
    """(alert, severity) -> its compression factor, for every alert rule."""
    rules = _rules(target)
    records = {rule["record"]: str(rule["expr"]) for rule in rules if "record" in rule}
    return {(rule["alert"], rule["labels"]["severity"]): factor(rule, records) for rule in rules if "alert" in rule}


def file_name(compression: int) -> str:
    """The drill rules file of one factor."""
    return f"x{compression}.rules.yml"


def compressed(target: Target, compression: int) -> dict[str, Any]:
    """Every group of every rules file, with every duration divided by compression."""
    groups = copy.deepcopy([group for document in rule_files(target).values() for group in document["groups"]])
    for group in groups:
        for rule in group["rules"]:
            rule["expr"] = scale_expr(str(rule["expr"]), compression)
            if "for" in rule:
                rule["for"] = format_duration(max(1, round(parse_duration(rule["for"]) / compression)))
    return {"groups": groups}


INDEX = "index.yml"


def index(target: Target = Target()) -> str:
    """`ALERT:severity: x<factor>.rules.yml` for every alert rule: which file a drill loads."""
    entries = {f"{alert}:{severity}": file_name(factor) for (alert, severity), factor in factors(target).items()}
    header = "# Generated by `make generate` (python -m generate): the drill rules file of each alert and severity.\n"
    return header + yaml.dump(entries, Dumper=GeneratedYaml, sort_keys=False)


def rendered(target: Target = Target()) -> dict[str, str]:
    """File name -> YAML text of the drill rules of every factor in use, and the index."""
    header = (
        "# Generated by `make generate` (python -m generate) from alerts/*.py: the production rules with every\n"
        "# window and `for` divided by {factor}, for fire drills only. Never load this file in production.\n"
    )
    return {
        file_name(compression): header.format(factor=compression)
        + yaml.dump(
            compressed(target, compression), Dumper=GeneratedYaml, sort_keys=False, width=1_000_000, allow_unicode=True
        )
        for compression in sorted(set(factors(target).values()))
    } | {INDEX: index(target)}
