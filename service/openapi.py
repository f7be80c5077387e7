"""GET /openapi.json: the routes' docstrings (YAML after `---`) plus shared schemas."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.schemas import SchemaGenerator

from service import __version__
from service.security.paths import ALLOWED_EXTENSIONS, MAX_SEGMENT_BYTES

_STR = {"type": "string"}
_INT = {"type": "integer"}
_NUM = {"type": "number"}
_CHECK = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"type": "string", "enum": ["ok", "degraded", "fail"]}},
}
_CHECK_NAMES = {"type": "array", "items": _STR}

# Conditional requests on /api/appdocs/{path} (RFC 9110 §13), shared by GET, PUT and DELETE.
_ETAG_LIST = {"type": "string", "pattern": r'^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$'}
CONDITIONALS: dict[str, Any] = {
    "parameters": {
        "IfMatch": {
            "name": "If-Match",
            "in": "header",
            "required": False,
            "description": (
                "Only if the document's current ETag is one of these (strong comparison), or, with `*`,"
                " only if it exists. Otherwise 412 and nothing changes."
            ),
            "schema": _ETAG_LIST,
        },
        "IfNoneMatch": {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "description": (
                "Only if the document's current ETag is none of these, or, with `*`, only if it does not"
                " exist (create, never replace). Otherwise 412 (304 on GET)."
            ),
            "schema": _ETAG_LIST,
        },
    },
    "headers": {
        "ETag": {
            "description": "Strong entity tag of the document: its sha256 in hex, quoted.",
            "schema": {"type": "string", "pattern": '^"[0-9a-f]{64}"$'},
        }
    },
}

COMPONENTS: dict[str, Any] = {
    **CONDITIONALS,
    "schemas": {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": _STR, "message": _STR},
                }
            },
        },
        "Health": {
            "type": "object",
            "required": ["status", "version", "uptime_seconds", "checks", "degraded", "failing"],
            "properties": {
                "status": {"type": "string", "enum": ["healthy", "degraded", "unhealthy"]},
                "version": _STR,
                "uptime_seconds": _NUM,
                "checks": {
                    "type": "object",
                    "required": ["config", "data_store", "security", "log_sink"],
                    "additionalProperties": _CHECK,
                },
                "degraded": _CHECK_NAMES,
                "failing": _CHECK_NAMES,
            },
        },
        "Readiness": {
            "type": "object",
            "required": ["status", "degraded", "failing"],
            "properties": {
                "status": {"type": "string", "enum": ["ready", "not_ready"]},
                "degraded": _CHECK_NAMES,
                "failing": _CHECK_NAMES,
            },
        },
        "Liveness": {
            "type": "object",
            "required": ["status", "uptime_seconds"],
            "properties": {"status": {"type": "string", "enum": ["alive", "wedged"]}, "uptime_seconds": _NUM},
        },
        "Env": {
            "type": "object",
            "required": ["environment", "app_env", "log_level", "features", "models"],
            "properties": {
                "environment": {"type": "string", "enum": ["DEVELOPMENT", "PRODUCTION"]},
                "app_env": {"type": "string", "enum": ["DEV", "PRODUCTION"]},
                "version": _STR,
                "log_level": _STR,
                "features": {"type": "object", "additionalProperties": {"type": "boolean"}},
                "models": {
                    "type": "object",
                    "required": ["available", "default"],
                    "properties": {"available": _INT, "default": _STR},
                },
            },
        },
        "ModelsConfig": {
            "type": "object",
            "required": ["favorites", "default", "last_used", "meta", "source"],
            "properties": {
                "favorites": {"type": "array", "items": _STR},
                "default": _STR,
                "last_used": {"type": ["string", "null"]},
                "meta": {"type": "object"},
                "source": {"type": "string", "enum": ["file", "embedded default"]},
            },
        },
        "DataStatus": {
            "type": "object",
            "required": ["status", "documents", "total_bytes", "by_type"],
            "properties": {
                "status": {"type": "string", "enum": ["ok"]},
                "documents": _INT,
                "total_bytes": _INT,
                "by_type": {"type": "object", "additionalProperties": _INT},
                "last_modified": {"type": ["number", "null"]},
            },
        },
        "DocumentList": {
            "type": "object",
            "required": ["documents"],
            "properties": {
                "documents": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["path", "size"],
                        "properties": {"path": _STR, "size": _INT},
                    },
                }
            },
        },
        "SecurityStatus": {
            "type": "object",
            "required": ["security_status", "report"],
            "properties": {
                "security_status": {"type": "string", "enum": ["active", "degraded"]},
                "report": {
                    "type": "object",
                    "required": ["resource_usage"],
                    "properties": {
                        "resource_usage": {
                            "type": "object",
                            "required": [
                                "memory_mb",
                                "memory_percent",
                                "cpu_percent",
                                "threads",
                                "open_files",
                                "uptime_seconds",
                            ],
                        }
                    },
                },
            },
        },
    },
}

schemas = SchemaGenerator(
    {
        "openapi": "3.1.0",
        "info": {"title": "AI-DIY API", "version": __version__},
        "components": COMPONENTS,
    }
)


# Answers the middleware gives on every /api/* route, whatever the endpoint: listed
# here once instead of in every docstring.
_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
API_RESPONSES = {
    "413": {"description": "Request body larger than AI_DIY_MAX_REQUEST_BYTES.", "content": _ERROR_CONTENT},
    "429": {
        "description": "Rate limit exceeded (see the Retry-After and RateLimit-* headers).",
        "content": _ERROR_CONTENT,
    },
    "500": {"description": "Unexpected server error.", "content": _ERROR_CONTENT},
}


# What service.security.paths accepts for one segment, as a JSON-Schema pattern (the
# ASCII subset of its Unicode \w). OpenAPI path parameters are single segments (a
# client percent-encodes "/" in them, which the path rules refuse), so nested
# documents are described rather than matched.
DOCUMENT_PATH_SCHEMA = {
    "type": "string",
    "maxLength": MAX_SEGMENT_BYTES,
    "pattern": (
        r"^[A-Za-z0-9_][A-Za-z0-9_. -]*\.(" + "|".join(sorted(ext.lstrip(".") for ext in ALLOWED_EXTENSIONS)) + r")$"
    ),
}
DOCUMENT_PATH_DESCRIPTION = (
    "Document path under the documents root. Nested documents are addressed with"
    " literal slashes (/api/appdocs/guides/setup.md), each segment following this pattern."
)


def build_schema(routes: list[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI document for these routes."""
    schema = schemas.get_schema(routes=routes)
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("name") == "path" and path.startswith("/api/appdocs/"):
                    parameter["schema"] = DOCUMENT_PATH_SCHEMA
                    parameter["description"] = DOCUMENT_PATH_DESCRIPTION
            responses = operation.setdefault("responses", {})
            extra = API_RESPONSES if path.startswith("/api/") else {"500": API_RESPONSES["500"]}
            for status, response in extra.items():
                responses.setdefault(status, response)
    return schema


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(build_schema(request.app.routes))


routes = [Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False)]
