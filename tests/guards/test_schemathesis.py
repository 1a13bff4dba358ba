"""Schemathesis against the customer and the operator OpenAPI documents as served, through
the ASGI app in process, on SQLite and PostgreSQL: 0 server errors, 0 answers outside the
document.

Per operation: schemathesis's coverage cases (boundary values, wrong types, missing
fields, methods the path does not serve), then a bounded number of generated cases,
positive with the world's real path parameters (so the handlers behind the gateway run),
positive and negative with generated ones. Every answer goes through the response checks
below with a valid token of the document's side. Runs are derandomized (same cases every
run) and bounded in count, so the guard's time is bounded too.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.errors import FailureGroup
from schemathesis.generation import GenerationMode

from m2mportal.domain.errors import ApiError
from m2mportal.domain.identifiers import eid_check_digits, luhn_digit
from m2mportal.domain.usage import parse_moment, window
from m2mportal.gateway.inputs import instant
from tests.guards.conftest import (
    GuardWorld,
    Operation,
    fill,
    operations,
    path_values,
    references,
    resolve,
)

# Per operation: generated cases for each strategy, and at most this many coverage cases
# (evenly spread over the list schemathesis makes, which is deterministic).
EXAMPLES = 10
COVERAGE = 60
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.positive_data_acceptance,
    checks.missing_required_header,
    checks.unsupported_method,
    checks.allow_header_conformance,
]
# Not run here: ignored_auth re-sends the request itself (outside this event loop; the
# tenant matrix covers missing and wrong tokens), use_after_free,
# ensure_resource_availability and object_level_authorization need a stateful run.
BASE_URL = "http://testserver"
# Fields holding an identifier with check digits, and its kind (`after`: a keyset ICCID).
CHECKED = {"iccid": "iccid", "after": "iccid", "imei": "imei", "euiccid": "euiccid"}


@dataclass
class Findings:
    """Failures grouped by operation, check and status, one sample request each."""

    sent: int = 0
    groups: dict[tuple[str, str, int], str] = field(default_factory=dict)
    counts: dict[tuple[str, str, int], int] = field(default_factory=dict)

    def add(self, label: str, title: str, status: int, sample: str) -> None:
        key = (label, title, status)
        self.counts[key] = self.counts.get(key, 0) + 1
        self.groups.setdefault(key, sample)

    def report(self) -> str:
        lines = [f"{len(self.groups)} kinds of failure in {self.sent} requests:"]
        for key, sample in sorted(self.groups.items()):
            label, title, status = key
            lines.append(f"- {label}: {title} ({status}, {self.counts[key]}x)\n    {sample}")
        return "\n".join(lines)


class Runner:
    """Draws cases in a worker thread (Hypothesis is synchronous) and sends each to the
    app on the test's event loop."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        loop: asyncio.AbstractEventLoop,
        refs: dict[str, Any],
        ours: dict[str, Operation],
    ) -> None:
        self.http = http
        self.loop = loop
        self.references = refs
        self.ours = ours
        # Operations whose references differ from the common ones (conftest.references).
        self.by_label: dict[str, dict[str, Any]] = {}
        self.findings = Findings()

    def send(self, case: Any, auth: dict[str, str]) -> None:
        kwargs = case.as_transport_kwargs(base_url=BASE_URL)
        headers = {**kwargs.get("headers", {}), **auth}
        body: dict[str, Any] = {}
        if "json" in kwargs:
            body["json"] = kwargs["json"]
        elif isinstance(kwargs.get("data"), bytes | str):
            body["content"] = kwargs["data"]
        elif kwargs.get("data") is not None:
            body["data"] = kwargs["data"]
        try:
            request = self.http.build_request(
                kwargs["method"],
                kwargs["url"],
                params=kwargs.get("params"),
                headers=headers,
                **body,
            )
        except (UnicodeError, httpx.InvalidURL, TypeError, ValueError):
            return  # a request no HTTP client could send (say, a header out of Latin-1)
        self.findings.sent += 1
        response = asyncio.run_coroutine_threadsafe(self._send(request), self.loop).result(60)
        try:
            case.validate_response(
                response, checks=CHECKS, headers=headers, transport_kwargs=kwargs
            )
        except FailureGroup as group:
            for failure in group.exceptions:
                self._record(case, request, response, failure)
        except AssertionError as failure:
            self._record(case, request, response, failure)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self.http.send(request)
        except Exception as exc:  # escaped the app: what a server would answer with 500
            return httpx.Response(500, text=f"exception escaped the app: {exc!r}", request=request)

    def _record(self, case: Any, request: httpx.Request, response: Any, failure: Any) -> None:
        title = getattr(failure, "title", type(failure).__name__)
        body = (request.content or b"")[:200].decode("utf-8", "replace")
        sample = (
            f"{request.method} {request.url} {body} -> {response.status_code} {response.text[:300]}"
        )
        self.findings.add(case.operation.label, title, response.status_code, sample)

    def run_operation(
        self, operation: Any, real_path: dict[str, str], auth: dict[str, str]
    ) -> None:
        coverage = list(
            operation.schema.iter_coverage_cases(
                operation,
                generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                generation_config=operation.schema.config.generation_for(operation=operation),
            )
        )
        step = max(1, -(-len(coverage) // COVERAGE))
        for case in coverage[::step]:
            positive = case.meta is not None and case.meta.generation.mode.is_positive
            self.send(self._realistic(case) if positive else case, auth)
        positive = operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real_path)
        self._generated(positive.map(self._realistic), auth)
        self._generated(
            operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=real_path), auth
        )

    def _realistic(self, case: Any) -> Any:
        """Positive data as the contract means it: references name existing objects, and
        SIM identifiers carry their check digits, integers have no fraction (rules a JSON
        schema cannot state)."""
        op = self.ours[case.operation.label]
        case.body = _without_fractions(case.body, [op.body_schema() or {}], op.root)
        refs = self.by_label.get(case.operation.label, self.references)
        case.body = _realistic_value(case.body, refs)
        if isinstance(case.query, dict):
            case.query = _in_order(_realistic_value(case.query, self.references))
        case.query, case.body = _within_span(case.query), _within_span(case.body)
        return case

    def _generated(self, strategy: st.SearchStrategy[Any], auth: dict[str, str]) -> None:
        @hypothesis.settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            verbosity=hypothesis.Verbosity.quiet,
        )
        @hypothesis.given(case=strategy)
        def generated(case: Any) -> None:
            self.send(case, auth)

        with contextlib.suppress(hypothesis.errors.Unsatisfiable):
            generated()  # Unsatisfiable: a negative strategy with nothing to negate


def _with_check_digits(kind: str, value: str) -> str:
    if kind == "iccid" and len(value) == 20:
        return value[:19] + luhn_digit(value[:19])
    if kind == "imei" and len(value) == 15:
        return value[:14] + luhn_digit(value[:14])
    if kind == "euiccid" and len(value) == 32:
        return value[:30] + eid_check_digits(value[:30])
    return value


def _realistic_value(value: Any, refs: dict[str, Any], key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _realistic_value(v, refs, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_realistic_value(v, refs, key) for v in value]
    if key in refs and isinstance(value, int | str) and not isinstance(value, bool):
        real = refs[key]
        if isinstance(real, list):  # a list field (subunits): each item the real one
            real = real[0]
        return str(real) if isinstance(value, str) else real
    kind = CHECKED.get(key)
    if kind and isinstance(value, str) and value.isascii() and value.isdigit():
        return _with_check_digits(kind, value)
    return value


def _in_order(query: dict[str, Any]) -> dict[str, Any]:
    """A time range from its start to its end (a later start than end is refused, 400)."""
    start, end = query.get("createdFrom"), query.get("createdTo")
    if isinstance(start, str) and isinstance(end, str):
        with contextlib.suppress(ApiError):  # not a date: the server says so, as it should
            if instant("createdTo", end, end_of_day=True) < instant("createdFrom", start):
                return {**query, "createdFrom": end, "createdTo": start}
    return query


def _within_span(values: Any) -> Any:
    """A history window (dateFrom, dateTo) in order and at most 92 days long, as the
    contract asks (CONTRACT 7.4): two dates far apart are refused with 400 naming dateTo.
    Out of it, the window is made empty (dateTo = dateFrom), which the server answers."""
    if not isinstance(values, dict):
        return values
    start, end = values.get("dateFrom"), values.get("dateTo")
    if not (isinstance(start, str) and isinstance(end, str)):
        return values
    dates = parse_moment(start) and parse_moment(end)  # not dates: the server says so
    refused = dates and isinstance(window(datetime.now(UTC), start, end), list)
    return {**values, "dateTo": start} if refused else values


def _without_fractions(value: Any, schemas: list[Any], root: dict[str, Any]) -> Any:
    """Whole floats written as JSON integers where the schema says integer.

    JSON Schema counts 3331.0 as an integer, and schemathesis sends such floats in JSON
    bodies. The server decodes strictly (msgspec) and takes only 3331 for an integer:
    integers are written without a fraction (docs/api.md). No JSON Schema keyword can say
    how a number is spelled, so this is not a weaker guard but a rule beyond the schema's
    expressiveness, applied to positive data like the check digits; negative data keeps
    its floats, and a fraction (3331.5) is never changed.
    """
    found = _alternatives(schemas, root)
    if isinstance(value, float) and value.is_integer():
        kinds = [s.get("type") for s in found]
        if any(k == "integer" or (isinstance(k, list) and "integer" in k) for k in kinds):
            return int(value)
    if isinstance(value, dict):
        return {
            key: _without_fractions(
                item,
                [s["properties"][key] for s in found if key in s.get("properties", {})]
                + [s["additionalProperties"] for s in found
                   if isinstance(s.get("additionalProperties"), dict)],
                root,
            )
            for key, item in value.items()
        }  # fmt: skip
    if isinstance(value, list):
        items = [s["items"] for s in found if isinstance(s.get("items"), dict)]
        return [_without_fractions(item, items, root) for item in value]
    return value


def _alternatives(schemas: list[Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    """The schemas a value at one position may be judged by: references followed, and
    every branch of allOf, anyOf and oneOf."""
    found = []
    for schema in schemas:
        schema = resolve(root, schema)
        if isinstance(schema, dict):
            found.append(schema)
            for key in ("allOf", "anyOf", "oneOf"):
                found.extend(_alternatives(schema.get(key, []), root))
    return found


def _real_path(guard: GuardWorld, op: Operation) -> dict[str, str]:
    """The victim's objects for the operation's path parameters."""
    objects = guard.objects(guard.victim)
    fill(guard, op, objects)  # fails on a path parameter the guards cannot fill yet
    return {name: path_values(objects)[name] for name in op.path_names()}


async def _fuzz(
    guard: GuardWorld, document: dict[str, Any], side: str, auth: dict[str, str]
) -> None:
    schema = schemathesis.openapi.from_dict(document)
    ours = {op.label: op for op in operations(document, side)}
    runner = Runner(guard.world.http, asyncio.get_running_loop(), references(guard), ours)
    runner.by_label = {label: references(guard, op) for label, op in ours.items()}
    problems = []
    work = []
    for result in schema.get_all_operations():
        operation = result.ok()
        op = ours[operation.label]
        work.append((operation, _real_path(guard, op)))

    def run_all() -> None:
        for operation, real_path in work:
            runner.run_operation(operation, real_path, auth)

    await asyncio.to_thread(run_all)
    if runner.findings.groups:
        problems.append(runner.findings.report())
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("side", ["customer", "operator"])
async def test_document_holds(guard: GuardWorld, documents: dict[str, Any], side: str) -> None:
    auth = guard.victim_headers if side == "customer" else guard.world.operator
    await _fuzz(guard, documents[side], side, auth)
