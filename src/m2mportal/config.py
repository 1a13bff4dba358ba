"""Settings from the environment (``M2MP_*``), gathered in one object.

Every setting says what it is for (``help``): docs/operations.md's settings table is
generated from these fields (``m2mportal settings --markdown``) and a test keeps the two
equal. ``Settings.from_env`` turns a bad value into one ``SettingsError`` naming the
variable and the fix, so a command can print one line and exit 2 instead of a traceback.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any


class SettingsError(ValueError):
    """A setting that cannot work: the message names the variable and how to fix it."""


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def setting(default: Any, help: str) -> Any:
    """A settings field with its documentation; lists get a fresh copy per object."""
    if isinstance(default, list):
        items = list(default)
        return field(default_factory=lambda: list(items), metadata={"help": help})
    return field(default=default, metadata={"help": help})


def default_data_dir() -> Path:
    """The checkout's ``var/`` when running from a source checkout (``make run``), else
    the user's data folder: never the current directory, so a command run from another
    folder opens the same database."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "src" / "m2mportal").is_dir():
        return checkout / "var"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "m2mportal"


@dataclass(frozen=True)
class Settings:
    data_dir: str = setting(
        "",
        "folder of the SQLite database and the secret key file; empty: the checkout's"
        " `var/` (source checkout) or `~/.local/share/m2mportal`",
    )
    database_url: str = setting(
        "",
        "`sqlite:///path` or `postgresql://user@host:5432/db`; empty: `m2mportal.db` in"
        " the data folder",
    )
    redis_url: str = setting("", "Redis for shared rate-limit budgets across processes")
    redis_prefix: str = setting("m2mp", "namespace of this deployment's keys in Redis")
    host: str = setting("127.0.0.1", "listen address of `serve`")
    port: int = setting(8080, "listen port of `serve` (1-65535)")
    public_url: str = setting(
        "",
        "base URL of the issuer and of every link the platform returns or prints; empty:"
        " `http://HOST:PORT`",
    )
    secret_key: str = setting(
        "", "Fernet key for secrets at rest; empty: the key in `M2MP_SECRET_KEY_FILE`"
    )
    secret_key_file: str = setting(
        "",
        "key file made once (mode 600); losing it makes stored secrets unreadable; empty:"
        " `secret.key` in the data folder",
    )
    token_lifetime: int = setting(300, "access token lifetime, seconds")
    token_audience: str = setting("m2mportal-api", "`aud` of REST access tokens")
    event_audience: str = setting("m2mportal-events", "`aud` of event-stream tokens")
    issuer_path: str = setting(
        "/auth/realms/m2m", "built-in issuer path; the issuer is the public URL + this path"
    )
    clock_leeway: int = setting(30, "allowed clock skew for `exp`/`nbf`, seconds (at most 30)")
    app_cache_seconds: float = setting(
        5.0, "how long the gateway trusts its copy of an application (at most 5)"
    )
    provisioning_seconds: float = setting(
        2.0, "how long a new application stays `In Creation` (the seed's portal shows it)"
    )
    action_delay_ms: int = setting(500, "simulated backend: wait before an action starts")
    per_sim_delay_ms: int = setting(5, "simulated backend: wait between the SIMs of an action")
    embedded_worker: bool = setting(
        True,
        "run the action worker inside the API process; turn off with several API"
        " processes on PostgreSQL and run `m2mportal worker` processes",
    )
    trusted_proxies: list[str] = setting(
        [], "comma-separated addresses/CIDRs whose `X-Forwarded-For` is believed"
    )
    metrics_allow: list[str] = setting(
        ["127.0.0.1", "::1"],
        "socket peers (addresses/CIDRs) that may read `/metrics`; empty turns it off",
    )
    idp_issuer: str = setting("", "external IdP mode: the IdP's issuer (empty: built-in)")
    idp_jwks_url: str = setting("", "external IdP's JWKS (empty: issuer + the Keycloak path)")
    idp_audience: str = setting("", "external IdP: `aud` of REST tokens")
    idp_event_audience: str = setting("", "external IdP: `aud` of event tokens")
    idp_client_claim: str = setting("azp", "external IdP: claim holding the client id")
    idp_partner_claim: str = setting("partnerId", "external IdP: claim holding the partner id")
    idp_algorithms: list[str] = setting(
        ["RS256", "ES256"], "external IdP: accepted signature algorithms"
    )
    # Event streams (docs/api.md, "Event streams"): the seed's gateway closes each after 60 s.
    sse_lifetime_seconds: float = setting(
        60.0, "an event stream ends this long after it opened, busy or idle"
    )
    sse_confirm_seconds: float = setting(
        1.0,
        "an event counts as delivered once its stream was still open this long after writing it",
    )
    sse_poll_seconds: float = setting(
        1.0, "how often an idle stream looks for events of other processes"
    )
    event_retention_days: int = setting(7, "undelivered events are kept this many days")
    record_retention_days: int = setting(
        92, "network records (sessions, SMS, voice) are kept this many days"
    )
    limits_actions: list[str] = setting(
        ["1000/6 minutes", "10000/hour"], "default budget of SIM actions, SIMs per window"
    )
    limits_details: list[str] = setting(
        ["1000/6 minutes", "10000/hour"], "default budget of SIM details, SIMs per window"
    )
    limits_history: list[str] = setting(
        ["250/6 minutes", "2500/hour"], "default budget of session and history reads"
    )
    limits_sms: list[str] = setting(["30/hour"], "default budget of send message, per partner")
    # The customer portal (docs/portal.md).
    portal_session_minutes: int = setting(
        480, "a portal login lasts this long (minutes), then the user logs in again"
    )
    portal_login_window_minutes: int = setting(
        15, "failed portal logins are counted over this many minutes"
    )
    portal_login_failures_user: int = setting(
        5, "failed logins of one username within the window after which its logins are refused"
    )
    portal_login_failures_address: int = setting(
        20, "failed logins from one address within the window after which its logins are refused"
    )
    log_level: str = setting("info", "`debug`, `info`, `warning` or `error`")
    log_format: str = setting(
        "text", "`text` (one readable line per record) or `json` (JSON lines)"
    )
    simulation: bool = setting(
        False,
        "serve the simulation controls (the operator's clock endpoints); off: they answer"
        " 404 and the clock is real time (`m2mportal run`, i.e. `make run`, turns it on)",
    )

    def __post_init__(self) -> None:
        # Paths that follow the data folder are filled in once, here, so every part of
        # the platform sees the same resolved values.
        folder = Path(self.data_dir) if self.data_dir else default_data_dir()
        object.__setattr__(self, "data_dir", str(folder))
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{folder / 'm2mportal.db'}")
        if not self.secret_key_file:
            object.__setattr__(self, "secret_key_file", str(folder / "secret.key"))

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``M2MP_*`` variables; ``SettingsError`` names a bad one."""
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = "M2MP_" + f.name.upper()
            raw = env.get(name)
            if raw is not None:
                values[f.name] = _parse(name, str(f.type), raw)
        values.update(overrides)
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """Raise ``SettingsError`` for the first setting that cannot work."""
        for problem in _checks(self):
            raise SettingsError(problem)

    @property
    def is_external_idp(self) -> bool:
        return bool(self.idp_issuer)

    @property
    def sqlite_path(self) -> Path | None:
        """The database file of an SQLite URL (None for PostgreSQL)."""
        if self.database_url.startswith("sqlite:///"):
            return Path(self.database_url.removeprefix("sqlite:///"))
        return None


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def _parse(name: str, kind: str, raw: str) -> Any:
    if "\x00" in raw:
        raise SettingsError(f"{name}: contains a NUL byte; remove it")
    if kind == "int":
        try:
            return int(raw.strip())
        except ValueError:
            raise SettingsError(
                f"{name}={raw!r}: not a whole number; use digits, or unset it for the default"
            ) from None
    if kind == "float":
        try:
            return float(raw.strip())
        except ValueError:
            raise SettingsError(
                f"{name}={raw!r}: not a number; use e.g. 2.5, or unset it for the default"
            ) from None
    if kind == "bool":
        if raw.strip().lower() not in _TRUE + _FALSE:
            raise SettingsError(f"{name}={raw!r}: use true or false")
        return raw.strip().lower() in _TRUE
    if kind.startswith("list"):
        return _split(raw)
    return raw


def _env(name: str) -> str:
    return "M2MP_" + name.upper()


def _checks(s: Settings) -> list[str]:
    problems: list[str] = []

    def need(ok: bool, name: str, message: str) -> None:
        if not ok:
            value = getattr(s, name)
            problems.append(f"{_env(name)}={value!r}: {message}")

    need(1 <= s.port <= 65535, "port", "use a port from 1 to 65535")
    need(
        s.database_url.startswith(("sqlite:///", "postgresql://", "postgres://")),
        "database_url",
        "use sqlite:///path/to/file.db or postgresql://user@host:5432/db",
    )
    need(
        not s.redis_url or s.redis_url.startswith(("redis://", "rediss://", "unix://")),
        "redis_url",
        "use redis://host:6379/0 (or leave it empty for in-process budgets)",
    )
    need(
        not s.public_url or s.public_url.startswith(("http://", "https://")),
        "public_url",
        "use http(s)://host[:port] (or leave it empty)",
    )
    if s.secret_key:
        try:
            from cryptography.fernet import Fernet

            Fernet(s.secret_key.encode())
        except (ValueError, TypeError):
            problems.append(
                "M2MP_SECRET_KEY: not a Fernet key (32 url-safe base64-encoded bytes);"
                " leave it empty to use the key file"
            )
    need(s.token_lifetime > 0, "token_lifetime", "use a number of seconds above 0")
    need(0 <= s.clock_leeway <= 30, "clock_leeway", "use 0 to 30 seconds")
    need(0 <= s.app_cache_seconds <= 5, "app_cache_seconds", "use 0 to 5 seconds")
    need(s.provisioning_seconds >= 0, "provisioning_seconds", "use 0 or more seconds")
    need(s.action_delay_ms >= 0, "action_delay_ms", "use 0 or more milliseconds")
    need(s.per_sim_delay_ms >= 0, "per_sim_delay_ms", "use 0 or more milliseconds")
    need(s.portal_session_minutes > 0, "portal_session_minutes", "use 1 or more minutes")
    need(s.portal_login_window_minutes > 0, "portal_login_window_minutes", "use 1 or more minutes")
    need(s.portal_login_failures_user > 0, "portal_login_failures_user", "use 1 or more")
    need(s.portal_login_failures_address > 0, "portal_login_failures_address", "use 1 or more")
    need(s.sse_lifetime_seconds > 0, "sse_lifetime_seconds", "use a number of seconds above 0")
    need(s.sse_confirm_seconds > 0, "sse_confirm_seconds", "use a number of seconds above 0")
    need(s.sse_poll_seconds > 0, "sse_poll_seconds", "use a number of seconds above 0")
    need(s.event_retention_days >= 1, "event_retention_days", "use 1 or more days")
    need(
        1 <= s.record_retention_days <= 3650,
        "record_retention_days",
        "use 1 to 3650 days",
    )
    need(
        s.issuer_path.startswith("/") and not s.issuer_path.endswith("/"),
        "issuer_path",
        "use a path like /auth/realms/m2m",
    )
    need(
        s.log_level.lower() in ("debug", "info", "warning", "error"),
        "log_level",
        "use debug, info, warning or error",
    )
    need(s.log_format.lower() in ("text", "json"), "log_format", "use text or json")
    for name in ("trusted_proxies", "metrics_allow"):
        for entry in getattr(s, name):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                problems.append(f"{_env(name)}: {entry!r} is not an address or CIDR network")
    for name in ("limits_actions", "limits_details", "limits_history", "limits_sms"):
        problems += _limit_problems(_env(name), getattr(s, name))
    return problems


def _limit_problems(name: str, rates: list[str]) -> list[str]:
    from limits import parse

    if not rates:
        return [f"{name}: give at least one window, e.g. '1000/6 minutes,10000/hour'"]
    found = []
    for rate in rates:
        try:
            item = parse(rate)
        except ValueError:
            found.append(f"{name}: {rate!r} is not a rate like '1000/6 minutes'")
            continue
        if item.amount < 1:
            found.append(f"{name}: {rate!r} allows nothing; use at least 1 per window")
    return found


def settings_table() -> str:
    """docs/operations.md's settings table, from the fields above."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for f in fields(Settings):
        factory: Any = f.default_factory
        default: Any = f.default if f.default is not MISSING else factory()
        if isinstance(default, bool):
            shown = "true" if default else "false"
        elif isinstance(default, list):
            shown = ",".join(default)
        else:
            shown = str(default)
        shown = f"`{shown}`" if shown else "(empty)"
        lines.append(f"| `{_env(f.name)}` | {shown} | {f.metadata['help']} |")
    return "\n".join(lines) + "\n"
