"""Examples for the operator API's reference, in the shapes the server takes and answers.

tests/test_openapi.py validates every example against its schema. Secrets here are
placeholders, never real ones.
"""

from __future__ import annotations

from typing import Any

PARTNER = 100013
SUBUNIT = 100014
CLIENT = "m2m-3ba4d3dc71a9f796"
EVENT_CLIENT = "iris-2fa5ed6917240b50"
SECRET = "<client secret, shown here once>"
EVENT_SECRET = "<event client secret>"
ICCID = "89882806660004909182"
SUBSCRIPTION = "sub-673fb9e5dee595e2af37"

NEW_PARTNER = {"name": "Telekom Main Test Company - North", "parentPartnerId": PARTNER}
PARTNER_VIEW = {
    "partnerId": SUBUNIT,
    "name": "Telekom Main Test Company - North",
    "parentPartnerId": PARTNER,
    "subunits": [],
    "simCounts": {
        "Inactive": 0,
        "Active": 0,
        "Suspended": 0,
        "Blocked": 0,
        "Terminated": 0,
        "total": 0,
    },
}

NEW_PORTAL_USER = {"username": "tech.contact", "password": "<at least 8 characters>"}
PORTAL_USER = {"username": "tech.contact", "partnerId": PARTNER}

NEW_APPLICATION = {
    "name": "fleet-backend",
    "readOnly": False,
    "ipWhitelist": ["203.0.113.7"],
    "userType": "Standard",
    "subunits": [],
    "eventTypes": ["simaction.v1", "profilenotification.v1"],
}
_SUBSCRIPTIONS = [
    {
        "eventType": "simaction.v1",
        "subscriptionId": SUBSCRIPTION,
        "url": f"http://127.0.0.1:8080/events/v1/sse/{SUBSCRIPTION}",
    }
]
_APP_FIELDS = {
    "partnerId": PARTNER,
    "name": "fleet-backend",
    "readOnly": False,
    "ipWhitelist": ["203.0.113.7"],
    "userType": "Standard",
    "subunits": [],
    "subscriptions": _SUBSCRIPTIONS,
}
CREDENTIALS = {
    "clientId": CLIENT,
    "clientSecret": SECRET,
    "eventClientId": EVENT_CLIENT,
    "eventClientSecret": EVENT_SECRET,
    "status": "In Creation",
    **_APP_FIELDS,
}
APPLICATION = {
    "clientId": CLIENT,
    "status": "Active",
    "eventClientId": EVENT_CLIENT,
    "createdAt": "2025-08-28T11:25:49.120Z",
    **_APP_FIELDS,
}
APPLICATION_CHANGE = {"ipWhitelist": ["203.0.113.7", "203.0.113.8"], "readOnly": True}
DELETED = {"clientId": CLIENT, "status": "Deleted"}
SECRETS = {
    "clientId": CLIENT,
    "clientSecret": SECRET,
    "eventClientId": EVENT_CLIENT,
    "eventClientSecret": EVENT_SECRET,
}
ROTATION = {"which": "event"}
ROTATED = {**SECRETS, "eventClientSecret": "<the new event client secret>", "rotated": "event"}

NEW_SIMS: dict[str, Any] = {
    "sims": [
        {
            "iccid": ICCID,
            "imsi": "262016660490918",
            "msisdn": "491511234567",
            "status": "Active",
            "productive": True,
            "tariffId": 1,
            "apns": ["b2b.dtag.test"],
            "remarks": {"remark1": "meter 4711"},
        },
        {"iccid": "89882806660004909190", "imsi": "262016660490919"},
    ]
}
IMPORTED = {"inserted": 2, "rejected": 0, "errors": []}

NEW_TARIFF = {"name": "IoT Basic 50 MB", "description": "50 MB per month", "bindingMonths": 12}
NEW_OPTION = {"name": "Parallel Sessions", "description": "more than one data session"}
NEW_MATERIAL = {"name": "eSIM profile", "simType": "eSIM", "minOrderQuantity": 100}
NEW_PROFILE = {
    "kind": "limit",
    "name": "Standard session limit",
    "rules": {
        "type": "sessions",
        "period": "month",
        "levels": [5, 10],
        "restriction": "Speed Step-down",
    },
}
CATALOG_ITEM = {"id": 1, "name": "IoT Basic 50 MB"}

LIMITS = {"actions": ["2000/6 minutes", "20000/hour"], "details": ["2000/6 minutes"]}
LIMITS_SET = {
    "actions": ["2000/6 minutes", "20000/hour"],
    "details": ["2000/6 minutes"],
    "history": ["250/6 minutes", "2500/hour"],
    "sms": ["30/hour"],
}

BACKLOG = {
    "subscriptionId": SUBSCRIPTION,
    "clientId": CLIENT,
    "eventType": "simaction.v1",
    "url": f"http://127.0.0.1:8080/events/v1/sse/{SUBSCRIPTION}",
    "undelivered": 2,
    "oldestUndelivered": "2025-08-28T11:25:50.020Z",
    "lastDelivered": "2025-08-28T11:20:02.000Z",
    "streamOpen": False,
}
TEST_EVENT = {"partnerId": PARTNER, "type": "simaction.v1"}
PUBLISHED = {
    "id": "9b1f0c2e-7d4a-4a43-9b7e-2f0e5c1d8a11",
    "type": "simaction.v1",
    "partnerId": PARTNER,
}

CLOCK = {"now": "2025-08-28T11:25:49.120Z", "offsetSeconds": 0.0}
ADVANCE = {"seconds": 3600}
ADVANCED = {"now": "2025-08-28T12:25:49.120Z", "offsetSeconds": 3600.0}
