"""Issuing and verifying access tokens (JWT, RS256, ``kid`` in the header).

Verification pins the algorithms (never ``none``, never HS* with a public key), checks
signature, ``exp``/``nbf`` within the leeway, ``iss`` and ``aud``. Verified claims are
cached per token until it expires, so a repeat call costs a dict lookup, not an RSA verify.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from m2mportal.clock import Clock
from m2mportal.domain.errors import unauthorized
from m2mportal.iam.claims import Claims
from m2mportal.iam.keys import ALGORITHM, KeyRing

_CACHE_LIMIT = 100_000

KeyLookup = Callable[[str], Awaitable[Any | None]]


class TokenIssuer:
    def __init__(self, keyring: KeyRing, issuer: str, clock: Clock, lifetime: int) -> None:
        self._keyring = keyring
        self.issuer = issuer
        self._clock = clock
        self.lifetime = lifetime

    def issue(self, subject: str, audience: str, scope: str, extra: dict[str, Any]) -> str:
        key = self._keyring.signing
        if key is None:
            raise RuntimeError("no signing key loaded")
        now = int(self._clock.time())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "azp": subject,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime,
            "jti": secrets.token_hex(12),
            "scope": scope,
            **extra,
        }
        return jwt.encode({"alg": ALGORITHM, "kid": key.kid, "typ": "JWT"}, claims, key)


class TokenVerifier:
    """Verifies bearer tokens against a set of public keys found by ``kid``."""

    def __init__(
        self,
        find_key: KeyLookup,
        issuer: str,
        audiences: tuple[str, ...],
        clock: Clock,
        leeway: int,
        algorithms: tuple[str, ...] = (ALGORITHM,),
        client_claim: str = "azp",
    ) -> None:
        self._find_key = find_key
        self._issuer = issuer
        self._audiences = audiences
        self._clock = clock
        self._leeway = leeway
        self._algorithms = list(algorithms)
        self._client_claim = client_claim
        self._cache: dict[str, Claims] = {}

    def _now(self) -> int:
        return int(self._clock.time())

    async def verify(self, token: str) -> Claims:
        cached = self._cache.get(token)
        if cached is not None:
            if cached.expires_at + self._leeway >= self._clock.time():
                return cached
            del self._cache[token]
        claims = await self._verify(token)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[token] = claims
        return claims

    async def _verify(self, token: str) -> Claims:
        try:
            header = jws.extract_compact(token.encode()).protected
        except (JoseError, ValueError, TypeError, UnicodeError) as exc:
            raise unauthorized("token is not a well-formed JWT") from exc
        alg = header.get("alg")
        if alg not in self._algorithms:
            raise unauthorized(f"token algorithm {alg!r} is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise unauthorized("token has no key id (kid)")
        key = await self._find_key(kid)
        if key is None:
            raise unauthorized("token signed by an unknown key")
        try:
            decoded = jwt.decode(token, key, algorithms=self._algorithms)
        except JoseError as exc:
            raise unauthorized("token signature is invalid") from exc
        registry = jwt.JWTClaimsRegistry(
            now=self._now,
            leeway=self._leeway,
            iss={"essential": True, "value": self._issuer},
            aud={"essential": True, "values": list(self._audiences)},
            exp={"essential": True},
        )
        try:
            registry.validate(decoded.claims)
        except JoseError as exc:
            raise unauthorized(_claim_problem(exc)) from exc
        raw = decoded.claims
        aud = raw["aud"]
        audience = next(a for a in ([aud] if isinstance(aud, str) else aud) if a in self._audiences)
        client_id = raw.get(self._client_claim) or raw.get("sub")
        if not isinstance(client_id, str):
            raise unauthorized(f"token has no client id claim {self._client_claim!r}")
        roles = raw.get("roles") or []
        return Claims(
            client_id=client_id,
            audience=audience,
            expires_at=float(raw["exp"]),
            scope=str(raw.get("scope", "")),
            role="operator" if "operator" in roles else "partner",
            raw=raw,
        )


def _claim_problem(exc: JoseError) -> str:
    name = type(exc).__name__
    text = str(exc) or name
    if "Expired" in name:
        return "token has expired"
    if "claim" in text.lower() or "Claim" in name:
        return f"token claim rejected: {text}"
    return f"token rejected: {text}"


def keyring_lookup(keyring: KeyRing) -> KeyLookup:
    """Own keys; an unknown kid re-reads the key table (another process may have rotated)."""
    last_reload = [0.0]

    async def find(kid: str) -> RSAKey | None:
        key = keyring.public.get(kid)
        if key is None and time.monotonic() - last_reload[0] > 1.0:
            last_reload[0] = time.monotonic()
            await keyring.load()
            key = keyring.public.get(kid)
        return key

    return find


def jwks_lookup(fetch: Callable[[], Awaitable[dict[str, Any]]]) -> KeyLookup:
    """An external IdP's keys, cached; an unknown kid triggers one re-fetch (throttled)."""
    state: dict[str, Any] = {"keys": None, "at": 0.0}

    async def find(kid: str) -> Any | None:
        keys: KeySet | None = state["keys"]
        key = _by_kid(keys, kid)
        if key is None and (keys is None or time.monotonic() - state["at"] > 5.0):
            state["at"] = time.monotonic()
            try:
                state["keys"] = KeySet.import_key_set(await fetch())  # type: ignore[arg-type]
            except Exception as exc:  # a broken IdP answer must not become a 500
                raise unauthorized("identity provider keys unavailable") from exc
            key = _by_kid(state["keys"], kid)
        return key

    return find


def _by_kid(keys: KeySet | None, kid: str) -> Any | None:
    if keys is None:
        return None
    for key in keys.keys:
        if key.kid == kid:
            return key
    return None
