"""Where the client connects and with which credentials: arguments, the environment, or a
profile file (TOML), so the same code runs against any deployment of the API."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

TOKEN_PATH = "/auth/realms/m2m/protocol/openid-connect/token"
ENV_PREFIX = "M2M_"
PROFILE_FILE = Path("~/.config/m2mportal/profiles.toml")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Credentials:
    """A deployment's address and one application's client credentials.

    ``base_url`` is the server (``https://api.example``); the API lives at
    ``/iot/connectivity/management/v1`` below it and the event streams at ``/events/v1``.
    ``token_url`` defaults to the built-in issuer's token endpoint on the same server.
    ``partner_id`` is the partner the CLI acts for (the SDK takes it per call)."""

    base_url: str
    client_id: str
    client_secret: str
    token_url: str | None = None
    scope: str = "openid profile"
    partner_id: int | None = None
    event_client_id: str | None = None
    event_client_secret: str | None = None

    def __repr__(self) -> str:  # never print a secret
        return f"Credentials(base_url={self.base_url!r}, client_id={self.client_id!r}, ...)"

    @property
    def token_endpoint(self) -> str:
        return self.token_url or self.base_url.rstrip("/") + TOKEN_PATH

    def for_events(self) -> Credentials:
        """The event credentials (the seed's IRIS client) as the ones to fetch tokens with."""
        if not self.event_client_id or not self.event_client_secret:
            raise ConfigError("event_client_id and event_client_secret are needed for streams")
        return replace(self, client_id=self.event_client_id, client_secret=self.event_client_secret)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Credentials:
        """``M2M_BASE_URL``, ``M2M_CLIENT_ID``, ``M2M_CLIENT_SECRET`` and optionally
        ``M2M_TOKEN_URL``, ``M2M_PARTNER_ID``, ``M2M_EVENT_CLIENT_ID``,
        ``M2M_EVENT_CLIENT_SECRET``."""
        values = dict(os.environ if env is None else env)
        found = {
            name: values[ENV_PREFIX + name.upper()]
            for name in _FIELDS
            if values.get(ENV_PREFIX + name.upper())
        }
        return cls._of(found, "the environment (M2M_*)")

    @classmethod
    def from_profile(cls, name: str = "default", path: Path | None = None) -> Credentials:
        """A ``[name]`` table of the profile file with the same keys in lower case
        (``base_url``, ``client_id``, ``client_secret``, ...)."""
        file = (path or PROFILE_FILE).expanduser()
        try:
            tables = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"no profile file {file}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: {exc}") from exc
        table = tables.get(name)
        if not isinstance(table, dict):
            raise ConfigError(f"{file}: no profile [{name}]")
        return cls._of({k: str(v) for k, v in table.items() if k in _FIELDS}, f"{file} [{name}]")

    @classmethod
    def _of(cls, found: dict[str, str], where: str) -> Credentials:
        missing = [n for n in ("base_url", "client_id", "client_secret") if not found.get(n)]
        if missing:
            raise ConfigError(f"{where}: missing {', '.join(missing)}")
        partner = found.pop("partner_id", None)
        try:
            partner_id = int(partner) if partner else None
        except ValueError as exc:
            raise ConfigError(f"{where}: partner_id must be a number") from exc
        return cls(**found, partner_id=partner_id)


_FIELDS = (
    "base_url",
    "client_id",
    "client_secret",
    "token_url",
    "scope",
    "partner_id",
    "event_client_id",
    "event_client_secret",
)
