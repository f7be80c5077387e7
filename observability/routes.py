"""Route templates for metric labels and span names.

Starlette's router writes the matched route object into ``scope["route"]`` (and the
endpoint into ``scope["endpoint"]``) but never the full template: routes inside a
``Mount`` only know their path relative to the mount. The resolver walks the route
tree once and maps each route object to its full template, so a request costs one
dict lookup.
"""
from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

from starlette.routing import BaseRoute, Host, Mount

UNMATCHED = "_unmatched"
OTHER_METHOD = "_OTHER"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})


def method_label(method: str) -> str:
    """The method itself when standard, `_OTHER` otherwise (bounded label values)."""
    return method if method in KNOWN_METHODS else OTHER_METHOD


def _walk(routes: Iterable[BaseRoute], prefix: str, by_route: dict[int, str], by_endpoint: dict[int, str]) -> None:
    for route in routes:
        path = getattr(route, "path", None)
        if isinstance(route, Mount):
            template = prefix + route.path
            # A mounted app without routes (static files, a sub-app) is one template.
            by_route[id(route)] = template + "/{path:path}"
            by_endpoint.setdefault(id(route.app), template + "/{path:path}")
            _walk(route.routes, template, by_route, by_endpoint)
        elif isinstance(route, Host):
            by_route[id(route)] = prefix or "/"
            _walk(route.routes, prefix, by_route, by_endpoint)
        elif isinstance(path, str):
            template = prefix + path
            by_route[id(route)] = template
            endpoint = getattr(route, "endpoint", None)
            if endpoint is not None:
                by_endpoint.setdefault(id(endpoint), template)


class RouteResolver:
    """Maps the route Starlette matched to its full template (``/api/docs/{path:path}``)."""

    def __init__(self, routes: Iterable[BaseRoute] | None = None) -> None:
        self._by_route: dict[int, str] = {}
        self._by_endpoint: dict[int, str] = {}
        self._routes: list[BaseRoute] | None = None
        if routes is not None:
            self.rebuild(routes)

    def rebuild(self, routes: Iterable[BaseRoute]) -> None:
        """Recompute the map (routes added after start-up)."""
        routes = list(routes)
        by_route: dict[int, str] = {}
        by_endpoint: dict[int, str] = {}
        _walk(routes, "", by_route, by_endpoint)
        self._routes, self._by_route, self._by_endpoint = routes, by_route, by_endpoint

    def __call__(self, scope: MutableMapping[str, Any]) -> str:
        """Template of the route that handled this request, or `_unmatched`."""
        route = scope.get("route")
        if route is not None:
            template = self._by_route.get(id(route))
            if template is None:
                template = self._learn(scope, route)
            return template
        endpoint = scope.get("endpoint")
        if endpoint is not None:
            found = self._by_endpoint.get(id(endpoint))
            if found is not None:
                return found
        return UNMATCHED

    def _learn(self, scope: MutableMapping[str, Any], route: Any) -> str:
        # A route the map has not seen: the app's routes changed (or none were given).
        # Rebuild from the outermost router, which Starlette stores in the scope.
        router = scope.get("router")
        routes = getattr(router, "routes", None)
        if routes is not None:
            self.rebuild(routes)
            template = self._by_route.get(id(route))
            if template is not None:
                return template
        path = getattr(route, "path", None)
        # Route objects are finite, so their own path is still a bounded label; remember
        # it so the next request does not rebuild again.
        template = path if isinstance(path, str) else UNMATCHED
        self._by_route[id(route)] = template
        return template
