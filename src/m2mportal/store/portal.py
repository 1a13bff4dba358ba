"""SQL for the portal: login sessions and failed logins (throttling)."""

from __future__ import annotations

from m2mportal.store.database import Database, Row


async def insert_session(
    db: Database, token_hash: str, user_id: int, csrf: str, now: str, expires_at: str
) -> None:
    await db.execute(
        "INSERT INTO portal_sessions (token_hash, user_id, csrf, created_at, expires_at)"
        " VALUES (:token_hash, :user_id, :csrf, :now, :expires_at)",
        {
            "token_hash": token_hash,
            "user_id": user_id,
            "csrf": csrf,
            "now": now,
            "expires_at": expires_at,
        },
    )


async def get_session(db: Database, token_hash: str, now: str) -> Row | None:
    """The session with its user, unless it expired."""
    return await db.fetch_one(
        "SELECT s.user_id, s.csrf, s.expires_at, u.username, u.partner_id"
        " FROM portal_sessions s JOIN portal_users u ON u.id = s.user_id"
        " WHERE s.token_hash = :token_hash AND s.expires_at > :now",
        {"token_hash": token_hash, "now": now},
    )


async def delete_session(db: Database, token_hash: str) -> int:
    return await db.execute(
        "DELETE FROM portal_sessions WHERE token_hash = :token_hash", {"token_hash": token_hash}
    )


async def delete_sessions_of(db: Database, user_id: int) -> int:
    return await db.execute("DELETE FROM portal_sessions WHERE user_id = :u", {"u": user_id})


async def delete_expired_sessions(db: Database, now: str) -> int:
    return await db.execute("DELETE FROM portal_sessions WHERE expires_at <= :now", {"now": now})


async def insert_failure(db: Database, username: str, address: str, at: str) -> None:
    await db.execute(
        "INSERT INTO portal_login_failures (username, address, at)"
        " VALUES (:username, :address, :at)",
        {"username": username, "address": address, "at": at},
    )


async def failures_since(db: Database, username: str, address: str, since: str) -> Row:
    """Failed logins since ``since``: of this username (from anywhere) and from this
    address (any username)."""
    row = await db.fetch_one(
        "SELECT"
        " (SELECT COUNT(*) FROM portal_login_failures WHERE username = :u AND at > :since)"
        " AS by_user,"
        " (SELECT COUNT(*) FROM portal_login_failures WHERE address = :a AND at > :since)"
        " AS by_address",
        {"u": username, "a": address, "since": since},
    )
    assert row is not None
    return row


async def clear_failures(db: Database, username: str) -> int:
    return await db.execute(
        "DELETE FROM portal_login_failures WHERE username = :u", {"u": username}
    )


async def delete_old_failures(db: Database, before: str) -> int:
    return await db.execute("DELETE FROM portal_login_failures WHERE at <= :b", {"b": before})
