"""The issuer's signing keys: creation, rotation and the published JWKS.

A rotated-out key stays published until every token it signed has expired (token
lifetime plus leeway), so rotation never cuts off a client mid-token.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import timedelta
from typing import Any

from joserfc.jwk import RSAKey

from m2mportal.clock import Clock, iso, parse_iso
from m2mportal.store import keys as key_store
from m2mportal.store.database import Database
from m2mportal.vault import Vault

ALGORITHM = "RS256"


class KeyRing:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        clock: Clock,
        keep_seconds: int,
        refresh_seconds: float = 30.0,
    ) -> None:
        self._db = db
        self._vault = vault
        self._clock = clock
        # Another process (`m2mportal keys rotate`) may rotate: this one re-reads the keys
        # every refresh_seconds, so a retired key stays published that much longer than
        # the tokens it signed can live.
        self._refresh = refresh_seconds
        self._keep = keep_seconds + int(refresh_seconds)
        self._loaded_at = -1e18
        self.public: dict[str, RSAKey] = {}
        self.signing: RSAKey | None = None
        self._jwks: dict[str, Any] = {"keys": []}

    async def load(self) -> None:
        rows = await key_store.all_keys(self._db)
        if not any(row["retired_at"] is None for row in rows):
            await self.rotate()
            return
        now = self._clock.now()
        public: dict[str, RSAKey] = {}
        published: list[dict[str, Any]] = []
        signing: RSAKey | None = None
        for row in rows:
            retired = row["retired_at"]
            if retired is not None and parse_iso(retired) + timedelta(seconds=self._keep) < now:
                continue
            jwk = json.loads(row["public_jwk"])
            public[row["kid"]] = RSAKey.import_key(jwk)
            published.append(jwk)
            if retired is None:
                private = self._vault.decrypt(row["private_key_enc"])
                signing = RSAKey.import_key(private, parameters={"kid": row["kid"]})
        self.public, self.signing = public, signing
        self._jwks = {"keys": published}
        self._loaded_at = time.monotonic()

    async def fresh(self) -> None:
        """Re-read the keys if the last read is older than the refresh interval."""
        if time.monotonic() - self._loaded_at > self._refresh:
            await self.load()

    async def rotate(self) -> str:
        """Make a new signing key; older ones stay published until their tokens expire."""
        kid = secrets.token_hex(8)
        key = RSAKey.generate_key(2048, parameters={"kid": kid}, private=True)
        public = key.as_dict(private=False)
        public.update({"use": "sig", "alg": ALGORITHM})
        now = iso(self._clock.now())
        async with self._db.transaction():
            await key_store.insert(
                self._db,
                kid,
                ALGORITHM,
                self._vault.encrypt(key.as_pem(private=True).decode()),
                json.dumps(public),
                now,
            )
            await key_store.retire_others(self._db, kid, now)
            cutoff = iso(self._clock.now() - timedelta(seconds=self._keep))
            await key_store.delete_retired_before(self._db, cutoff)
        await self.load()
        return kid

    def jwks(self) -> dict[str, Any]:
        return self._jwks
