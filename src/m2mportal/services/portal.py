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

from m2mportal.clock import iso
from m2mportal.domain.errors import ApiError, bad_request, not_found
from m2mportal.domain.portal import login_throttled, password_problems
from m2mportal.models import Application
from m2mportal.platform import Platform
from m2mportal.services import applications
from m2mportal.store import partners as partner_store
from m2mportal.store import portal as portal_store
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


async def scope(platform: Platform, user: PortalUser) -> frozenset[int]:
    """The partners the user may see: its partner and everything below it."""
    return await platform.tree.descendants(user.partner_id)


async def application(platform: Platform, user: PortalUser, client_id: str) -> Application:
    """One of the user's applications; another partner's answers 404 like an unknown one,
    so a portal URL never tells that it exists."""
    try:
        found = await applications.get(platform, client_id)
    except ApiError:
        found = None
    if found is None or found.partner_id not in await scope(platform, user):
        raise not_found(f"application {client_id} does not exist")
    return found
