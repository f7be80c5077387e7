"""The production app fixtures of the service tests, for the traffic drills."""

from __future__ import annotations

from tests.unit.service.conftest import clean_environment, make_app

__all__ = ["clean_environment", "make_app"]
