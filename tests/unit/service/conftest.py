from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from service.app import create_app
from service.settings import load_settings
from tests.support.environment import clean_environment
from tests.support.net import free_port

__all__ = ["clean_environment", "client", "free_api_port", "make_app"]


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., Starlette]:
    """create_app() over a temporary data/log dir; keyword arguments override settings."""

    def build(**overrides: object) -> Starlette:
        values = {
            "data_dir": tmp_path / "data",
            "log_dir": tmp_path / "logs",
            "models_config": tmp_path / "models_config.json",
            **overrides,
        }
        return create_app(load_settings(env_file=None, **values))

    return build


@pytest.fixture
async def client(make_app: Callable[..., Starlette]) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.fixture
def free_api_port(monkeypatch: pytest.MonkeyPatch) -> int:
    """AI_DIY_PORT on a free loopback port: the start-up check binds it, and 8000 may be taken on this machine."""
    port = free_port()
    monkeypatch.setenv("AI_DIY_PORT", str(port))
    return port
