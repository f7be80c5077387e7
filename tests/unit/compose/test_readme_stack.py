"""README: the stacks are described as they are (compose's published UIs; what `make stack` starts)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from service.cli import build_parser

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text()


def _section(heading: str) -> str:
    return README.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def _paragraph(text: str, start: str) -> str:
    """The paragraph beginning with `start`, on one line."""
    return " ".join(text[text.index(start) :].split("\n\n", 1)[0].split())


def _make_stack_ports() -> set[int]:
    args = build_parser().parse_args(["stack"])
    return {args.prometheus_port, args.alertmanager_port, args.alertmanager_2_port}


def test_readme_make_stack_names_every_ui_it_starts() -> None:
    paragraph = _paragraph(_section("Local stack"), "Without Docker: `make stack`")
    named = {int(port) for port in re.findall(r"http://127\.0\.0\.1:(\d+)", paragraph)}
    assert named == _make_stack_ports()
    assert "pair of Alertmanagers" in paragraph
    assert "no Grafana" in paragraph and "no trace viewer" in paragraph


def test_readme_first_screen_promises_make_stack_no_dashboards_or_traces() -> None:
    first_screen = README.split("\n## ", 1)[0]
    sentence = _paragraph(first_screen, "Dashboards, alerts and traces")
    after = sentence[sentence.index("`make stack`") :]
    assert "Alertmanagers" in after and "no dashboards or traces" in after


def test_readme_compose_table_lists_every_published_ui() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    published = {
        int(str(mapping).split(":")[0])
        for service in compose["services"].values()
        for mapping in service.get("ports", [])
    }
    table = _section("Local stack").split("| UI | URL |", 1)[1].split("\n\n", 1)[0]
    assert {int(port) for port in re.findall(r"http://localhost:(\d+)", table)} == published
