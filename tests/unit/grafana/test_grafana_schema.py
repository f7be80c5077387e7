"""The dashboards as Grafana 11.4 reads them: its SDK's from_json and its published JSON schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard
from jsonschema import Draft7Validator

from grafana.version import GRAFANA_VERSION

ROOT = Path(__file__).resolve().parents[3]
DASHBOARDS = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
# Published with the SDK release for GRAFANA_VERSION; see schemas/README.md for their source.
SCHEMAS = Path(__file__).resolve().parent / "schemas"


def _document(kind: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SCHEMAS / f"{kind}.jsonschema.json").read_text())
    return document


def _schema(kind: str, definition: str | None = None) -> Draft7Validator:
    """A validator for one kind's schema, or for one of its definitions (e.g. a panel's Options)."""
    document = _document(kind)
    if kind == "dashboard":
        # The base step of every threshold list is null (minus infinity): Grafana writes it so,
        # as the schema's own description of the field says, though its type omits null.
        document["definitions"]["Threshold"]["properties"]["value"]["type"] = ["number", "null"]
    if definition is not None:
        document = {**document, "$ref": f"#/definitions/{definition}"}
    return Draft7Validator(document)


def _errors(validator: Draft7Validator, instance: object) -> list[str]:
    return [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(instance)]


def _load(path: Path) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(path.read_text())
    return answer


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_grafana_dashboard_round_trips_through_the_sdk(path: Path) -> None:
    board = _load(path)
    again = json.loads(json.dumps(Dashboard.from_json(board), cls=JSONEncoder))
    assert again == board


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_grafana_dashboard_matches_the_dashboard_schema(path: Path) -> None:
    assert _errors(_schema("dashboard"), _load(path)) == []


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_grafana_panels_match_their_plugin_and_query_schemas(path: Path) -> None:
    query = _schema("prometheus")
    for panel in _load(path)["panels"]:
        kind = panel["type"]
        assert (SCHEMAS / f"{kind}.jsonschema.json").exists(), f"no schema vendored for {kind} panels"
        assert _errors(_schema(kind, "Options"), panel.get("options")) == [], panel["title"]
        if "FieldConfig" in _document(kind)["definitions"]:
            custom = panel["fieldConfig"]["defaults"].get("custom", {})
            assert _errors(_schema(kind, "FieldConfig"), custom) == [], panel["title"]
        for target in panel["targets"]:
            assert _errors(query, target) == [], panel["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_grafana_dashboard_has_the_schema_version_of_its_grafana(path: Path) -> None:
    default = _document("dashboard")["definitions"]["Dashboard"]["properties"]["schemaVersion"]
    board = _load(path)
    assert board["schemaVersion"] == default["default"], GRAFANA_VERSION
    assert "style" not in board, "removed from the dashboard schema in Grafana 11"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_grafana_variable_ids_are_unique(path: Path) -> None:
    ids = [v["id"] for v in _load(path)["templating"]["list"] if "id" in v]
    assert len(ids) == len(set(ids))


def test_grafana_schema_validation_rejects_null_panel_options() -> None:
    panel = _load(DASHBOARDS[0])["panels"][0]
    assert _errors(_schema("dashboard", "Panel"), panel) == []
    panel["options"] = None
    assert _errors(_schema("dashboard", "Panel"), panel) == ["['options']: None is not of type 'object'"]
