"""Applying one SIM of an action, in its own transaction, exactly once.

The SIM's change, its row going from Pending to Done/Failed and the action's counters
commit together: a crash before the commit leaves the SIM Pending (a new worker does it),
a crash after leaves it done (nobody does it again).
"""

from __future__ import annotations

import os
import socket

import msgspec

from m2mportal.actions import finish, state
from m2mportal.clock import iso
from m2mportal.domain.actions import BY_PATH, StepContext
from m2mportal.domain.sim_state import Change
from m2mportal.platform import Platform
from m2mportal.store import actions as action_store
from m2mportal.store import sims as sim_store
from m2mportal.store.database import Database

# Names this process in the audit trail, so shared work shows who did what.
WORKER_ID = f"{socket.gethostname()}-{os.getpid()}"


def _describe(change: Change) -> str:
    return msgspec.json.encode(
        {
            "columns": change.columns,
            "bookOptions": change.book_options,
            "dropOptions": change.drop_options,
            "apnRestrictions": change.apn_restrictions,
            "apnStaticIps": change.apn_static_ips,
        }
    ).decode()


async def _write(db: Database, iccid: str, change: Change, now: str) -> None:
    if change.columns:
        await sim_store.update(db, iccid, {**change.columns, "updated_at": now})
    for option_id in change.drop_options:
        await sim_store.drop_option(db, iccid, option_id)
    for option_id in change.book_options:
        await sim_store.book_option(db, iccid, option_id, now)
    for apn, restriction in change.apn_restrictions.items():
        await sim_store.update_apn(db, iccid, apn, "restriction_status", restriction)
    for apn, ip in change.apn_static_ips.items():
        await sim_store.update_apn(db, iccid, apn, "static_ip", ip)


async def apply_next(platform: Platform) -> bool:
    """Claim and apply the next ready SIM; False when none is ready."""
    db = platform.db
    async with db.transaction():
        now = iso(platform.clock.now())
        claimed = await action_store.claim_next(db, now)
        if claimed is None:
            return False
        signup_id, seq, iccid = claimed["signup_id"], claimed["seq"], claimed["iccid"]
        action = await action_store.get_any(db, signup_id)
        assert action is not None
        spec = BY_PATH[action["action"]]
        params = msgspec.json.decode(action["params"])
        entry = msgspec.json.decode(claimed["selector"])
        body = msgspec.convert({**params, "sims": [entry]}, spec.body)
        scope = await platform.tree.descendants(action["partner_id"])
        loaded = await state.load(db, [iccid])
        error: str | None
        if iccid not in loaded:
            error = "SIM not found"
        else:
            sim, remarks = loaded[iccid]
            msisdn = await state.free_msisdn(db, sim) if spec.path == "activation" else None
            ctx = StepContext(now=now, entry=entry, remarks=remarks, msisdn=msisdn)
            change, error = state.step(spec, body, sim, scope, ctx)
            if change is not None:
                await _write(db, iccid, change, now)
                await action_store.record_change(
                    db, iccid, signup_id, spec.path, _describe(change), WORKER_ID, now
                )
        await action_store.mark_sim(db, signup_id, seq, "Failed" if error else "Done", error, now)
        counts = await action_store.count_sim(db, signup_id, "failed" if error else "done", now)
        if counts["pending"] == 0:
            status = finish.final_status(counts["done"], counts["failed"], counts["cancelled"])
            await finish.complete(platform, signup_id, counts["partner_id"], status)
    return True
