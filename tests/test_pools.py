"""Pools through HTTP: the operator creates data, voice and SMS pools for a top partner;
traffic of every SIM of the tree (subunits included) shows in the pool usage this month;
another partner's pools stay invisible; bad bodies are 400 naming the field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.helpers import World, assert_error_names, error_list
from tests.test_network import add_sims

NET = {"mcc": "262", "mnc": "01"}
POOLS = {
    "Data": {"name": "Fleet data", "type": "Data", "allowance": 10_000, "levels": [50, 80]},
    "Voice": {"name": "Fleet voice", "type": "Voice", "allowance": 600, "levels": [10, 90]},
    "SMS": {"name": "SMS Test Pool", "type": "SMS", "allowance": 4, "levels": [50, 75],
            "offeringName": "Test Pool PLS"},
}  # fmt: skip


@dataclass
class Tree:
    world: World
    top: int
    unit: int
    top_sims: list[dict[str, str]]
    unit_sims: list[dict[str, str]]
    offerings: dict[str, int]

    async def usage(self, partner: int, headers: dict[str, str]) -> httpx.Response:
        return await self.world.api("GET", f"/partners/{partner}/pools/usage", headers)


async def create_pool(world: World, partner: int, body: dict[str, Any]) -> httpx.Response:
    return await world.op("POST", f"/partners/{partner}/pools", json=body)


@pytest.fixture
async def tree(world: World) -> Tree:
    top = await world.partner("Pool Corp")
    unit = await world.partner("Pool Corp North", parent=top)
    top_sims = await add_sims(world, top, range(1, 3))
    unit_sims = await add_sims(world, unit, range(3, 5))
    offerings = {}
    for kind, body in POOLS.items():
        answer = await create_pool(world, top, body)
        assert answer.status_code == 201, answer.text
        created = answer.json()
        assert created["partnerId"] == top and created["levels"] == body["levels"]
        offerings[kind] = created["offeringId"]
    return Tree(world, top, unit, top_sims, unit_sims, offerings)


async def traffic(world: World, top_iccid: str, unit_iccid: str) -> None:
    """6,000 bytes, 120 voice seconds and 3 messages, spread over the top and the unit."""
    for iccid, up, down in ((top_iccid, 1000, 2000), (unit_iccid, 500, 2500)):
        await world.inject(
            "sessions", iccid=iccid, apn="internet.m2m", bytesUp=up, bytesDown=down,
            durationSeconds=60, open=False, **NET,
        )  # fmt: skip
    await world.inject("voice", iccid=top_iccid, direction="MO", durationSeconds=45, **NET)
    await world.inject("voice", iccid=unit_iccid, direction="MT", durationSeconds=75, **NET)
    for iccid, direction in ((top_iccid, "MO"), (unit_iccid, "MO"), (unit_iccid, "MT")):
        await world.inject("sms", iccid=iccid, direction=direction, text="ping", **NET)


def by_type(answer: httpx.Response) -> dict[str, dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    return {pool["type"]: pool for pool in answer.json()["pools"]}


async def test_tree_traffic_draws_from_each_pool(tree: Tree) -> None:
    world = tree.world
    headers = await world.headers_for(await world.app(tree.top))
    empty = by_type(await tree.usage(tree.top, headers))
    assert {kind: pool["used"] for kind, pool in empty.items()} == {
        "Data": 0, "Voice": 0, "SMS": 0
    }  # fmt: skip
    assert empty["Data"]["levelReached"] == 0

    await traffic(world, tree.top_sims[0]["iccid"], tree.unit_sims[1]["iccid"])
    answer = await tree.usage(tree.top, headers)
    assert answer.json()["partnerId"] == tree.top
    pools = by_type(answer)
    figures = {k: (p["used"], p["percent"], p["levelReached"]) for k, p in pools.items()}
    assert figures == {"Data": (6000, 60.0, 1), "Voice": (120, 20.0, 1), "SMS": (3, 75.0, 2)}
    sms = pools["SMS"]
    assert sms == {
        "poolName": "SMS Test Pool",
        "offeringId": tree.offerings["SMS"],
        "offeringName": "Test Pool PLS",
        "type": "SMS",
        "allowance": 4,
        "unit": "messages",
        "used": 3,
        "percent": 75.0,
        "limitLevels": [
            {"level": 1, "limit": 50.0, "typeOfThreshold": "SMS Limit 1", "reached": True},
            {"level": 2, "limit": 75.0, "typeOfThreshold": "SMS Limit 2", "reached": True},
        ],
        "levelReached": 2,
    }
    assert pools["Data"]["offeringName"] == "Fleet data"  # defaults to the name
    assert [level["reached"] for level in pools["Voice"]["limitLevels"]] == [True, False]

    # A subunit's application sees its tree's pools, with the whole tree's usage.
    unit_headers = await world.headers_for(await world.app(tree.unit, name="unit"))
    assert by_type(await tree.usage(tree.unit, unit_headers)) == pools


async def test_usage_is_this_months(tree: Tree) -> None:
    world = tree.world
    await traffic(world, tree.top_sims[0]["iccid"], tree.unit_sims[0]["iccid"])
    world.platform.clock.advance(32 * 86400)
    await world.renew()
    headers = await world.headers_for(await world.app(tree.top))
    assert {p["used"] for p in by_type(await tree.usage(tree.top, headers)).values()} == {0}
    await world.inject("sms", iccid=tree.unit_sims[0]["iccid"], direction="MO", text="x", **NET)
    assert by_type(await tree.usage(tree.top, headers))["SMS"]["used"] == 1


async def test_another_partners_pools_are_invisible(tree: Tree) -> None:
    world = tree.world
    other = await world.partner("Other Corp")
    sims = await add_sims(world, other, range(7, 8))
    await world.inject("sms", iccid=sims[0]["iccid"], direction="MO", text="hi", **NET)
    headers = await world.headers_for(await world.app(other))
    error_list(await tree.usage(tree.top, headers), 403, "FORBIDDEN")
    error_list(await tree.usage(tree.unit, headers), 403, "FORBIDDEN")
    assert (await tree.usage(other, headers)).json()["pools"] == []
    # The other partner's traffic does not count in the tree's pools either.
    top_headers = await world.headers_for(await world.app(tree.top))
    assert by_type(await tree.usage(tree.top, top_headers))["SMS"]["used"] == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"levels": [80, 50]}, "levels"),
        ({"levels": [50, 50]}, "levels"),
        ({"levels": [50, 80, 90]}, "levels"),
        ({"levels": [0, 80]}, "levels[0]"),
        ({"levels": [50, 101]}, "levels[1]"),
        ({"type": "MMS"}, "type"),
        ({"allowance": 0}, "allowance"),
        ({"allowance": 1.5}, "allowance"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_pool_bodies_name_the_field(
    world: World, change: dict[str, Any], field: str
) -> None:
    partner = await world.partner()
    body = {k: v for k, v in {**POOLS["Data"], **change}.items() if v is not None}
    errors = error_list(await create_pool(world, partner, body), 400, "BAD_REQUEST")
    # "levels: ...", or for a field missing or unknown "body: ... field `name`".
    assert any(e.startswith(f"{field}:") or f"`{field}`" in e for e in errors), errors


async def test_pool_partner_must_exist_and_be_a_top_partner(tree: Tree) -> None:
    world = tree.world
    answer = await create_pool(world, 999_999, POOLS["Data"])
    error_list(answer, 404, "NOT_FOUND")
    answer = await create_pool(world, tree.unit, POOLS["Data"])
    assert_error_names(answer, 400, "BAD_REQUEST", "partnerId")
