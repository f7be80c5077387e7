"""The ASGI application hypercorn imports (`service.asgi:app`), built from the environment."""

from __future__ import annotations

from service.app import create_app
from service.settings import load_settings

app = create_app(load_settings())
