"""Fixtures of the security unit tests: the stack app over a small documents root."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from tests.support.security_stack import build_app, documents_root


@pytest.fixture
def docs_root(tmp_path: Path) -> Path:
    return documents_root(tmp_path)


@pytest.fixture
def app(docs_root: Path) -> Starlette:
    return build_app(docs_root=docs_root, limit="100/minute", max_request_bytes=1024)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
