"""`ai-diy runbook [ALERT]`: an alert's runbook section in the terminal, from the copy in the package."""

from __future__ import annotations

import pytest

from service.cli import main, runbook
from tests.support import alert_rules as r


def _alert_names() -> list[str]:
    return list(dict.fromkeys(rule.alert for rule in r.alerts() if rule.alert is not None))


def test_runbook_without_alert_lists_every_alert_in_runbook_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runbook"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed == r.runbook_headings()
    assert sorted(listed) == sorted(_alert_names())


@pytest.mark.parametrize("name", ["AiDiyHighErrorRate", "aidiyhigherrorrate"], ids=["as-named", "as-in-the-link"])
def test_runbook_prints_the_set_up_and_the_alert_section(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runbook", name]) == 0
    out = capsys.readouterr().out
    text = r.RUNBOOK.read_text(encoding="utf-8")
    section = text[text.index("## AiDiyHighErrorRate\n") : text.index("## AiDiyErrorBudgetBurn\n")].rstrip() + "\n"
    setup = runbook.setup_block(text)
    assert setup.startswith("### Before any command\n") and "/etc/ai-diy/ai-diy.env" in setup
    assert out == setup + "\n" + section


def test_runbook_prints_the_last_section_to_the_end(capsys: pytest.CaptureFixture[str]) -> None:
    last = r.runbook_headings()[-1]
    assert main(["runbook", last]) == 0
    out = capsys.readouterr().out
    assert out.endswith(r.RUNBOOK.read_text(encoding="utf-8").split(f"## {last}\n", 1)[1].rstrip() + "\n")


def test_runbook_unknown_alert_is_a_clear_error_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runbook", "AiDiyNoSuchAlert"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(
        "error: ai-diy runbook: no section for alert 'AiDiyNoSuchAlert'; known alerts: AiDiyServiceDown, "
    )


def test_runbook_sections_split_on_second_level_headings_only() -> None:
    text = "# Title\n\n### Before any command\n\n```bash\nLOG=x\n```\n\n## A\n\none\n### sub\n\n## B\n\ntwo\n"
    assert runbook.sections(text) == {"A": "## A\n\none\n### sub\n", "B": "## B\n\ntwo\n"}
    assert runbook.setup_block(text) == "### Before any command\n\n```bash\nLOG=x\n```\n"
