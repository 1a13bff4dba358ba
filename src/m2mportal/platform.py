"""The platform's parts wired together once: settings, clock, database, keys, caches.

The ASGI app, the CLI and the tests build one ``Platform`` and pass it down; nothing
reaches for globals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from m2mportal import API_BASE
from m2mportal.clock import Clock
from m2mportal.config import Settings
from m2mportal.events.bus import EventBus
from m2mportal.gateway.limits import RateLimiter
from m2mportal.iam.keys import KeyRing
from m2mportal.iam.tokens import TokenIssuer, TokenVerifier, jwks_lookup, keyring_lookup
from m2mportal.services.catalog_names import CatalogNames
from m2mportal.services.clients import ClientCache
from m2mportal.services.partner_tree import PartnerTree
from m2mportal.store import migrate
from m2mportal.store.database import Database, connect
from m2mportal.vault import Vault


@dataclass
class Platform:
    settings: Settings
    clock: Clock
    db: Database
    vault: Vault
    keyring: KeyRing
    issuer: TokenIssuer
    rest_verifier: TokenVerifier
    event_verifier: TokenVerifier
    bus: EventBus
    clients: ClientCache
    tree: PartnerTree
    limiter: RateLimiter
    names: CatalogNames
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def issuer_url(self) -> str:
        return self.issuer.issuer

    @property
    def api_base(self) -> str:
        return base_url(self.settings) + API_BASE

    def new_wakeup(self) -> asyncio.Event:
        """An event set whenever work arrives in this process (a worker waits on it)."""
        event = asyncio.Event()
        self.extras.setdefault("wakeups", []).append(event)
        return event

    def wake_workers(self) -> None:
        for event in self.extras.get("wakeups", []):
            event.set()

    async def close(self) -> None:
        await self.limiter.close()
        await self.db.close()


def base_url(settings: Settings) -> str:
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


async def open_platform(
    settings: Settings,
    clock: Clock | None = None,
    run_migrations: bool = True,
    jwks_fetch: Callable[[], Awaitable[dict[str, Any]]] | None = None,
) -> Platform:
    """Open the database and load keys; ``jwks_fetch`` replaces the external IdP's HTTP fetch."""
    clock = clock or Clock()
    if run_migrations:
        migrate.upgrade(settings.database_url)
    db = await connect(settings.database_url)
    vault = Vault.from_settings(settings)
    keep = settings.token_lifetime + settings.clock_leeway
    keyring = KeyRing(db, vault, clock, keep)
    await keyring.load()
    own_issuer = base_url(settings) + settings.issuer_path
    issuer = TokenIssuer(keyring, own_issuer, clock, settings.token_lifetime)
    if settings.is_external_idp:
        jwks_url = settings.idp_jwks_url or (
            settings.idp_issuer.rstrip("/") + "/protocol/openid-connect/certs"
        )

        async def fetch_jwks() -> dict[str, Any]:
            async with httpx.AsyncClient(timeout=5.0) as http:
                answer = await http.get(jwks_url)
                answer.raise_for_status()
                keys: dict[str, Any] = answer.json()
                return keys

        lookup = jwks_lookup(jwks_fetch or fetch_jwks)

        def verifier_for(audience: str) -> TokenVerifier:
            return TokenVerifier(
                lookup,
                settings.idp_issuer,
                (audience,),
                clock,
                settings.clock_leeway,
                algorithms=tuple(settings.idp_algorithms),
                client_claim=settings.idp_client_claim,
            )

        verifier = verifier_for(settings.idp_audience or settings.token_audience)
        event_verifier = verifier_for(settings.idp_event_audience or settings.event_audience)
    else:
        own_keys = keyring_lookup(keyring)
        verifier = TokenVerifier(
            own_keys, own_issuer, (settings.token_audience,), clock, settings.clock_leeway
        )
        # Event tokens carry their own audience: a REST token opens no stream and an
        # event token calls no API.
        event_verifier = TokenVerifier(
            own_keys, own_issuer, (settings.event_audience,), clock, settings.clock_leeway
        )
    bus = EventBus(db, clock)
    await bus.start()
    tree = PartnerTree(db)
    return Platform(
        settings=settings,
        clock=clock,
        db=db,
        vault=vault,
        keyring=keyring,
        issuer=issuer,
        rest_verifier=verifier,
        event_verifier=event_verifier,
        bus=bus,
        clients=ClientCache(db, settings.app_cache_seconds),
        tree=tree,
        limiter=RateLimiter(settings, db, tree),
        names=CatalogNames(db),
    )
