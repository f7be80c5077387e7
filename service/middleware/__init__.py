"""The service's middleware stack, assembled in one place (`build_middleware`)."""

from __future__ import annotations

from .edge import EdgeMiddleware
from .stack import UNTRACED, Telemetry, build_middleware

__all__ = ["UNTRACED", "EdgeMiddleware", "Telemetry", "build_middleware"]
