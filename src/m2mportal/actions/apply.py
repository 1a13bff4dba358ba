"""Applying claimed SIMs of actions, exactly once.

A worker claims a batch of ready SIM rows and applies them in one transaction: each SIM's
change, its row going from Pending to Done/Failed, its audit row and the action's counters
commit together. A crash before the commit leaves the batch Pending (a new worker does
it), a crash after leaves it done (nobody does it again). A SIM is never half-changed: its
writes commit with its result row. Should a batch fail to write, its SIMs are retried one
per transaction; a SIM that still cannot be written fails with an internal error (nothing
of it changed), so one bad SIM cannot hold up the others.

One transaction per SIM costs ~11 round trips a SIM; on PostgreSQL that made a 1,000-SIM
action take 5-15 s. A batch costs about as many round trips as one SIM did.
"""

from __future__ import annotations

import os
import socket
from collections import defaultdict
from typing import Any

import msgspec
import structlog

from m2mportal.actions import finish, state
from m2mportal.clock import iso
from m2mportal.domain.actions import BY_PATH, ActionSpec, StepContext
from m2mportal.domain.sim_state import Change
from m2mportal.platform import Platform
from m2mportal.store import actions as action_store
from m2mportal.store import rules as rule_store
from m2mportal.store import sims as sim_store
from m2mportal.store.database import Database, Row

log = structlog.get_logger("m2mportal.actions")

# Names this process in the audit trail, so shared work shows who did what.
WORKER_ID = f"{socket.gethostname()}-{os.getpid()}"
BATCH = 100


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


async def _write(db: Database, changes: list[tuple[str, Change]], now: str) -> None:
    """All SIM changes of a batch; column updates grouped so alike changes go together."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for iccid, change in changes:
        if change.columns:
            values = {**change.columns, "updated_at": now}
            by_columns[tuple(sorted(values))].append({**values, "iccid": iccid})
    for names, rows in by_columns.items():
        await sim_store.update_many(db, names, rows)
    for iccid, change in changes:
        for option_id in change.drop_options:
            await sim_store.drop_option(db, iccid, option_id)
        for option_id in change.book_options:
            await sim_store.book_option(db, iccid, option_id, now)
        for apn, restriction in change.apn_restrictions.items():
            await sim_store.update_apn(db, iccid, apn, "restriction_status", restriction)
        for apn, ip in change.apn_static_ips.items():
            await sim_store.update_apn(db, iccid, apn, "static_ip", ip)
    await rule_store.forget_limits(db, [iccid for iccid, change in changes if change.forget_limits])


async def _apply(platform: Platform, claimed: list[Row], now: str) -> None:
    """Apply claimed rows inside the caller's transaction."""
    db = platform.db
    actions: dict[int, tuple[Row, ActionSpec, dict[str, Any], frozenset[int]]] = {}
    for signup_id in {row["signup_id"] for row in claimed}:
        action = await action_store.get_any(db, signup_id)
        assert action is not None
        scope = await platform.tree.descendants(action["partner_id"])
        actions[signup_id] = (
            action, BY_PATH[action["action"]], msgspec.json.decode(action["params"]), scope
        )  # fmt: skip
    loaded = await state.load(db, [row["iccid"] for row in claimed])
    changes: list[tuple[str, Change]] = []
    results: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    assigned: set[str] = set()  # MSISDNs this batch gives out (not yet in the database)
    for row in claimed:
        signup_id, iccid = row["signup_id"], row["iccid"]
        _, spec, params, scope = actions[signup_id]
        entry = msgspec.json.decode(row["selector"])
        error: str | None
        if iccid not in loaded:
            error = "SIM not found"
        else:
            sim, remarks = loaded[iccid]
            body = msgspec.convert({**params, "sims": [entry]}, spec.body)
            msisdn = await state.free_msisdn(db, sim) if spec.path == "activation" else None
            if msisdn in assigned:
                msisdn = None
            elif msisdn is not None:
                assigned.add(msisdn)
            ctx = StepContext(now=now, entry=entry, remarks=remarks, msisdn=msisdn)
            change, error = state.step(spec, body, sim, scope, ctx)
            if change is not None:
                changes.append((iccid, change))
                audit.append(
                    {
                        "iccid": iccid,
                        "signup_id": signup_id,
                        "action": spec.path,
                        "changes": _describe(change),
                        "worker": WORKER_ID,
                        "now": now,
                    }
                )
        results.append(
            {
                "id": signup_id,
                "seq": row["seq"],
                "status": "Failed" if error else "Done",
                "error": error,
                "now": now,
            }
        )
        counts[signup_id][1 if error else 0] += 1
    await _write(db, changes, now)
    if audit:
        await action_store.record_changes(db, audit)
    await action_store.mark_sims(db, results)
    for signup_id, (done, failed) in sorted(counts.items()):
        total = await action_store.count_sims(db, signup_id, done, failed, now)
        finish.note_progress(signup_id, total, done, failed)
        if total["pending"] == 0:
            status = finish.final_status(total["done"], total["failed"], total["cancelled"])
            await finish.complete(platform, signup_id, total["partner_id"], status)


async def _apply_batch(platform: Platform, batch: int) -> int:
    db = platform.db
    async with db.transaction():
        now = iso(platform.clock.now())
        claimed = await action_store.claim(db, now, batch)
        if claimed:
            await _apply(platform, claimed, now)
        return len(claimed)


async def _fail_next(platform: Platform) -> int:
    """The next ready SIM could not be written: it fails with an internal error (its change
    rolled back) so the SIMs behind it go on."""
    db = platform.db
    async with db.transaction():
        now = iso(platform.clock.now())
        claimed = await action_store.claim(db, now, 1)
        if not claimed:
            return 0
        row = claimed[0]
        error = "internal error: the change could not be applied; nothing was changed"
        await action_store.mark_sims(
            db,
            [{"id": row["signup_id"], "seq": row["seq"], "status": "Failed", "error": error,
              "now": now}],
        )  # fmt: skip
        total = await action_store.count_sims(db, row["signup_id"], 0, 1, now)
        if total["pending"] == 0:
            status = finish.final_status(total["done"], total["failed"], total["cancelled"])
            await finish.complete(platform, row["signup_id"], total["partner_id"], status)
    return 1


async def apply_next(platform: Platform, batch: int = BATCH) -> int:
    """Claim and apply up to ``batch`` ready SIMs; the number processed (0: none ready)."""
    try:
        return await _apply_batch(platform, batch)
    except Exception:
        if batch == 1:
            log.exception("applying a SIM failed; it fails with an internal error")
            return await _fail_next(platform)
        log.exception("applying a batch failed; retrying its SIMs one at a time")
    applied = 0
    for _ in range(batch):
        count = await apply_next(platform, 1)
        if count == 0:
            break
        applied += count
    return applied
