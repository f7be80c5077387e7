"""bench/variants.py: the table of variants and the `bare_headers` limit app."""

from __future__ import annotations

import builtins
from pathlib import Path

import httpx
import pytest

from bench.variants import CORE, EXTRAS, VARIANTS, available, bench_settings, build
from bench.workspace import create_workspace
from service.app import create_app

pytestmark = pytest.mark.anyio

# Headers whose values differ per response by nature (size, date) or per client (the count).
_PER_RESPONSE = {"content-length", "date", "ratelimit"}


async def _headers(app: object, path: str) -> list[tuple[str, str]]:
    transport = httpx.ASGITransport(app=app, client=("198.18.0.7", 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get(path)
    assert response.status_code == 200, response.text
    return [(k, v) for k, v in response.headers.multi_items() if k not in _PER_RESPONSE]


@pytest.mark.parametrize("path", ["/api/env", "/health/live", "/api/appdocs/guide.md"])
async def test_bare_headers_sends_the_full_stacks_response_headers(tmp_path: Path, path: str) -> None:
    space = create_workspace(tmp_path / "ws")
    limit = build("bare_headers", space).app
    full = create_app(bench_settings(space), configure_logs=False)
    async with full.router.lifespan_context(full):
        expected = await _headers(full, path)
    assert sorted(await _headers(limit, path)) == sorted(expected)


def test_variants_table_lists_core_and_extras_once() -> None:
    assert list(VARIANTS) == [*CORE, *EXTRAS]
    assert "bare_headers" in CORE
    assert set(EXTRAS) == {"starlette_exporter", "instrumentator", "otel_asgi", "peer_stack"}


def test_available_names_the_package_of_a_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_starlette_exporter(name: str, *args: object, **kwargs: object) -> object:
        if name == "starlette_exporter":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_starlette_exporter)
    ok, missing = available(["bare", "bare_headers", "starlette_exporter", "peer_stack"])
    assert ok == ["bare", "bare_headers"]
    assert missing["starlette_exporter"] == "not installed: pip install starlette-exporter>=0.23"
    assert "starlette-exporter" in missing["peer_stack"]


def test_build_refuses_an_unknown_variant(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown variant 'nope'"):
        build("nope", create_workspace(tmp_path / "ws"))
