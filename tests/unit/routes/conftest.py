"""The service's own app (create_app) over a temporary data and log directory, as the service tests use."""

from __future__ import annotations

from tests.unit.service.conftest import clean_environment, client, make_app

__all__ = ["clean_environment", "client", "make_app"]
