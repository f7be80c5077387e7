"""GRAFANA_VERSION is the one place naming Grafana: compose, the Kubernetes docs and the SDK build follow it."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

import generate.__main__ as generate
from grafana.version import GRAFANA_VERSION, minor

ROOT = Path(__file__).resolve().parents[3]


def test_grafana_version_is_the_compose_image_tag() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["grafana"]["image"] == f"grafana/grafana:{GRAFANA_VERSION}"


def test_grafana_version_is_what_the_kubernetes_docs_ask_for() -> None:
    text = (ROOT / "docs" / "scaling.md").read_text()
    named = set(re.findall(r"Grafana (\d+\.\d+\.\d+)", text)) | set(re.findall(r"grafana\.image\.tag=(\S+?)`", text))
    assert named == {GRAFANA_VERSION}


def test_grafana_sdk_pin_and_installed_build_are_for_that_version() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (pin,) = [Requirement(r) for r in extras["test"] if Requirement(r).name == "grafana-foundation-sdk"]
    (specifier,) = pin.specifier
    # `==`: with the build epoch first, any lower bound resolves to the newest build of any Grafana.
    assert specifier.operator == "==" and minor(specifier.version) == minor(GRAFANA_VERSION)
    assert minor(importlib.metadata.version("grafana-foundation-sdk")) == minor(GRAFANA_VERSION)


def test_grafana_minor_ignores_the_sdk_build_epoch() -> None:
    assert minor("1769699520!11.4.0") == minor("11.4.2") == "11.4"
    assert minor("1769699998!10.1.0") == "10.1"


def test_generate_refuses_an_sdk_built_for_another_grafana(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "1769699998!10.1.0")
    assert generate.main(["--root", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "builds for Grafana 10.1" in error and GRAFANA_VERSION in error
    assert list(tmp_path.iterdir()) == []
