"""/openapi.json: valid OpenAPI 3.1 (openapi-spec-validator), and the routes' answers match it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS31Validator
from openapi_schema_validator import validate as validate_instance
from openapi_spec_validator import OpenAPIV31SpecValidator
from starlette.applications import Starlette

pytestmark = pytest.mark.anyio


async def _spec(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


def _response_schema(spec: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    """The JSON schema the document gives for this answer, resolvable on its own."""
    response = spec["paths"][path][method]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return {**schema, "components": spec["components"]}


async def test_openapi_document_passes_openapi_spec_validator(client: httpx.AsyncClient) -> None:
    spec = await _spec(client)
    errors = [f"{list(error.path)}: {error.message}" for error in OpenAPIV31SpecValidator(spec).iter_errors()]
    assert errors == []


async def test_openapi_every_refusal_is_the_error_schema(client: httpx.AsyncClient) -> None:
    spec = await _spec(client)
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400 and path not in ("/health", "/health/ready", "/health/live"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/health", 200),
        ("/health/ready", 200),
        ("/health/live", 200),
        ("/api/env", 200),
        ("/api/config/models", 200),
        ("/api/data/status", 200),
        ("/api/appdocs", 200),
        ("/api/security/status", 200),
        ("/api/appdocs/absent.md", 404),
    ],
)
async def test_openapi_component_schemas_describe_the_answers(
    client: httpx.AsyncClient, tmp_path: Path, path: str, status: int
) -> None:
    (tmp_path / "data" / "appdocs" / "a.txt").write_text("hello")
    spec = await _spec(client)
    response = await client.get(path)
    assert response.status_code == status, response.text
    template = path if path in spec["paths"] else "/api/appdocs/{path}"
    validate_instance(response.json(), _response_schema(spec, template, "get", status), cls=OAS31Validator)


async def test_openapi_health_schema_rejects_a_missing_check(make_app: Callable[..., Starlette]) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url="http://t") as http:
        spec = await _spec(http)
        body = (await http.get("/health")).json()
    del body["checks"]["data_store"]
    validator = OAS31Validator(_response_schema(spec, "/health", "get", 200))
    assert [error.message for error in validator.iter_errors(body)] == ["'data_store' is a required property"]
