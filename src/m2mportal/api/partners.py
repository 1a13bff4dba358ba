"""``GET /partners/{partnerId}``: the partner, its subunits and SIM counts per status."""

from __future__ import annotations

from m2mportal.gateway.endpoints import Call
from m2mportal.models import Partner
from m2mportal.services import partners


async def get_partner(call: Call) -> Partner:
    assert call.partner_id is not None
    return await partners.view(call.platform.db, call.platform.tree, call.partner_id)
