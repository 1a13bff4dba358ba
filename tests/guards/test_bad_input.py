"""A bad-input corpus sent to every operation of both OpenAPI documents: NUL, Unicode
digits, 2^63, 2^64 and -1, very long strings, in every path parameter, query parameter
and body field; malformed, empty, duplicate-key, deeply nested, wrongly typed and huge
bodies. The token endpoint gets the same in its form fields.

The oracle: never a 5xx; every 4xx carries the contract's error body (RFC 6749's at the
token endpoint); NUL is refused everywhere; a value the document does not allow is refused
(a 2xx for it is an answer outside the document); huge bodies are 413, other media types
415. A value the document allows may be accepted.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from http import HTTPStatus
from typing import Any

import httpx
import jsonschema

from tests.guards.conftest import (
    GuardWorld,
    Operation,
    Request,
    answer_of,
    effective,
    fill,
    operations,
)
from tests.helpers import TOKEN_PATH, error_list

INT64 = (-(2**63), 2**63 - 1)
FULLWIDTH = "\uff11\uff12"  # fullwidth one, two
ARABIC_INDIC = "\u0663"  # Arabic-Indic three
# Raw (already percent-encoded where it matters) so the app sees exactly these bytes.
PATH_CORPUS = {
    "NUL": "%00",
    "NUL inside": "1%002",
    "superscript three": "%C2%B3",
    "fullwidth digits": FULLWIDTH,
    "Arabic-Indic digit": ARABIC_INDIC,
    "2^63": str(2**63),
    "2^64": str(2**64),
    "-1": "-1",
    "10,000 digits": "1" * 10_000,
    "10,000 letters": "x" * 10_000,
}
# Decoded values (the client encodes them).
VALUE_CORPUS = {
    "NUL": "\x00",
    "NUL inside": "1\x002",
    "superscript three": "³",
    "fullwidth digits": FULLWIDTH,
    "Arabic-Indic digit": ARABIC_INDIC,
    "2^63": str(2**63),
    "2^64": str(2**64),
    "-1": "-1",
    "10,000 letters": "x" * 10_000,
}
JSON_CORPUS: dict[str, Any] = {
    "NUL": "a\x00b",
    "fullwidth digits": FULLWIDTH,
    "10,000 letters": "x" * 10_000,
    "2^63": 2**63,
    "2^64": 2**64,
    "-1": -1,
}
MAX_BODY = 16 * 1024 * 1024
TOKEN_MAX_BODY = 64 * 1024
RFC6749_ERRORS = {
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "access_denied",
}


class Corpus:
    """Sends the corpus and collects every problem instead of stopping at the first."""

    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.http = http
        self.headers = headers
        self.problems: list[str] = []
        self.sent = 0

    async def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        self.sent += 1
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await answer_of(self.http, method, url, headers=headers, **kwargs)

    def judge(
        self, where: str, answer: httpx.Response, allowed: bool, codes: tuple[int, ...] = ()
    ) -> None:
        """``allowed``: the document allows the value, so a 2xx is fine too."""
        status = answer.status_code
        why = None
        if status >= 500:
            why = "server error"
        elif codes and status not in codes:
            why = f"expected {codes}"
        elif status < 400 and not allowed:
            why = "accepted input the document does not allow"
        elif status >= 400:
            try:
                error_list(answer, status, HTTPStatus(status).name)
            except AssertionError as exc:
                why = f"not the contract's error body ({str(exc)[:120]})"
        if why:
            self.problems.append(f"{where} -> {status} {answer.text[:240]!r}: {why}")


# What the document allows


def _validator(op: Operation, schema: Any) -> jsonschema.Draft202012Validator:
    wrapped = {"allOf": [schema], "components": op.root.get("components", {})}
    return jsonschema.Draft202012Validator(wrapped, format_checker=jsonschema.FormatChecker())


def _sane(value: Any) -> bool:
    """Rules of the contract whatever a schema says: no NUL, integers fit 64 bits."""
    if isinstance(value, str):
        return "\x00" not in value
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return INT64[0] <= value <= INT64[1]
    if isinstance(value, dict):
        return all(_sane(k) and _sane(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_sane(v) for v in value)
    return True


def body_allowed(op: Operation, schema: Any, body: Any) -> bool:
    return _sane(body) and _validator(op, schema).is_valid(body)


def text_allowed(op: Operation, schema: Any, raw: str) -> bool:
    """A path, query or header value as sent on the wire: integers in ASCII digits only."""
    if not _sane(raw):
        return False
    candidates: list[Any] = [raw]
    if re.fullmatch(r"-?[0-9]+", raw):
        candidates.append(int(raw))
    if raw in ("true", "false"):
        candidates.append(raw == "true")
    validator = _validator(op, schema)
    return any(_sane(c) and validator.is_valid(c) for c in candidates)


# Mutations


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path, value


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):  # a field the body left out is added
        return {**value, head: _replaced(value.get(head), rest, new)}
    copy = list(value)
    copy[head] = _replaced(value[head], rest, new)
    return copy


def _duplicate_first_key(body: dict[str, Any]) -> bytes:
    key, value = next(iter(body.items()))
    pair = json.dumps(key) + ": " + json.dumps(value)
    rest = json.dumps(body)[1:-1]
    return ("{" + pair + ", " + rest + "}").encode()


async def _chunks(size: int) -> AsyncIterator[bytes]:
    """A body of ``size`` bytes without a Content-Length (chunked)."""
    block = b" " * (1024 * 1024)
    left = size
    while left > 0:
        yield block[: min(left, len(block))]
        left -= len(block)


def _huge(limit: int) -> bytes:
    return b'{"name": "' + b"x" * limit + b'"}'


async def _path_params(corpus: Corpus, op: Operation, request: Request) -> None:
    """No corpus value is an id, whatever a path schema says: 400, or 404 (no such path
    or object), never a 2xx."""
    filled = dict(zip(op.path_names(), _path_segments(op, request), strict=True))
    for name in op.path_names():
        for label, raw in PATH_CORPUS.items():
            path = op.path
            for other, value in filled.items():
                path = path.replace("{" + other + "}", raw if other == name else value)
            answer = await corpus.send(op.method, path, **request.send_kwargs())
            corpus.judge(f"{op.label} path {name}={label}", answer, allowed=False)


def _path_segments(op: Operation, request: Request) -> list[str]:
    pattern = re.escape(op.path)
    for name in op.path_names():
        pattern = pattern.replace(re.escape("{" + name + "}"), "([^/]+)")
    match = re.fullmatch(pattern, request.path)
    assert match, (op.path, request.path)
    return list(match.groups())


async def _query_params(corpus: Corpus, op: Operation, request: Request) -> None:
    for param in op.parameters("query"):
        schema = param.get("schema", {})
        for label, value in VALUE_CORPUS.items():
            params = {**request.params, param["name"]: value}
            kwargs = {**request.send_kwargs(), "params": params}
            answer = await corpus.send(op.method, request.path, **kwargs)
            allowed = text_allowed(op, schema, value)
            corpus.judge(f"{op.label} query {param['name']}={label}", answer, allowed)


async def _header_params(corpus: Corpus, op: Operation, request: Request) -> None:
    for param in op.parameters("header"):
        schema = param.get("schema", {})
        for label, value in {"10,000 letters": "x" * 10_000, "Latin-1 letter": "é"}.items():
            headers = {param["name"]: value.encode("latin-1")}
            answer = await corpus.send(
                op.method, request.path, headers=headers, **request.send_kwargs()
            )
            allowed = text_allowed(op, schema, value)
            corpus.judge(f"{op.label} header {param['name']}={label}", answer, allowed)


def _absent(
    op: Operation, schema: Any, value: Any, path: tuple[Any, ...] = ()
) -> Iterator[tuple[Any, ...]]:
    """Fields the schema knows that the filled body left out (optional ones), so every
    integer-ish and string place gets the corpus, not only the required ones."""
    schema = effective(op, schema)
    if isinstance(value, dict):
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                yield from _absent(op, sub, value[key], (*path, key))
            else:
                yield (*path, key)
    elif isinstance(value, list) and value:
        yield from _absent(op, schema.get("items", {}), value[0], (*path, 0))


async def _body_fields(corpus: Corpus, op: Operation, request: Request, schema: Any) -> None:
    body = request.body
    places = [path for path, _ in _leaves(body)] + list(_absent(op, schema, body))
    for path in places:
        where = "body " + ".".join(map(str, path))
        for label, value in JSON_CORPUS.items():
            mutated = _replaced(body, path, value)
            answer = await corpus.send(op.method, request.path, params=request.params, json=mutated)
            corpus.judge(f"{op.label} {where}={label}", answer, body_allowed(op, schema, mutated))
    if isinstance(body, dict) and body:
        mutated = {f"{next(iter(body))}\x00": 1, **body}
        answer = await corpus.send(op.method, request.path, params=request.params, json=mutated)
        corpus.judge(f"{op.label} body key with NUL", answer, allowed=False)


def _raw_bodies(body: Any) -> dict[str, bytes]:
    cases = {
        "malformed JSON": b'{"sims": [',
        "empty body": b"",
        "JSON null": b"null",
        "JSON array": b"[]",
        "JSON string": b'"x"',
        "raw NUL byte": b'{"name": "a\x00b"}',
        "invalid UTF-8": b'{"name": "\xff\xfe"}',
        "100,000 nested arrays": b"[" * 100_000 + b"]" * 100_000,
    }
    if isinstance(body, dict) and body:
        cases["duplicate key"] = _duplicate_first_key(body)
    return cases


async def _bodies(corpus: Corpus, op: Operation, request: Request, huge: bytes) -> None:
    for label, raw in _raw_bodies(request.body).items():
        answer = await corpus.send(
            op.method,
            request.path,
            params=request.params,
            content=raw,
            headers={"Content-Type": "application/json"},
        )
        corpus.judge(f"{op.label} {label}", answer, allowed=False)
    encoded = json.dumps(request.body).encode()
    for media in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        answer = await corpus.send(
            op.method,
            request.path,
            params=request.params,
            content=encoded,
            headers={"Content-Type": media},
        )
        corpus.judge(f"{op.label} Content-Type {media}", answer, False, (415,))
    json_type = {"Content-Type": "application/json"}
    answer = await corpus.send(
        op.method, request.path, params=request.params, content=huge, headers=json_type
    )
    corpus.judge(f"{op.label} body of 16 MiB + 12 bytes", answer, False, (413,))
    answer = await corpus.send(
        op.method,
        request.path,
        params=request.params,
        content=_chunks(len(huge)),
        headers=json_type,
    )
    corpus.judge(f"{op.label} chunked body of 16 MiB + 12 bytes", answer, False, (413,))


async def _operation(corpus: Corpus, guard: GuardWorld, op: Operation, huge: bytes) -> None:
    request = fill(guard, op, guard.objects(guard.victim))
    if op.method != "DELETE":
        # The corpus would pass vacuously if the caller were refused whatever it sent.
        answer = await corpus.send(op.method, request.path, **request.send_kwargs())
        if answer.status_code in (401, 403):
            corpus.problems.append(f"{op.label}: the filled request is refused: {answer.text}")
    await _path_params(corpus, op, request)
    await _query_params(corpus, op, request)
    await _header_params(corpus, op, request)
    schema = op.body_schema()
    if schema is not None:
        await _body_fields(corpus, op, request, schema)
        await _bodies(corpus, op, request, huge)


def _report(corpus: Corpus) -> str:
    return f"{len(corpus.problems)} of {corpus.sent} answers wrong:\n" + "\n".join(corpus.problems)


async def test_customer_api_refuses_bad_input(guard: GuardWorld, documents: dict[str, Any]) -> None:
    corpus = Corpus(guard.world.http, guard.victim_headers)
    huge = _huge(MAX_BODY)
    for op in operations(documents["customer"], "customer"):
        await _operation(corpus, guard, op, huge)
    assert not corpus.problems, _report(corpus)


async def test_operator_api_refuses_bad_input(guard: GuardWorld, documents: dict[str, Any]) -> None:
    corpus = Corpus(guard.world.http, guard.world.operator)
    huge = _huge(MAX_BODY)
    for op in operations(documents["operator"], "operator"):
        await _operation(corpus, guard, op, huge)
    assert not corpus.problems, _report(corpus)


# The token endpoint: RFC 6749 error bodies


def _rfc6749(answer: httpx.Response) -> str | None:
    """What is wrong with an OAuth error answer, or None."""
    if answer.status_code >= 500:
        return "server error"
    if not 400 <= answer.status_code < 500:
        return "accepted"
    try:
        body = answer.json()
    except ValueError:
        return "not JSON"
    if not isinstance(body, dict) or body.get("error") not in RFC6749_ERRORS:
        return "not an RFC 6749 error body"
    if not isinstance(body.get("error_description", ""), str):
        return "error_description is not a string"
    if "no-store" not in answer.headers.get("cache-control", ""):
        return "no Cache-Control: no-store"
    return None


async def test_token_endpoint_refuses_bad_input(guard: GuardWorld) -> None:
    http = guard.world.http
    client_id, secret = guard.victim.app["clientId"], guard.victim.app["clientSecret"]
    valid = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": secret,
        "scope": "openid profile",
    }
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    cases: dict[str, dict[str, Any]] = {}
    for field in valid:
        for label, value in VALUE_CORPUS.items():
            cases[f"{field}={label}"] = {"data": {**valid, field: value}}
        cases[f"{field} twice"] = {
            "content": str(httpx.QueryParams([*valid.items(), (field, valid[field])])),
            "headers": form_type,
        }
    cases.update(
        {
            "empty body": {"content": b"", "headers": form_type},
            "malformed form": {"content": b"%zz&&==&grant_type", "headers": form_type},
            "invalid UTF-8": {"content": b"grant_type=\xff\xfe", "headers": form_type},
            "JSON body": {"json": valid},
            "text/plain": {
                "content": str(httpx.QueryParams(valid)),
                "headers": {"Content-Type": "text/plain"},
            },
            "body of 64 KiB + 1": {
                "data": {**valid, "pad": "x" * TOKEN_MAX_BODY},
            },
            "Basic with NUL": {
                "data": {"grant_type": "client_credentials"},
                "auth": (client_id + "\x00", secret),
            },
        }
    )
    problems = []
    for label, kwargs in cases.items():
        headers = kwargs.pop("headers", None)
        answer = await answer_of(http, "POST", TOKEN_PATH, headers=headers, **kwargs)
        if why := _rfc6749(answer):
            problems.append(
                f"token endpoint {label} -> {answer.status_code} {answer.text[:200]}: {why}"
            )
    assert not problems, f"{len(problems)} of {len(cases)} answers wrong:\n" + "\n".join(problems)
