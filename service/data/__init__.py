"""The documents: the store, its name rules, atomic and conditional writes, and the live-directory check."""

from __future__ import annotations

from pathlib import Path


def documents_dir(data_dir: Path) -> Path:
    """Where the documents live inside a data directory (`<data dir>/appdocs`)."""
    return data_dir / "appdocs"
