"""`ai-diy runbook [ALERT]`: the alert runbook, offline, from the copy installed with the package.

Every alert's description names this command, so whoever is paged can read the alert's
section on the host itself when the runbook link cannot be reached.
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib.resources import files

from service.cli._common import InputError

_SETUP_HEADING = "### Before any command"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `runbook` command."""
    parser = subparsers.add_parser(
        "runbook", help="print an alert's runbook section (offline); no alert: list the alerts"
    )
    parser.add_argument("alert", nargs="?", help="alert name, e.g. AiDiyServiceDown (any letter case)")
    parser.set_defaults(func=run)


def runbook_text() -> str:
    """docs/runbook.md as installed with the package."""
    return files("service.cli").joinpath("runbook.md").read_text(encoding="utf-8")


def sections(text: str) -> dict[str, str]:
    """Alert name -> its section (the `## <alert>` heading up to the next one)."""
    found: dict[str, str] = {}
    for chunk in re.split(r"^(?=## )", text, flags=re.MULTILINE)[1:]:
        heading, _, _ = chunk.partition("\n")
        found[heading.removeprefix("## ").strip()] = chunk.rstrip() + "\n"
    return found


def setup_block(text: str) -> str:
    """The shell set-up every section's commands assume (`### Before any command` of the introduction)."""
    intro = re.split(r"^## ", text, maxsplit=1, flags=re.MULTILINE)[0]
    _, found, rest = intro.partition(_SETUP_HEADING)
    if not found:
        return ""
    return (_SETUP_HEADING + re.split(r"^#", rest, maxsplit=1, flags=re.MULTILINE)[0]).rstrip() + "\n"


def run(args: argparse.Namespace) -> int:
    text = runbook_text()
    by_name = sections(text)
    if args.alert is None:
        for name in by_name:
            print(name)
        return 0
    matches = [name for name in by_name if name.lower() == args.alert.lower()]
    if not matches:
        raise InputError(f"ai-diy runbook: no section for alert {args.alert!r}; known alerts: {', '.join(by_name)}")
    setup = setup_block(text)
    sys.stdout.write((setup + "\n" if setup else "") + by_name[matches[0]])
    return 0
