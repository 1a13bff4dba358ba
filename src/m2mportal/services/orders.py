"""SIM orders: accepting one (``POST .../sims/orders``) and delivering it.

An order is an action (``simorder``: its status, the action list and the ``simaction.v1``
event at the end) plus its ``orders`` row. The action worker delivers due orders: the new
SIMs (Inactive, fresh identifiers from the order serial sequence, the material's SIM type,
eSIMs with an activation code), their rows in the action, the action's end and its event
are one transaction, so a crash delivers an order wholly or not at all and a restart
delivers it once.
"""

from __future__ import annotations

from datetime import timedelta

import msgspec
import structlog

from m2mportal import synthetic
from m2mportal.actions import backend_delays, finish
from m2mportal.clock import iso
from m2mportal.domain import transfers as rules
from m2mportal.domain.errors import bad_request
from m2mportal.models import ActionAccepted, Link, NewSim
from m2mportal.platform import Platform
from m2mportal.services import inventory
from m2mportal.store import actions as action_store
from m2mportal.store import catalog as catalog_store
from m2mportal.store import orders as order_store
from m2mportal.store.database import Row
from m2mportal.store.sequences import next_id

log = structlog.get_logger("m2mportal.orders")

ACTION = "simorder"
# Ordered SIMs carry their own issuer digits, so they never meet imported serials.
ISSUER = "894903"


async def place(
    platform: Platform, partner_id: int, client_id: str, order: rules.SimOrder
) -> ActionAccepted:
    db = platform.db
    material = await catalog_store.get(db, "materials", order.material_id)
    tariff_exists = (
        order.tariff_id is not None
        and await catalog_store.get(db, "tariffs", order.tariff_id) is not None
    )
    problems = rules.order_problems(order, material, tariff_exists)
    if problems:
        raise bad_request(*problems)
    now_dt = platform.clock.now()
    now = iso(now_dt)
    delay_ms = (await backend_delays.current(platform)).action_ms
    async with db.transaction():
        signup_id = await next_id(db, "signup")
        await action_store.insert(
            db,
            {
                "signup_id": signup_id,
                "partner_id": partner_id,
                "client_id": client_id,
                "action": ACTION,
                "status": "Pending",
                "params": msgspec.json.encode(order).decode(),
                "total": order.quantity,
                "pending": order.quantity,
                "done": 0,
                "failed": 0,
                "cancelled": 0,
                "not_before": iso(now_dt + timedelta(milliseconds=delay_ms)),
                "created_at": now,
            },
        )
        await order_store.insert(
            db,
            {
                "signup_id": signup_id,
                "partner_id": partner_id,
                "material_id": order.material_id,
                "quantity": order.quantity,
                "override_moq": order.override_moq,
                "tariff_id": order.tariff_id,
            },
        )
    platform.wake_workers()
    href = f"{platform.api_base}/partners/{partner_id}/sims/actions/{signup_id}"
    return ActionAccepted(
        signup_id=signup_id,
        status="Pending",
        links=[Link(rel="actions", href=href, type="GET", name="get action status")],
    )


def _sims(first: int, count: int, material: Row, tariff_id: int | None) -> list[NewSim]:
    esim = material["sim_type"] == "eSIM"
    made = []
    for serial in range(first, first + count):
        iccid = synthetic.iccid(serial, ISSUER)
        made.append(
            NewSim(
                iccid=iccid,
                imsi=synthetic.imsi(serial),
                sim_type="eSIM" if esim else "physical",
                material_id=material["id"],
                status="Inactive",
                tariff_id=tariff_id,
                activation_code=rules.activation_code(iccid) if esim else None,
            )
        )
    return made


async def deliver_next(platform: Platform) -> int:
    """Deliver the next due order; the number of SIMs made (0: none due)."""
    try:
        return await _deliver(platform)
    except inventory.ImportFailed as failed:
        # An identifier made for it is taken already (the operator imported it): the order
        # fails as a whole rather than being retried for ever.
        return await _fail(platform, failed.errors[:5])


async def _fail(platform: Platform, errors: list[str]) -> int:
    db = platform.db
    async with db.transaction():
        now = iso(platform.clock.now())
        order = await order_store.claim_due(db, now)
        if order is None:
            return 0
        signup_id, quantity = order["signup_id"], order["quantity"]
        log.error("order failed", signup_id=signup_id, errors=errors)
        await order_store.mark_delivered(db, signup_id, now)
        await action_store.count_sims(db, signup_id, 0, quantity, now)
        await finish.complete(platform, signup_id, order["partner_id"], "Failed")
    return 1


async def _deliver(platform: Platform) -> int:
    db = platform.db
    async with db.transaction():
        now = iso(platform.clock.now())
        order = await order_store.claim_due(db, now)
        if order is None:
            return 0
        signup_id, partner_id, quantity = order["signup_id"], order["partner_id"], order["quantity"]
        material = await catalog_store.get(db, "materials", order["material_id"])
        assert material is not None
        first = await next_id(db, "ordered_sim", quantity)
        sims = _sims(first, quantity, material, order["tariff_id"])
        await inventory.add_sims(
            db, platform.tree, platform.clock, partner_id,
            ((f"order {signup_id}", sim) for sim in sims),
        )  # fmt: skip
        await action_store.insert_sims(
            db,
            [
                (signup_id, seq, msgspec.json.encode({"iccid": sim.iccid}).decode(), sim.iccid,
                 "Done", None, now)
                for seq, sim in enumerate(sims)
            ],
        )  # fmt: skip
        await order_store.mark_delivered(db, signup_id, now)
        await action_store.count_sims(db, signup_id, quantity, 0, now)
        await finish.complete(platform, signup_id, partner_id, "Done")
    log.info("order delivered", signup_id=signup_id, partner_id=partner_id, sims=quantity)
    return quantity
