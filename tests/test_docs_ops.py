"""API documents (OpenAPI JSON, Swagger UI) and the ops endpoints (health, readiness,
Prometheus metrics)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from m2mportal import API_BASE
from m2mportal.api.routes import ENDPOINTS as API_ENDPOINTS
from m2mportal.operator.routes import ENDPOINTS as OPERATOR_ENDPOINTS
from m2mportal.platform import Platform
from tests.helpers import World

OPERATOR_BASE = "/operator/v1"

# The customer paths of CONTRACT.md 7.1-7.3, spelled out so a route that disappears
# from the table is noticed too.
CUSTOMER_PATHS = {
    ("get", "/partners/{partnerId}"),
    ("get", "/partners/{partnerId}/sims"),
    ("get", "/partners/{partnerId}/sims/{iccid}"),
    ("post", "/partners/{partnerId}/sims/details"),
}
OPERATOR_PATHS = {
    ("post", "/partners"),
    ("get", "/partners/{partnerId}"),
    ("post", "/partners/{partnerId}/applications"),
    ("get", "/applications/{clientId}"),
    ("patch", "/applications/{clientId}"),
    ("delete", "/applications/{clientId}"),
    ("post", "/partners/{partnerId}/sims"),
    ("post", "/tariffs"),
    ("post", "/options"),
    ("post", "/materials"),
    ("post", "/profiles"),
    ("put", "/partners/{partnerId}/limits"),
    ("get", "/clock"),
    ("post", "/clock/advance"),
}


async def _document(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/v3/api-docs")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = answer.json()
    return document


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        for value in node.values():
            found += _refs(value)
        return found
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


async def test_openapi_document_is_3_1(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"]
    assert document["info"]["version"]


async def test_openapi_lists_every_customer_path(client: httpx.AsyncClient) -> None:
    paths = (await _document(client))["paths"]
    for method, path in CUSTOMER_PATHS:
        assert method in paths.get(API_BASE + path, {}), f"{method.upper()} {path} missing"
    for endpoint in API_ENDPOINTS:
        full = API_BASE + endpoint.path
        assert endpoint.method.lower() in paths.get(full, {}), f"{endpoint.method} {full}"


async def test_openapi_lists_the_operator_paths(client: httpx.AsyncClient) -> None:
    paths = (await _document(client))["paths"]
    for method, path in OPERATOR_PATHS:
        assert method in paths.get(OPERATOR_BASE + path, {}), f"{method.upper()} {path} missing"
    for endpoint in OPERATOR_ENDPOINTS:
        full = OPERATOR_BASE + endpoint.path
        assert endpoint.method.lower() in paths.get(full, {}), f"{endpoint.method} {full}"


async def test_openapi_paths_are_all_under_the_two_bases(client: httpx.AsyncClient) -> None:
    paths = (await _document(client))["paths"]
    assert paths
    for path in paths:
        assert path.startswith((API_BASE + "/", OPERATOR_BASE + "/")), path


async def test_openapi_operations_are_described(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    ids = []
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            ids.append(op["operationId"])
            assert op["summary"], (method, path)
            assert op["responses"], (method, path)
            assert op.get("security") == [{"bearer": []}], (method, path)
            path_params = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert path_params == set(re.findall(r"{(\w+)}", path)), (method, path)
    assert len(ids) == len(set(ids)), "operationIds repeat"
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_openapi_has_component_schemas_and_refs_resolve(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    schemas = document["components"]["schemas"]
    for name in ("ErrorBody", "Partner", "SimPage", "SimDetails", "SimSelector", "NewSims"):
        assert name in schemas, name
    error = schemas["ErrorBody"]
    assert set(error["properties"]) == {"status", "message", "errors", "timestamp"}
    details = schemas["SimDetails"]["properties"]
    for field in ("iccid", "bindingPeriod", "tariff", "simAggregatedData", "links"):
        assert field in details, field
    refs = _refs(document)
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, f"dangling {ref}"


async def test_openapi_documents_the_list_query_and_error_responses(
    client: httpx.AsyncClient,
) -> None:
    document = await _document(client)
    op = document["paths"][API_BASE + "/partners/{partnerId}/sims"]["get"]
    query = {p["name"]: p for p in op["parameters"] if p["in"] == "query"}
    assert {"iccid", "euiccid", "imsi", "imei", "msisdn", "status", "tariffId", "subunitId",
            "remark", "page", "size", "after"} <= set(query)  # fmt: skip
    assert query["size"]["schema"].get("maximum") == 1000
    details = document["paths"][API_BASE + "/partners/{partnerId}/sims/details"]["post"]
    assert "requestBody" in details
    for code in ("400", "401", "403", "404"):
        schema = details["responses"][code]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorBody"}


async def test_swagger_ui_page_and_assets(client: httpx.AsyncClient) -> None:
    page = await client.get("/swagger-ui/index.html")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "swagger-ui-bundle.js" in page.text
    assert "/v3/api-docs" in page.text
    bundle = await client.get("/swagger-ui/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert "javascript" in bundle.headers["content-type"]
    assert "SwaggerUIBundle" in bundle.text
    css = await client.get("/swagger-ui/swagger-ui.css")
    assert css.status_code == 200
    redirect = await client.get("/swagger-ui", follow_redirects=False)
    assert redirect.status_code in (301, 302, 307, 308)
    assert redirect.headers["location"].endswith("/swagger-ui/index.html")


async def test_healthz(client: httpx.AsyncClient) -> None:
    answer = await client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json()["status"] == "UP"


async def test_readyz_names_the_database_dialect(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    answer = await client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "UP", "database": platform.db.dialect}
    assert platform.db.dialect in ("sqlite", "postgresql")


async def test_readyz_is_503_when_the_database_is_gone(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    await platform.db.close()
    answer = await client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["status"] == "DOWN"


async def test_unknown_paths_answer_with_the_error_body(client: httpx.AsyncClient) -> None:
    answer = await client.get(API_BASE + "/nothing/here")
    assert answer.status_code == 404
    body = answer.json()
    assert set(body) == {"status", "message", "errors", "timestamp"}
    assert body["status"] == "NOT_FOUND"
    answer = await client.delete("/healthz")
    assert answer.status_code == 405
    assert answer.json()["status"] == "METHOD_NOT_ALLOWED"
