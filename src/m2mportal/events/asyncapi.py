"""The AsyncAPI 3.0 document of the event streams, built from the event types' schemas."""

from __future__ import annotations

from typing import Any

import msgspec

from m2mportal import __version__
from m2mportal.events.schemas import EVENTS

_REF = "#/components/schemas/{name}"


def build(base_url: str) -> dict[str, Any]:
    types = [event_type for _, event_type in EVENTS.values()]
    schemas, components = msgspec.json.schema_components(types, ref_template=_REF)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for (name, (source, _)), schema in zip(EVENTS.items(), schemas, strict=True):
        key = name.replace(".", "_")
        messages[key] = {
            "name": name,
            "title": name,
            "summary": f"CloudEvent of type {name} (source {source})",
            "contentType": "application/json",
            "payload": schema,
        }
        channels[key] = {
            "address": "/events/v1/sse/{subscriptionId}",
            "title": f"Stream of a {name} subscription",
            "parameters": {
                "subscriptionId": {"description": "The subscription's id (its URL's last part)"}
            },
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        operations[f"receive_{key}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"GET the stream of a {name} subscription with an event token",
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "M2M Service Portal 3.0 events (m2mportal)",
            "version": __version__,
            "description": (
                "Server-Sent Events of CloudEvents 1.0. GET the subscription URL with a bearer"
                " token from the application's event credentials. Default format"
                " application/stream+json (one JSON document per line); with"
                " `Accept: text/event-stream`, `id:` and `data:` lines. The stream ends after"
                " 60 s without an event; reconnect to receive more. `Last-Event-ID` replays."
            ),
        },
        "servers": {
            "m2mportal": {
                "host": base_url.split("://", 1)[-1],
                "protocol": base_url.split("://", 1)[0],
                "security": [{"$ref": "#/components/securitySchemes/eventToken"}],
            }
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": components,
            "securitySchemes": {
                "eventToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
