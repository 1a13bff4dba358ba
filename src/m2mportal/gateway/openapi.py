"""The OpenAPI 3.1 documents, built once at start-up from the route tables' msgspec types.

One document per route table (CONTRACT §1): the customer API's and the operator API's.
Each says what a client may rely on and what schemathesis checks: id patterns, exactly
one identifier per SIM selector, every status the gateway answers (with the error body),
the rate-limit headers, and examples (the tests validate them against the schemas).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, get_args

import msgspec

from m2mportal import __version__
from m2mportal.domain.actions import Remarks as RemarksChange
from m2mportal.domain.identifiers import KINDS
from m2mportal.gateway.endpoints import MAX_BODY_BYTES, Endpoint
from m2mportal.gateway.inputs import (
    HEADER_PATTERNS,
    MAX_HEADER_CHARS,
    MAX_PATH_CHARS,
    MAX_QUERY_CHARS,
)
from m2mportal.gateway.limits import EXCEEDED
from m2mportal.models import ErrorBody, NewSim, SimSelector, SimStatus

_PATH_PARAM = re.compile(r"{([A-Za-z_]+)(?::[a-z]+)?}")
_REF = "#/components/schemas/{name}"
TOKEN_SUFFIX = "/protocol/openid-connect/token"
SCOPES = {
    "openid": "OpenID Connect: the token carries the client as `sub` and `azp`",
    "profile": "The partner and its rights as claims (`partnerId`, `subunits`, `readOnly`)",
}
_TIMESTAMP = "2025-08-28 11:25:49"
_NUMERIC_ID = r"^[1-9][0-9]{0,17}$"
# What the edge refuses (gateway/inputs.py): a NUL in any string of a JSON body; a control
# character in a query value.
_NO_NUL = "^[^\\u0000]*$"
_NO_CONTROL = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"


@dataclass(frozen=True)
class Document:
    """What differs between the two documents."""

    title: str
    description: str
    prefix: str  # every path of the table is mounted under it
    operation_prefix: str  # operationIds of the operator API start "operator_"
    token_url: str
    client: str  # which client credentials "Authorize" takes
    tags: dict[str, str] = field(default_factory=dict)


def ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(name=name)}


# CONTRACT §6. The patterns are what a value must look like; check digits (Luhn, mod 97)
# are beyond a pattern and answer 400 naming the field.
IDENTIFIERS: dict[str, tuple[str, dict[str, Any]]] = {
    "iccid": ("Iccid", {
        "type": "string", "pattern": "^89[0-9]{17,18}$",
        "description": "ICCID: 19 or 20 digits starting 89; a 20-digit ICCID ends in a Luhn"
        " check digit", "examples": ["89882806660004909182"]}),
    "euiccid": ("Euiccid", {
        "type": "string", "pattern": "^[0-9]{32}$",
        "description": "eUICCID (EID): 32 digits, the number mod 97 equals 1 (GSMA SGP.29)",
        "examples": ["89049066000000000000000000123422"]}),
    "imsi": ("Imsi", {
        "type": "string", "pattern": "^[0-9]{14,15}$",
        "description": "IMSI: 14 or 15 digits (MCC, MNC, MSIN)", "examples": ["262016660490918"]}),
    "imei": ("Imei", {
        "type": "string", "pattern": "^[0-9]{15,16}$",
        "description": "IMEI (15 digits, Luhn check digit) or IMEISV (16 digits); both select"
        " the device by the first 14 digits", "examples": ["352099001761481"]}),
    "msisdn": ("Msisdn", {
        "type": "string", "pattern": "^[1-9][0-9]{0,14}$",
        "description": "MSISDN: E.164 digits without '+', at most 15",
        "examples": ["491511234567"]}),
}  # fmt: skip


def selector(kinds: Sequence[str]) -> dict[str, Any]:
    """Exactly one identifier of ``kinds`` selects a SIM; the other identifiers are absent
    (or null, which the server reads as absent)."""
    return {
        "oneOf": [
            {
                "title": f"by {kind}",
                "type": "object",
                "required": [kind],
                "properties": {
                    other: ref(IDENTIFIERS[other][0]) if other == kind else {"type": "null"}
                    for other in KINDS
                },
                "additionalProperties": False,
            }
            for kind in kinds
        ]
    }


def sims_rules(kinds: Sequence[str], single: bool = False) -> dict[str, Any]:
    """``body_schema`` of a SIM action: each entry of ``sims`` selects one SIM by exactly
    one of ``kinds``; a single-SIM action takes one."""
    sims: dict[str, Any] = {"items": selector(kinds)}
    if single:
        sims["maxItems"] = 1
    return {"properties": {"sims": sims}}


def binding_rules() -> dict[str, Any]:
    """``body_schema`` of bindeuiccid: each SIM by ICCID with the eUICCID to bind, or with
    none when ``unbind`` is true."""

    def entries(euiccid: dict[str, Any], required: list[str]) -> dict[str, Any]:
        entry = {
            "type": "object",
            "required": required,
            "properties": {"iccid": ref("Iccid"), "euiccid": euiccid},
            "additionalProperties": False,
        }
        return {"items": entry}

    return {
        "properties": {"sims": {"items": {"type": "object"}}},
        "oneOf": [
            {
                "title": "bind",
                "properties": {
                    "unbind": {"const": False},
                    "sims": entries(ref("Euiccid"), ["iccid", "euiccid"]),
                },
            },
            {
                "title": "unbind",
                "required": ["unbind"],
                "properties": {
                    "unbind": {"const": True},
                    "sims": entries({"type": "null"}, ["iccid"]),
                },
            },
        ],
    }


def merge(schema: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with ``extra``'s keywords; ``properties`` are merged field by field."""
    merged = {**schema, **{k: v for k, v in extra.items() if k != "properties"}}
    if "properties" in extra:
        properties = dict(schema.get("properties", {}))
        for name, more in extra["properties"].items():
            properties[name] = {**properties.get(name, {}), **more}
        merged["properties"] = properties
    return merged


ACTIVATED = [status for status in get_args(SimStatus) if status != "Inactive"]
# Rules a type's msgspec schema cannot carry, merged into its component wherever it is used.
_EXTRA: dict[Any, dict[str, Any]] = {
    SimSelector: {"description": "Exactly one identifier selects a SIM.", **selector(KINDS)},
    RemarksChange: {
        "description": "At least one remark; an empty string clears that remark.",
        "anyOf": [
            {"required": [name], "properties": {name: {"type": "string"}}}
            for name in ("remark1", "remark2", "remark3", "remark4", "remark5")
        ],
    },
    NewSim: {
        "properties": {
            kind: ref(IDENTIFIERS[kind][0])
            if kind == "iccid"
            else {"anyOf": [ref(IDENTIFIERS[kind][0]), {"type": "null"}]}
            for kind in KINDS
        },
        # services/inventory.py record_errors: what one record may combine.
        "allOf": [
            {
                "title": "an eUICCID only on an eSIM",
                "anyOf": [
                    {"required": ["simType"], "properties": {"simType": {"const": "eSIM"}}},
                    {"properties": {"euiccid": {"type": "null"}}},
                ],
            },
            {
                "title": "an MSISDN only once activated (not Inactive, the default)",
                "anyOf": [
                    {"required": ["status"], "properties": {"status": {"enum": ACTIVATED}}},
                    {"properties": {"msisdn": {"type": "null"}}},
                ],
            },
        ],
    },
}
# msgspec names a component by its module path when two types share a name.
_ALIASES = {
    "m2mportal.models.Remarks": "Remarks",
    "m2mportal.domain.actions.Remarks": "RemarksChange",
}

_PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "partnerId": {"type": "string", "pattern": _NUMERIC_ID, "examples": ["100013"]},
    "iccid": ref("Iccid"),
    "signupId": {"type": "string", "pattern": _NUMERIC_ID, "examples": ["708855306"]},
    "transactionId": {"type": "string", "pattern": _NUMERIC_ID, "examples": ["1002946614"]},
}
_PATH_TEXT = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_PATH_CHARS,
    "pattern": _NO_CONTROL,
}
_PATH_DOCS = {
    "partnerId": "The partner: the application's own or one of its subunits (else 403)",
    "iccid": "The SIM's ICCID",
    "signupId": "The action's id, as answered by the action request",
    "transactionId": "The SIM transfer's id, as answered by the simtransfer action",
    "clientId": "The application's (REST) client id",
    "subscriptionId": "The subscription's id, as listed by the application",
}
# Query parameters holding an identifier; `after` is the last ICCID of the previous page.
_QUERY_IDENTIFIERS = {**{kind: kind for kind in KINDS}, "after": "iccid"}

_HEADERS: dict[str, dict[str, Any]] = {
    "Idempotency-Key": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "A repeat with the same key and body within 24 h answers the first"
        " signupId and starts nothing; the same key with another body is 409. Printable"
        " ASCII, no space at either end.",
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_HEADER_CHARS["Idempotency-Key"],
            "pattern": HEADER_PATTERNS["Idempotency-Key"],
        },
        "example": "3f8a2c1e-suspend-batch-17",
    }
}
_INT_HEADER = {"type": "integer", "minimum": 0}
_RATE_HEADERS = {
    "RateLimit-Limit": "SIMs the tighter window of this call's class allows",
    "RateLimit-Remaining": "SIMs left in that window",
    "RateLimit-Reset": "Seconds until that window has room again",
}
_RETRY_AFTER = {
    "description": "Seconds to wait before the budget has room again",
    "schema": _INT_HEADER,
}

_ERRORS: dict[int, tuple[str, str, list[str]]] = {
    400: ("Invalid request: each invalid field is named", "Validation failed",
          ["sims[3].iccid: check digit wrong"]),
    401: ("No valid access token", "Unauthorized",
          ["missing Authorization header with a Bearer token"]),
    403: ("Outside the application's scope, read-only application, address not whitelisted",
          "Access denied", ["partner 100014 is outside this application's scope"]),
    404: ("Not found (or outside the caller's scope)", "Not found",
          ["no SIM 89882806660004909182"]),
    409: ("Conflict", "Conflict", ["the request conflicts with the current state"]),
    413: ("Request body too large", "Payload too large",
          [f"body: at most {MAX_BODY_BYTES} bytes"]),
    415: ("Request body is not JSON", "Unsupported media type",
          ["Content-Type must be application/json"]),
}  # fmt: skip


def error_example(code: int, message: str, errors: list[str]) -> dict[str, Any]:
    return {
        "status": HTTPStatus(code).name,
        "message": message,
        "errors": errors,
        "timestamp": _TIMESTAMP,
    }


LIMIT_EXCEEDED = error_example(403, "Limit exceeded", [EXCEEDED])


def _walk_refs(node: Any, rename: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {key: _walk_refs(value, rename) for key, value in node.items()}
        target = out.get("$ref")
        if isinstance(target, str) and target.startswith("#/components/schemas/"):
            name = target.rsplit("/", 1)[1]
            out["$ref"] = _REF.format(name=rename.get(name, name))
        return out
    if isinstance(node, list):
        return [_walk_refs(item, rename) for item in node]
    return node


def referenced(node: Any) -> set[str]:
    """Names of the component schemas ``node`` refers to."""
    if isinstance(node, dict):
        found = set()
        target = node.get("$ref")
        if isinstance(target, str):
            found.add(target.rsplit("/", 1)[1])
        for value in node.values():
            found |= referenced(value)
        return found
    if isinstance(node, list):
        return set().union(*(referenced(item) for item in node)) if node else set()
    return set()


def _no_nul(node: Any) -> None:
    """Every free-text string and key under ``node`` refuses NUL, as the edge does."""
    if isinstance(node, list):
        for item in node:
            _no_nul(item)
    elif isinstance(node, dict):
        said = {"pattern", "enum", "const", "format", "$ref"}
        if node.get("type") == "string" and not said & set(node):
            node["pattern"] = _NO_NUL
        if node.get("type") == "object" and node.get("additionalProperties") is not False:
            node["propertyNames"] = {"pattern": _NO_NUL}  # the keys it may take besides
        for key, value in node.items():
            if key not in ("examples", "default", "const", "enum"):
                _no_nul(value)


def _refuse_nul(bodies: list[dict[str, Any]], components: dict[str, Any]) -> None:
    """The NUL rule on the request bodies and every component they reach."""
    for name in _reachable(bodies, components):
        if name in components:
            _no_nul(components[name])
    _no_nul(bodies)


def _api_names(components: dict[str, Any]) -> dict[str, str]:
    rename = {}
    for name in components:
        if "." in name:
            if name not in _ALIASES:
                raise ValueError(f"schema {name}: two types share a name; add an API name")
            rename[name] = _ALIASES[name]
    return rename


def _query_schema(name: str, prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema: an identifier's where it holds one, else the type
    without msgspec's `null` alternative (an absent parameter is the null)."""
    if name in _QUERY_IDENTIFIERS:
        return ref(IDENTIFIERS[_QUERY_IDENTIFIERS[name]][0])
    schema = prop
    if "anyOf" in prop:
        options = [o for o in prop["anyOf"] if o.get("type") != "null"]
        schema = dict(options[0]) if len(options) == 1 else {"anyOf": options}
    if schema.get("type") == "string" and not {"pattern", "enum", "format"} & set(schema):
        limit = min(schema.get("maxLength", MAX_QUERY_CHARS), MAX_QUERY_CHARS)
        schema = {**schema, "pattern": _NO_CONTROL, "maxLength": limit}
    return schema


def _parameters(endpoint: Endpoint, components: dict[str, Any]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": _PATH_SCHEMAS.get(name, _PATH_TEXT),
            "description": endpoint.path_docs.get(name, _PATH_DOCS.get(name, name)),
        }
        for name in _PATH_PARAM.findall(endpoint.path)
    ]
    if endpoint.query is not None:
        (schema,), defs = msgspec.json.schema_components([endpoint.query], ref_template=_REF)
        target = defs.pop(endpoint.query.__name__, schema)
        for name, prop in target.get("properties", {}).items():
            param = {
                "name": name,
                "in": "query",
                "required": name in target.get("required", []),
                "schema": _query_schema(name, prop),
            }
            if "description" in prop:
                param["description"] = prop["description"]
            params.append(param)
        components.update(defs)
    params.extend(_HEADERS[name] for name in endpoint.request_headers)
    return params


def _error_codes(e: Endpoint) -> list[int]:
    """Every error status the gateway itself can answer for ``e``, plus its own."""
    codes = set(e.errors) | {code for code in e.answers if code >= 400}
    if e.role is not None:
        codes |= {401, 403}
    if _PATH_PARAM.search(e.path) or e.query is not None or e.body is not None:
        codes.add(400)
    if e.body is not None:
        codes |= {413, 415}
    return sorted(codes)


def _error_response(e: Endpoint, code: int, error_ref: dict[str, str]) -> dict[str, Any]:
    description, message, errors = _ERRORS.get(code, (HTTPStatus(code).phrase, "", []))
    example: Any = error_example(code, message or HTTPStatus(code).phrase, errors)
    if code in e.answers:
        description, _, example = e.answers[code]
    content: dict[str, Any] = {"schema": error_ref}
    answer: dict[str, Any] = {"description": description, "content": {"application/json": content}}
    if code == 403 and e.rate_class is not None:
        answer["description"] += (
            f'; or the partner\'s `{e.rate_class}` budget is used up ("Limit exceeded",'
            " with Retry-After)"
        )
        content["examples"] = {
            "limitExceeded": {"summary": "Rate limit exceeded", "value": LIMIT_EXCEEDED},
            "accessDenied": {"summary": "Access denied", "value": example},
        }
        answer["headers"] = {
            "Retry-After": _RETRY_AFTER,
            **{
                name: {"description": d, "schema": _INT_HEADER} for name, d in _RATE_HEADERS.items()
            },
        }
    else:
        content["example"] = example
    if code == 401:
        answer["headers"] = {
            "WWW-Authenticate": {"description": "`Bearer error=...`", "schema": {"type": "string"}}
        }
    return answer


def _success_headers(e: Endpoint) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if e.rate_class is not None:
        for name, description in _RATE_HEADERS.items():
            headers[name] = {"description": description, "required": True, "schema": _INT_HEADER}
    if e.deprecated:
        headers["Deprecation"] = {
            "description": "This operation is deprecated (RFC 9745)",
            "required": True,
            "schema": {"type": "string", "enum": ["true"]},
        }
    return headers


def _content(schema: Any, example: Any) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def _rate_note(e: Endpoint) -> str:
    if e.rate_class is None:
        return ""
    return (
        f"\n\nRate limited: counts against the partner's `{e.rate_class}` budget in SIMs"
        "; the answer carries `RateLimit-Limit`, `RateLimit-Remaining` and"
        ' `RateLimit-Reset`, and a call over the budget answers 403 "Limit exceeded" with'
        " `Retry-After`."
    )


def build(endpoints: Sequence[Endpoint], doc: Document) -> dict[str, Any]:
    types: list[Any] = [ErrorBody]
    for e in endpoints:
        types.extend(t for t in (e.body, e.response) if t is not None)
        types.extend(t for _, t, _ in e.answers.values() if t is not None)
    # The _EXTRA types too, so nested ones get their component names (unused ones are
    # dropped at the end).
    named = [*types, *_EXTRA]
    schemas, components = msgspec.json.schema_components(named, ref_template=_REF)
    by_type = dict(zip([id(t) for t in named], schemas, strict=True))  # same type, same schema
    names = {
        id(t): s["$ref"].rsplit("/", 1)[1]
        for t, s in zip(named, schemas, strict=True)
        if "$ref" in s
    }
    for kind, extra in _EXTRA.items():
        if id(kind) in names:
            name = names[id(kind)]
            components[name] = merge(components[name], copy.deepcopy(extra))
    patched: dict[str, dict[str, Any]] = {}
    bodies: list[dict[str, Any]] = []
    paths: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for e in endpoints:
        operation_id = doc.operation_prefix + e.handler.__name__
        if operation_id in seen:
            raise ValueError(f"operationId {operation_id} is used twice")
        seen.add(operation_id)
        op: dict[str, Any] = {
            "summary": e.summary,
            "description": (e.description or e.summary) + _rate_note(e),
            "operationId": operation_id,
            "tags": [e.tag],
            "parameters": _parameters(e, components),
        }
        if e.deprecated:
            op["deprecated"] = True
        if e.role is not None:
            op["security"] = [{"oauth2": []}, {"bearer": []}]
        if e.body is not None:
            body = by_type[id(e.body)]
            if e.body_schema and id(e.body) in names:
                name = names[id(e.body)]
                if patched.setdefault(name, e.body_schema) != e.body_schema:
                    raise ValueError(f"{name}: one body type, two rules; give each its own type")
                components[name] = merge(components[name], e.body_schema)
            elif e.body_schema:
                body = merge(body, e.body_schema)
            bodies.append(body)
            op["requestBody"] = {"required": True, "content": _content(body, e.request_example)}
        responses: dict[str, Any] = {}
        answers = {e.status: ("", e.response, e.response_example), **e.answers}
        for code, (description, kind, example) in sorted(answers.items()):
            if code >= 400:
                continue
            answer: dict[str, Any] = {"description": description or HTTPStatus(code).phrase}
            if kind is not None:
                answer["content"] = _content(by_type[id(kind)], example)
            if headers := _success_headers(e):
                answer["headers"] = headers
            responses[str(code)] = answer
        for code in _error_codes(e):
            responses[str(code)] = _error_response(e, code, by_type[id(ErrorBody)])
        op["responses"] = responses
        path = _PATH_PARAM.sub(r"{\1}", doc.prefix + e.path)
        paths.setdefault(path, {})[e.method.lower()] = op
    _refuse_nul(bodies, components)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": doc.title, "version": __version__, "description": doc.description},
        "tags": [
            {"name": name, "description": text}
            for name, text in doc.tags.items()
            if any(e.tag == name for e in endpoints)
        ],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "oauth2": {
                    "type": "oauth2",
                    "description": doc.client,
                    "flows": {"clientCredentials": {"tokenUrl": doc.token_url, "scopes": SCOPES}},
                },
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An access token from the token endpoint, pasted as is",
                },
            },
        },
    }
    document = _walk_refs(document, _api_names(components))
    schemas_out = document["components"]["schemas"]
    for old in list(schemas_out):
        if old in _ALIASES:
            schemas_out[_ALIASES[old]] = schemas_out.pop(old)
            schemas_out[_ALIASES[old]]["title"] = _ALIASES[old]
    for name, schema in IDENTIFIERS.values():
        schemas_out[name] = {"title": name, **schema}
    used = _reachable(document["paths"], schemas_out)
    document["components"]["schemas"] = {k: v for k, v in schemas_out.items() if k in used}
    return document


def _reachable(root: Any, schemas: dict[str, Any]) -> set[str]:
    """The component schemas ``root`` uses, directly or through other components."""
    todo, done = referenced(root), set()
    while todo:
        name = todo.pop()
        done.add(name)
        todo |= referenced(schemas.get(name, {})) - done
    return done
