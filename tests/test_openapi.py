"""The API reference: two OpenAPI 3.1 documents (customer, operator) and Swagger UI 5.

What an integrator and schemathesis rely on: valid documents, every operation described
with examples that match its schemas, the operator API only in its own document, API
schema names, OAuth2 client credentials that work against the token endpoint, selectors
and id patterns the server agrees with, and the rate-limit and deprecation headers.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from m2mportal import API_BASE
from m2mportal.api.routes import ENDPOINTS as API_ENDPOINTS
from m2mportal.domain.identifiers import CHECKS, KINDS
from m2mportal.domain.instants import INSTANT_PATTERN, parse_instant
from m2mportal.gateway.limits import EXCEEDED
from m2mportal.gateway.openapi import IDENTIFIERS
from m2mportal.operator.routes import ENDPOINTS as OPERATOR_ENDPOINTS
from tests.helpers import TOKEN_PATH, World, error_list

OPERATOR_BASE = "/operator/v1"
CUSTOMER_DOCS = "/v3/api-docs"
OPERATOR_DOCS = "/v3/api-docs/operator"
DOCS = (CUSTOMER_DOCS, OPERATOR_DOCS)
METHODS = {"get", "post", "put", "patch", "delete"}
_ICCID = "89882806660004909182"
_EID = "89049066000000000000000000123422"
# Example values of path parameters, to call every operation.
PATH_VALUES = {
    "partnerId": "100013",
    "iccid": _ICCID,
    "signupId": "708855306",
    "transactionId": "1002946614",
    "clientId": "m2m-0000000000000000",
    "subscriptionId": "sub-00000000000000000000",
}


async def _document(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    answer = await client.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = answer.json()
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A JSON-schema validator for ``schema``, its references resolved in ``document``."""
    registry: Registry = Registry().with_resource(
        "urn:doc", Resource.from_contents(document, default_specification=DRAFT202012)
    )
    rooted = json.loads(json.dumps(schema).replace('"#/components/', '"urn:doc#/components/'))
    return Draft202012Validator(rooted, registry=registry)


def _examples(media: dict[str, Any]) -> list[Any]:
    found = [media["example"]] if "example" in media else []
    return found + [entry["value"] for entry in media.get("examples", {}).values()]


def _identifiers_in(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        found = [(k, v) for k, v in value.items() if k in KINDS and isinstance(v, str)]
        for item in value.values():
            found += _identifiers_in(item)
        return found
    if isinstance(value, list):
        return [pair for item in value for pair in _identifiers_in(item)]
    return []


def _path(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: PATH_VALUES[m.group(1)], path)


# --- the documents -------------------------------------------------------------------------


@pytest.mark.parametrize("path", DOCS)
async def test_both_documents_are_valid_openapi_3_1(client: httpx.AsyncClient, path: str) -> None:
    document = await _document(client, path)
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"] and document["info"]["version"]
    assert document["info"]["description"]
    validate(document)  # the OpenAPI 3.1 schema, refs resolved


async def test_each_api_is_in_its_own_document(client: httpx.AsyncClient) -> None:
    customer = (await _document(client, CUSTOMER_DOCS))["paths"]
    operator = (await _document(client, OPERATOR_DOCS))["paths"]
    for endpoint in API_ENDPOINTS:
        full = API_BASE + endpoint.path
        assert endpoint.method.lower() in customer.get(full, {}), f"{endpoint.method} {full}"
    for endpoint in OPERATOR_ENDPOINTS:
        full = OPERATOR_BASE + endpoint.path
        assert endpoint.method.lower() in operator.get(full, {}), f"{endpoint.method} {full}"
    assert all(path.startswith(API_BASE + "/") for path in customer)
    assert all(path.startswith(OPERATOR_BASE + "/") for path in operator)
    # The contract's customer paths (7.1-7.3, 7.6) by name, so one that leaves the table
    # is noticed too.
    for path in ("/partners/{partnerId}", "/partners/{partnerId}/sims",
                 "/partners/{partnerId}/sims/{iccid}", "/partners/{partnerId}/sims/details",
                 "/partners/{partnerId}/sims/actions/activation",
                 "/partners/{partnerId}/sims/actions/{signupId}"):  # fmt: skip
        assert API_BASE + path in customer, path


@pytest.mark.parametrize("path", DOCS)
async def test_every_operation_is_described_with_examples(
    client: httpx.AsyncClient, path: str
) -> None:
    document = await _document(client, path)
    ids = []
    for method, route, op in _operations(document):
        where = f"{method.upper()} {route}"
        ids.append(op["operationId"])
        assert op["summary"] and op["description"], where
        assert op["security"] == [{"oauth2": []}, {"bearer": []}], where
        path_params = {p["name"]: p for p in op["parameters"] if p["in"] == "path"}
        assert set(path_params) == set(re.findall(r"{(\w+)}", route)), where
        assert all(p["description"] and p["schema"] for p in path_params.values()), where
        if "requestBody" in op:
            media = op["requestBody"]["content"]["application/json"]
            assert _examples(media), f"{where}: no request example"
            assert {"400", "413", "415"} <= set(op["responses"]), where
        successes = [code for code in op["responses"] if code < "300"]
        assert successes, where
        for code, answer in op["responses"].items():
            assert answer["description"], (where, code)
            media = answer.get("content", {}).get("application/json")
            if media is not None:
                assert _examples(media), f"{where} {code}: no example"
            if code >= "400":
                assert media["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, where
        assert {"401", "403"} <= set(op["responses"]), where
    assert len(ids) == len(set(ids)), "operationIds repeat"


@pytest.mark.parametrize("path", DOCS)
async def test_examples_match_their_schemas(client: httpx.AsyncClient, path: str) -> None:
    document = await _document(client, path)
    checked = 0
    for method, route, op in _operations(document):
        medias = [op["requestBody"]["content"]["application/json"]] if "requestBody" in op else []
        medias += [a["content"]["application/json"] for a in op["responses"].values()
                   if "content" in a]  # fmt: skip
        for media in medias:
            validator = _validator(document, media["schema"])
            for example in _examples(media):
                errors = [e.message for e in validator.iter_errors(example)]
                assert not errors, f"{method.upper()} {route}: {errors}"
                for kind, value in _identifiers_in(example):
                    assert CHECKS[kind](value) is None, (route, kind, value)
                checked += 1
        for param in op["parameters"]:
            if "example" in param:
                assert _validator(document, param["schema"]).is_valid(param["example"]), param
    for name, schema in document["components"]["schemas"].items():
        for example in schema.get("examples", []):
            assert _validator(document, schema).is_valid(example), (name, example)
    assert checked >= len(_operations(document))


@pytest.mark.parametrize("path", DOCS)
async def test_schema_names_are_the_api_names(client: httpx.AsyncClient, path: str) -> None:
    document = await _document(client, path)
    schemas = document["components"]["schemas"]
    for name, schema in schemas.items():
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", name), f"schema name {name}"
        assert schema.get("title", name) == name
    text = json.dumps(document)
    assert "m2mportal." not in text
    for ref in re.findall(r'"\$ref": "([^"]+)"', text):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, f"dangling {ref}"
    expected = (
        {"ErrorBody", "Partner", "SimPage", "SimDetails", "SimSelector", "ActionAccepted",
         "DryRunResult", "ActionStatus", "Remarks", "RemarksChange", "Iccid"}
        if path == CUSTOMER_DOCS
        else {"ErrorBody", "NewSims", "NewApplication", "ApplicationCredentials"}
    )  # fmt: skip
    assert expected <= set(schemas)
    error = schemas["ErrorBody"]
    assert set(error["properties"]) == {"status", "message", "errors", "timestamp"}


# --- authorize: OAuth2 client credentials -----------------------------------------------------


@pytest.mark.parametrize("path", DOCS)
async def test_authorize_uses_client_credentials_at_the_token_endpoint(
    client: httpx.AsyncClient, path: str
) -> None:
    schemes = (await _document(client, path))["components"]["securitySchemes"]
    flow = schemes["oauth2"]["flows"]["clientCredentials"]
    assert list(schemes["oauth2"]["flows"]) == ["clientCredentials"]
    assert flow["tokenUrl"] == TOKEN_PATH
    assert {"openid", "profile"} <= set(flow["scopes"])
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}


@pytest.mark.parametrize("in_body", [False, True], ids=["basic-auth", "body"])
async def test_the_authorize_requests_get_a_token_that_works(
    world: World, client: httpx.AsyncClient, in_body: bool
) -> None:
    """Swagger UI's client-credentials request: form data with the scope, the client's
    credentials in an HTTP Basic header (its default) or in the body."""
    partner = await world.partner()
    app = await world.app(partner)
    form = {"grant_type": "client_credentials", "scope": "openid profile"}
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if in_body:
        form |= {"client_id": app["clientId"], "client_secret": app["clientSecret"]}
    else:
        pair = f"{app['clientId']}:{app['clientSecret']}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    answer = await client.post(TOKEN_PATH, data=form, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "openid profile"
    bearer = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    listing = await world.api("GET", f"/partners/{partner}/sims", bearer)
    assert listing.status_code == 200, listing.text


# --- exact enough for schemathesis --------------------------------------------------------------


async def _agree(
    client: httpx.AsyncClient,
    document: dict[str, Any],
    headers: dict[str, str],
    cases: list[tuple[str, str, str, Any, bool]],
) -> None:
    """For each (method, path template, path, body, valid): the document's verdict on the
    body is the server's (a valid body passes validation, an invalid one answers 400)."""
    for method, template, path, body, valid in cases:
        op = document["paths"][template][method]
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        assert _validator(document, schema).is_valid(body) == valid, (template, body)
        answer = await client.request(method.upper(), path, headers=headers, json=body)
        assert (answer.status_code != 400) == valid, (path, body, answer.text)


async def test_bodies_are_judged_by_the_document_as_by_the_server(
    world: World, client: httpx.AsyncClient
) -> None:
    """Exactly one identifier per selector, each action's own identifiers and rules."""
    document = await _document(client, CUSTOMER_DOCS)
    partner = await world.partner()
    sim = (await world.synthetic_sims(partner, 1))[0]
    headers = await world.headers_for(await world.app(partner))
    iccid, imsi = sim["iccid"], sim["imsi"]
    sims = f"{API_BASE}/partners/{{partnerId}}/sims"
    real = f"{API_BASE}/partners/{partner}/sims"

    def action(name: str, body: Any, valid: bool) -> tuple[str, str, str, Any, bool]:
        return ("post", f"{sims}/actions/{name}", f"{real}/actions/{name}?dryRun=true", body,
                valid)  # fmt: skip

    def details(body: Any, valid: bool) -> tuple[str, str, str, Any, bool]:
        return ("post", f"{sims}/details", f"{real}/details", body, valid)

    await _agree(client, document, headers, [
        details({"iccid": iccid}, True),
        details({"imsi": imsi, "iccid": None}, True),
        details({}, False),
        details({"iccid": iccid, "imsi": imsi}, False),
        details({"iccid": "1234"}, False),
        details({"serial": iccid}, False),
        action("suspend", {"sims": [{"iccid": iccid}]}, True),
        action("suspend", {"sims": [{"imsi": imsi}]}, False),
        action("suspend", {"sims": [{"iccid": iccid, "msisdn": "4915"}]}, False),
        action("suspend", {"sims": []}, False),
        action("activation", {"sims": [{"imsi": imsi}]}, True),
        action("bindeuiccid", {"sims": [{"iccid": iccid}], "unbind": True}, True),
        action("bindeuiccid", {"sims": [{"imsi": imsi}], "unbind": True}, False),
        action("bindeuiccid", {"sims": [{"iccid": iccid, "euiccid": None}]}, False),
        action("bindeuiccid", {"sims": [{"iccid": iccid, "euiccid": _EID}], "unbind": True},
               False),
        action("changeoption", {"sims": [{"iccid": iccid}] * 2, "fromOptionId": 1,
                                "toOptionId": 2}, False),
        action("modifyprofiles", {"sims": [{"iccid": iccid}], "staticIpsPerApn": []}, False),
        action("modifyprofiles", {"sims": [{"iccid": iccid}], "limitProfileId": None}, False),
        action("modifyprofiles", {"sims": [{"iccid": iccid}],
                                  "staticIpsPerApn": [{"apn": "a"}, {"apn": "a"}]}, False),
        action("modifyremarks", {"sims": [{"iccid": iccid}], "remarks": {"remark2": None}},
               False),
        action("modifyremarks", {"sims": [{"iccid": iccid}], "remarks": {"remark2": "x\u0000"}},
               False),
        action("modifyremarks", {"sims": [{"iccid": iccid}], "remarks": {"remark2": ""}}, True),
        # Issue 8 guards: a static IP is IPv4 in its one spelling, as the whitelist's.
        action("modifyprofiles", {"sims": [{"iccid": iccid}],
                                  "staticIpsPerApn": [{"apn": "a", "staticIp": "10.1.2.3"}]}, True),
        *(action("modifyprofiles", {"sims": [{"iccid": iccid}],
                                    "staticIpsPerApn": [{"apn": "a", "staticIp": ip}]}, False)
          for ip in ("::1", "999.1.1.1", "10.01.2.3", "a1.2.3.4", "")),
    ])  # fmt: skip


async def test_operator_bodies_are_judged_by_the_document_as_by_the_server(
    world: World, client: httpx.AsyncClient
) -> None:
    document = await _document(client, OPERATOR_DOCS)
    partner = await world.partner()
    limits = f"{OPERATOR_BASE}/partners/{{partnerId}}/limits"
    apps = f"{OPERATOR_BASE}/partners/{{partnerId}}/applications"
    sims = f"{OPERATOR_BASE}/partners/{{partnerId}}/sims"
    here = f"{OPERATOR_BASE}/partners/{partner}"
    twice = ["203.0.113.7", "203.0.113.7"]
    await _agree(client, document, world.operator, [
        ("put", limits, f"{here}/limits", {}, False),
        ("put", limits, f"{here}/limits", {"details": ["2000/6 minutes"]}, True),
        ("put", limits, f"{here}/limits", {"detail": ["2000/6 minutes"]}, False),
        ("put", limits, f"{here}/limits", {"sms": ["30/2 days"]}, False),
        ("post", apps, f"{here}/applications", {"name": "a", "ipWhitelist": twice}, False),
        ("post", apps, f"{here}/applications", {"name": "a\u0000"}, False),
        ("post", apps, f"{here}/applications", {"name": "a", "subunits": [partner]}, False),
        ("post", apps, f"{here}/applications", {"name": "a", "userType": "Subunit"}, False),
        ("post", sims, f"{here}/sims", {"sims": [{"iccid": ""}]}, False),
        ("post", sims, f"{here}/sims", {"sims": [{"iccid": _ICCID, "imsi": "26201"}]}, False),
        # Issue 8 guards: what the server refused while the document allowed it.
        ("put", limits, f"{here}/limits", {"actions": ["3/day", "9/day"]}, True),
        ("put", limits, f"{here}/limits", {"actions": ["3/day", "3/day"]}, False),
        ("post", apps, f"{here}/applications", {"name": "a", "eventTypes": ["simaction.v1"] * 2},
         False),
        ("post", sims, f"{here}/sims", {"sims": [{"iccid": _ICCID, "msisdn": "4915"}]}, False),
        ("post", sims, f"{here}/sims", {"sims": [{"iccid": _ICCID, "euiccid": _EID}]}, False),
        ("post", sims, f"{here}/sims", {"sims": [{"iccid": _ICCID, "remarks": {"a\u0000": "b"}}]},
         False),
        *(("post", sims, f"{here}/sims", {"sims": [{"iccid": _ICCID, "activationDate": day}]},
           False) for day in ("2025-02-30", "8470-12-00", "2025-08-28T24:00", "yesterday")),
        ("post", sims, f"{here}/sims", {"sims": [{"iccid": _ICCID, "status": "Active",
         "msisdn": "4915", "simType": "eSIM", "euiccid": _EID,
         "activationDate": "2024-02-29T10:00:00+02:00"}]}, True),
    ])  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_the_date_pattern_is_the_calendar(data: Any) -> None:
    """Every date or date-time the documents' pattern takes is one the server reads, and
    every real one of the years 1900 to 2999 is taken (so schemathesis's valid data is)."""
    taken = data.draw(st.from_regex(INSTANT_PATTERN, fullmatch=True))
    assert parse_instant(taken) is not None and parse_instant(taken, True) is not None, taken
    moment = data.draw(st.datetimes(datetime(1900, 1, 2), datetime(2999, 12, 30)))
    for text in (moment.date().isoformat(), moment.isoformat(timespec="seconds") + "Z"):
        assert re.fullmatch(INSTANT_PATTERN, text) and parse_instant(text) is not None, text


async def test_path_ids_and_query_parameters_have_patterns_and_bounds(
    client: httpx.AsyncClient,
) -> None:
    document = await _document(client, CUSTOMER_DOCS)
    for _, route, op in _operations(document):
        params = {p["name"]: p for p in op["parameters"]}
        if "partnerId" in params:
            assert params["partnerId"]["schema"]["pattern"] == "^[1-9][0-9]{0,17}$", route
        if "iccid" in params and params["iccid"]["in"] == "path":
            assert params["iccid"]["schema"] == {"$ref": "#/components/schemas/Iccid"}
        if "signupId" in params:
            assert params["signupId"]["schema"]["pattern"] == "^[1-9][0-9]{0,17}$", route
        for param in op["parameters"]:
            assert '"null"' not in json.dumps(param["schema"]), (route, param["name"])
    assert document["components"]["schemas"]["Iccid"]["pattern"] == "^89[0-9]{17,18}$"
    sims = document["paths"][API_BASE + "/partners/{partnerId}/sims"]["get"]
    query = {p["name"]: p["schema"] for p in sims["parameters"] if p["in"] == "query"}
    assert {"iccid", "euiccid", "imsi", "imei", "msisdn", "status", "tariffId", "subunitId",
            "remark", "page", "size", "after"} <= set(query)  # fmt: skip
    assert query["size"] == {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}
    assert query["page"]["minimum"] == 0 and query["page"]["type"] == "integer"
    assert query["after"] == {"$ref": "#/components/schemas/Iccid"}
    assert set(query["status"]["enum"]) == {
        "Inactive", "Active", "Suspended", "Blocked", "Terminated"
    }  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(KINDS), data=st.data())
def test_identifier_patterns_agree_with_the_identifier_rules(kind: str, data: Any) -> None:
    """A value the server takes matches the pattern, and a value matching the pattern is
    refused (if at all) only for its check digits."""
    pattern = IDENTIFIERS[kind][1]["pattern"]
    fitting = data.draw(st.from_regex(pattern, fullmatch=True, alphabet="0123456789"))
    assert CHECKS[kind](fitting) in (None, "check digit wrong", "check digits wrong")
    digits = data.draw(st.text("0123456789", max_size=34))
    if CHECKS[kind](digits) is None:
        assert re.fullmatch(pattern, digits)


async def test_rate_limit_answers_are_documented_as_the_server_sends_them(
    world: World, client: httpx.AsyncClient
) -> None:
    document = await _document(client, CUSTOMER_DOCS)
    details = document["paths"][API_BASE + "/partners/{partnerId}/sims/{iccid}"]["get"]
    ok_headers = details["responses"]["200"]["headers"]
    limit_headers = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
    assert all(ok_headers[name]["required"] for name in limit_headers)
    refused = details["responses"]["403"]
    assert {"Retry-After", *limit_headers} <= set(refused["headers"])
    example = refused["content"]["application/json"]["examples"]["limitExceeded"]["value"]

    partner = await world.partner()
    sim = (await world.synthetic_sims(partner, 1))[0]
    headers = await world.headers_for(await world.app(partner))
    limits = await world.op("PUT", f"/partners/{partner}/limits", json={"details": ["1/hour"]})
    assert limits.status_code == 200, limits.text
    first = await world.api("GET", f"/partners/{partner}/sims/{sim['iccid']}", headers)
    assert first.status_code == 200
    assert all(int(first.headers[name]) >= 0 for name in limit_headers)
    second = await world.api("GET", f"/partners/{partner}/sims/{sim['iccid']}", headers)
    assert error_list(second, 403, "FORBIDDEN") == [EXCEEDED]
    assert {**second.json(), "timestamp": example["timestamp"]} == example
    assert int(second.headers["Retry-After"]) >= 1
    for code, answer in details["responses"].items():
        assert "headers" in answer or code not in ("200", "403")

    for method, route, op in _operations(document):
        if "/sims/actions/" in route and method == "post":
            assert {"200", "202", "409"} <= set(op["responses"]), route
            # Seed: "standard methods w/o SIM Transfer" are limited; the transfer is not.
            limited = not route.endswith("/simtransfer")
            assert ("RateLimit-Limit" in op["responses"]["202"].get("headers", {})) is limited
            assert ("RateLimit-Limit" in op["responses"]["200"].get("headers", {})) is limited
            names = [p["name"] for p in op["parameters"] if p["in"] == "header"]
            assert names == ["Idempotency-Key"], route


async def test_the_deprecated_operation_documents_its_header(
    world: World, client: httpx.AsyncClient
) -> None:
    document = await _document(client, CUSTOMER_DOCS)
    deprecated = [(m, r, op) for m, r, op in _operations(document) if op.get("deprecated")]
    # CONTRACT 7.5: Check SIM in HLR is deprecated since 3.7.12, in both variants.
    assert sorted(r for _, r, _ in deprecated) == [
        API_BASE + "/partners/{partnerId}/apiusage",
        API_BASE + "/partners/{partnerId}/sims/hlr/check",
        API_BASE + "/partners/{partnerId}/sims/{iccid}/hlr/check",
    ]
    assert all(op["responses"]["200"]["headers"]["Deprecation"]["required"]
               for _, _, op in deprecated)  # fmt: skip
    partner = await world.partner()
    headers = await world.headers_for(await world.app(partner))
    answer = await world.api("GET", f"/partners/{partner}/apiusage", headers)
    assert answer.status_code == 200 and answer.headers["Deprecation"] == "true"


@pytest.mark.parametrize("path", DOCS)
async def test_unauthenticated_answers_are_documented(client: httpx.AsyncClient, path: str) -> None:
    """Every operation without a token: 401 with the error body, as its document says."""
    document = await _document(client, path)
    for method, route, op in _operations(document):
        answer = await client.request(method.upper(), _path(route))
        assert str(answer.status_code) in op["responses"], (method, route, answer.text)
        error_list(answer, 401, "UNAUTHORIZED")


# --- the Swagger UI page ----------------------------------------------------------------------


async def test_swagger_ui_5_offers_both_documents_offline(client: httpx.AsyncClient) -> None:
    page = await client.get("/swagger-ui/index.html")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    config = json.loads(re.search(r"const config = (\{.*\});", page.text).group(1))  # type: ignore[union-attr]
    assert config["urls"] == [
        {"url": CUSTOMER_DOCS, "name": "Customer API"},
        {"url": OPERATOR_DOCS, "name": "Operator API"},
    ]
    assert config["validatorUrl"] is None
    assert "initOAuth" in page.text and '"openid", "profile"' in page.text
    # Offline: every script and style comes from this server.
    assert not re.search(r"(src|href)=\"https?:", page.text)
    for asset in re.findall(r"(?:src|href)=\"(/swagger-ui/[^\"]+)\"", page.text):
        answer = await client.get(asset)
        assert answer.status_code == 200, asset
    bundle = await client.get("/swagger-ui/swagger-ui-bundle.js")
    assert "javascript" in bundle.headers["content-type"]
    version = re.search(r'PACKAGE_VERSION:"(\d+)\.', bundle.text)
    assert version and int(version.group(1)) >= 5, "Swagger UI 5 reads OpenAPI 3.1"
    assert (await client.get("/swagger-ui/swagger-initializer.js")).status_code == 404
    redirect = await client.get("/swagger-ui", follow_redirects=False)
    assert redirect.status_code in (301, 302, 307, 308)
    assert redirect.headers["location"].endswith("/swagger-ui/index.html")
