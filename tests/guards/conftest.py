"""Shared by the guards: the served OpenAPI documents read as a list of operations, a world
of two partner trees holding one of every kind of token, and requests filled from an
operation's parameters and body schema with real objects (or with never-made ones).

The guards iterate over the documents, so a new operation is covered without a new test;
one whose path parameter or body field cannot be filled fails them until FILL knows it.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import httpx
import hypothesis
import pytest
from hypothesis import strategies as st

from m2mportal import synthetic
from m2mportal.actions import worker
from m2mportal.app import OPERATOR_BASE
from tests.helpers import World

CUSTOMER_DOC = "/v3/api-docs"
OPERATOR_DOC = "/v3/api-docs/operator"
SIM_KINDS = ("iccid", "euiccid", "imsi", "imei", "msisdn")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# A serial no guard SIM uses: identifiers that are well formed but name no SIM.
NOWHERE_SERIAL = 9_999_999
T = TypeVar("T")


class Unfillable(AssertionError):
    """An operation the guards cannot build a request for: teach FILL its parameter."""


# Documents and operations


async def served_documents(http: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """The customer and the operator document as served. Until the operator document has
    its own address, both APIs live in /v3/api-docs and are told apart by path prefix."""
    main = await http.get(CUSTOMER_DOC)
    assert main.status_code == 200, main.text
    combined: dict[str, Any] = main.json()
    separate = await http.get(OPERATOR_DOC)
    if separate.status_code == 200:
        return {"customer": combined, "operator": separate.json()}
    assert separate.status_code == 404, separate.text
    return {
        "customer": _only(combined, lambda path: not path.startswith(OPERATOR_BASE)),
        "operator": _only(combined, lambda path: path.startswith(OPERATOR_BASE)),
    }


def _only(document: dict[str, Any], keep: Callable[[str], bool]) -> dict[str, Any]:
    part = copy.deepcopy(document)
    part["paths"] = {p: ops for p, ops in document["paths"].items() if keep(p)}
    return part


@dataclass(frozen=True)
class Operation:
    document: str  # "customer" or "operator"
    method: str  # upper case
    path: str  # the path template as served, prefix included
    spec: dict[str, Any] = field(repr=False, compare=False)
    root: dict[str, Any] = field(repr=False, compare=False)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def parameters(self, where: str) -> list[dict[str, Any]]:
        params = [resolve(self.root, p) for p in self.spec.get("parameters", [])]
        return [p for p in params if p.get("in") == where]

    def path_names(self) -> list[str]:
        return re.findall(r"{([^}]+)}", self.path)

    def body_schema(self) -> dict[str, Any] | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        media = content.get("application/json")
        return None if media is None else resolve(self.root, media.get("schema", {}))

    def writes(self) -> bool:
        """Whether a read-only application must be refused (CONTRACT section 3): every
        change; the POSTs that only read are named by the last part of their path."""
        if self.method in ("GET", "HEAD", "OPTIONS"):
            return False
        return not (self.method == "POST" and self.path.endswith(READING_POSTS))


# CONTRACT section 3: POST calls that only read (details, session, histories, HLR check).
READING_POSTS = ("/sims/details", "/session", "/sessionhistory", "/smshistory", "/hlr/check")


def operations(document: dict[str, Any], name: str) -> list[Operation]:
    found = [
        Operation(name, method.upper(), path, spec, document)
        for path, item in document["paths"].items()
        for method, spec in item.items()
        if method in METHODS
    ]
    assert found, f"the {name} document has no operations"
    return found


def resolve(root: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


# The world


@dataclass
class Node:
    """One partner of the guard world with its own objects."""

    partner_id: int
    name: str
    sims: list[dict[str, str]]
    signup_id: int = 0
    app: dict[str, Any] = field(default_factory=dict)
    transaction_id: int = 0  # a SIM transfer it sent (to a receiver outside the world)


@dataclass
class Objects:
    """What a request is filled with: a partner path and the objects it names."""

    partner_id: int
    sim: dict[str, str]
    signup_id: int
    client_id: str
    subscription_id: str
    target_partner_id: int
    transaction_id: int = 0


@dataclass
class Caller:
    name: str
    headers: dict[str, str]
    home: Node  # the partner its own calls address
    foreign: list[Node]  # partners outside its scope (paths answer 403, objects 404)


@dataclass
class GuardWorld:
    """Victim tree (partner with two subunits), another partner, and one application of
    every kind: standard, read-only, subunit user, a subunit's own, the other partner's."""

    world: World
    tariff_id: int
    profile_ids: dict[str, int]
    material_id: int
    option_ids: tuple[int, int]
    victim: Node
    unit_one: Node
    unit_two: Node
    other: Node
    victim_headers: dict[str, str]
    read_only: dict[str, str]
    subunit_user: dict[str, str]
    unit_one_headers: dict[str, str]
    other_headers: dict[str, str]
    event_headers: dict[str, str]
    transfer_receiver: int = 0  # a top partner outside the world the nodes transfer to

    @property
    def nodes(self) -> list[Node]:
        return [self.victim, self.unit_one, self.unit_two, self.other]

    def attackers(self) -> list[Caller]:
        """Callers that must see nothing of the partners in their ``foreign`` list."""
        tree = [self.victim, self.unit_one, self.unit_two]
        return [
            Caller("another partner's application", self.other_headers, self.other, tree),
            Caller(
                "a sibling subunit's application",
                self.unit_one_headers,
                self.unit_one,
                [self.victim, self.unit_two, self.other],
            ),
            Caller(
                "a subunit user of unit one",
                self.subunit_user,
                self.unit_one,
                [self.victim, self.unit_two, self.other],
            ),
        ]

    def objects(self, node: Node) -> Objects:
        target = self.unit_one if node in (self.victim, self.unit_one) else node
        app = node.app or self.victim.app
        return Objects(
            partner_id=node.partner_id,
            sim=node.sims[0],
            signup_id=node.signup_id,
            client_id=app["clientId"],
            subscription_id=app["subscriptions"][0]["subscriptionId"],
            target_partner_id=target.partner_id,
            transaction_id=node.transaction_id,
        )

    def nowhere(self, home: Node) -> Objects:
        """Well-formed identifiers under ``home``'s path that name nothing anywhere."""
        return replace(
            self.objects(home),
            sim=sim_identifiers(NOWHERE_SERIAL),
            signup_id=999_999_999,
            client_id="guard-never-registered",
            subscription_id="guard-never-subscribed",
            transaction_id=999_999_999,
        )

    def secrets_of(self, nodes: list[Node]) -> set[str]:
        """Every identifier of these partners' SIMs, actions and applications, and their
        names: none may appear in an answer to a caller outside their scope."""
        found: set[str] = set()
        for node in nodes:
            found.add(node.name)
            found.update(v for sim in node.sims for v in sim.values())
            if node.signup_id:
                found.add(str(node.signup_id))
            if node.transaction_id:
                found.add(str(node.transaction_id))
            if node.app:
                found.add(node.app["clientId"])
                found.update(s["subscriptionId"] for s in node.app["subscriptions"])
        return found

    async def run_actions(self) -> None:
        await worker.run_until_idle(self.world.platform)


def sim_identifiers(serial: int) -> dict[str, str]:
    return {
        "iccid": synthetic.iccid(serial),
        "euiccid": synthetic.euiccid(serial),
        "imsi": synthetic.imsi(serial),
        "imei": synthetic.imei(serial),
        "msisdn": synthetic.msisdn(serial),
    }


PROFILE_RULES: dict[str, dict[str, Any]] = {
    "limit": {"type": "sessions", "period": "month", "levels": [5, 10]},
    "fraud": {"deviceFraud": True},
    "costLimit": {"type": "SMS", "levels": [10, 20]},
}


async def _node(world: World, name: str, serials: range, parent: int | None = None) -> Node:
    partner_id = await world.partner(name, parent=parent)
    sims = [sim_identifiers(serial) for serial in serials]
    records = [{**sim, "simType": "eSIM", "status": "Active", "productive": True} for sim in sims]
    answer = await world.sims(partner_id, records)
    assert answer.status_code == 201, answer.text
    return Node(partner_id, name, sims)


async def _action(world: World, node: Node, headers: dict[str, str]) -> None:
    answer = await world.api(
        "POST",
        f"/partners/{node.partner_id}/sims/actions/suspend",
        headers,
        json={"sims": [{"iccid": node.sims[-1]["iccid"]}]},
    )
    assert answer.status_code == 202, answer.text
    node.signup_id = int(answer.json()["signupId"])


async def _transfer(world: World, node: Node, headers: dict[str, str], receiver: int) -> None:
    answer = await world.api(
        "POST",
        f"/partners/{node.partner_id}/sims/actions/simtransfer",
        headers,
        json={"sims": [{"iccid": node.sims[0]["iccid"]}], "targetPartnerId": receiver},
    )
    assert answer.status_code == 202, answer.text
    node.transaction_id = int(answer.json()["transactionId"])


async def build_world(world: World) -> GuardWorld:
    tag = world.operator_client[0][-6:]  # names unique per test, so a leak scan finds them
    tariff = await world.tariff(f"Guard tariff {tag}")
    options = []
    for n in (1, 2):
        answer = await world.op("POST", "/options", json={"name": f"Guard option {n}"})
        assert answer.status_code == 201, answer.text
        options.append(int(answer.json()["id"]))
    profiles = {}
    for kind, rules in PROFILE_RULES.items():
        answer = await world.op(
            "POST", "/profiles", json={"kind": kind, "name": kind, "rules": rules}
        )
        assert answer.status_code == 201, answer.text
        profiles[kind] = int(answer.json()["id"])
    material = await world.op("POST", "/materials", json={"name": "Guard eSIM", "simType": "eSIM"})
    assert material.status_code == 201, material.text
    victim = await _node(world, f"Victim Corp {tag}", range(1, 3))
    unit_one = await _node(world, f"Victim Unit One {tag}", range(3, 5), victim.partner_id)
    unit_two = await _node(world, f"Victim Unit Two {tag}", range(5, 7), victim.partner_id)
    other = await _node(world, f"Other Corp {tag}", range(7, 9))
    victim.app = await world.app(victim.partner_id, name="victim")
    unit_one.app = await world.app(unit_one.partner_id, name="unit one")
    unit_two.app = await world.app(unit_two.partner_id, name="unit two")
    other.app = await world.app(other.partner_id, name="other")
    read_only = await world.app(victim.partner_id, name="read only", readOnly=True)
    subunit_user = await world.app(
        victim.partner_id, name="subunit user", userType="Subunit", subunits=[unit_one.partner_id]
    )
    victim_headers = await world.headers_for(victim.app)
    unit_one_headers = await world.headers_for(unit_one.app)
    other_headers = await world.headers_for(other.app)
    await _action(world, victim, victim_headers)
    await _action(world, unit_one, unit_one_headers)
    await _action(world, unit_two, victim_headers)
    await _action(world, other, other_headers)
    # Each node sent a SIM transfer to a partner outside the world (so no caller here is
    # its receiver): the transfer paths have an object to name.
    receiver = await world.partner(f"Guard Receiver {tag}")
    for sender in (victim, other):
        allowed = await world.op("PUT", f"/partners/{sender.partner_id}/transfer-partners",
                                 json={"partnerIds": [receiver]})  # fmt: skip
        assert allowed.status_code == 200, allowed.text
    for node, headers in ((victim, victim_headers), (unit_one, unit_one_headers),
                          (unit_two, victim_headers), (other, other_headers)):  # fmt: skip
        await _transfer(world, node, headers, receiver)
    # The victim's first SIM has "Parallel Sessions" booked (straight in the table, so no
    # action of its own runs): parallelSessions=true is then a request it must answer.
    parallel = await world.op("POST", "/options", json={"name": "Parallel Sessions"})
    assert parallel.status_code == 201, parallel.text
    await world.platform.db.execute(
        "INSERT INTO sim_options (iccid, option_id, booked_at) VALUES (:iccid, :option, :at)",
        {"iccid": victim.sims[0]["iccid"], "option": parallel.json()["id"], "at": "2025-01-01"},
    )
    event_token = await world.token(victim.app["eventClientId"], victim.app["eventClientSecret"])
    return GuardWorld(
        world=world,
        tariff_id=tariff,
        profile_ids=profiles,
        material_id=int(material.json()["id"]),
        option_ids=(options[0], options[1]),
        victim=victim,
        unit_one=unit_one,
        unit_two=unit_two,
        other=other,
        victim_headers=victim_headers,
        read_only=await world.headers_for(read_only),
        subunit_user=await world.headers_for(subunit_user),
        unit_one_headers=unit_one_headers,
        other_headers=other_headers,
        event_headers={"Authorization": f"Bearer {event_token}"},
        transfer_receiver=receiver,
    )


@pytest.fixture
async def guard(world: World) -> GuardWorld:
    return await build_world(world)


@pytest.fixture
async def documents(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    return await served_documents(client)


# Filling requests


@dataclass
class Request:
    method: str
    path: str  # filled, prefix included
    params: dict[str, str]
    body: Any = None  # JSON value, or None for no body

    def send_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"params": self.params}
        if self.body is not None:
            kwargs["json"] = self.body
        return kwargs

    def text(self) -> str:
        return f"{self.method} {self.path} {self.params or ''} {self.body or ''}"


def path_values(objects: Objects) -> dict[str, str]:
    return {
        "partnerId": str(objects.partner_id),
        "iccid": objects.sim["iccid"],
        "signupId": str(objects.signup_id),
        "transactionId": str(objects.transaction_id),
        "clientId": objects.client_id,
        "subscriptionId": objects.subscription_id,
    }


def _body_values(guard: GuardWorld, objects: Objects) -> dict[str, Any]:
    return {
        **objects.sim,
        "partnerId": objects.partner_id,
        "parentPartnerId": objects.partner_id,
        "targetPartnerId": objects.target_partner_id,
        "subunits": [objects.target_partner_id],
        "tariffId": guard.tariff_id,
        "limitProfileId": guard.profile_ids["limit"],
        "fraudProfileId": guard.profile_ids["fraud"],
        "costLimitProfileId": guard.profile_ids["costLimit"],
        "materialId": guard.material_id,
        "subunitId": objects.target_partner_id,
        "optionId": guard.option_ids[0],
        "fromOptionId": guard.option_ids[0],
        "toOptionId": guard.option_ids[1],
    }


# Optional fields filled all the same, so the request reaches the objects they name.
OPTIONAL_FILL = ("tariffId", "fraudProfileId", "euiccid")


def references(guard: GuardWorld, op: Operation | None = None) -> dict[str, Any]:
    """Fields that name other objects, with the victim's real ones (not SIM identifiers);
    for ``op``, the ones that operation takes where they differ."""
    values = _body_values(guard, guard.objects(guard.victim))
    found = {k: v for k, v in values.items() if k not in SIM_KINDS}
    return found if op is None else _for_operation(guard, op, found)


def _for_operation(guard: GuardWorld, op: Operation, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the ones this operation takes where they differ from the others'."""
    if op.path.endswith("/sims/actions/simtransfer"):
        # A transfer goes to another partner tree (a move to a unit of the same one).
        return {**values, "targetPartnerId": guard.transfer_receiver}
    return values


def fill(guard: GuardWorld, op: Operation, objects: Objects) -> Request:
    """The smallest valid request of ``op`` naming ``objects``: path parameters and
    identifiers by name, every other required field from its schema."""
    values = path_values(objects)
    path = op.path
    for name in op.path_names():
        if name not in values:
            raise Unfillable(f"{op.label}: no value for path parameter {name!r} (FILL)")
        path = path.replace("{" + name + "}", values[name])
    params = {}
    for param in op.parameters("query"):
        if param.get("required"):
            value = _value(guard, op, param["name"], param.get("schema", {}), objects)
            params[param["name"]] = value if isinstance(value, str) else str(value).lower()
    schema = op.body_schema()
    body = None if schema is None else _value(guard, op, "", schema, objects)
    return Request(op.method, path, params, body)


def _value(guard: GuardWorld, op: Operation, name: str, schema: Any, objects: Objects) -> Any:
    schema = resolve(op.root, schema)
    known = _for_operation(guard, op, _body_values(guard, objects))
    if name in known:
        return known[name]
    if name == "sims" and not _item_has_required(op, schema):
        return [{"iccid": objects.sim["iccid"]}]  # SIM selectors: one identifier each
    schema = effective(op, schema)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    kind = schema.get("type", "object")
    if kind == "object":
        props = schema.get("properties", {})
        required = schema.get("required", [])
        optional = [k for k in props if required and k in OPTIONAL_FILL and _may_hold(op, props[k])]
        keys = [k for k in props if k in required or k in optional]
        if not keys and props:
            keys = [next(iter(props))]  # "one of ..." or "at least one of ...": the first
        return {key: _value(guard, op, key, props.get(key, {}), objects) for key in keys}
    if kind == "array":
        count = min(schema.get("minItems", 0), 1)
        item = schema.get("items", {})
        return [_value(guard, op, name + "[]", item, objects) for _ in range(count)]
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return False
    if kind == "string":
        return _string(op, name, schema)
    raise Unfillable(f"{op.label}: no value for {name!r} of schema {schema} (FILL)")


def effective(op: Operation, schema: Any) -> dict[str, Any]:
    """The schema the guards fill: references followed, and a oneOf/anyOf/allOf merged
    into one schema (its first branch that is not null, or all of allOf's)."""
    schema = resolve(op.root, schema)
    for key in ("allOf", "oneOf", "anyOf"):
        if key in schema:
            options = [resolve(op.root, s) for s in schema[key]]
            if key == "allOf":
                chosen: dict[str, Any] = {}
                for option in options:  # each made one schema first: two may hold an anyOf
                    chosen = _merge(chosen, effective(op, option))
            else:
                chosen = next((s for s in options if s.get("type") != "null"), options[0])
            base = {k: v for k, v in schema.items() if k != key}
            return effective(op, _merge(base, chosen))
    return dict(schema)


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """A schema and one branch of its oneOf/anyOf/allOf as one schema (the branch may
    narrow the base's properties or require more of them)."""
    merged = dict(base)
    for key, value in extra.items():
        if key == "required":
            merged[key] = list(dict.fromkeys([*base.get(key, []), *value]))
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = value
    return merged


def _may_hold(op: Operation, schema: Any) -> bool:
    """Whether a property may hold a value (a selector's other identifiers must be null)."""
    return resolve(op.root, schema).get("type") != "null"


def _item_has_required(op: Operation, schema: dict[str, Any]) -> bool:
    items = resolve(op.root, schema.get("items", {}))
    return bool(items.get("required"))


_FORMATS = {"date": "2025-01-01", "date-time": "2025-01-01T00:00:00Z", "ipv4": "203.0.113.7"}


def _string(op: Operation, name: str, schema: dict[str, Any]) -> str:
    if schema.get("examples"):
        return str(schema["examples"][0])
    if schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    candidate = "guard-" + name if name else "guard"
    pattern = schema.get("pattern")
    if pattern is None:
        return candidate[: schema.get("maxLength", len(candidate))]
    found = _matching(pattern)
    if found is None:
        raise Unfillable(f"{op.label}: no value for {name!r} matching {pattern} (FILL)")
    return found


@functools.cache
def _matching(pattern: str) -> str | None:
    """A string the pattern matches, the same every run (not shrunk: that takes seconds)."""
    try:
        found: str = hypothesis.find(
            st.from_regex(pattern, fullmatch=True),
            lambda _: True,
            settings=hypothesis.settings(
                database=None, derandomize=True, phases=[hypothesis.Phase.generate]
            ),
        )
    except (hypothesis.errors.NoSuchExample, re.error):
        return None
    return found


async def answer_of(
    http: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    """The app's answer; an exception escaping the app counts as the 500 a server sends,
    so a guard goes on and reports every failure instead of the first."""
    try:
        return await http.request(method, url, **kwargs)
    except Exception as exc:
        return httpx.Response(500, text=f"exception escaped the app: {exc!r}")


# Scans


def leaked(answer: httpx.Response, secrets: set[str], sent: set[str]) -> list[str]:
    """The foreign identifiers in an answer that the caller did not send itself."""
    text = answer.text
    return sorted(s for s in secrets - sent if s in text)


def request_words(request: Request) -> set[str]:
    """What a caller sent, so an echo of its own input does not count as a leak."""
    return set(re.findall(r"[^\s/?&=\"':,{}\[\]]+", request.text()))


def walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair of a JSON value, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


# Calling the app from a Hypothesis test running in a worker thread


@dataclass
class Bridge:
    """Hypothesis tests are synchronous; the app lives on the test's event loop. The guard
    runs its Hypothesis test in a thread and sends each request back to the loop."""

    loop: asyncio.AbstractEventLoop
    http: httpx.AsyncClient

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        call = self.http.request(method, url, **kwargs)
        return asyncio.run_coroutine_threadsafe(call, self.loop).result(timeout=60)


async def in_thread(function: Callable[[], T]) -> T:
    return await asyncio.to_thread(function)
