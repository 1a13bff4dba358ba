"""CloudEvents 1.0 in the seed's exact shapes."""

from __future__ import annotations

from typing import Any

import msgspec

SIM_ACTION = ("simaction.v1", "/v1/partners/simaction")
PROFILE = ("profilenotification.v1", "/notification/limit")
POOL_LIMIT = ("poollimitnotification.v1", "/notification/poollimit")
COST_LIMIT = ("costlimitnotification.v1", "/notification/costlimit")


def event_id(number: int) -> str:
    """The seed's id shape: ``00000000-0000-1000-a000-000706409461``."""
    return f"00000000-0000-1000-a000-{number:012d}"


def envelope(row: Any) -> dict[str, Any]:
    """The whole CloudEvent of an outbox row, keys in the seed's order."""
    return {
        "time": row["time"],
        "id": row["id"],
        "source": row["source"],
        "specversion": "1.0",
        "type": row["type"],
        "datacontenttype": "application/json",
        "data": msgspec.json.decode(row["data"]),
    }


def sim_action_data(partner_id: int, signup_id: int, message: str, href: str) -> dict[str, Any]:
    return {
        "partnerID": str(partner_id),
        "signupID": str(signup_id),
        "message": message,
        "actionLink": {"rel": "actions", "href": href, "type": "GET", "name": "get action status"},
    }
