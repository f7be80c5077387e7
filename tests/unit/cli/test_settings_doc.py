"""`ai-diy serve --help` and the README's settings table, both generated from the settings model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.app import create_app
from service.cli import main
from service.cli.settings_doc import OTEL_VARIABLES, UNSET, setting_docs, with_settings_table
from service.settings import Settings, load_settings
from tests.support.processes import ROOT

README = ROOT / "README.md"


def _words(text: str) -> str:
    """Text as help prints it: no Markdown backticks, wrapped anywhere."""
    return " ".join(text.replace("`", "").split())


def test_settings_doc_readme_table_is_the_one_the_model_generates() -> None:
    readme = README.read_text(encoding="utf-8")
    assert with_settings_table(readme) == readme, "README.md's settings table is out of date: run `make readme`"


def test_settings_doc_readme_comparison_fails_when_a_description_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    readme = README.read_text(encoding="utf-8")
    monkeypatch.setattr(Settings.model_fields["port"], "description", "A meaning the README does not have.")
    assert with_settings_table(readme) != readme


def test_settings_doc_readme_without_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="no settings table markers"):
        with_settings_table("# a README with a hand-written table\n")


def test_settings_doc_lists_every_field_and_the_otel_variables() -> None:
    docs = setting_docs()
    variables = [doc.variable for doc in docs]
    assert variables[: len(Settings.model_fields)] == [
        "AI_DIY_LOG_LEVEL" if name == "log_level" else f"AI_DIY_{name.upper()}" for name in Settings.model_fields
    ]
    assert docs[len(Settings.model_fields) :] == list(OTEL_VARIABLES)
    assert next(doc for doc in docs if doc.variable == "AI_DIY_LOG_LEVEL").aliases == ("LOG_LEVEL",)
    assert all(doc.meaning for doc in docs)


def test_settings_doc_defaults_shown_are_what_the_service_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    # Setting each variable to the default shown must change nothing.
    unset = load_settings(env_file=None)
    for doc, name in zip(setting_docs(), Settings.model_fields, strict=False):
        if doc.default == UNSET:
            assert getattr(unset, name) in (None, []), doc.variable
            continue
        with monkeypatch.context() as env:
            env.setenv(doc.variable, doc.default)
            assert getattr(load_settings(env_file=None), name) == getattr(unset, name), doc.variable


def test_settings_doc_otel_service_name_default_is_the_one_the_app_uses(tmp_path: Path) -> None:
    documented = next(doc.default for doc in OTEL_VARIABLES if doc.variable == "OTEL_SERVICE_NAME")
    app = create_app(
        load_settings(env_file=None, data_dir=tmp_path / "data", log_dir=tmp_path / "logs"), configure_logs=False
    )
    assert app.state.context.tracer_provider.resource.attributes["service.name"] == documented


def test_serve_help_lists_every_setting_with_its_default_and_meaning(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--help"])
    assert exit_.value.code == 0
    help_text = capsys.readouterr().out
    for doc in setting_docs():
        line = next((line for line in help_text.splitlines() if line.strip().startswith(doc.variable + " ")), None)
        assert line is not None, doc.variable
        expected = "[no default]" if doc.default == UNSET else f"[default: {doc.default}]"
        assert line.rstrip().endswith(expected), line
        assert _words(doc.meaning) in _words(help_text), doc.variable
    assert re.search(r"AI_DIY_LOG_LEVEL \(or LOG_LEVEL\)", help_text)
