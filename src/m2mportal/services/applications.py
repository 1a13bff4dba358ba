"""API applications: register (REST and event credentials, subscriptions), read, change,
delete, show and rotate their secrets.

Secrets are generated here and stored only encrypted (Fernet, retrievable: the operator
and the portal can show them again); a rotation replaces one, and the token endpoint reads
the secret from the database on every request, so the old one is refused at once.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from datetime import timedelta
from typing import Any

from m2mportal.clock import iso
from m2mportal.config import Settings
from m2mportal.domain.errors import bad_request, not_found
from m2mportal.models import (
    Application,
    ApplicationChange,
    ApplicationCredentials,
    ApplicationSecrets,
    NewApplication,
    RotatedSecret,
    Subscription,
)
from m2mportal.platform import Platform, base_url
from m2mportal.services.clients import current_status
from m2mportal.services.partner_tree import PartnerTree
from m2mportal.store import applications as app_store
from m2mportal.store import partners as partner_store
from m2mportal.store.database import Row
from m2mportal.vault import new_secret


def subscription_url(settings: Settings, subscription_id: str) -> str:
    return f"{base_url(settings)}/events/v1/sse/{subscription_id}"


def _check_whitelist(addresses: list[str]) -> list[str]:
    problems = []
    for index, address in enumerate(addresses):
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            problems.append(f"ipWhitelist[{index}]: {address!r} is not an IPv4 address")
    if len(set(addresses)) != len(addresses):
        problems.append("ipWhitelist: addresses must not repeat")
    if len(addresses) > 10:
        problems.append("ipWhitelist: at most 10 addresses")
    return problems


async def _check_subunits(
    tree: PartnerTree, partner_id: int, user_type: str, subunits: list[int]
) -> list[str]:
    if user_type == "Standard":
        return ["subunits: only a Subunit user has subunits"] if subunits else []
    if not subunits:
        return ["subunits: a Subunit user needs at least one subunit"]
    below = await tree.descendants(partner_id)
    return [
        f"subunits[{i}]: partner {s} is not a subunit of partner {partner_id}"
        for i, s in enumerate(subunits)
        if s == partner_id or s not in below
    ]


def _initial_status(settings: Settings) -> str:
    return "Active" if settings.provisioning_seconds <= 0 else "In Creation"


async def register(
    platform: Platform, partner_id: int, spec: NewApplication
) -> ApplicationCredentials:
    db, clock = platform.db, platform.clock
    if await partner_store.get(db, partner_id) is None:
        raise not_found(f"partner {partner_id} does not exist")
    problems = _check_whitelist(spec.ip_whitelist)
    problems += await _check_subunits(platform.tree, partner_id, spec.user_type, spec.subunits)
    if len(set(spec.event_types)) != len(spec.event_types):
        problems.append("eventTypes: event types must not repeat")
    if problems:
        raise bad_request(*problems)
    client_id = "m2m-" + secrets.token_hex(8)
    event_client_id = "iris-" + secrets.token_hex(8)
    secret, event_secret = new_secret(), new_secret()
    now = iso(clock.now())
    status = _initial_status(platform.settings)
    async with db.transaction():
        await app_store.insert(
            db,
            {
                "client_id": client_id,
                "partner_id": partner_id,
                "role": "partner",
                "name": spec.name,
                "secret_enc": platform.vault.encrypt(secret),
                "event_client_id": event_client_id,
                "event_secret_enc": platform.vault.encrypt(event_secret),
                "status": status,
                "read_only": spec.read_only,
                "ip_whitelist": json.dumps(spec.ip_whitelist),
                "user_type": spec.user_type,
                "subunits": json.dumps(spec.subunits),
                "created_at": now,
                "updated_at": now,
            },
        )
        subs = []
        for event_type in spec.event_types:
            sub_id = "sub-" + secrets.token_hex(10)
            await app_store.insert_subscription(db, sub_id, client_id, event_type, now)
            subs.append(
                Subscription(
                    event_type=event_type,
                    subscription_id=sub_id,
                    url=subscription_url(platform.settings, sub_id),
                )
            )
    return ApplicationCredentials(
        client_id=client_id,
        client_secret=secret,
        event_client_id=event_client_id,
        event_client_secret=event_secret,
        status=status,
        partner_id=partner_id,
        name=spec.name,
        read_only=spec.read_only,
        ip_whitelist=spec.ip_whitelist,
        user_type=spec.user_type,
        subunits=spec.subunits,
        subscriptions=subs,
    )


async def create_operator_client(platform: Platform, name: str) -> ApplicationCredentials:
    if not name.strip():
        raise bad_request("name: must not be blank")
    client_id = "operator-" + secrets.token_hex(6)
    secret = new_secret()
    now = iso(platform.clock.now())
    await app_store.insert(
        platform.db,
        {
            "client_id": client_id,
            "partner_id": None,
            "role": "operator",
            "name": name,
            "secret_enc": platform.vault.encrypt(secret),
            "event_client_id": None,
            "event_secret_enc": None,
            "status": "Active",
            "read_only": False,
            "ip_whitelist": "[]",
            "user_type": "Standard",
            "subunits": "[]",
            "created_at": now,
            "updated_at": now,
        },
    )
    return ApplicationCredentials(
        client_id=client_id,
        client_secret=secret,
        event_client_id=None,
        event_client_secret=None,
        status="Active",
        partner_id=None,
        name=name,
        read_only=False,
        ip_whitelist=[],
        user_type="Standard",
        subunits=[],
        subscriptions=[],
    )


async def _view(platform: Platform, row: Row) -> Application:
    db, settings = platform.db, platform.settings
    subs = await app_store.subscriptions_of(db, row["client_id"])
    status = await current_status(db, row, platform.clock.now(), settings.provisioning_seconds)
    return Application(
        client_id=row["client_id"],
        partner_id=row["partner_id"],
        name=row["name"],
        status=status,
        read_only=bool(row["read_only"]),
        ip_whitelist=json.loads(row["ip_whitelist"]),
        user_type=row["user_type"],
        subunits=json.loads(row["subunits"]),
        event_client_id=row["event_client_id"],
        subscriptions=[
            Subscription(
                event_type=s["event_type"],
                subscription_id=s["id"],
                url=subscription_url(settings, s["id"]),
            )
            for s in subs
        ],
        created_at=row["created_at"],
    )


async def _row(platform: Platform, client_id: str) -> Row:
    row = await app_store.get(platform.db, client_id)
    if row is None:
        raise not_found(f"application {client_id} does not exist")
    return row


async def get(platform: Platform, client_id: str) -> Application:
    return await _view(platform, await _row(platform, client_id))


async def list_for_partner(platform: Platform, partner_id: int) -> list[Application]:
    rows = await app_store.list_for_partner(platform.db, partner_id)
    return [await _view(platform, row) for row in rows]


async def event_secrets(platform: Platform, partner_id: int) -> dict[str, str]:
    """Event client secrets of a partner's applications, for "Show IRIS Client Secrets"."""
    rows = await app_store.list_for_partner(platform.db, partner_id)
    return {
        row["client_id"]: platform.vault.decrypt(row["event_secret_enc"])
        for row in rows
        if row["event_secret_enc"]
    }


def _secrets(platform: Platform, row: Row) -> dict[str, Any]:
    event = row["event_secret_enc"]
    return {
        "client_id": row["client_id"],
        "client_secret": platform.vault.decrypt(row["secret_enc"]),
        "event_client_id": row["event_client_id"],
        "event_client_secret": platform.vault.decrypt(event) if event else None,
    }


async def secrets_of(platform: Platform, client_id: str) -> ApplicationSecrets:
    """Both secrets of an application, whole (the operator's and the portal's "show")."""
    return ApplicationSecrets(**_secrets(platform, await _row(platform, client_id)))


async def rotate_secret(platform: Platform, client_id: str, which: str) -> RotatedSecret:
    """A new REST (``client``) or event (``event``) secret; the old one is refused from
    now on. Tokens it already got stay valid until they expire, as in Keycloak."""
    row = await _row(platform, client_id)
    if which == "event" and row["event_client_id"] is None:
        raise bad_request(f"which: {client_id} is an operator client, it has no event secret")
    column = "secret_enc" if which == "client" else "event_secret_enc"
    secret = new_secret()
    now = iso(platform.clock.now())
    await app_store.set_secret(platform.db, client_id, column, platform.vault.encrypt(secret), now)
    values = _secrets(platform, row)
    values["client_secret" if which == "client" else "event_client_secret"] = secret
    return RotatedSecret(**values, rotated=which)  # type: ignore[arg-type]


async def change(platform: Platform, client_id: str, spec: ApplicationChange) -> Application:
    values: dict[str, Any] = {}
    if spec.ip_whitelist is not None:
        if problems := _check_whitelist(spec.ip_whitelist):
            raise bad_request(*problems)
        values["ip_whitelist"] = json.dumps(spec.ip_whitelist)
    if spec.read_only is not None:
        values["read_only"] = spec.read_only
    if spec.name is not None:
        values["name"] = spec.name
    if await app_store.get(platform.db, client_id) is None:
        raise not_found(f"application {client_id} does not exist")
    if values:
        values["updated_at"] = iso(platform.clock.now())
        await app_store.update(platform.db, client_id, values)
        platform.clients.forget(client_id)
    return await get(platform, client_id)


async def delete(platform: Platform, client_id: str) -> None:
    if await app_store.delete(platform.db, client_id) == 0:
        raise not_found(f"application {client_id} does not exist")
    platform.clients.forget(client_id)


async def activate_due(platform: Platform) -> int:
    """Finish provisioning: 'In Creation' applications older than the delay become Active."""
    cutoff = iso(platform.clock.now() - timedelta(seconds=platform.settings.provisioning_seconds))
    count = await app_store.activate_created(platform.db, iso(platform.clock.now()), cutoff)
    return count
