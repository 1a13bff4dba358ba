"""Accepting an action request: validate it whole, resolve its SIMs, store it as the job.

Everything that can make the request as a whole wrong answers 400 before anything is
stored. SIMs that cannot be found, or repeat an earlier entry, fail on their own; the
rest become Pending rows the workers apply.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import msgspec

from m2mportal.actions import backend_delays, finish, state
from m2mportal.clock import iso, parse_iso
from m2mportal.domain.actions import ActionBody, ActionSpec, References, StepContext, request_errors
from m2mportal.domain.errors import bad_request, conflict
from m2mportal.domain.identifiers import lookup_value
from m2mportal.models import ActionAccepted, DryRunResult, DryRunSim, Link
from m2mportal.platform import Platform
from m2mportal.store import actions as action_store
from m2mportal.store import catalog as catalog_store
from m2mportal.store import sims as sim_store
from m2mportal.store import transfers as transfer_store
from m2mportal.store.database import Database
from m2mportal.store.sequences import next_id

IDEMPOTENCY_SECONDS = 24 * 3600
NOT_FOUND = "SIM not found"
# A held action's start: its SIMs wait until a decision releases it (store.actions.release).
HELD_UNTIL = "9999-12-31T00:00:00.000Z"


class Workflow(Protocol):
    """What an action with a life beyond its SIMs adds (services/transfers.py)."""

    async def problems(self, platform: Platform, body: Any, partner_id: int) -> list[str]:
        """Request-level problems that need look-ups (400, each naming its field)."""

    async def stored(
        self, platform: Platform, signup_id: int, partner_id: int, body: Any, now: str
    ) -> int:
        """Inside the transaction that stores the action: its own rows and events; the id
        the answer carries as ``transactionId``."""

    async def reference(self, platform: Platform, signup_id: int) -> int | None:
        """The ``transactionId`` of an action stored earlier (an idempotent repeat)."""


@dataclass
class Entry:
    """One ``sims[i]`` of the request, resolved."""

    index: int
    request: dict[str, Any]
    iccid: str | None
    error: str | None  # set when the SIM fails already at acceptance


async def references(platform: Platform, partner_id: int, scope: frozenset[int]) -> References:
    db = platform.db
    root = await platform.tree.root_of(partner_id)
    tree = await platform.tree.descendants(root)
    return References(
        tariffs={r["id"]: r["binding_months"] for r in await catalog_store.list_all(db, "tariffs")},
        options={r["id"] for r in await catalog_store.list_all(db, "options")},
        profiles={r["id"]: r["kind"] for r in await catalog_store.list_all(db, "profiles")},
        move_targets=frozenset(tree & scope),
    )


def _selector(spec: ActionSpec, entry: dict[str, Any]) -> tuple[str, str]:
    if spec.entries == "binding":
        return "iccid", entry["iccid"]
    kind, value = next((k, v) for k, v in entry.items() if v is not None)
    return kind, value


async def resolve(
    db: Database, spec: ActionSpec, body: ActionBody, scope: frozenset[int]
) -> list[Entry]:
    """Find each entry's SIM among the partner's; mark the missing and the repeated."""
    by_kind: dict[str, set[str]] = {}
    for entry in body.sims:
        kind, value = _selector(spec, entry)
        by_kind.setdefault(kind, set()).add(lookup_value(kind, value))
    found: dict[tuple[str, str], str] = {}
    for kind, values in by_kind.items():
        column = sim_store.LOOKUP_COLUMN[kind]
        for row in await sim_store.lookup(db, column, sorted(values)):
            if row["partner_id"] in scope:
                found[(kind, row["value"])] = row["iccid"]
    # SIMs of an open transfer are the transfer's until it ends: no other action on them.
    locked = await transfer_store.locked(db, sorted(set(found.values())))
    entries: list[Entry] = []
    first_of: dict[str, int] = {}
    for index, request in enumerate(body.sims):
        kind, value = _selector(spec, request)
        iccid = found.get((kind, lookup_value(kind, value)))
        error = None
        if iccid is None:
            error = f"{NOT_FOUND}: no SIM with {kind} {value} in this partner's inventory"
        elif iccid in first_of:
            error = f"duplicate: the same SIM as sims[{first_of[iccid]}], applied once"
        elif iccid in locked:
            error = (
                f"SIM is in pending SIM transfer {locked[iccid]}; no other action until the"
                " transfer ends"
            )
        else:
            first_of[iccid] = index
        entries.append(
            Entry(index, {k: v for k, v in request.items() if v is not None}, iccid, error)
        )
    return entries


def request_hash(action: str, raw: bytes) -> str:
    return hashlib.sha256(action.encode() + b"\0" + raw).hexdigest()


def _links(base: str, partner_id: int, signup_id: int) -> list[Link]:
    return [
        Link(
            rel="actions",
            href=f"{base}/partners/{partner_id}/sims/actions/{signup_id}",
            type="GET",
            name="get action status",
        )
    ]


async def dry_run(
    platform: Platform, spec: ActionSpec, body: ActionBody, entries: list[Entry],
    scope: frozenset[int],
) -> DryRunResult:  # fmt: skip
    """Each SIM's would-be outcome, from the same step the workers run; nothing written."""
    now = iso(platform.clock.now())
    states = await state.load(platform.db, [e.iccid for e in entries if e.iccid and not e.error])
    sims = []
    for entry in entries:
        error = entry.error
        if error is None and entry.iccid is not None:
            sim, remarks = states[entry.iccid]
            msisdn = await state.free_msisdn(platform.db, sim)
            ctx = StepContext(now=now, entry=entry.request, remarks=remarks, msisdn=msisdn)
            _, error = state.step(spec, body, sim, scope, ctx)
        sims.append(
            DryRunSim(
                index=entry.index,
                request=entry.request,
                iccid=entry.iccid,
                status="Failed" if error else "Done",
                error=error,
            )
        )
    failed = sum(1 for s in sims if s.error)
    return DryRunResult(
        action=spec.path,
        dry_run=True,
        would_succeed=len(sims) - failed,
        would_fail=failed,
        sims=sims,
    )


class Budgeted(Protocol):
    async def charge(self, cost: int) -> None: ...
    async def peek(self) -> None: ...


async def _repeat(
    platform: Platform, partner_id: int, key: str, digest: str, workflow: Workflow | None
) -> ActionAccepted | None:
    """The first answer for an Idempotency-Key seen within 24 h; 409 for another body."""
    db = platform.db
    seen = await action_store.get_idempotency(db, partner_id, key)
    if seen is None:
        return None
    cutoff = platform.clock.now() - timedelta(seconds=IDEMPOTENCY_SECONDS)
    if parse_iso(seen["created_at"]) <= cutoff:
        return None
    if seen["request_hash"] != digest:
        raise conflict("Idempotency-Key: already used with a different request in the last 24 h")
    original = await action_store.get_any(db, seen["signup_id"])
    assert original is not None
    return ActionAccepted(
        signup_id=seen["signup_id"],
        status=original["status"],
        links=_links(platform.api_base, partner_id, seen["signup_id"]),
        transaction_id=(
            await workflow.reference(platform, seen["signup_id"]) if workflow else None
        ),
    )


async def accept(
    platform: Platform,
    spec: ActionSpec,
    body: ActionBody,
    raw: bytes,
    partner_id: int,
    client_id: str,
    idempotency_key: str | None,
    is_dry_run: bool,
    budget: Budgeted,
    workflow: Workflow | None = None,
) -> ActionAccepted | DryRunResult:
    """Validate, resolve and store an action; ``budget`` is charged one unit per SIM once
    the request is known to be valid and new (a dry run or an idempotent repeat is free)."""
    db, clock = platform.db, platform.clock
    scope = await platform.tree.descendants(partner_id)
    problems = request_errors(spec, body, await references(platform, partner_id, scope))
    if workflow is not None:
        problems += await workflow.problems(platform, body, partner_id)
    if problems:
        raise bad_request(*problems)
    entries = await resolve(db, spec, body, scope)
    if is_dry_run:
        await budget.peek()
        return await dry_run(platform, spec, body, entries, scope)
    digest = request_hash(spec.path, raw)
    now_dt = clock.now()
    now = iso(now_dt)
    params = msgspec.to_builtins(body)
    params.pop("sims", None)
    delay_ms = (await backend_delays.current(platform)).action_ms
    if idempotency_key is not None:
        repeat = await _repeat(platform, partner_id, idempotency_key, digest, workflow)
        if repeat is not None:
            await budget.peek()
            return repeat
    if spec.held:
        # Only SIMs that can go wait for the decision.
        checked = await dry_run(platform, spec, body, entries, scope)
        for entry, outcome in zip(entries, checked.sims, strict=True):
            entry.error = outcome.error
    await budget.charge(len(entries))
    async with db.transaction():
        if idempotency_key is not None:
            # A concurrent request with the same key may have been stored meanwhile.
            repeat = await _repeat(platform, partner_id, idempotency_key, digest, workflow)
            if repeat is not None:
                return repeat
        signup_id = await next_id(db, "signup")
        failed = sum(1 for e in entries if e.error)
        await action_store.insert(
            db,
            {
                "signup_id": signup_id,
                "partner_id": partner_id,
                "client_id": client_id,
                "action": spec.path,
                "status": "Pending",
                "params": msgspec.json.encode(params).decode(),
                "total": len(entries),
                "pending": len(entries) - failed,
                "done": 0,
                "failed": failed,
                "cancelled": 0,
                "not_before": HELD_UNTIL
                if spec.held
                else iso(now_dt + timedelta(milliseconds=delay_ms)),
                "created_at": now,
            },
        )
        await action_store.insert_sims(
            db,
            [
                (
                    signup_id,
                    e.index,
                    msgspec.json.encode(e.request).decode(),
                    e.iccid,
                    "Failed" if e.error else "Pending",
                    e.error,
                    now if e.error else None,
                )
                for e in entries
            ],
        )
        if idempotency_key is not None:
            await action_store.put_idempotency(
                db, partner_id, idempotency_key, digest, signup_id, now
            )
        transaction_id = None
        # When no SIM can go, nothing is offered: the action just fails (below).
        if workflow is not None and failed < len(entries):
            transaction_id = await workflow.stored(platform, signup_id, partner_id, body, now)
        if failed == len(entries):
            await finish.complete(platform, signup_id, partner_id, "Failed")
    platform.wake_workers()
    return ActionAccepted(
        signup_id=signup_id,
        status="Pending",
        links=_links(platform.api_base, partner_id, signup_id),
        transaction_id=transaction_id,
    )
