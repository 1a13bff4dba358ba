"""Inputs checked once, at the edge, the same whatever database is behind.

PostgreSQL refuses a NUL character in text and a number beyond 64 bits, SQLite stores
the first and overflows on the second: both became 500s deep inside a handler. Here every
path parameter, query value and JSON body is checked before a handler runs, and each
problem is a 400 naming its field:

- numeric path ids: ASCII digits in their one spelling, 1 to 2^63-1;
- other path parameters and every query value: no control character, bounded length,
  given once; integer query fields spelled as for ids;
- JSON bodies: no NUL (``\\u0000``) in any string or key, no key twice in one object.

The checks cost nothing on a call without a query string or a body beyond looking at
the path parameters, which the hot path (GET SIM details) parses anyway.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from starlette.requests import Request
from starlette.types import Scope

from m2mportal.clock import iso
from m2mportal.domain.errors import bad_request
from m2mportal.domain.identifiers import MAX_ID, check_id, check_number
from m2mportal.domain.instants import INSTANT_RULE, parse_instant
from m2mportal.gateway.errors import validation_problem

# Path parameters that name a numeric id; the others are opaque text (ICCIDs, client ids).
NUMERIC_PATH_PARAMS = frozenset({"partnerId", "signupId", "transactionId"})
MAX_PATH_CHARS = 200
MAX_QUERY_CHARS = 2000
# C0 and C1 control characters (NUL included) and DEL: never part of a value a caller means.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NUL_ESCAPE = b"\\u0000"


def _name(key: str) -> str:
    """A parameter name fit for an error message (a name with controls is shown escaped)."""
    return ascii(key) if _CONTROL.search(key) else key


def text_problem(value: str, max_chars: int) -> str | None:
    if _CONTROL.search(value):
        return "must not contain control characters (NUL, line breaks, ...)"
    if len(value) > max_chars:
        return f"at most {max_chars} characters"
    return None


def path_ids(params: Mapping[str, str]) -> dict[str, int]:
    """The path's numeric ids; every parameter checked (400 naming each bad one).

    On every call of the hot path: the common case is tested inline (0.7 us for a
    partnerId and an ICCID), the messages are made only for a bad value.
    """
    ids: dict[str, int] = {}
    problems: list[str] = []
    for name, value in params.items():
        if name in NUMERIC_PATH_PARAMS:
            if value.isascii() and value.isdigit() and value[0] != "0" and len(value) < 20:
                number = int(value)
                if number <= MAX_ID:
                    ids[name] = number
                    continue
            problem = check_id(value)
        elif len(value) <= MAX_PATH_CHARS and (
            (value.isascii() and value.isprintable()) or not _CONTROL.search(value)
        ):
            continue
        else:
            problem = text_problem(value, MAX_PATH_CHARS)
        problems.append(f"{name}: {problem}")
    if problems:
        raise bad_request(*problems)
    return ids


def _int_fields(query_type: Any) -> frozenset[str]:
    info = msgspec.inspect.type_info(query_type)
    assert isinstance(info, msgspec.inspect.StructType)
    names = set()
    for struct_field in info.fields:
        kinds = struct_field.type
        options = kinds.types if isinstance(kinds, msgspec.inspect.UnionType) else (kinds,)
        if any(isinstance(t, msgspec.inspect.IntType) for t in options):
            names.add(struct_field.encode_name)
    return frozenset(names)


def _field_names(query_type: Any) -> dict[str, str]:
    """The query's parameter names and the attributes holding them."""
    info = msgspec.inspect.type_info(query_type)
    assert isinstance(info, msgspec.inspect.StructType)
    return {f.encode_name: f.name for f in info.fields}


class QueryReader:
    """Decodes one endpoint's query string into its Struct (``None``: it takes none)."""

    def __init__(self, query_type: Any) -> None:
        self.type = query_type
        # msgspec's lenient conversion takes "1e3", "5.0" and "-0" for integers.
        self.ints = _int_fields(query_type) if query_type is not None else frozenset()
        self.fields = _field_names(query_type) if query_type is not None else {}

    def read(self, request: Request) -> Any:
        values: dict[str, str] = {}
        if request.scope["query_string"]:
            values = _query_values(request, self.ints)
        if self.type is None:
            return None
        try:
            query = msgspec.convert(values, self.type, strict=False)
        except msgspec.ValidationError as exc:
            raise bad_request(validation_problem(exc, "query")) from exc
        # The lax conversion reads "null" as None where a field may be None (an enum, an
        # integer): a value given is never taken for one left out.
        if problems := [
            f"{_name(key)}: {value!r} is not a value of this parameter (leave it out instead)"
            for key, value in values.items()
            if key in self.fields and getattr(query, self.fields[key]) is None
        ]:
            raise bad_request(*problems)
        return query


def _query_values(request: Request, ints: frozenset[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    problems: list[str] = []
    # The pairs Starlette's QueryParams holds, without building it (two dicts and a list
    # copied over: a twentieth of a SIM list page's time in process).
    pairs = parse_qsl(request.scope["query_string"].decode("latin-1"), keep_blank_values=True)
    for key, value in pairs:
        name = _name(key)
        if key in values:
            problems.append(f"{name}: given more than once")
            continue
        values[key] = value
        problem = text_problem(value, MAX_QUERY_CHARS)
        if problem is None and key in ints:
            problem = check_number(value, MAX_ID, 0)
        if problem:
            problems.append(f"{name}: {problem}")
    if problems:
        raise bad_request(*problems)
    return values


# Request headers an endpoint documents (``Endpoint.request_headers``), checked like the
# query: the document's schema is made from the same rule (gateway/openapi.py). A key is
# printable ASCII without spaces at either end: bytes beyond ASCII arrive as whatever the
# client's encoding made of them, so "é" would name another key from another client.
HEADER_PATTERNS = {"Idempotency-Key": r"^[!-~](?:[ -~]*[!-~])?$"}
MAX_HEADER_CHARS = {"Idempotency-Key": 200}


def header(scope: Scope, name: bytes) -> str | None:
    """The first header of this (lower-case) name, as Starlette's Headers would answer it,
    read from the scope: building the Headers object costs a microsecond a request."""
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def header_values(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    """The documented headers given, each checked (400 naming each bad one)."""
    values: dict[str, str] = {}
    problems: list[str] = []
    for name in names:
        given = request.headers.getlist(name)
        if not given:
            continue
        limit = MAX_HEADER_CHARS[name]
        if len(given) > 1:
            problems.append(f"{name}: given more than once")
        elif len(given[0]) > limit or not re.fullmatch(HEADER_PATTERNS[name], given[0]):
            problems.append(
                f"{name}: 1 to {limit} printable ASCII characters, no space at either end"
            )
        else:
            values[name] = given[0]
    if problems:
        raise bad_request(*problems)
    return values


TOO_DEEP = "body: nested too deeply"


def body_problems(raw: bytes) -> list[str]:
    """NUL characters and repeated keys in a JSON body already known to be valid JSON.

    Both are looked for only where they can be: ``\\u0000`` is JSON's only way to write a
    NUL, and an object needs a comma to hold a key twice (a one-selector body has none).
    """
    problems: list[str] = []
    try:
        if _NUL_ESCAPE in raw:
            problems.extend(
                f"{path}: must not contain a NUL character (\\u0000)"
                for path in _nul_paths(msgspec.json.decode(raw), "")
            )
        if b"," in raw:
            problems.extend(f"{path}: given more than once" for path in _repeated_keys(raw))
    except RecursionError:
        # msgspec decoded it, but the walks here have less stack left than it had.
        return [TOO_DEEP]
    return problems


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    name = _name(key)
    return f"{path}.{name}" if path else name


def _nul_paths(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, str):
        if "\0" in value:
            yield path or "body"
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\0" in key:
                yield _join(path, key)
            yield from _nul_paths(item, _join(path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_paths(item, _join(path, index))


class _Members(dict[str, Any]):
    """A decoded JSON object that remembers the keys it was given more than once."""

    repeated: tuple[str, ...] = ()


def _repeated_keys(raw: bytes) -> list[str]:
    # msgspec keeps the last of two equal keys silently; the standard library's decoder
    # shows every pair. It costs 3 us on a small body, 0.35 ms on a 1,000-SIM action and
    # 31 ms on a 10,000-record import (1.9 MB), next to 0.1 / 20 ms for msgspec's decode.
    found = False

    def members(pairs: list[tuple[str, Any]]) -> _Members:
        nonlocal found
        obj = _Members(pairs)
        if len(obj) != len(pairs):
            keys = [key for key, _ in pairs]
            obj.repeated = tuple(key for key in obj if keys.count(key) > 1)
            found = True
        return obj

    decoded = json.loads(raw, object_pairs_hook=members)
    return list(_repeated_paths(decoded, "")) if found else []


def _repeated_paths(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, _Members):
        for key in value.repeated:
            yield _join(path, key)
        for key, item in value.items():
            yield from _repeated_paths(item, _join(path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _repeated_paths(item, _join(path, index))


def instant(name: str, text: str, end_of_day: bool = False) -> str:
    """An ISO-8601 date or date-time filter as the stored timestamps are written.

    A date alone is that day's start (UTC), or with ``end_of_day`` the next day's start,
    so an exclusive upper bound ``createdTo=2025-08-31`` still includes the 31st. A
    date-time without an offset is UTC.
    """
    moment = parse_instant(text, end_of_day)
    if moment is None:
        raise bad_request(f"{name}: must be {INSTANT_RULE} (a '+' offset is written %2B in a URL)")
    return iso(moment)
