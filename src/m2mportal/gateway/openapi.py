"""The OpenAPI 3.1 document, built once at start-up from the route tables' msgspec types."""

from __future__ import annotations

import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import msgspec

from m2mportal import __version__
from m2mportal.gateway.endpoints import Endpoint
from m2mportal.models import ErrorBody

_PATH_PARAM = re.compile(r"{([A-Za-z_]+)(?::[a-z]+)?}")
_REF = "#/components/schemas/{name}"


def _parameters(endpoint: Endpoint, components: dict[str, Any]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": endpoint.path_docs.get(name, ""),
        }
        for name in _PATH_PARAM.findall(endpoint.path)
    ]
    if endpoint.query is not None:
        (schema,), defs = msgspec.json.schema_components([endpoint.query], ref_template=_REF)
        target = defs.get(endpoint.query.__name__, schema)
        for name, prop in target.get("properties", {}).items():
            params.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in target.get("required", []),
                    "schema": prop,
                }
            )
        defs.pop(endpoint.query.__name__, None)
        components.update(defs)
    return params


def build(groups: Sequence[tuple[Sequence[Endpoint], str, str]], title: str) -> dict[str, Any]:
    """One document for several route tables, each mounted under its prefix; operation ids
    get the group's id prefix, so two tables may name their handlers alike."""
    placed = [(e, prefix, ids) for endpoints, prefix, ids in groups for e in endpoints]
    types: list[Any] = [ErrorBody]
    for e, _, _ in placed:
        types.extend(t for t in (e.body, e.response) if t is not None)
    schemas, components = msgspec.json.schema_components(types, ref_template=_REF)
    by_type = dict(zip([id(t) for t in types], schemas, strict=True))  # same type, same schema
    error_ref = by_type[id(ErrorBody)]
    paths: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for e, prefix, ids in placed:
        operation_id = ids + e.handler.__name__
        if operation_id in seen:
            raise ValueError(f"operationId {operation_id} is used twice")
        seen.add(operation_id)
        op: dict[str, Any] = {
            "summary": e.summary,
            "operationId": operation_id,
            "tags": [e.tag],
            "parameters": _parameters(e, components),
            "responses": {},
        }
        if e.description:
            op["description"] = e.description
        if e.deprecated:
            op["deprecated"] = True
        if e.role is not None:
            op["security"] = [{"bearer": []}]
        if e.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": by_type[id(e.body)]}},
            }
        ok: dict[str, Any] = {"description": HTTPStatus(e.status).phrase}
        if e.response is not None:
            ok["content"] = {"application/json": {"schema": by_type[id(e.response)]}}
        op["responses"][str(e.status)] = ok
        for code in e.errors:
            op["responses"][str(code)] = {
                "description": HTTPStatus(code).phrase,
                "content": {"application/json": {"schema": error_ref}},
            }
        path = _PATH_PARAM.sub(r"{\1}", prefix + e.path)
        paths.setdefault(path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": __version__},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
