"""Pools through HTTP: the operator creates them (``POST /operator/v1/partners/{id}/pools``),
the partner tree's applications read their usage (``GET /partners/{id}/pools/usage``).
Rules in services/pools.py and domain/pools.py."""

from __future__ import annotations

from m2mportal.domain.pools import Pool, PoolsUsage
from m2mportal.gateway.endpoints import Call
from m2mportal.services import pools


async def create_pool(call: Call) -> Pool:
    assert call.partner_id is not None
    p = call.platform
    return await pools.create(p.db, p.tree, p.clock, call.partner_id, call.body)


async def get_pools_usage(call: Call) -> PoolsUsage:
    assert call.partner_id is not None
    p = call.platform
    return await pools.usage(p.db, p.tree, p.clock, call.partner_id)


# Examples for both documents (tests/test_openapi.py validates them against the schemas).
NEW_POOL = {"name": "SMS Test Pool", "type": "SMS", "allowance": 10000, "levels": [50, 80]}
POOL = {
    "offeringId": 800206106,
    "partnerId": 100013,
    "name": "SMS Test Pool",
    "offeringName": "SMS Test Pool",
    "type": "SMS",
    "allowance": 10000,
    "unit": "messages",
    "levels": [50, 80],
}
POOLS_USAGE = {
    "partnerId": 100013,
    "period": "2025-08",
    "pools": [
        {
            "poolName": "SMS Test Pool",
            "offeringId": 800206106,
            "offeringName": "SMS Test Pool",
            "type": "SMS",
            "allowance": 10000,
            "unit": "messages",
            "used": 5210,
            "percent": 52.1,
            "limitLevels": [
                {"level": 1, "limit": 50.0, "typeOfThreshold": "SMS Limit 1", "reached": True},
                {"level": 2, "limit": 80.0, "typeOfThreshold": "SMS Limit 2", "reached": False},
            ],
            "levelReached": 1,
        }
    ],
}
