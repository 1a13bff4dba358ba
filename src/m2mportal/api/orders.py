"""SIM orders through HTTP (``POST .../sims/orders``); services/orders.py does the work."""

from __future__ import annotations

from m2mportal.gateway.endpoints import Call
from m2mportal.models import ActionAccepted
from m2mportal.services import orders


async def place_order(call: Call) -> ActionAccepted:
    assert call.partner_id is not None and call.principal is not None
    return await orders.place(call.platform, call.partner_id, call.principal.client_id, call.body)


NEW_ORDER = {"materialId": 800001000, "quantity": 500, "overrideMoq": False, "tariffId": 800000100}
ORDER_ACCEPTED = {
    "signupId": 708855340,
    "status": "Pending",
    "links": [
        {"rel": "actions", "type": "GET", "name": "get action status",
         "href": "https://api.example/iot/connectivity/management/v1/partners/100013/sims/"
                 "actions/708855340"},
    ],
    "transactionId": None,
}  # fmt: skip
