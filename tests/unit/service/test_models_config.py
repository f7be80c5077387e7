from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.models_config import EMBEDDED_DEFAULT, ModelsConfigError, load_models_config


def test_models_config_absent_file_uses_the_embedded_default(tmp_path: Path) -> None:
    config, source = load_models_config(tmp_path / "models_config.json")
    assert config == EMBEDDED_DEFAULT and source == "embedded default"
    assert config.default in config.favorites


def test_models_config_valid_file_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "models_config.json"
    path.write_text(json.dumps({"favorites": ["a/b", "c/d"], "default": "c/d", "last_used": "a/b", "meta": {"x": 1}}))
    config, source = load_models_config(path)
    assert source == "file" and config.default == "c/d" and config.last_used == "a/b"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"favorites": ["a"], "default": "a"', "is not valid JSON"),
        ('{"favorites": ["a"], "default": "b"}', "default 'b' must be one of favorites"),
        ('{"favorites": [], "default": "a"}', "favorites"),
        ('{"favorites": ["a", "a"], "default": "a"}', "duplicate model ids: a"),
        ('{"favorites": ["a"]}', "default: Field required"),
        ('{"favorites": ["a"], "default": "a", "surprise": 1}', "surprise: Extra inputs are not permitted"),
        ("[1, 2]", "Input should be a valid dictionary"),
    ],
)
def test_models_config_malformed_file_is_a_clear_error(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "models_config.json"
    path.write_text(content)
    with pytest.raises(ModelsConfigError) as caught:
        load_models_config(path)
    assert any(expected in line for line in caught.value.problems), caught.value.problems
    assert all(line.startswith(f"AI_DIY_MODELS_CONFIG: {path}: ") for line in caught.value.problems)
