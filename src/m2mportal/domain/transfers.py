"""SIM transfers and SIM orders: the rules and the seed's notification texts (no I/O).

A transfer hands SIMs from one partner tree (the sender) to another (the receiver). It is
a catalogue action (``simtransfer``) whose SIMs wait for the receiver's decision; the
receiver accepts (optionally into one of its subunits) or rejects, the sender or the
operator cancels. SIMs change owner only when the transfer completes, all in one
transaction with the completion events.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct, field

from m2mportal.domain.sim_state import Change, Refused, SimState
from m2mportal.models import Id, PartnerId

# Status of a transfer; Pending and Accepted keep its SIMs locked for the sender.
PENDING, ACCEPTED, REJECTED, CANCELLED, COMPLETED = (
    "Pending", "Accepted", "Rejected", "Cancelled", "Completed",
)  # fmt: skip
OPEN = (PENDING, ACCEPTED)
TransferStatusName = Literal["Pending", "Accepted", "Rejected", "Cancelled", "Completed"]

# The seed's four notification texts ("SIM Transfer Notifications"), word for word; the
# completion text's leading quote is the seed's too.
REQUEST_MESSAGE = (
    "You have received a request from '{sender}' to add SIM cards to your inventory."
    " Please follow the link to accept or reject them."
)
REJECTED_MESSAGE = "'{receiver}' has rejected your SIM Transfer request."
CANCELLED_MESSAGE = "'{sender}' has cancelled the request to transfer SIM cards."
COMPLETED_MESSAGE = "'The SIM Transfer between '{sender}' and '{receiver}' has been completed."


class TransferDecision(Struct, forbid_unknown_fields=True):
    """PATCH body: the receiver accepts (optionally into a subunit) or rejects; the sender
    or the operator cancels."""

    status: Literal["Cancelled", "Accepted", "Rejected"]
    subunit_partner_id: PartnerId | None = field(default=None, name="subunitPartnerID")


class OperatorCancel(Struct, forbid_unknown_fields=True):
    status: Literal["Cancelled"]


def movable(sim: SimState) -> Change:
    """The per-SIM step of ``simtransfer``: the SIM can change owner. The owner itself
    changes at completion (``complete``), for every SIM of the transfer at once."""
    if sim.status == "Terminated":
        raise Refused("cannot transfer: SIM is Terminated")
    return Change()


def target_problems(
    target: int, sender_root: int, exists: bool, target_root: int | None, allowed: frozenset[int]
) -> list[str]:
    """Why ``target`` cannot receive SIMs of the tree under ``sender_root`` (400 by field).

    The rule: the receiver is another top partner to which the operator allowed the
    sender's top partner to transfer (``PUT /operator/v1/partners/{id}/transfer-partners``).
    Inside one tree SIMs ``move``; the receiver picks its subunit when it accepts."""
    name = "targetPartnerId"
    if not exists:
        return [f"{name}: partner {target} does not exist"]
    if target_root == sender_root:
        return [f"{name}: partner {target} is in the sender's own partner tree; use move"]
    if target_root != target:
        return [
            f"{name}: partner {target} is a subunit; transfer to its top partner"
            f" {target_root}, which may accept into this subunit"
        ]
    if target not in allowed:
        return [
            f"{name}: the operator allows no SIM transfers from partner {sender_root}"
            f" to partner {target}"
        ]
    return []


def decision_problem(
    decision: str, side: str, subunit: int | None, receiver_tree: frozenset[int]
) -> tuple[int, str] | None:
    """``(status code, message)`` when a side may not take this decision; ``side`` is
    ``receiver``, ``sender`` or ``operator`` (anyone else only reads it)."""
    if side not in ("receiver", "sender", "operator"):
        return 403, "status: only the sender, the receiver or the operator decide"
    if decision in (ACCEPTED, REJECTED) and side != "receiver":
        return 403, f"status: only the receiving partner may set {decision}"
    if decision == CANCELLED and side == "receiver":
        return 403, "status: the receiving partner rejects (Rejected) rather than cancels"
    if subunit is not None:
        if decision != ACCEPTED:
            return 400, "subunitPartnerID: only with status Accepted"
        if subunit not in receiver_tree:
            return 400, f"subunitPartnerID: partner {subunit} is not a subunit of the receiver"
    return None


def data(
    partner_id: int, signup_id: int, transaction_id: int, message: str,
    links_href: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A transfer notification's ``data`` in the seed's key order; the request to the
    receiver carries the accept, reject and details links."""
    body: dict[str, Any] = {
        "partnerID": str(partner_id),
        "signupID": str(signup_id),
        "transactionID": str(transaction_id),
        "message": message,
    }
    if links_href is not None:
        update = {"href": links_href, "type": "PATCH", "name": "update SIM transfer"}
        body["actionLinks"] = {
            "accept": {"rel": "accept", **update},
            "reject": {"rel": "reject", **update},
            "sims": {"rel": "sims", "href": links_href, "type": "GET",
                     "name": "get SIM transfer details"},
        }  # fmt: skip
    return body


# --- SIM orders ---------------------------------------------------------------------------

MAX_ORDER = 10_000
Quantity = Annotated[int, Meta(ge=1, le=MAX_ORDER, description="SIMs to order, 1 to 10,000")]


class SimOrder(Struct, rename="camel", forbid_unknown_fields=True):
    material_id: Id
    quantity: Quantity
    override_moq: bool = False
    tariff_id: Id | None = None


def order_problems(
    order: SimOrder, material: Mapping[str, Any] | None, tariff_exists: bool
) -> list[str]:
    problems = []
    if material is None:
        problems.append(f"materialId: material {order.material_id} does not exist")
    elif order.quantity < material["min_order_quantity"] and not order.override_moq:
        problems.append(
            f"quantity: {order.quantity} is below the minimum order quantity"
            f" {material['min_order_quantity']} of material {order.material_id}"
            " (overrideMoq: true orders fewer)"
        )
    if order.tariff_id is not None and not tariff_exists:
        problems.append(f"tariffId: tariff {order.tariff_id} does not exist")
    return problems


def activation_code(iccid: str, smdp: str = "smdp.m2mportal.example") -> str:
    """An eSIM's GSMA LPA activation code: ``LPA:1$<SM-DP+ address>$<matching id>``."""
    matching = hashlib.sha256(iccid.encode()).hexdigest()[:24].upper()
    return f"LPA:1${smdp}${matching}"


# --- answers ------------------------------------------------------------------------------


class TransferParty(Struct, rename="camel"):
    partner_id: int
    name: str


class TransferSim(Struct, rename="camel"):
    iccid: str | None
    status: str
    error: str | None


class TransferLink(Struct):
    rel: str
    href: str
    type: str
    name: str


class TransferDetails(Struct, rename="camel"):
    transaction_id: int
    signup_id: int
    status: TransferStatusName
    sender: TransferParty
    receiver: TransferParty
    subunit_partner_id: int | None = field(name="subunitPartnerID")
    message: str
    decided_by: str | None
    created_at: str
    decided_at: str | None
    completed_at: str | None
    sims: list[TransferSim]
    links: list[TransferLink]


class TransferTargets(Struct, rename="camel", forbid_unknown_fields=True):
    """The top partners a top partner may transfer SIMs to (replaced as a whole)."""

    partner_ids: Annotated[list[PartnerId], Meta(max_length=1000)]
