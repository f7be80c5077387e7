"""models_config.json: the favourite models, the default one and the last one used.

Schema: {"favorites": [model ids], "default": id, "last_used": id | null, "meta": {...}}.
`default` must be one of `favorites`. When the file is absent the embedded default
below is used, so the service starts with no configuration at all; but a file the
operator named on purpose (AI_DIY_MODELS_CONFIG set) must exist, or a typo in its
path would silently serve the default.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from observability.errors import ConfigError

SETTING = "AI_DIY_MODELS_CONFIG"

ModelId = str


class ModelsConfig(BaseModel):
    """The validated content of models_config.json."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    favorites: list[ModelId] = Field(min_length=1)
    default: ModelId
    last_used: ModelId | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("favorites")
    @classmethod
    def _unique_ids(cls, value: list[str]) -> list[str]:
        blank = [v for v in value if not v.strip()]
        if blank:
            raise ValueError("model ids must not be blank")
        duplicates = sorted({v for v in value if value.count(v) > 1})
        if duplicates:
            raise ValueError(f"duplicate model ids: {', '.join(duplicates)}")
        return value

    @model_validator(mode="after")
    def _default_is_a_favorite(self) -> ModelsConfig:
        if self.default not in self.favorites:
            raise ValueError(f"default {self.default!r} must be one of favorites ({', '.join(self.favorites)})")
        return self


EMBEDDED_DEFAULT = ModelsConfig(
    favorites=["meta-llama/llama-3.3-70b-instruct", "openai/gpt-4o-mini", "anthropic/claude-3.5-haiku"],
    default="meta-llama/llama-3.3-70b-instruct",
    last_used=None,
    meta={"source": "embedded default"},
)


class ModelsConfigError(ConfigError):
    """models_config.json is missing, unreadable or invalid: one line per problem, naming the setting and the file."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        super().__init__(*(f"{SETTING}: {path}: {p}" for p in problems))


def load_models_config(path: Path, *, required: bool = False) -> tuple[ModelsConfig, str]:
    """The configuration and where it came from ("file" or "embedded default").

    An absent file means the embedded default, unless `required` (the operator
    named this file): then it is a ModelsConfigError like any other.
    """
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise ModelsConfigError(
                path, [f"does not exist ({SETTING} is set, so the embedded default is not used)"]
            ) from None
        return EMBEDDED_DEFAULT, "embedded default"
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelsConfigError(path, [f"cannot be read: {exc}"]) from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ModelsConfigError(
            path, [f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]
        ) from None
    try:
        return ModelsConfig.model_validate(data), "file"
    except ValidationError as exc:
        raise ModelsConfigError(path, [_describe(e) for e in exc.errors(include_url=False)]) from None


def _describe(error: Mapping[str, Any]) -> str:
    where = ".".join(str(p) for p in error.get("loc", ())) or "document"
    return f"{where}: {error['msg'].removeprefix('Value error, ')}"
