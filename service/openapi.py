"""GET /openapi.json: the routes' docstrings (YAML after `---`) plus shared schemas."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.schemas import SchemaGenerator

from service import __version__, models_config
from service.security.paths import ALLOWED_EXTENSIONS, MAX_SEGMENT_BYTES

# Conditional requests on /api/appdocs/{path} (RFC 9110 §13), shared by GET, PUT and DELETE.
# RFC 9110's syntax (etagc: visible ASCII but DQUOTE; OWS: spaces and tabs), a subset of
# what service.data.etags accepts: what a client may send, so what generators should.
_ETAG = r'(W/)?"[\x21\x23-\x7e]*"'
_ETAG_LIST = {"type": "string", "pattern": rf"^[ \t]*(\*|{_ETAG}([ \t]*,[ \t]*{_ETAG})*)[ \t]*$"}
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


class _Model(BaseModel):
    """A response body as the routes send it: every field present unless it has a default."""

    model_config = ConfigDict(extra="forbid")


class Check(BaseModel):
    """A check's verdict beside its own details."""

    model_config = ConfigDict(extra="allow")

    status: Literal["ok", "degraded", "fail"]


class HealthChecks(BaseModel):
    """The four checks always present; more may be added by name."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Check] = Field(init=False)

    config: Check
    data_store: Check
    security: Check
    log_sink: Check


class Health(_Model):
    status: Literal["healthy", "degraded", "unhealthy"]
    version: str
    uptime_seconds: float
    checks: HealthChecks
    degraded: list[str]
    failing: list[str]


class Readiness(_Model):
    status: Literal["ready", "not_ready"]
    degraded: list[str]
    failing: list[str]


class Liveness(_Model):
    status: Literal["alive", "wedged"]
    uptime_seconds: float
    detail: str | None = None  # why, when wedged


class ModelsSummary(_Model):
    available: int
    default: str


class Env(_Model):
    environment: Literal["DEVELOPMENT", "PRODUCTION"]
    app_env: Literal["DEV", "PRODUCTION"]
    version: str
    log_level: str
    features: dict[str, bool]
    models: ModelsSummary


class ModelsConfig(models_config.ModelsConfig):
    """models_config.json as validated at start-up, and where it came from."""

    # The route sends every field, defaults included.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    source: Literal["file", "embedded default"]


class DataStatus(_Model):
    status: Literal["ok"]
    documents: int
    total_bytes: int
    by_type: dict[str, int]
    last_modified: float | None
    writable: bool = Field(description="Whether writes are accepted; a read-only store still serves documents.")


class DocumentEntry(_Model):
    path: str
    size: int


class DocumentList(_Model):
    documents: list[DocumentEntry]


class ResourceUsage(BaseModel):
    memory_mb: float
    memory_percent: float
    cpu_percent: float
    threads: int
    open_files: int
    uptime_seconds: float


class SecurityReport(BaseModel):
    """Component states, limits and recent events; their detail may grow."""

    resource_usage: ResourceUsage


class SecurityStatus(_Model):
    security_status: Literal["active", "degraded"]
    report: SecurityReport


class IndexLinks(_Model):
    health: str
    openapi: str
    metrics: str
    docs: str


class Index(_Model):
    name: str
    version: str
    links: IndexLinks


class ErrorDetail(_Model):
    code: str
    message: str


class Error(_Model):
    error: ErrorDetail


# Each named in the routes' docstrings as #/components/schemas/<name>.
RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    Error,
    Index,
    Health,
    Readiness,
    Liveness,
    Env,
    ModelsConfig,
    DataStatus,
    DocumentList,
    SecurityStatus,
)


def component_schemas(models: tuple[type[BaseModel], ...] = RESPONSE_MODELS) -> dict[str, Any]:
    """JSON Schemas of these models, nested models included, referenced as components."""
    _, top = models_json_schema(
        [(model, "serialization") for model in models], ref_template="#/components/schemas/{model}"
    )
    answer: dict[str, Any] = top.get("$defs", {})
    return answer


COMPONENTS: dict[str, Any] = {**CONDITIONALS, "schemas": component_schemas()}


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
        "description": "Rate limit exceeded (see the Retry-After, RateLimit and RateLimit-Policy headers).",
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
            # Every refusal is the JSON error body (service.errors), whichever layer sends it.
            for status, response in responses.items():
                if int(status) >= 400 and "content" not in response:
                    response["content"] = _ERROR_CONTENT
    return schema


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(build_schema(request.app.routes))


routes = [Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False)]
