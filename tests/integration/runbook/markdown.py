"""The shell commands and PromQL queries written in the operator documents (docs/*.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_HEADING = re.compile(r"^(#{2,4}) (.+)$", re.MULTILINE)
_COMMENT = re.compile(r"\s{2,}#\s.*$|^#.*$")
_CONTINUES = ("/", "*", "+", "-", "and ", "or ", "unless ")
SETUP_HEADING = "Before any command"


@dataclass(frozen=True)
class Snippet:
    """One command (a line of a ```bash block) or query (of a ```promql block)."""

    text: str
    comment: str
    section: str
    block: int = 0
    """Which fenced block of the document it is in (counted from 0)."""


def _blocks(path: Path, language: str) -> list[tuple[str, str, int]]:
    """(section heading, body, block number) of every fenced block in that language."""
    text = path.read_text(encoding="utf-8")
    headings = [(m.start(), m.group(2).strip()) for m in _HEADING.finditer(text)]
    found = []
    for number, match in enumerate(_FENCE.finditer(text)):
        if match.group(1) != language:
            continue
        section = next((title for start, title in reversed(headings) if start < match.start()), "")
        found.append((section, match.group(2), number))
    return found


def commands(path: Path) -> list[Snippet]:
    """Every command of every ```bash block but the set-up, with its trailing comment apart."""
    found = []
    for section, body, number in _blocks(path, "bash"):
        if section == SETUP_HEADING:
            continue
        for line in body.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            comment = _COMMENT.search(line)
            command = line[: comment.start()].rstrip() if comment else line.rstrip()
            found.append(Snippet(command, comment.group(0).strip().lstrip("# ") if comment else "", section, number))
    return found


def setup(path: Path) -> str:
    """The ```bash block under `### Before any command`."""
    (body,) = [body for section, body, _ in _blocks(path, "bash") if section == SETUP_HEADING]
    return body


def queries(path: Path) -> list[Snippet]:
    """Every PromQL query; a line starting with an operator continues the one above."""
    found: list[Snippet] = []
    for section, body, number in _blocks(path, "promql"):
        lines: list[str] = []
        for line in body.splitlines():
            if not line.strip():
                continue
            if lines and line.lstrip().startswith(_CONTINUES):
                lines[-1] += "\n" + line
            else:
                lines.append(line)
        found.extend(Snippet(query, "", section, number) for query in lines)
    return found


def inline_commands(path: Path) -> list[str]:
    """Commands named in the prose (`ai-diy ...`, `systemctl ...`, `curl ...`, `jq ...`), outside code blocks."""
    prose = _FENCE.sub("", path.read_text(encoding="utf-8"))
    return re.findall(r"`((?:ai-diy|systemctl|journalctl|curl|jq) [^`]*)`", prose)
