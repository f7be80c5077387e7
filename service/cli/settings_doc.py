"""Every setting with its variable, default and meaning: for `ai-diy serve --help` and README.md.

Both are generated from the `Settings` model (field names, defaults, enums and
`description`s), so neither can drift from what the service reads. The few standard
OTEL_* variables that the tracing honours are not `Settings` fields (the OpenTelemetry
SDK reads them itself); they are listed here once, in `OTEL_VARIABLES`, for both.

`make readme` rewrites the README's table between its markers (`with_settings_table`);
a test fails while the committed README differs from what the model generates.
"""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import AliasChoices
from pydantic.fields import FieldInfo

from service.settings import ENV_PREFIX, Settings

README_BEGIN = (
    "<!-- settings table: generated from service/settings.py by `make readme`; edit the descriptions there -->"
)
README_END = "<!-- end of settings table -->"
UNSET = "(none)"


@dataclass(frozen=True)
class SettingDoc:
    """One environment variable as an operator sees it."""

    variable: str
    default: str
    meaning: str
    aliases: tuple[str, ...] = ()


# Read by the OpenTelemetry SDK and observability/tracing.py, not by `Settings`.
# OTEL_SERVICE_NAME's default is the name service/app.py gives the tracer provider.
OTEL_VARIABLES = (
    SettingDoc("OTEL_SERVICE_NAME", "ai-diy", "Trace service name; the other standard `OTEL_*` variables apply too."),
    SettingDoc(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        UNSET,
        "OTLP/HTTP collector for kept traces; without it nothing is exported, but every request still has "
        "trace ids in its access line.",
    ),
    SettingDoc(
        "OTEL_TRACES_SAMPLER",
        UNSET,
        "When set, the standard sampler decides instead of the keep rule (`always_on`: export every request).",
    ),
)


def _shown_default(value: Any) -> str:
    """The default as it would be written in the environment."""
    if value is None or value == []:
        return UNSET
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _variables(name: str, field: FieldInfo) -> tuple[str, tuple[str, ...]]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        first, *others = (str(choice) for choice in alias.choices)
        return first, tuple(others)
    return (ENV_PREFIX + name).upper(), ()


def _meaning(field: FieldInfo) -> str:
    meaning = (field.description or "").strip()
    if isinstance(field.annotation, type) and issubclass(field.annotation, Enum):
        meaning += " One of " + ", ".join(f"`{member.value}`" for member in field.annotation) + "."
    return meaning


def setting_docs() -> list[SettingDoc]:
    """Every `Settings` field in declaration order, then the OTEL_* variables."""
    docs = []
    for name, field in Settings.model_fields.items():
        variable, aliases = _variables(name, field)
        default = _shown_default(field.get_default(call_default_factory=True))
        docs.append(SettingDoc(variable, default, _meaning(field), aliases))
    return [*docs, *OTEL_VARIABLES]


def help_text(width: int | None = None) -> str:
    """The settings for `--help`: each variable with its default, its meaning wrapped beneath."""
    width = width or min(shutil.get_terminal_size().columns, 100)
    lines = ["settings (environment variables, or a .env file in the working directory):"]
    for doc in setting_docs():
        also = f" (or {', '.join(doc.aliases)})" if doc.aliases else ""
        default = "no default" if doc.default == UNSET else f"default: {doc.default}"
        lines.append(f"  {doc.variable}{also}  [{default}]")
        # Unbroken words and URIs: an operator copies `redis+sentinel://...` from here.
        lines.extend(
            textwrap.wrap(
                doc.meaning.replace("`", ""),
                width,
                initial_indent=" " * 6,
                subsequent_indent=" " * 6,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table() -> str:
    """The README's settings table."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for doc in setting_docs():
        variable = f"`{doc.variable}`" + "".join(f" (or `{alias}`)" for alias in doc.aliases)
        default = doc.default if doc.default == UNSET else f"`{doc.default}`"
        rows.append(f"| {variable} | {default} | {_cell(doc.meaning)} |")
    return "\n".join(rows)


def with_settings_table(readme: str) -> str:
    """readme with the text between its settings-table markers replaced by the generated table."""
    head, begin, rest = readme.partition(README_BEGIN)
    _, end, tail = rest.partition(README_END)
    if not begin or not end:
        raise ValueError(f"README has no settings table markers ({README_BEGIN!r} ... {README_END!r})")
    return f"{head}{README_BEGIN}\n{markdown_table()}\n{README_END}{tail}"


def rewrite_readme(path: Path) -> bool:
    """Regenerate the settings table in the README at path; True when it changed."""
    current = path.read_text(encoding="utf-8")
    generated = with_settings_table(current)
    if generated != current:
        path.write_text(generated, encoding="utf-8")
    return generated != current
