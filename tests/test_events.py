"""Event streams in process (issue "Event streams"): formats, the seed's event shapes, the
AsyncAPI document, backlog and restart, replay, bounds, authorization, scoping, retention.

The in-process transport (``httpx.ASGITransport``) hands a response over only once the app
has ended it, so every test here runs with streams that live 0.2 s and confirm deliveries
after 0.02 s: a stream sends what it has, waits for more, and ends 0.2 s after it opened.
Streams that must stay open while something else happens (a second connection,
``terminate``, concurrent producers, a client that hangs up) are in
``tests/e2e/test_streams_live.py`` against a real uvicorn server.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema
import pytest
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent as CoreCloudEvent
from cloudevents.v1.http import from_dict as legacy_from_dict
from httpx_sse import ServerSentEvent, aconnect_sse
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from m2mportal import maintenance, synthetic
from m2mportal.actions import worker
from m2mportal.app import create_app
from m2mportal.clock import Clock
from m2mportal.config import Settings
from m2mportal.events import streams
from m2mportal.events.bus import StreamHandle
from m2mportal.platform import Platform, open_platform
from tests.conftest import test_settings
from tests.helpers import World, assert_error_names, error_list

EVENT_TYPES = (
    "simaction.v1",
    "profilenotification.v1",
    "poollimitnotification.v1",
    "costlimitnotification.v1",
)
SOURCES = {
    "simaction.v1": "/v1/partners/simaction",
    "profilenotification.v1": "/notification/limit",
    "poollimitnotification.v1": "/notification/poollimit",
    "costlimitnotification.v1": "/notification/costlimit",
}
ENVELOPE = ["time", "id", "source", "specversion", "type", "datacontenttype", "data"]
EVENT_ID = re.compile(r"^00000000-0000-1000-a000-\d{12}$")
UTC_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
SSE = "/events/v1/sse"
ASYNCAPI_URI = "urn:m2mportal:asyncapi"
LIFETIME_S = 0.2
CONFIRM_S = 0.02


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The conftest settings with short-lived streams (see the module docstring)."""
    return test_settings(
        database_url,
        tmp_path,
        sse_lifetime_seconds=LIFETIME_S,
        sse_confirm_seconds=CONFIRM_S,
        sse_poll_seconds=0.05,
    )


# --- helpers (also used by tests/e2e/test_streams_live.py) ---------------------------------


@dataclass
class Tenant:
    """A partner's application: REST headers, event headers, one subscription per type."""

    partner: int
    app: dict[str, Any]
    rest: dict[str, str]
    events: dict[str, str]

    @property
    def subs(self) -> dict[str, str]:
        return {s["eventType"]: s["subscriptionId"] for s in self.app["subscriptions"]}

    def sub(self, event_type: str = "simaction.v1") -> str:
        return self.subs[event_type]


async def event_token(world: World, app: dict[str, Any]) -> str:
    return await world.token(app["eventClientId"], app["eventClientSecret"])


async def make_tenant(world: World, partner: int | None = None, **spec: Any) -> Tenant:
    if partner is None:
        partner = await world.partner()
    app = await world.app(partner, **spec)
    token = await event_token(world, app)
    return Tenant(partner, app, await world.headers_for(app), {"Authorization": f"Bearer {token}"})


async def publish(world: World, partner: int, event_type: str = "simaction.v1") -> str:
    """POST /operator/v1/events/test; returns the new event's id."""
    answer = await world.op("POST", "/events/test", json={"partnerId": partner, "type": event_type})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    assert body["type"] == event_type and body["partnerId"] == partner
    event_id: str = body["id"]
    return event_id


async def read_lines(
    http: httpx.AsyncClient, sub: str, headers: dict[str, str], **params: Any
) -> tuple[httpx.Response, list[dict[str, Any]]]:
    """A plain line reader: the default format, one JSON document per line."""
    events: list[dict[str, Any]] = []
    async with http.stream("GET", f"{SSE}/{sub}", headers=headers, params=params) as answer:
        assert answer.status_code == 200, (await answer.aread()).decode()
        async for line in answer.aiter_lines():
            if line:
                events.append(json.loads(line))
    return answer, events


async def read_sse(
    http: httpx.AsyncClient, sub: str, headers: dict[str, str], **params: Any
) -> tuple[httpx.Response, list[ServerSentEvent]]:
    """A real SSE client (httpx-sse sends ``Accept: text/event-stream``)."""
    received: list[ServerSentEvent] = []
    # aconnect_sse adds its Accept header to the dict it is given: hand it a copy.
    copy = dict(headers)
    async with aconnect_sse(http, "GET", f"{SSE}/{sub}", headers=copy, params=params) as source:
        assert source.response.status_code == 200
        assert source.response.request.headers["accept"] == "text/event-stream"
        async for sse in source.aiter_sse():
            received.append(sse)
    return source.response, received


def ids(events: list[dict[str, Any]]) -> list[str]:
    return [e["id"] for e in events]


def check_error(answer: httpx.Response, status: int) -> dict[str, Any]:
    """The contract's error body with this status."""
    error_list(answer, status, HTTPStatus(status).name)
    body: dict[str, Any] = answer.json()
    return body


def _keys(value: Any, required: set[str], optional: frozenset[str] = frozenset()) -> None:
    assert isinstance(value, dict), value
    assert required <= set(value) <= required | optional, (sorted(value), sorted(required))


def _strings(value: dict[str, Any], *names: str) -> None:
    for name in names:
        assert isinstance(value[name], str), (name, value[name])


def _number(value: Any) -> None:
    assert isinstance(value, int | float) and not isinstance(value, bool), value


def check_seed_shape(event: dict[str, Any], event_type: str, partner: int) -> None:
    """The seed's field tables: keys, types, source per type; ids inside data are strings."""
    assert list(event) == ENVELOPE
    _strings(event, "time", "id", "source", "specversion", "type", "datacontenttype")
    assert EVENT_ID.match(event["id"]), event["id"]
    assert UTC_TIME.match(event["time"]), event["time"]
    assert event["type"] == event_type and event["source"] == SOURCES[event_type]
    assert event["specversion"] == "1.0" and event["datacontenttype"] == "application/json"
    data = event["data"]
    assert data["partnerID"] == str(partner)
    if event_type == "simaction.v1":
        _keys(data, {"partnerID", "signupID", "message"}, frozenset({"actionLink"}))
        _strings(data, "partnerID", "signupID", "message")
        assert data["signupID"].isdigit()
        link = data["actionLink"]
        _keys(link, {"rel", "href", "type", "name"})
        _strings(link, "rel", "href", "type", "name")
        assert link["rel"] == "actions" and link["type"] == "GET"
        assert link["name"] == "get action status"
    elif event_type == "profilenotification.v1":
        _keys(data, {"partnerID", "sim", "profileStatus"})
        _keys(data["sim"], {"iccid", "restrictionStatus"})  # not the sample's typo key
        _strings(data["sim"], "iccid", "restrictionStatus")
        assert data["sim"]["restrictionStatus"] in (
            "No Restriction",
            "Speed Step-down",
            "Data Restricted",
        )
        status = data["profileStatus"]
        _keys(
            status,
            {"barring", "barringType", "barringLevel", "allowed", "detected", "note"},
            frozenset({"apn"}),
        )
        _strings(status, "barring", "barringType", "allowed", "detected", "note")
        assert status["barring"] in (
            "Session Limit",
            "Usage Limit",
            "Device Fraud",
            "Location Fraud",
        )
        assert status["barringType"] in ("Limit", "Fraud")
        assert status["barringLevel"] in (1, 2) and isinstance(status["barringLevel"], int)
    elif event_type == "poollimitnotification.v1":
        _keys(data, {"partnerID", "poolLimitNotification"})
        pool = data["poolLimitNotification"]
        _keys(pool, {"poolName", "offeringName", "offeringID", "typeOfThreshold", "limit", "date"})
        _strings(pool, "poolName", "offeringName", "typeOfThreshold", "date")
        assert isinstance(pool["offeringID"], int)
        _number(pool["limit"])
        assert UTC_TIME.match(pool["date"])
    else:
        _keys(data, {"partnerID", "costLimitNotification"})
        cost = data["costLimitNotification"]
        _keys(
            cost,
            {
                "iccid",
                "offeringName",
                "offeringID",
                "typeOfThreshold",
                "limit",
                "date",
                "profileName",
                "profileID",
            },
            frozenset({"euiccid", "imsi", "msisdn"}),
        )
        _strings(cost, "iccid", "offeringName", "typeOfThreshold", "date", "profileName")
        for optional in ("euiccid", "imsi", "msisdn"):
            if optional in cost:
                assert isinstance(cost[optional], str)
        assert isinstance(cost["offeringID"], int) and isinstance(cost["profileID"], int)
        _number(cost["limit"])


def check_cloudevent(raw: str, event_type: str) -> CoreCloudEvent:
    """Parse with the ``cloudevents`` SDK: the 2.x core JSON format (strict 1.0 checks) and
    the legacy v1 HTTP API."""
    parsed = JSONFormat().read(None, raw)
    assert isinstance(parsed, CoreCloudEvent)
    assert parsed.get_specversion() == "1.0"
    assert parsed.get_type() == event_type and parsed.get_source() == SOURCES[event_type]
    moment = parsed.get_time()
    assert isinstance(moment, datetime) and moment.utcoffset() == timedelta(0)
    assert parsed.get_datacontenttype() == "application/json"
    assert parsed.get_data() == json.loads(raw)["data"]
    legacy = legacy_from_dict(json.loads(raw))
    assert legacy["id"] == parsed.get_id() and legacy.data == parsed.get_data()
    return parsed


def asyncapi_validators(document: dict[str, Any]) -> dict[str, jsonschema.Draft202012Validator]:
    """One validator per message, the document registered as the root of its refs."""
    registry: Registry[Any] = Registry().with_resource(
        ASYNCAPI_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    validators = {}
    for key, message in document["components"]["messages"].items():
        schema = {"$ref": f"{ASYNCAPI_URI}#/components/messages/{key}/payload"}
        validators[message["name"]] = jsonschema.Draft202012Validator(schema, registry=registry)
    return validators


async def fetch_validators(http: httpx.AsyncClient) -> dict[str, jsonschema.Draft202012Validator]:
    answer = await http.get("/v3/asyncapi")
    assert answer.status_code == 200, answer.text
    return asyncapi_validators(answer.json())


async def suspend_one(world: World, tenant: Tenant, serial: int = 1) -> int:
    """Add an Active SIM, suspend it through the API, run the worker; the signup id."""
    answer = await world.sims(
        tenant.partner,
        [{"iccid": synthetic.iccid(serial), "imsi": synthetic.imsi(serial), "status": "Active"}],
    )
    assert answer.status_code == 201, answer.text
    path = f"/partners/{tenant.partner}/sims/actions/suspend"
    started = await world.api(
        "POST", path, tenant.rest, json={"sims": [{"iccid": synthetic.iccid(serial)}]}
    )
    assert started.status_code == 202, started.text
    await worker.run_until_idle(world.platform)
    signup: int = started.json()["signupId"]
    return signup


async def backlog(world: World, sub: str) -> dict[str, Any]:
    answer = await world.op("GET", f"/subscriptions/{sub}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


# --- 1. formats, the seed's shapes, the SDK, the AsyncAPI document ---------------------------


async def test_asyncapi_document_top_level(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v3/asyncapi")
    assert answer.status_code == 200
    doc = answer.json()
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["title"] and doc["info"]["version"]
    messages = doc["components"]["messages"]
    assert sorted(m["name"] for m in messages.values()) == sorted(EVENT_TYPES)
    assert len(doc["channels"]) == 4 and len(doc["operations"]) == 4
    for key, message in messages.items():
        assert SOURCES[message["name"]] in message["summary"]
        assert message["payload"]["$ref"].startswith("#/components/schemas/")
        channel = doc["channels"][key]
        assert channel["address"] == "/events/v1/sse/{subscriptionId}"
        assert "subscriptionId" in channel["parameters"]
        operation = doc["operations"][f"receive_{key}"]
        assert operation["action"] == "receive"
        assert operation["channel"] == {"$ref": f"#/channels/{key}"}
    assert doc["components"]["securitySchemes"]["eventToken"]["scheme"] == "bearer"
    validators = asyncapi_validators(doc)
    assert sorted(validators) == sorted(EVENT_TYPES)
    # The validators really check: a numeric signupID (the seed table's "number") fails.
    bad = {
        "time": "2025-08-02T09:54:13.133Z",
        "id": "00000000-0000-1000-a000-000706409461",
        "source": "/v1/partners/simaction",
        "specversion": "1.0",
        "type": "simaction.v1",
        "datacontenttype": "application/json",
        "data": {"partnerID": "100013", "signupID": 708855306, "message": "done"},
    }
    assert not validators["simaction.v1"].is_valid(bad)
    bad["data"]["signupID"] = "708855306"
    assert validators["simaction.v1"].is_valid(bad)


async def test_every_event_type_in_both_formats(world: World, client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(world)
    validators = await fetch_validators(client)
    signup = await suspend_one(world, tenant)
    for event_type in EVENT_TYPES[1:]:
        await publish(world, tenant.partner, event_type)

    # W3C text/event-stream through httpx-sse.
    seen: dict[str, str] = {}
    for event_type in EVENT_TYPES:
        answer, received = await read_sse(client, tenant.sub(event_type), tenant.events)
        assert answer.headers["content-type"] == "text/event-stream;charset=UTF-8"
        assert answer.headers["cache-control"] == "no-cache"
        assert len(received) == 1, [s.data for s in received]
        sse = received[0]
        event = json.loads(sse.data)
        assert sse.id == event["id"] and sse.event == "message"
        check_seed_shape(event, event_type, tenant.partner)
        check_cloudevent(sse.data, event_type)
        validators[event_type].validate(event)
        if event_type == "simaction.v1":  # the finished action's event
            assert event["data"]["signupID"] == str(signup)
        seen[event_type] = event["id"]
    _, again = await read_lines(client, tenant.sub(), tenant.events)
    assert again == []  # delivered once; nothing new

    # Default application/stream+json through a plain line reader: new events of each type.
    signup2 = await suspend_one(world, tenant, serial=2)
    for event_type in EVENT_TYPES[1:]:
        await publish(world, tenant.partner, event_type)
    for event_type in EVENT_TYPES:
        answer, events = await read_lines(client, tenant.sub(event_type), tenant.events)
        assert answer.headers["content-type"] == "application/stream+json"
        assert answer.headers["cache-control"] == "no-cache"
        assert len(events) == 1
        event = events[0]
        assert event["id"] > seen[event_type]
        check_seed_shape(event, event_type, tenant.partner)
        check_cloudevent(json.dumps(event), event_type)
        validators[event_type].validate(event)
        if event_type == "simaction.v1":
            data = event["data"]
            assert data["signupID"] == str(signup2) != str(signup)
            assert data["message"] == f"Action with signup ID {signup2} is done."
            assert data["actionLink"]["href"] == (
                f"http://testserver/iot/connectivity/management/v1/partners/{tenant.partner}"
                f"/sims/actions/{signup2}"
            )


async def test_stream_body_is_exact_wire_format(world: World, client: httpx.AsyncClient) -> None:
    """``id:``/``data:`` lines and a blank line; one JSON document per line by default."""
    tenant = await make_tenant(world)
    first = await publish(world, tenant.partner)
    second = await publish(world, tenant.partner)
    answer = await client.get(
        f"{SSE}/{tenant.sub()}", headers={**tenant.events, "Accept": "text/event-stream"}
    )
    blocks = answer.text.split("\n\n")
    assert blocks[-1] == "" and len(blocks) == 3
    for block, event_id in zip(blocks, (first, second), strict=False):
        id_line, data_line = block.split("\n")
        assert id_line == f"id: {event_id}"
        assert json.loads(data_line.removeprefix("data: "))["id"] == event_id
    third = await publish(world, tenant.partner)
    answer = await client.get(f"{SSE}/{tenant.sub()}", headers=tenant.events)
    lines = answer.text.split("\n")
    assert lines[-1] == "" and [json.loads(line)["id"] for line in lines[:-1]] == [third]


async def test_head_is_a_health_check(client: httpx.AsyncClient) -> None:
    answer = await client.head(SSE)
    assert answer.status_code == 204 and answer.content == b""


# --- 2. backlog, restart, replay; 7. the operator's backlog view ------------------------------


async def test_backlog_arrives_oldest_first_and_the_operator_sees_it(
    world: World, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(world)
    sub = tenant.sub()
    empty = await backlog(world, sub)
    assert empty["undelivered"] == 0 and empty["oldestUndelivered"] is None
    assert empty["lastDelivered"] is None and empty["streamOpen"] is False
    assert empty["clientId"] == tenant.app["clientId"] and empty["eventType"] == "simaction.v1"
    assert empty["url"].endswith(f"/events/v1/sse/{sub}")

    made = [await publish(world, tenant.partner) for _ in range(5)]
    before = await backlog(world, sub)
    assert before["undelivered"] == 5 and before["lastDelivered"] is None
    rows = await world.platform.db.fetch_all(
        "SELECT id, time FROM events WHERE id IN (:a, :b)", {"a": made[0], "b": made[1]}
    )
    first_time = {r["id"]: r["time"] for r in rows}[made[0]]
    assert before["oldestUndelivered"] == first_time

    _, events = await read_lines(client, sub, tenant.events)
    assert ids(events) == made == sorted(made)
    after = await backlog(world, sub)
    assert after["undelivered"] == 0 and after["oldestUndelivered"] is None
    assert after["lastDelivered"] is not None and after["lastDelivered"] >= first_time
    statuses = await world.platform.db.fetch_all(
        "SELECT status FROM event_deliveries WHERE subscription_id = :s", {"s": sub}
    )
    assert [r["status"] for r in statuses] == ["DELIVERED"] * 5

    # Delivered events do not come again.
    _, again = await read_lines(client, sub, tenant.events)
    assert again == []
    # The other subscriptions of the application are untouched by this one's stream.
    other = await backlog(world, tenant.sub("profilenotification.v1"))
    assert other["undelivered"] == 0


async def test_undelivered_events_survive_a_restart_and_replay_on_request(
    settings: Settings, platform: Platform, tmp_path: Path
) -> None:
    # ``platform`` (the fixture) empties the PostgreSQL database; the test runs its own two.
    first = await open_platform(settings, clock=Clock(), run_migrations=False)
    try:
        transport = httpx.ASGITransport(app=create_app(first, background=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            world = await World.start(first, http)
            tenant = await make_tenant(world)
            made = [await publish(world, tenant.partner) for _ in range(3)]
            _, events = await read_lines(http, tenant.sub(), tenant.events, maxNumber="2")
            assert ids(events) == made[:2]
            made.append(await publish(world, tenant.partner))
            operator_client = world.operator_client
    finally:
        await first.close()

    second = await open_platform(settings, clock=Clock(), run_migrations=False)
    try:
        transport = httpx.ASGITransport(app=create_app(second, background=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            world = World(second, http, operator_client=operator_client)
            await world.renew()
            events_token = await event_token(world, tenant.app)
            headers = {"Authorization": f"Bearer {events_token}"}
            state = await backlog(world, tenant.sub())
            assert state["undelivered"] == 2 and state["lastDelivered"] is not None

            _, events = await read_lines(http, tenant.sub(), headers)
            assert ids(events) == made[2:]  # the undelivered ones, oldest first
            _, events = await read_lines(http, tenant.sub(), headers)
            assert events == []  # delivered ones do not arrive again

            # Last-Event-ID replays everything after that event, delivered or not.
            _, events = await read_lines(http, tenant.sub(), {**headers, "Last-Event-ID": made[0]})
            assert ids(events) == made[1:]
            _, replay = await read_sse(http, tenant.sub(), headers, lastEventId=made[2])
            assert [s.id for s in replay] == made[3:]
            _, events = await read_lines(http, tenant.sub(), {**headers, "Last-Event-ID": made[-1]})
            assert events == []
            # A replay does not skip what is still undelivered afterwards.
            newer = await publish(world, tenant.partner)
            _, events = await read_lines(http, tenant.sub(), {**headers, "Last-Event-ID": made[-1]})
            assert ids(events) == [newer]
            _, events = await read_lines(http, tenant.sub(), headers)
            assert events == []

            unknown = await http.get(
                f"{SSE}/{tenant.sub()}",
                headers=headers,
                params={"lastEventId": "00000000-0000-1000-a000-999999999999"},
            )
            check_error(unknown, 400)
    finally:
        await second.close()


async def test_default_settings_confirm_what_a_bounded_stream_sent(
    database_url: str, tmp_path: Path, platform: Platform
) -> None:
    """With the settings a user gets (a stream lives 60 s, confirms after 1 s): a stream
    ended by maxNumber keeps its connection about a second to confirm what it sent, which
    is then DELIVERED, and the next stream does not send it again."""
    defaults = test_settings(database_url, tmp_path)  # the SSE settings as shipped
    assert (defaults.sse_lifetime_seconds, defaults.sse_confirm_seconds) == (60.0, 1.0)
    # ``platform`` (the fixture) empties the PostgreSQL database; this test runs its own.
    shipped = await open_platform(defaults, clock=Clock(), run_migrations=False)
    try:
        transport = httpx.ASGITransport(app=create_app(shipped, background=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            world = await World.start(shipped, http)
            tenant = await make_tenant(world)
            made = [await publish(world, tenant.partner) for _ in range(2)]
            began = time.monotonic()
            _, events = await read_lines(http, tenant.sub(), tenant.events, maxNumber=1)
            took = time.monotonic() - began
            assert ids(events) == made[:1]
            assert 1.0 <= took < 5.0, took
            state = await backlog(world, tenant.sub())
            assert state["undelivered"] == 1 and state["lastDelivered"] is not None
            _, events = await read_lines(http, tenant.sub(), tenant.events, maxNumber=1)
            assert ids(events) == made[1:]
    finally:
        await shipped.close()


# --- bounds ----------------------------------------------------------------------------------


async def test_max_number_and_max_bytes_bound_a_stream(
    world: World, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(world)
    made = [await publish(world, tenant.partner) for _ in range(6)]
    _, events = await read_lines(client, tenant.sub(), tenant.events, maxNumber=2)
    assert ids(events) == made[:2]

    # One event always goes, however small maxBytes is.
    _, events = await read_lines(client, tenant.sub(), tenant.events, maxBytes=1)
    assert ids(events) == made[2:3]
    # Exactly two events' bytes: two events, the third would not fit.
    answer = await client.get(
        f"{SSE}/{tenant.sub()}", headers=tenant.events, params={"lastEventId": made[2]}
    )
    two = len(b"".join(answer.content.splitlines(keepends=True)[:2]))
    _, events = await read_lines(
        client, tenant.sub(), tenant.events, maxBytes=two, lastEventId=made[2]
    )
    assert ids(events) == made[3:5]
    _, events = await read_lines(
        client, tenant.sub(), tenant.events, maxBytes=two - 1, lastEventId=made[2]
    )
    assert ids(events) == made[3:4]


@pytest.mark.parametrize("name", ["maxNumber", "maxMinutes", "maxBytes"])
@pytest.mark.parametrize("value", ["0", "x", "-1", "1.5", "", "\u00b2"])
async def test_bad_bounds_are_400(
    world: World, client: httpx.AsyncClient, name: str, value: str
) -> None:
    tenant = await make_tenant(world)
    answer = await client.get(f"{SSE}/{tenant.sub()}", headers=tenant.events, params={name: value})
    body = check_error(answer, 400)
    assert any(name in problem for problem in body["errors"]), body


HUGE = ["2147483648", "9223372036854775807", "9223372036854775808", "18446744073709551616"]


@pytest.mark.parametrize("name", ["maxNumber", "maxMinutes", "maxBytes"])
@pytest.mark.parametrize("value", [*HUGE, "1\x00", "\x00", "\x01", "0" * 11 + "1", "9" * 5000])
async def test_huge_and_control_bounds_are_400(
    world: World, client: httpx.AsyncClient, name: str, value: str
) -> None:
    tenant = await make_tenant(world)
    answer = await client.get(f"{SSE}/{tenant.sub()}", headers=tenant.events, params={name: value})
    assert_error_names(answer, 400, "BAD_REQUEST", name)
    # The largest bound is taken.
    answer = await client.get(
        f"{SSE}/{tenant.sub()}", headers=tenant.events, params={name: "2147483647"}
    )
    assert answer.status_code == 200, answer.text


BAD_IDS = ["a\x00b", "\x00", "sub-\x01", "sub\x7f", "sub-\u00b3", "s" * 65, "x" * 5000]


@pytest.mark.parametrize("value", BAD_IDS)
async def test_bad_event_ids_and_subscription_ids_are_400(
    world: World, client: httpx.AsyncClient, value: str
) -> None:
    """NUL, control characters, non-ASCII and over-long ids: 400 naming the field on both
    databases (PostgreSQL refuses a NUL in text: it was a 500)."""
    tenant = await make_tenant(world)
    sub = tenant.sub()
    answer = await client.get(f"{SSE}/{sub}", headers=tenant.events, params={"lastEventId": value})
    assert_error_names(answer, 400, "BAD_REQUEST", "lastEventId")
    if value.isascii() and "\x00" not in value:  # what an HTTP header can carry
        answer = await client.get(f"{SSE}/{sub}", headers={**tenant.events, "Last-Event-ID": value})
        assert_error_names(answer, 400, "BAD_REQUEST", "Last-Event-ID")
    for method, suffix in (("GET", ""), ("POST", "/terminate")):
        path = f"{SSE}/{quote(value, safe='')}{suffix}"
        answer = await client.request(method, path, headers=tenant.events)
        assert_error_names(answer, 400, "BAD_REQUEST", "subscriptionId")


async def test_another_tenants_event_id_answers_like_an_unknown_one(
    world: World, client: httpx.AsyncClient
) -> None:
    mine = await make_tenant(world)
    theirs = await make_tenant(world, await world.partner("Other Company"))
    own = await publish(world, mine.partner)
    foreign = await publish(world, theirs.partner)
    other_type = await publish(world, mine.partner, "costlimitnotification.v1")
    unknown = "00000000-0000-1000-a000-999999999999"
    _, events = await read_lines(client, mine.sub(), {**mine.events, "Last-Event-ID": own})
    assert events == []  # the own event is known: a replay after it

    def shape(answer: httpx.Response, event_id: str) -> tuple[int, str, dict[str, Any]]:
        body = answer.json()
        body["errors"] = [e.replace(event_id, "<id>") for e in body["errors"]]
        del body["timestamp"]
        return answer.status_code, answer.headers["content-type"], body

    for header, param in ((True, False), (False, True)):
        answers = {}
        for event_id in (unknown, foreign, other_type):
            headers = {**mine.events, "Last-Event-ID": event_id} if header else mine.events
            params = {"lastEventId": event_id} if param else {}
            answer = await client.get(f"{SSE}/{mine.sub()}", headers=headers, params=params)
            check_error(answer, 400)
            answers[event_id] = shape(answer, event_id)
        assert answers[foreign] == answers[unknown] == answers[other_type]


async def test_max_minutes_ends_a_stream_that_still_has_events(
    world: World, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """maxMinutes bounds a stream that never goes idle (here: a backlog of three batches).
    Instead of waiting a minute, the stream module's monotonic clock moves 61 s forward
    every time the stream reads it: whenever it looks, its minute is over (too soon to
    confirm what it wrote, so that comes again on the next stream: nothing is lost)."""
    tenant = await make_tenant(world)
    total = 3 * streams.BATCH
    made = [await publish(world, tenant.partner) for _ in range(total)]
    reads = 0

    class FastTime:
        @staticmethod
        def monotonic() -> float:
            nonlocal reads
            reads += 1
            return time.monotonic() + 61.0 * reads

    monkeypatch.setattr(streams, "time", FastTime)
    _, events = await read_lines(client, tenant.sub(), tenant.events, maxMinutes=1)
    assert 1 <= len(events) < total, len(events)
    monkeypatch.undo()
    _, rest = await read_lines(client, tenant.sub(), tenant.events)
    assert set(ids(events)) | set(ids(rest)) == set(made)
    assert ids(rest) == sorted(ids(rest))


# --- 5. authorization and scoping --------------------------------------------------------------


async def test_tokens_do_not_cross_between_rest_and_streams(
    world: World, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(world)
    sub = tenant.sub()
    check_error(await client.get(f"{SSE}/{sub}", headers=tenant.rest), 401)
    check_error(await client.post(f"{SSE}/{sub}/terminate", headers=tenant.rest), 401)
    check_error(await client.get(f"{SSE}/{sub}", headers=world.operator), 401)
    check_error(await client.get(f"{SSE}/{sub}"), 401)
    check_error(await client.get(f"{SSE}/{sub}", headers={"Authorization": "Bearer x.y.z"}), 401)
    rest = await world.api("GET", f"/partners/{tenant.partner}/sims", tenant.events)
    check_error(rest, 401)
    check_error(await world.http.get("/operator/v1/clock", headers=tenant.events), 401)
    # The right tokens work.
    assert (
        await world.api("GET", f"/partners/{tenant.partner}/sims", tenant.rest)
    ).status_code == 200
    assert (await client.get(f"{SSE}/{sub}", headers=tenant.events)).status_code == 200


async def test_foreign_and_unknown_subscriptions(world: World, client: httpx.AsyncClient) -> None:
    mine = await make_tenant(world)
    theirs = await make_tenant(world, await world.partner("Other Company"))
    sibling = await make_tenant(world, mine.partner)  # same partner, other application
    for other in (theirs, sibling):
        check_error(await client.get(f"{SSE}/{other.sub()}", headers=mine.events), 403)
        check_error(await client.post(f"{SSE}/{other.sub()}/terminate", headers=mine.events), 403)
    check_error(await client.get(f"{SSE}/sub-doesnotexist", headers=mine.events), 404)
    check_error(await client.post(f"{SSE}/sub-doesnotexist/terminate", headers=mine.events), 404)
    ended = await client.post(f"{SSE}/{mine.sub()}/terminate", headers=mine.events)
    assert ended.status_code == 200
    assert ended.json() == {"subscriptionId": mine.sub(), "terminated": False}


async def test_an_application_never_receives_another_partners_events(
    world: World, client: httpx.AsyncClient
) -> None:
    a = await make_tenant(world)
    b = await make_tenant(world, await world.partner("Other Company"))
    a_ids = {t: await publish(world, a.partner, t) for t in EVENT_TYPES}
    b_ids = {t: await publish(world, b.partner, t) for t in EVENT_TYPES}
    for event_type in EVENT_TYPES:
        _, got_a = await read_lines(client, a.sub(event_type), a.events)
        _, got_b = await read_lines(client, b.sub(event_type), b.events)
        assert ids(got_a) == [a_ids[event_type]]
        assert ids(got_b) == [b_ids[event_type]]
        assert got_a[0]["data"]["partnerID"] == str(a.partner)


async def test_event_types_the_application_did_not_choose(
    world: World, client: httpx.AsyncClient
) -> None:
    tenant = await make_tenant(world, eventTypes=["costlimitnotification.v1"])
    assert list(tenant.subs) == ["costlimitnotification.v1"]
    await publish(world, tenant.partner, "simaction.v1")
    wanted = await publish(world, tenant.partner, "costlimitnotification.v1")
    _, events = await read_lines(client, tenant.sub("costlimitnotification.v1"), tenant.events)
    assert ids(events) == [wanted]


async def test_subunit_user_sees_only_its_subunits(world: World, client: httpx.AsyncClient) -> None:
    parent = await world.partner("Telekom Main Test Company")
    s1 = await world.partner("North", parent=parent)
    s2 = await world.partner("South", parent=parent)
    s1_child = await world.partner("North-East", parent=s1)
    narrow = await make_tenant(world, parent, userType="Subunit", subunits=[s1])
    wide = await make_tenant(world, parent)  # a Standard user of the parent sees the tree
    s1_app = await make_tenant(world, s1)
    made = {p: await publish(world, p) for p in (parent, s1, s2, s1_child)}

    _, events = await read_lines(client, narrow.sub(), narrow.events)
    assert ids(events) == [made[s1], made[s1_child]]
    assert {e["data"]["partnerID"] for e in events} == {str(s1), str(s1_child)}
    _, events = await read_lines(client, wide.sub(), wide.events)
    assert ids(events) == [made[p] for p in (parent, s1, s2, s1_child)]
    _, events = await read_lines(client, s1_app.sub(), s1_app.events)
    assert ids(events) == [made[s1], made[s1_child]]  # a subunit never sees its parent


# --- retention ---------------------------------------------------------------------------------


async def test_retention_purge_removes_old_events(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    tenant = await make_tenant(world)
    old = [await publish(world, tenant.partner) for _ in range(3)]
    _, events = await read_lines(client, tenant.sub(), tenant.events, maxNumber=1)
    assert ids(events) == old[:1]  # one delivered, two still undelivered
    clock.advance(8 * 24 * 3600)
    await world.renew()
    tenant.events = {"Authorization": f"Bearer {await event_token(world, tenant.app)}"}
    new = await publish(world, tenant.partner)
    purged, _ = await maintenance.purge(world.platform)
    assert purged == 3
    remaining = await world.platform.db.fetch_all("SELECT id FROM events ORDER BY seq")
    assert [r["id"] for r in remaining] == [new]
    left = await world.platform.db.fetch_val("SELECT COUNT(*) FROM event_deliveries")
    assert int(left) == 1
    state = await backlog(world, tenant.sub())
    assert state["undelivered"] == 1
    _, events = await read_lines(client, tenant.sub(), tenant.events)
    assert ids(events) == [new]
    # Seven days are kept: a purge now removes nothing.
    clock.advance(6 * 24 * 3600)
    assert (await maintenance.purge(world.platform))[0] == 0


# --- wake-ups and stream replacement across processes (PostgreSQL NOTIFY) --------------------


async def _until_confirmed(platform: Platform, handle: StreamHandle) -> None:
    """PostgreSQL: wait (bounded) until the stream's own NOTIFY came back; every
    notification sent before it has been handled by then. SQLite sends none."""
    if platform.db.dialect != "postgresql":
        return
    async with asyncio.timeout(5):
        while not handle.confirmed:
            await asyncio.sleep(0.005)


async def test_a_new_stream_survives_the_notifications_of_older_ones(platform: Platform) -> None:
    """A stream opened right after another one, or right after a terminate, is the newest
    and stays open, however late the older ones' notifications arrive."""
    bus = platform.bus
    for n in range(20):
        first = await bus.open(f"sub-race-{n}")
        second = await bus.open(f"sub-race-{n}")
        assert first.stopped and not second.stopped
        await _until_confirmed(platform, second)
        assert not second.stopped, second.reason
        assert await bus.terminate(f"sub-race-{n}")
        assert second.stopped and second.reason == "terminated"
        third = await bus.open(f"sub-race-{n}")
        await _until_confirmed(platform, third)
        assert not third.stopped, third.reason
        bus.close(third)


async def test_streams_end_across_processes(platform: Platform, settings: Settings) -> None:
    """Two platforms on one PostgreSQL database stand for two server processes."""
    if platform.db.dialect != "postgresql":
        pytest.skip("SQLite serves every stream from one process")
    other = await open_platform(settings, run_migrations=False)
    try:
        here = await platform.bus.open("sub-shared")
        await _until_confirmed(platform, here)
        there = await other.bus.open("sub-shared")
        await _until_confirmed(other, there)
        async with asyncio.timeout(5):
            while not here.stopped:
                await asyncio.sleep(0.005)
        assert here.reason == "replaced by a newer connection" and not there.stopped
        assert not platform.bus.is_open("sub-shared") and other.bus.is_open("sub-shared")
        # terminate in one process ends the stream served by the other
        assert not await platform.bus.terminate("sub-shared")
        async with asyncio.timeout(5):
            while not there.stopped:
                await asyncio.sleep(0.005)
        assert not other.bus.is_open("sub-shared")
    finally:
        await other.close()
