"""Commands run in an empty working directory with none of the caller's AI_DIY_ settings.

The same fixture as the service tests'.
"""

from __future__ import annotations

from tests.unit.service.conftest import clean_environment

__all__ = ["clean_environment"]
