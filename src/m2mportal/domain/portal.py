"""Rules of the customer portal's logins (no I/O)."""

from __future__ import annotations

MIN_PASSWORD = 8  # as for a new portal user (operator API, CLI)
MAX_PASSWORD = 200


def login_throttled(
    failures_of_user: int, failures_of_address: int, per_user: int, per_address: int
) -> bool:
    """Whether a login is refused before its password is even checked: too many recent
    failures for this username (guessing one account's password) or from this address
    (trying many accounts)."""
    return failures_of_user >= per_user or failures_of_address >= per_address


def password_problems(new: str, repeated: str, username: str) -> list[str]:
    """Why a new portal password cannot be taken (empty: it can)."""
    problems = []
    if new != repeated:
        problems.append("newPassword: the two new passwords differ")
    if len(new) < MIN_PASSWORD:
        problems.append(f"newPassword: at least {MIN_PASSWORD} characters")
    if len(new) > MAX_PASSWORD:
        problems.append(f"newPassword: at most {MAX_PASSWORD} characters")
    if new.strip().lower() == username.strip().lower():
        problems.append("newPassword: must not be the username")
    if "\x00" in new:
        problems.append("newPassword: must not contain a NUL character")
    return problems
