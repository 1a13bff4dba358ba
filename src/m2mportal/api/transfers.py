"""SIM transfer details and decisions through HTTP (creating one is the ``simtransfer``
catalogue action), the operator's cancel and allowed relations, and the operator's subunit
calls. Rules in domain/transfers.py, orchestration in services/transfers.py."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta, Struct

from m2mportal.domain import transfers as rules
from m2mportal.domain.errors import not_found
from m2mportal.gateway.endpoints import Call
from m2mportal.models import Partner
from m2mportal.services import partners, transfers


def _transaction_id(call: Call) -> int:
    return call.ids["transactionId"]


async def get_transfer(call: Call) -> rules.TransferDetails:
    assert call.partner_id is not None
    scope = await call.platform.tree.descendants(call.partner_id)
    return await transfers.details(call.platform, _transaction_id(call), scope, call.partner_id)


async def update_transfer(call: Call) -> rules.TransferDetails:
    assert call.partner_id is not None
    scope = await call.platform.tree.descendants(call.partner_id)
    return await transfers.decide(call.platform, _transaction_id(call), call.body, scope)


async def operator_cancel(call: Call) -> rules.TransferDetails:
    decision = rules.TransferDecision(status=call.body.status)
    return await transfers.decide(call.platform, _transaction_id(call), decision, None)


async def get_transfer_partners(call: Call) -> rules.TransferTargets:
    assert call.partner_id is not None
    if not await call.platform.tree.exists(call.partner_id):
        raise not_found(f"partner {call.partner_id} does not exist")
    return rules.TransferTargets(await transfers.targets(call.platform, call.partner_id))


async def set_transfer_partners(call: Call) -> rules.TransferTargets:
    assert call.partner_id is not None
    return rules.TransferTargets(
        await transfers.set_targets(call.platform, call.partner_id, call.body.partner_ids)
    )


# --- subunits (operator) ------------------------------------------------------------------


class NewSubunit(Struct, rename="camel", forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)]


class SubunitEntry(Struct, rename="camel"):
    partner_id: int
    name: str
    parent_partner_id: int


async def create_subunit(call: Call) -> Partner:
    assert call.partner_id is not None
    p = call.platform
    if not await p.tree.exists(call.partner_id):
        raise not_found(f"partner {call.partner_id} does not exist")
    new_id = await partners.create(p.db, p.tree, p.clock, call.body.name, call.partner_id)
    return await partners.view(p.db, p.tree, new_id)


async def list_subunits(call: Call) -> list[SubunitEntry]:
    """Every partner below this one (the whole subtree), by id."""
    assert call.partner_id is not None
    p = call.platform
    if not await p.tree.exists(call.partner_id):
        raise not_found(f"partner {call.partner_id} does not exist")
    found = []
    below = sorted(await p.tree.descendants(call.partner_id) - {call.partner_id})
    for partner_id in below:
        view = await partners.view(p.db, p.tree, partner_id)
        assert view.parent_partner_id is not None
        found.append(SubunitEntry(view.partner_id, view.name, view.parent_partner_id))
    return found


# Examples for both documents (tests/test_openapi.py validates them against the schemas).
TRANSFER_DETAILS: dict[str, Any] = {
    "transactionId": 1002946614,
    "signupId": 708855337,
    "status": "Pending",
    "sender": {"partnerId": 100017, "name": "Telekom Main Test Company"},
    "receiver": {"partnerId": 100013, "name": "Telekom Secondary Test Company"},
    "subunitPartnerID": None,
    "message": "Fleet of 40 trackers, as agreed",
    "decidedBy": None,
    "createdAt": "2025-08-02T09:54:13.133Z",
    "decidedAt": None,
    "completedAt": None,
    "sims": [{"iccid": "89882806660004909182", "status": "Pending", "error": None}],
    "links": [
        {"rel": "self", "type": "GET", "name": "get SIM transfer details",
         "href": "https://api.example/iot/connectivity/management/v1/partners/100013/sims/"
                 "actions/simtransfer/1002946614"},
        {"rel": "actions", "type": "GET", "name": "get action status",
         "href": "https://api.example/iot/connectivity/management/v1/partners/100017/sims/"
                 "actions/708855337"},
        {"rel": "update", "type": "PATCH", "name": "update SIM transfer",
         "href": "https://api.example/iot/connectivity/management/v1/partners/100013/sims/"
                 "actions/simtransfer/1002946614"},
    ],
}  # fmt: skip
ACCEPT = {"status": "Accepted", "subunitPartnerID": 100015}
TARGETS = {"partnerIds": [100013]}
NEW_SUBUNIT = {"name": "Telekom Main Test Company North"}
SUBUNITS = [
    {"partnerId": 100014, "name": "Telekom Main Test Company North", "parentPartnerId": 100013}
]
SUBUNIT_VIEW = {
    "partnerId": 100014, "name": "Telekom Main Test Company North", "parentPartnerId": 100013,
    "subunits": [], "simCounts": {"Inactive": 0, "Active": 0, "Suspended": 0, "Blocked": 0,
                                  "Terminated": 0, "total": 0},
}  # fmt: skip
