"""Operator views of the event system: subscription backlogs and test events."""

from __future__ import annotations

from m2mportal.clock import iso
from m2mportal.domain.errors import not_found
from m2mportal.events import cloudevents, outbox, samples
from m2mportal.models import PublishedEvent, SubscriptionBacklog
from m2mportal.platform import Platform
from m2mportal.services.applications import subscription_url
from m2mportal.store import applications as app_store
from m2mportal.store import events as event_store
from m2mportal.store import partners as partner_store

KINDS = {
    kind[0]: kind
    for kind in (
        cloudevents.SIM_ACTION,
        cloudevents.PROFILE,
        cloudevents.POOL_LIMIT,
        cloudevents.COST_LIMIT,
    )
}


async def backlog(platform: Platform, subscription_id: str) -> SubscriptionBacklog:
    row = await app_store.get_subscription(platform.db, subscription_id)
    if row is None:
        raise not_found(f"subscription {subscription_id} does not exist")
    state = await event_store.backlog(platform.db, subscription_id)
    return SubscriptionBacklog(
        subscription_id=subscription_id,
        client_id=row["client_id"],
        event_type=row["event_type"],
        url=subscription_url(platform.settings, subscription_id),
        undelivered=int(state["undelivered"]),
        oldest_undelivered=state["oldest_undelivered"],
        last_delivered=state["last_delivered"],
        stream_open=platform.bus.is_open(subscription_id),
    )


async def publish_test(platform: Platform, partner_id: int, event_type: str) -> PublishedEvent:
    if await partner_store.get(platform.db, partner_id) is None:
        raise not_found(f"partner {partner_id} does not exist")
    now = iso(platform.clock.now())
    data = samples.sample(event_type, partner_id, platform.api_base, now)
    event_id = await outbox.publish(
        platform.db, platform.bus, KINDS[event_type], partner_id, now, data
    )
    return PublishedEvent(id=event_id, type=event_type, partner_id=partner_id)
