"""``GET /partners/{partnerId}/apiusage`` (deprecated since 3.7.12): budgets used and left."""

from __future__ import annotations

from typing import Any

from m2mportal.gateway.endpoints import Call


async def get_api_usage(call: Call) -> dict[str, Any]:
    assert call.partner_id is not None
    platform = call.platform
    return {
        "partnerId": call.partner_id,
        # Subunits draw on their top partner's budget.
        "budgetPartnerId": await platform.tree.root_of(call.partner_id),
        "limits": await platform.limiter.usage(call.partner_id),
    }
