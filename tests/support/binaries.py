"""Finding the external programs integration tests run (prometheus, redis-server, ...)."""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

# Debian installs some tools outside PATH or under a package-specific name.
_ALTERNATIVES = {
    "prometheus": ["prometheus"],
    "promtool": ["promtool"],
    "alertmanager": ["prometheus-alertmanager", "alertmanager"],
    "amtool": ["amtool"],
    "redis-server": ["redis-server"],
    "wrk": ["wrk"],
    "jq": ["jq"],
}


def find(name: str) -> str | None:
    """Path of the program, or None."""
    for candidate in _ALTERNATIVES.get(name, [name]):
        path = shutil.which(candidate) or shutil.which(candidate, path="/usr/sbin:/usr/bin:/sbin:/bin")
        if path:
            return path
    return None


def require(name: str) -> str:
    """Path of the program; a missing one fails under CI=true and skips elsewhere."""
    path = find(name)
    if path:
        return path
    unavailable(f"{name} is not installed (Debian: apt-get install {_debian_package(name)})")


def unavailable(message: str) -> NoReturn:
    """Something a test needs is missing: a failure under CI=true, a skip elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _debian_package(name: str) -> str:
    return {
        "promtool": "prometheus",
        "amtool": "prometheus-alertmanager",
        "alertmanager": "prometheus-alertmanager",
        "redis-cli": "redis-tools",
        "systemd-analyze": "systemd",
    }.get(name, name)
