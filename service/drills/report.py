"""The drills' list and results, as an aligned text table or as one JSON object."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from .catalogue import Drill


@dataclass(frozen=True)
class Result:
    """How one drill went; None for a time means it never happened within the drill's bound."""

    drill: Drill
    seconds_to_page: float | None
    seconds_to_resolve: float | None
    receiver: str | None
    """The receiver the page reached (None: no page)."""

    @property
    def passed(self) -> bool:
        """Paged at the expected receiver, then resolved."""
        return (
            self.seconds_to_page is not None
            and self.seconds_to_resolve is not None
            and self.receiver == self.drill.receiver
        )


LIST_COLUMNS = ("alert", "severity", "fault", "receiver", "runbook")
RESULT_COLUMNS = ("alert", "severity", "fault", "time to page", "time to resolve", "receiver", "result", "runbook")


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(columns)]
    lines = [columns, *rows]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s"


def list_text(drills: Sequence[Drill]) -> str:
    """`ai-diy drill --list`: one line per drill."""
    return _table(LIST_COLUMNS, [(d.alert, d.severity, d.fault, d.receiver, d.runbook) for d in drills])


def list_json(drills: Sequence[Drill]) -> str:
    """`ai-diy drill --list --json`: one object."""
    return json.dumps(
        {
            "drills": [
                {
                    "alert": d.alert,
                    "severity": d.severity,
                    "fault": d.fault,
                    "receiver": d.receiver,
                    "runbook": d.runbook,
                }
                for d in drills
            ]
        },
        indent=2,
    )


def results_text(results: Sequence[Result]) -> str:
    """The table printed after the drills ran, then one line: how many passed."""
    rows = [
        (
            r.drill.alert,
            r.drill.severity,
            r.drill.fault,
            _seconds(r.seconds_to_page),
            _seconds(r.seconds_to_resolve),
            r.receiver or "-",
            "pass" if r.passed else "FAIL",
            r.drill.runbook,
        )
        for r in results
    ]
    passed = sum(r.passed for r in results)
    return f"{_table(RESULT_COLUMNS, rows)}\n{passed} of {len(results)} drills passed"


def results_json(results: Sequence[Result]) -> str:
    """`ai-diy drill --json`: the table as one object."""
    return json.dumps(
        {
            "passed": all(r.passed for r in results),
            "drills": [
                {
                    "alert": r.drill.alert,
                    "severity": r.drill.severity,
                    "fault": r.drill.fault,
                    "seconds_to_page": r.seconds_to_page,
                    "seconds_to_resolve": r.seconds_to_resolve,
                    "receiver": r.receiver,
                    "expected_receiver": r.drill.receiver,
                    "passed": r.passed,
                    "runbook": r.drill.runbook,
                }
                for r in results
            ],
        },
        indent=2,
    )


def exit_code(results: Sequence[Result]) -> int:
    """0 when every drill paged and resolved, 1 otherwise."""
    return 0 if results and all(r.passed for r in results) else 1
