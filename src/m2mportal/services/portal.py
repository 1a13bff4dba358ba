"""The customer portal's logins: sessions, throttled password checks, password change,
and what a portal user may see (its partner tree).

A session is a random token in an HttpOnly cookie; the database keeps only its SHA-256
with the user and the session's CSRF token, so every API process shares sessions and a
logout or password change ends them everywhere. Failed logins are rows too: the throttle
holds across processes and restarts, and counts on the platform clock.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from m2mportal.actions import views as action_views
from m2mportal.clock import iso
from m2mportal.domain.errors import ApiError, bad_request, not_found
from m2mportal.domain.identifiers import CHECKS, check_iccid, lookup_value
from m2mportal.domain.portal import login_throttled, password_problems
from m2mportal.domain.usage import HISTORY_DEFAULT_DAYS, HISTORY_MAX_DAYS
from m2mportal.events import cloudevents
from m2mportal.models import (
    ActionPage,
    ActionStatus,
    Application,
    SimDetails,
    SimListEntry,
)
from m2mportal.network.models import SessionHistory, SimSession, SmsHistory
from m2mportal.platform import Platform
from m2mportal.services import applications, network, partners, sims
from m2mportal.store import events as event_store
from m2mportal.store import partners as partner_store
from m2mportal.store import portal as portal_store
from m2mportal.store.sims import SimFilter
from m2mportal.vault import check_password, hash_password

# Checked when the username is unknown, so a wrong username costs as long as a wrong
# password and the answer time does not tell which usernames exist.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class PortalUser:
    user_id: int
    username: str
    partner_id: int
    csrf: str


class LoginFailed(Exception):
    """Wrong username or password (which of the two is not said)."""


class LoginThrottled(Exception):
    def __init__(self, minutes: int) -> None:
        super().__init__(f"too many failed logins; try again in {minutes} minutes")
        self.minutes = minutes


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _slow_check(password: str, stored: str) -> bool:
    # scrypt takes tens of milliseconds: off the event loop, so requests go on meanwhile.
    return await asyncio.to_thread(check_password, password, stored)


async def _new_session(platform: Platform, user_id: int) -> str:
    token = secrets.token_urlsafe(32)
    now = platform.clock.now()
    expires = now + timedelta(minutes=platform.settings.portal_session_minutes)
    await portal_store.delete_expired_sessions(platform.db, iso(now))
    await portal_store.insert_session(
        platform.db, _hash(token), user_id, secrets.token_urlsafe(32), iso(now), iso(expires)
    )
    return token


async def log_in(platform: Platform, username: str, password: str, address: str) -> str:
    """A new session token, or ``LoginFailed`` / ``LoginThrottled``."""
    db, settings = platform.db, platform.settings
    now = platform.clock.now()
    window = timedelta(minutes=settings.portal_login_window_minutes)
    counts = await portal_store.failures_since(db, username, address, iso(now - window))
    if login_throttled(
        int(counts["by_user"]),
        int(counts["by_address"]),
        settings.portal_login_failures_user,
        settings.portal_login_failures_address,
    ):
        raise LoginThrottled(settings.portal_login_window_minutes)
    user = await partner_store.get_portal_user(db, username)
    stored = user["password_hash"] if user is not None else _DUMMY_HASH
    if not await _slow_check(password, stored) or user is None:
        await portal_store.delete_old_failures(db, iso(now - window))
        await portal_store.insert_failure(db, username, address, iso(now))
        raise LoginFailed()
    await portal_store.clear_failures(db, username)
    return await _new_session(platform, int(user["id"]))


async def session(platform: Platform, token: str) -> PortalUser | None:
    if not token:
        return None
    row = await portal_store.get_session(platform.db, _hash(token), iso(platform.clock.now()))
    if row is None:
        return None
    return PortalUser(
        user_id=int(row["user_id"]),
        username=row["username"],
        partner_id=int(row["partner_id"]),
        csrf=row["csrf"],
    )


async def log_out(platform: Platform, token: str) -> None:
    await portal_store.delete_session(platform.db, _hash(token))


async def change_password(
    platform: Platform, user: PortalUser, current: str, new: str, repeated: str
) -> str:
    """Takes the new password and ends every session of the user (a stolen cookie stops
    working); answers a fresh session token for the browser that changed it."""
    row = await partner_store.get_portal_user(platform.db, user.username)
    if row is None or not await _slow_check(current, row["password_hash"]):
        raise bad_request("currentPassword: wrong password")
    if problems := password_problems(new, repeated, user.username):
        raise bad_request(*problems)
    hashed = await asyncio.to_thread(hash_password, new)
    async with platform.db.transaction():
        await partner_store.set_password(platform.db, user.username, hashed)
        await portal_store.delete_sessions_of(platform.db, user.user_id)
    return await _new_session(platform, user.user_id)


async def scope_of(platform: Platform, user: PortalUser) -> frozenset[int]:
    """The partners the user may see: its partner and everything below it."""
    return await platform.tree.descendants(user.partner_id)


async def application(platform: Platform, user: PortalUser, client_id: str) -> Application:
    """One of the user's applications; another partner's answers 404 like an unknown one,
    so a portal URL never tells that it exists."""
    if not client_id.isascii() or not client_id.isprintable() or len(client_id) > 100:
        raise not_found("application: no such application")
    try:
        found = await applications.get(platform, client_id)
    except ApiError:
        found = None
    if found is None or found.partner_id not in await scope_of(platform, user):
        raise not_found(f"application {client_id} does not exist")
    return found


# Beyond the seed: the user's SIMs, actions and events, read through the API's services.

SEARCH_KINDS = ("iccid", "euiccid", "imsi", "msisdn", "imei")
PAGE_SIZE = 50


@dataclass(frozen=True)
class SimSearch:
    counts: dict[str, int]
    sims: list[SimListEntry]
    total: int
    problem: str = ""


async def sims_overview(
    platform: Platform, user: PortalUser, text: str, status: str | None, page: int
) -> SimSearch:
    """SIM counts by state and a page of SIMs; ``text`` is any identifier (ICCID, EID,
    IMSI, MSISDN, IMEI): every kind it can be is looked up, as the same digits may be an
    IMSI or an IMEI."""
    db, clock = platform.db, platform.clock
    scope = sorted(await scope_of(platform, user))
    partner = await partners.view(db, platform.tree, user.partner_id)
    url = platform.api_base + f"/partners/{user.partner_id}/sims"
    text = text.strip()
    if not text:
        flt = SimFilter(partner_ids=scope, status=status)
        found = await sims.list_page(db, clock, url, flt, PAGE_SIZE, page, None)
        return SimSearch(partner.sim_counts, found.entries(), found.page.total_elements or 0)
    kinds = [kind for kind in SEARCH_KINDS if CHECKS[kind](text) is None]
    if not kinds:
        return SimSearch(
            partner.sim_counts,
            [],
            0,
            f"'{text}' is not an ICCID, EID, IMSI, MSISDN or IMEI (digits only).",
        )
    hits: dict[str, SimListEntry] = {}
    for kind in kinds:
        value = lookup_value(kind, text)
        flt = SimFilter(partner_ids=scope, status=status)
        if kind == "imei":
            flt.imei_key = value
        else:
            setattr(flt, kind, value)
        for entry in (await sims.list_page(db, clock, url, flt, PAGE_SIZE, 0, None)).entries():
            hits.setdefault(entry.iccid, entry)
    return SimSearch(partner.sim_counts, list(hits.values()), len(hits))


@dataclass(frozen=True)
class SimView:
    details: SimDetails
    session: SimSession
    sessions: SessionHistory
    sms: SmsHistory


async def sim(platform: Platform, user: PortalUser, iccid: str) -> SimView:
    """One SIM of the user's tree with its open session and recent history (404 outside)."""
    if check_iccid(iccid):
        raise not_found(f"iccid {iccid}: no SIM with this identifier")
    db, clock = platform.db, platform.clock
    scope = await scope_of(platform, user)
    found = await sims.details(db, platform.names, clock, platform.api_base, "iccid", iccid, scope)
    row = await network.find(db, "iccid", iccid, sorted(scope))
    start, end = network.check_window(clock, None, None, HISTORY_DEFAULT_DAYS)
    sms_start, sms_end = network.check_window(clock, None, None, HISTORY_MAX_DAYS)
    return SimView(
        details=found,
        session=await network.session(db, row, parallel=True),
        sessions=await network.session_history(db, row, start, end, 0, PAGE_SIZE),
        sms=await network.sms_history(db, clock, row, sms_start, sms_end, 0, PAGE_SIZE),
    )


async def actions(platform: Platform, user: PortalUser, page: int) -> ActionPage:
    scope = await scope_of(platform, user)
    return await action_views.page(platform, scope, None, None, None, None, PAGE_SIZE, page)


async def action(platform: Platform, user: PortalUser, signup_id: int) -> ActionStatus:
    return await action_views.status(platform, signup_id, await scope_of(platform, user))


async def events(platform: Platform, user: PortalUser, after: int) -> list[dict[str, Any]]:
    """The newest CloudEvents of the user's tree (after ``after``, a sequence number),
    newest first, each with its ``seq`` so the page can ask for what came next."""
    scope = sorted(await scope_of(platform, user))
    rows = await event_store.recent_of(platform.db, scope, after, PAGE_SIZE)
    return [{"seq": int(row["seq"]), "event": cloudevents.envelope(row)} for row in rows]
