"""Who is calling: the bearer token checked, the client still active, its address allowed.

Everything here answers from memory on the hot path: claims are cached per token, the
client's status per client id (at most a few seconds), the partner tree in the tree cache.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from m2mportal.domain.errors import ApiError, forbidden, unauthorized
from m2mportal.gateway import inputs
from m2mportal.gateway.client_address import client_ip
from m2mportal.iam.claims import Claims
from m2mportal.platform import Platform
from m2mportal.services.clients import ClientInfo


@dataclass(frozen=True)
class Principal:
    client: ClientInfo
    claims: Claims
    # Partners this caller may address: its partner's tree, or for a subunit user the
    # trees of its assigned subunits.
    scope_ids: frozenset[int]

    @property
    def client_id(self) -> str:
        return self.client.client_id

    @property
    def partner_id(self) -> int | None:
        return self.client.partner_id

    @property
    def read_only(self) -> bool:
        return self.client.read_only


def bearer_token(conn: HTTPConnection) -> str:
    header = inputs.header(conn.scope, b"authorization")
    if not header:
        raise unauthorized("missing Authorization header with a Bearer token")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("Authorization header must be 'Bearer <token>'")
    return token.strip()


def check_address(platform: Platform, conn: HTTPConnection, client: ClientInfo) -> None:
    if client.ip_whitelist:
        address = client_ip(conn, tuple(platform.settings.trusted_proxies))
        if address not in client.ip_whitelist:
            raise forbidden(f"client address {address} is not in the application's IP whitelist")


async def authenticate(platform: Platform, conn: HTTPConnection, role: str) -> Principal:
    """Check the bearer token for the customer API (``role="partner"``) or the operator API."""
    claims = await platform.rest_verifier.verify(bearer_token(conn))
    client = await platform.clients.get(claims.client_id)
    if client is None or not client.active:
        raise unauthorized("the application of this token does not exist or is not active")
    if client.role != role:
        if role == "operator":
            raise ApiError(403, "Access denied", ["operator role required"])
        raise ApiError(403, "Access denied", ["operator clients cannot call the customer API"])
    check_address(platform, conn, client)
    if client.role == "operator" or client.partner_id is None:
        scope: frozenset[int] = frozenset()
    elif client.user_type == "Subunit":
        scope = frozenset().union(*[await platform.tree.descendants(s) for s in client.subunits])
    else:
        scope = await platform.tree.descendants(client.partner_id)
    return Principal(client=client, claims=claims, scope_ids=scope)
