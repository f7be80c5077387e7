"""RouteResolver: the template of the matched route, bounded labels."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route, Router

from observability.routes import OTHER_METHOD, UNMATCHED, RouteResolver, method_label

from .conftest import client

pytestmark = pytest.mark.anyio


def capture_app(routes: list[Any]) -> tuple[Starlette, list[str]]:
    seen: list[str] = []
    resolver = RouteResolver(routes)

    class Capture:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await self.app(scope, receive, send)
            seen.append(resolver(scope))

    return Starlette(routes=routes, middleware=[Middleware(Capture)]), seen


async def ok(request: Request) -> Response:
    return PlainTextResponse("ok")


async def test_route_resolver_maps_nested_mounts_to_full_templates() -> None:
    inner = Router(routes=[Route("/{name}", ok)])
    routes = [
        Route("/", ok),
        Mount("/api", routes=[Route("/appdocs/{path:path}", ok), Mount("/v2", app=inner)]),
        Mount("/static", app=PlainTextResponse("file")),
    ]
    app, seen = capture_app(routes)
    async with client(app) as http:
        for path in ("/", "/api/appdocs/x/y.md", "/api/v2/bob", "/static/css/site.css"):
            assert (await http.get(path)).status_code == 200
    assert seen == ["/", "/api/appdocs/{path:path}", "/api/v2/{name}", "/static/{path:path}"]


async def test_route_resolver_unmatched_requests_share_one_label() -> None:
    app, seen = capture_app([Route("/items/{item_id:int}", ok)])
    async with client(app) as http:
        await http.get("/items/not-a-number")
        await http.get("/elsewhere")
    assert seen == [UNMATCHED, UNMATCHED]


async def test_route_resolver_learns_routes_added_later() -> None:
    routes: list[Any] = [Route("/", ok)]
    app, seen = capture_app(routes)
    app.router.routes.append(Mount("/late", routes=[Route("/{x}", ok)]))
    async with client(app) as http:
        await http.get("/late/1")
    assert seen == ["/late/{x}"]


async def test_route_resolver_method_not_allowed_keeps_template() -> None:
    app, seen = capture_app([Route("/only-get", ok, methods=["GET"])])
    async with client(app) as http:
        assert (await http.post("/only-get")).status_code == 405
    assert seen == ["/only-get"]


def test_method_label_collapses_unknown_methods() -> None:
    assert [method_label(m) for m in ("GET", "PATCH", "BREW", "get")] == ["GET", "PATCH", OTHER_METHOD, OTHER_METHOD]
