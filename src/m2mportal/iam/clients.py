"""Client authentication at the token endpoint: which client, and is its secret right."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote

from m2mportal.services.clients import current_status
from m2mportal.store import applications as app_store
from m2mportal.store.database import Database, Row
from m2mportal.vault import Vault, same_secret


class OAuthError(Exception):
    """An RFC 6749 section 5.2 error: ``{"error": ..., "error_description": ...}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


@dataclass(frozen=True)
class AuthenticatedClient:
    row: Row
    # "rest" for the application's REST credentials, "events" for its event credentials.
    kind: str


def credentials(authorization: str | None, form: dict[str, str]) -> tuple[str, str, bool]:
    """``(client_id, client_secret, via_basic)`` from HTTP Basic or the form body."""
    body_id, body_secret = form.get("client_id"), form.get("client_secret")
    if authorization and authorization.lower().startswith("basic "):
        if body_secret:
            raise OAuthError(400, "invalid_request", "use one client authentication method")
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise OAuthError(401, "invalid_client", "malformed Basic credentials") from exc
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise OAuthError(401, "invalid_client", "malformed Basic credentials")
        # RFC 6749 2.3.1: both parts are form-urlencoded before Basic encoding.
        return unquote(client_id), unquote(secret), True
    if not body_id or not body_secret:
        raise OAuthError(401, "invalid_client", "client_id and client_secret are required")
    return body_id, body_secret, False


async def authenticate(
    db: Database,
    vault: Vault,
    client_id: str,
    secret: str,
    now: datetime | None = None,
    provisioning_seconds: float = 0.0,
) -> AuthenticatedClient:
    """The client whose secret this is. Read from the database on every request, never a
    cache: a rotated secret is refused and a just-provisioned application accepted at
    once, in every process (``now``: the platform clock, to end provisioning on time)."""
    row = await app_store.get(db, client_id)
    kind = "rest"
    if row is None:
        row = await app_store.get_by_event_client(db, client_id)
        kind = "events"
    if row is None:
        raise OAuthError(401, "invalid_client", "unknown client or wrong secret")
    stored = row["secret_enc"] if kind == "rest" else row["event_secret_enc"]
    if stored is None or not same_secret(secret, vault.decrypt(stored)):
        raise OAuthError(401, "invalid_client", "unknown client or wrong secret")
    status = row["status"]
    if now is not None:
        status = await current_status(db, row, now, provisioning_seconds)
    if status != "Active":
        raise OAuthError(401, "invalid_client", f"client is not active (status {status})")
    return AuthenticatedClient(row=row, kind=kind)
