"""The Python SDK of the M2M Service Portal 3.0 API, for this platform or any deployment.

``Client`` (blocking) and ``AsyncClient`` (asyncio) on httpx: client-credentials tokens
renewed before they expire, every customer endpoint with the server's own msgspec types,
iterators over paged and keyset lists, actions with an Idempotency-Key, ``submit`` for any
number of SIMs, ``wait_for_action``, pacing within the partner's SIM budgets, and event
consumers that resume across stream ends. Of the server it imports only its wire models
(msgspec Structs and pure rules), so it runs without the server's dependencies.
"""

from m2mportal.client.aio import AsyncClient, AsyncEventConsumer
from m2mportal.client.config import ConfigError, Credentials
from m2mportal.client.engine import ApiError, AuthError, BudgetError, ConnectionFailed
from m2mportal.client.events import (
    CloudEvent,
    CostLimitNotificationEvent,
    GenericEvent,
    PoolLimitNotificationEvent,
    ProfileNotificationEvent,
    SimActionEvent,
)
from m2mportal.client.sync import Client, EventConsumer

__all__ = [
    "ApiError",
    "AsyncClient",
    "AsyncEventConsumer",
    "AuthError",
    "BudgetError",
    "Client",
    "CloudEvent",
    "ConfigError",
    "ConnectionFailed",
    "CostLimitNotificationEvent",
    "Credentials",
    "EventConsumer",
    "GenericEvent",
    "PoolLimitNotificationEvent",
    "ProfileNotificationEvent",
    "SimActionEvent",
]
