"""Route templates for metric labels and span names.

Starlette's router writes the matched route object into ``scope["route"]`` (and the
endpoint into ``scope["endpoint"]``) but never the full template: routes inside a
``Mount`` only know their path relative to the mount. The resolver walks the route
tree once and maps each route object to its full template, so a request costs one
dict lookup. A request answered by a middleware before the router ran (a 429, a
413) is matched against the routes once, so it keeps its route too.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

from starlette.routing import BaseRoute, Host, Match, Mount

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
        if "router" not in scope:
            # The router never saw it: a middleware answered first.
            return self.match(scope)
        return UNMATCHED

    def match(self, scope: MutableMapping[str, Any]) -> str:
        """The template of the route the router would pick for this request, or `_unmatched`."""
        routes = self._routes
        if routes is None:
            routes = getattr(scope.get("app"), "routes", None)
            if routes is None:
                return UNMATCHED
            self.rebuild(routes)
        return self._match(routes, scope)

    def _match(self, routes: Iterable[BaseRoute], scope: MutableMapping[str, Any]) -> str:
        partial: BaseRoute | None = None
        for route in routes:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                if isinstance(route, (Mount, Host)) and route.routes:
                    found = self._match(route.routes, {**scope, **child_scope})
                    if found != UNMATCHED:
                        return found
                return self._by_route.get(id(route), UNMATCHED)
            if match is Match.PARTIAL and partial is None:
                partial = route
        return UNMATCHED if partial is None else self._by_route.get(id(partial), UNMATCHED)

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
