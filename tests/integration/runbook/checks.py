"""Running a document's commands and checking each prints what the document says it prints."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from . import markdown
from .deployment import Deployment, Result

Checker = Callable[[Result, Deployment], None]


@dataclass(frozen=True)
class Check:
    """The exit code a command ends with in the tested situation, and what its output must show."""

    checker: Checker
    code: int = 0


def section(document: Path, title: str) -> list[list[markdown.Snippet]]:
    """The commands of a section, block by block (diagnosis first, then remediation)."""
    blocks: list[list[markdown.Snippet]] = []
    last_block = None
    for snippet in markdown.commands(document):
        if snippet.section != title:
            continue
        if snippet.block != last_block:
            blocks.append([])
            last_block = snippet.block
        blocks[-1].append(snippet)
    assert blocks, f"{document.name} has no commands under {title!r}"
    return blocks


def run_checked(
    deployment: Deployment,
    document: Path,
    snippets: Iterable[markdown.Snippet],
    checks: Mapping[str, Check | None],
) -> list[Result]:
    """Run each command after the document's set-up; fail on an unexpected exit code or output."""
    results = []
    for snippet in snippets:
        check = checks[snippet.text]
        assert check is not None, f"no check for: {snippet.text}"
        result = deployment.run(snippet.text, document)
        context = f"{snippet.text}\n--- exit {result.code}\n--- stdout\n{result.out}\n--- stderr\n{result.err}"
        assert result.code == check.code, context
        try:
            check.checker(result, deployment)
        except AssertionError as failure:
            raise AssertionError(f"{failure}\n{context}") from None
        results.append(result)
    return results
