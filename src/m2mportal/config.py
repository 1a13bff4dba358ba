"""Settings from the environment (``M2MP_*``), gathered in one object."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var/m2mportal.db"
    redis_url: str = ""
    # Namespace of this deployment's keys in Redis.
    redis_prefix: str = "m2mp"
    host: str = "127.0.0.1"
    port: int = 8080
    # Base URL used in HATEOAS links and the issuer; empty means "derive from the request".
    public_url: str = ""
    # Fernet key for secrets at rest; empty means a key file next to the SQLite database.
    secret_key: str = ""
    secret_key_file: str = "var/secret.key"
    token_lifetime: int = 300
    token_audience: str = "m2mportal-api"
    event_audience: str = "m2mportal-events"
    # Built-in issuer path; the full issuer URL is public_url + this path.
    issuer_path: str = "/auth/realms/m2m"
    clock_leeway: int = 30
    app_cache_seconds: float = 5.0
    # How long a new application stays 'In Creation' (the seed's portal shows that state).
    provisioning_seconds: float = 2.0
    # The simulated backend's pace: wait before an action starts, and between its SIMs.
    action_delay_ms: int = 500
    per_sim_delay_ms: int = 5
    # Run the action worker inside the API process (the embedded default). With several
    # API processes on PostgreSQL, turn it off and run `m2mportal worker` processes.
    embedded_worker: bool = True
    trusted_proxies: list[str] = field(default_factory=list)
    # Who may read /metrics: socket peers (never X-Forwarded-For) in these addresses or
    # networks. Loopback by default, so a Prometheus on the same host scrapes it and the
    # internet does not; empty turns /metrics off (404).
    metrics_allow: list[str] = field(default_factory=lambda: ["127.0.0.1", "::1"])
    # External IdP mode: when idp_issuer is set, tokens come from that IdP.
    idp_issuer: str = ""
    idp_jwks_url: str = ""
    idp_audience: str = ""
    idp_event_audience: str = ""
    idp_client_claim: str = "azp"
    idp_partner_claim: str = "partnerId"
    idp_algorithms: list[str] = field(default_factory=lambda: ["RS256", "ES256"])
    # Event streams: end after this long without an event (the seed's gateway: 60 s), and
    # how often an idle stream looks for events another process may have written.
    sse_idle_seconds: float = 60.0
    sse_poll_seconds: float = 1.0
    event_retention_days: int = 7
    # Protective measures (the seed's table), counted in SIMs per top partner; the
    # operator can set others per partner. Env: M2MP_LIMITS_ACTIONS="1000/6 minutes,10000/hour".
    limits_actions: list[str] = field(default_factory=lambda: ["1000/6 minutes", "10000/hour"])
    limits_details: list[str] = field(default_factory=lambda: ["1000/6 minutes", "10000/hour"])
    limits_history: list[str] = field(default_factory=lambda: ["250/6 minutes", "2500/hour"])
    limits_sms: list[str] = field(default_factory=lambda: ["30/hour"])
    log_level: str = "info"
    simulated_clock: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get("M2MP_" + f.name.upper())
            if raw is None:
                continue
            kind = str(f.type)
            if kind == "int":
                values[f.name] = int(raw)
            elif kind == "float":
                values[f.name] = float(raw)
            elif kind == "bool":
                values[f.name] = raw.lower() in ("1", "true", "yes", "on")
            elif kind.startswith("list"):
                values[f.name] = _split(raw)
            else:
                values[f.name] = raw
        values.update(overrides)
        return cls(**values)

    @property
    def is_external_idp(self) -> bool:
        return bool(self.idp_issuer)
