"""Verified token claims and what the gateway derives from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Claims:
    client_id: str
    audience: str
    expires_at: float
    scope: str
    role: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
