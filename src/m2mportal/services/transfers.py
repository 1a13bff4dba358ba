"""SIM transfers between partners: creating one (the ``simtransfer`` catalogue action with
its transfer row and the request event), its details, the decisions (receiver accepts or
rejects, sender or operator cancels) and its completion.

The SIMs of a transfer are the action's rows. They wait (the action is *held*) until the
receiver accepts; then the workers check each SIM like any action's step, and the batch
that finishes the action hands every SIM to the receiver (or its subunit) in one
statement, with the two completion events, in one transaction (``complete``).
"""

from __future__ import annotations

from typing import Any

from m2mportal.clock import iso
from m2mportal.domain import transfers as rules
from m2mportal.domain.actions import SimTransferBody
from m2mportal.domain.errors import ApiError, bad_request, conflict, not_found
from m2mportal.events import cloudevents, outbox
from m2mportal.platform import Platform
from m2mportal.store import actions as action_store
from m2mportal.store import partners as partner_store
from m2mportal.store import transfers as transfer_store
from m2mportal.store.database import Row
from m2mportal.store.sequences import next_id


async def _name(platform: Platform, partner_id: int) -> str:
    row = await partner_store.get(platform.db, partner_id)
    return str(row["name"]) if row else str(partner_id)


def _href(platform: Platform, partner_id: int, transaction_id: int) -> str:
    return f"{platform.api_base}/partners/{partner_id}/sims/actions/simtransfer/{transaction_id}"


async def _notify(
    platform: Platform, row: Row, partner_id: int, message: str, now: str, links: bool = False
) -> None:
    href = _href(platform, partner_id, row["transaction_id"]) if links else None
    await outbox.publish(
        platform.db,
        platform.bus,
        cloudevents.SIM_ACTION,
        partner_id,
        now,
        rules.data(partner_id, row["signup_id"], row["transaction_id"], message, href),
    )


async def _names(platform: Platform, row: Row) -> dict[str, str]:
    return {
        "sender": await _name(platform, row["sender_partner_id"]),
        "receiver": await _name(platform, row["receiver_partner_id"]),
    }


class TransferWorkflow:
    """What the action mechanism (actions/accept.py) asks of a transfer it accepts."""

    async def problems(self, platform: Platform, body: Any, partner_id: int) -> list[str]:
        assert isinstance(body, SimTransferBody)
        tree = platform.tree
        target = body.target_partner_id
        sender_root = await tree.root_of(partner_id)
        exists = await tree.exists(target)
        return rules.target_problems(
            target,
            sender_root,
            exists,
            await tree.root_of(target) if exists else None,
            await transfer_store.allowed_targets(platform.db, sender_root),
        )

    async def stored(
        self, platform: Platform, signup_id: int, partner_id: int, body: Any, now: str
    ) -> int:
        """Inside the acceptance transaction: the transfer row and the receiver's event."""
        assert isinstance(body, SimTransferBody)
        transaction_id = await next_id(platform.db, "transaction")
        values = {
            "transaction_id": transaction_id,
            "signup_id": signup_id,
            "sender_partner_id": partner_id,
            "receiver_partner_id": body.target_partner_id,
            "status": rules.PENDING,
            "message": body.message,
            "created_at": now,
        }
        await transfer_store.insert(platform.db, values)
        row = await transfer_store.get(platform.db, transaction_id)
        assert row is not None
        message = rules.REQUEST_MESSAGE.format(sender=await _name(platform, partner_id))
        await _notify(platform, row, body.target_partner_id, message, now, links=True)
        return transaction_id

    async def reference(self, platform: Platform, signup_id: int) -> int | None:
        row = await transfer_store.by_signup(platform.db, signup_id)
        return None if row is None else int(row["transaction_id"])


WORKFLOW = TransferWorkflow()


def _visible(row: Row, scope: frozenset[int]) -> bool:
    return any(
        row[column] in scope
        for column in ("sender_partner_id", "receiver_partner_id", "subunit_partner_id")
    )


async def _visible_row(platform: Platform, transaction_id: int, scope: frozenset[int]) -> Row:
    row = await transfer_store.get(platform.db, transaction_id)
    if row is None or not _visible(row, scope):
        raise not_found(f"transactionId {transaction_id}: no such SIM transfer")
    return row


async def details(
    platform: Platform, transaction_id: int, scope: frozenset[int], viewer: int | None
) -> rules.TransferDetails:
    """The transfer as a side sees it; ``viewer`` is the path's partner (links use it)."""
    row = await _visible_row(platform, transaction_id, scope)
    names = await _names(platform, row)
    sims = await action_store.sims_of(platform.db, row["signup_id"])
    partner = viewer if viewer is not None else row["receiver_partner_id"]
    href = _href(platform, partner, transaction_id)
    links = [
        rules.TransferLink("self", href, "GET", "get SIM transfer details"),
        rules.TransferLink(
            "actions",
            f"{platform.api_base}/partners/{row['sender_partner_id']}/sims/actions/"
            f"{row['signup_id']}",
            "GET",
            "get action status",
        ),
    ]
    if row["status"] == rules.PENDING:
        links.append(rules.TransferLink("update", href, "PATCH", "update SIM transfer"))
    return rules.TransferDetails(
        transaction_id=row["transaction_id"],
        signup_id=row["signup_id"],
        status=row["status"],
        sender=rules.TransferParty(row["sender_partner_id"], names["sender"]),
        receiver=rules.TransferParty(row["receiver_partner_id"], names["receiver"]),
        subunit_partner_id=row["subunit_partner_id"],
        message=row["message"],
        decided_by=row["decided_by"],
        created_at=row["created_at"],
        decided_at=row["decided_at"],
        completed_at=row["completed_at"],
        sims=[rules.TransferSim(s["iccid"], s["status"], s["error"]) for s in sims],
        links=links,
    )


async def _end(platform: Platform, row: Row, now: str) -> None:
    """The held action ends Cancelled: its SIM rows first, then the action row (the order
    workers lock them in), so nothing of it is applied."""
    db = platform.db
    signup_id = row["signup_id"]
    cancelled = await action_store.cancel_pending(db, signup_id, now)
    if cancelled:
        await action_store.count_cancelled(db, signup_id, cancelled)
    await action_store.finish(db, signup_id, "Cancelled", now)


async def decide(
    platform: Platform,
    transaction_id: int,
    decision: rules.TransferDecision,
    scope: frozenset[int] | None,
) -> rules.TransferDetails:
    """Apply a decision; ``scope`` None is the operator (who may only cancel)."""
    db = platform.db
    row = await (
        _visible_row(platform, transaction_id, scope)
        if scope is not None
        else transfer_store.get(db, transaction_id)
    )
    if row is None:
        raise not_found(f"transactionId {transaction_id}: no such SIM transfer")
    receiver = row["receiver_partner_id"]
    if scope is None:
        side = "operator"
    elif receiver in scope:
        side = "receiver"
    elif row["sender_partner_id"] in scope:
        side = "sender"
    else:
        side = "subunit"
    problem = rules.decision_problem(
        decision.status,
        side,
        decision.subunit_partner_id,
        await platform.tree.descendants(receiver),
    )
    if problem is not None:
        code, text = problem
        raise bad_request(text) if code == 400 else ApiError(403, "Access denied", [text])
    now = iso(platform.clock.now())
    async with db.transaction():
        decided = await transfer_store.decide(
            db, transaction_id, decision.status, side, decision.subunit_partner_id, now
        )
        if decided is None:
            current = await transfer_store.get(db, transaction_id)
            assert current is not None
            raise conflict(f"status: SIM transfer {transaction_id} is already {current['status']}")
        if decision.status == rules.ACCEPTED:
            await action_store.release(db, row["signup_id"], now)
        else:
            await _end(platform, decided, now)
            names = await _names(platform, decided)
            if decision.status == rules.REJECTED:
                message = rules.REJECTED_MESSAGE.format(**names)
                await _notify(platform, decided, decided["sender_partner_id"], message, now)
            else:
                message = rules.CANCELLED_MESSAGE.format(**names)
                # The seed: to the receiver; when the operator cancels, to both sides.
                if side == "operator":
                    await _notify(platform, decided, decided["sender_partner_id"], message, now)
                await _notify(platform, decided, receiver, message, now)
    if decision.status == rules.ACCEPTED:
        platform.wake_workers()
    everything = frozenset({row["sender_partner_id"], receiver})
    return await details(platform, transaction_id, scope if scope is not None else everything, None)


async def complete(platform: Platform, signup_id: int, now: str) -> bool:
    """Inside the transaction that finishes a ``simtransfer`` action: the transfer is
    Completed, every SIM it applied changes owner, and both sides get the event. False
    when the action is not an accepted transfer."""
    row = await transfer_store.complete(platform.db, signup_id, now)
    if row is None:
        return False
    destination = row["subunit_partner_id"] or row["receiver_partner_id"]
    await transfer_store.hand_over(platform.db, signup_id, destination, now)
    message = rules.COMPLETED_MESSAGE.format(**await _names(platform, row))
    await _notify(platform, row, row["sender_partner_id"], message, now)
    await _notify(platform, row, row["receiver_partner_id"], message, now)
    return True


async def targets(platform: Platform, partner_id: int) -> list[int]:
    return sorted(await transfer_store.allowed_targets(platform.db, partner_id))


async def set_targets(platform: Platform, partner_id: int, partner_ids: list[int]) -> list[int]:
    """Replace the top partners ``partner_id`` (a top partner) may transfer SIMs to."""
    tree = platform.tree
    if not await tree.exists(partner_id):
        raise not_found(f"partner {partner_id} does not exist")
    problems = []
    if await tree.root_of(partner_id) != partner_id:
        problems.append(f"partnerId: partner {partner_id} is a subunit; relations are set on"
                        " top partners")  # fmt: skip
    for index, target in enumerate(partner_ids):
        where = f"partnerIds[{index}]"
        if not await tree.exists(target):
            problems.append(f"{where}: partner {target} does not exist")
        elif await tree.root_of(target) != target:
            problems.append(f"{where}: partner {target} is a subunit, not a top partner")
        elif target == partner_id:
            problems.append(f"{where}: a partner does not transfer to itself")
    if len(set(partner_ids)) != len(partner_ids):
        problems.append("partnerIds: each partner at most once")
    if problems:
        raise bad_request(*problems)
    await transfer_store.set_targets(platform.db, partner_id, sorted(set(partner_ids)))
    return await targets(platform, partner_id)
