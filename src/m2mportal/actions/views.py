"""Reading and cancelling actions: status with per-SIM results, the list, DELETE."""

from __future__ import annotations

import msgspec

from m2mportal.actions import finish
from m2mportal.clock import iso
from m2mportal.domain.errors import ApiError, not_found
from m2mportal.models import (
    ActionCounts,
    ActionPage,
    ActionSimResult,
    ActionStatus,
    ActionSummary,
    Link,
    PageInfo,
)
from m2mportal.platform import Platform
from m2mportal.store import actions as action_store
from m2mportal.store.database import Row

# Actions ended elsewhere than by DELETE: the reason DELETE answers 409.
_NOT_BY_DELETE = {
    "simtransfer": "a SIM transfer is cancelled with PATCH .../sims/actions/simtransfer/"
    "{transactionId} and status Cancelled",
    "simorder": "a SIM order cannot be cancelled",
}


def _counts(row: Row) -> ActionCounts:
    return ActionCounts(
        total=row["total"],
        pending=row["pending"],
        done=row["done"],
        failed=row["failed"],
        cancelled=row["cancelled"],
    )


def _links(platform: Platform, row: Row) -> list[Link]:
    href = f"{platform.api_base}/partners/{row['partner_id']}/sims/actions/{row['signup_id']}"
    links = [Link(rel="self", href=href, type="GET", name="get action status")]
    if row["finished_at"] is None and row["action"] not in _NOT_BY_DELETE:
        links.append(Link(rel="cancel", href=href, type="DELETE", name="cancel action"))
    return links


def _raw_params(stored: str) -> dict[str, msgspec.Raw]:
    return {k: msgspec.Raw(msgspec.json.encode(v)) for k, v in msgspec.json.decode(stored).items()}


def _finished(signup_id: int, status: str) -> ApiError:
    return ApiError(409, "Conflict", [f"signupId {signup_id}: action is already {status}"])


async def status(platform: Platform, signup_id: int, scope: frozenset[int]) -> ActionStatus:
    row = await action_store.get(platform.db, signup_id, sorted(scope))
    if row is None:
        raise not_found(f"signupId {signup_id}: no such action")
    sims = await action_store.sims_of(platform.db, signup_id)
    return ActionStatus(
        signup_id=row["signup_id"],
        action=row["action"],
        status=row["status"],
        partner_id=row["partner_id"],
        requested_by=row["client_id"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        counts=_counts(row),
        parameters=_raw_params(row["params"]),
        sims=[
            ActionSimResult(
                index=s["seq"],
                request=msgspec.json.decode(s["selector"]),
                iccid=s["iccid"],
                status=s["status"],
                error=s["error"],
                processed_at=s["processed_at"],
            )
            for s in sims
        ],
        links=_links(platform, row),
    )


async def page(
    platform: Platform, scope: frozenset[int], action: str | None, status_: str | None,
    created_from: str | None, created_to: str | None, size: int, number: int,
) -> ActionPage:  # fmt: skip
    rows, total = await action_store.list_page(
        platform.db, sorted(scope), action, status_, created_from, created_to, size, number * size
    )
    pages = (total + size - 1) // size
    return ActionPage(
        content=[
            ActionSummary(
                signup_id=r["signup_id"],
                action=r["action"],
                status=r["status"],
                requested_by=r["client_id"],
                created_at=r["created_at"],
                finished_at=r["finished_at"],
                counts=_counts(r),
                links=_links(platform, r),
            )
            for r in rows
        ],
        page=PageInfo(size=size, number=number, total_elements=total, total_pages=pages),
        links=[],
    )


async def cancel(platform: Platform, signup_id: int, scope: frozenset[int]) -> ActionStatus:
    """Cancel the SIMs not yet processed; those already done stay done. 409 once finished.

    The pending SIM rows are cancelled before the action row is touched: workers lock a SIM
    row, then the action row, and taking them in the same order cannot deadlock."""
    db = platform.db
    row = await action_store.get(db, signup_id, sorted(scope))
    if row is None:
        raise not_found(f"signupId {signup_id}: no such action")
    if row["finished_at"] is not None:
        raise ApiError(
            409, "Conflict", [f"signupId {signup_id}: action is already {row['status']}"]
        )
    if row["action"] in _NOT_BY_DELETE:
        raise ApiError(409, "Conflict", [f"signupId {signup_id}: {_NOT_BY_DELETE[row['action']]}"])
    async with db.transaction():
        cancelled = await action_store.cancel_pending(db, signup_id, iso(platform.clock.now()))
        if cancelled:
            counts = await action_store.count_cancelled(db, signup_id, cancelled)
            if counts["pending"] == 0:
                await finish.complete(platform, signup_id, row["partner_id"], "Cancelled")
        else:
            current = await action_store.get_any(db, signup_id)
            if current is not None and current["finished_at"] is not None:
                raise ApiError(
                    409,
                    "Conflict",
                    [f"signupId {signup_id}: action is already {current['status']}"],
                )
    return await status(platform, signup_id, scope)
