"""Test events in the seed's sample shapes, for a partner (``m2mportal events test``)."""

from __future__ import annotations

from typing import Any

from m2mportal.events.cloudevents import sim_action_data


def sample(event_type: str, partner_id: int, api_base: str, now: str) -> dict[str, Any]:
    partner = str(partner_id)
    if event_type == "simaction.v1":
        return sim_action_data(
            partner_id, 0, "Test event: no action behind it.",
            f"{api_base}/partners/{partner_id}/sims/actions",
        )  # fmt: skip
    if event_type == "profilenotification.v1":
        return {
            "partnerID": partner,
            "sim": {"iccid": "8999829698800485278", "restrictionStatus": "Speed Step-down"},
            "profileStatus": {
                "barring": "Session Limit",
                "barringType": "Limit",
                "barringLevel": 2,
                "allowed": "5",
                "detected": "6",
                "note": "Reached: Limit 2 Allowed (sessions): 5 Detected (sessions): 6",
            },
        }
    if event_type == "poollimitnotification.v1":
        return {
            "partnerID": partner,
            "poolLimitNotification": {
                "poolName": "SMS Test Pool",
                "offeringName": "Test Pool PLS",
                "offeringID": 800206106,
                "typeOfThreshold": "SMS Limit 1",
                "limit": 50.0,
                "date": now,
            },
        }
    if event_type == "costlimitnotification.v1":
        return {
            "partnerID": partner,
            "costLimitNotification": {
                "iccid": "8925475978255758883",
                "euiccid": "22233356789100043",
                "imsi": "254759782866388",
                "msisdn": "4367619128340",
                "offeringName": "Test SLS",
                "offeringID": 800000333,
                "typeOfThreshold": "SMS Limit 1",
                "limit": 25,
                "date": now,
                "profileName": "Test Cost Limit Profile",
                "profileID": 708529655,
            },
        }
    raise ValueError(f"unknown event type {event_type}")
