"""Examples of the network's calls for both API references, in the shapes the server
answers (tests/test_openapi.py checks them against the schemas)."""

from __future__ import annotations

from typing import Any

from m2mportal import API_BASE
from m2mportal.api.examples import ICCID, IDENTIFIER, PARTNER

_SIM = f"http://127.0.0.1:8080{API_BASE}/partners/{PARTNER}/sims/{ICCID}"
NETWORK = {"mcc": "262", "mnc": "01", "name": "Telekom Deutschland", "country": "DE"}

_SESSION: dict[str, Any] = {
    "sessionId": "ses-4f9c2d1e8a7b4c3d9e0f1a2b3c4d5e6f",
    "apn": "internet.m2m",
    "ipAddress": "10.84.17.203",
    "ratType": "LTE",
    "network": NETWORK,
    "sessionStart": "2025-08-28T10:02:11.480Z",
    "volumeUpload": 182044,
    "volumeDownload": 1048576,
    "volumeRounded": 1231872,
    "restrictionReason": None,
}
SESSION = {"iccid": ICCID, "online": True, "session": _SESSION}
SESSION_REQUEST = {"msisdn": IDENTIFIER["msisdn"]}

_CLOSED = {
    **_SESSION,
    "sessionStart": "2025-08-27T08:00:00.000Z",
    "sessionEnd": "2025-08-27T08:45:00.000Z",
    "durationSeconds": 2700,
    "endCause": "Normal",
}
_PAGE = {"size": 100, "number": 0, "totalElements": 1, "totalPages": 1}
SESSION_HISTORY = {
    "iccid": ICCID,
    "dateFrom": "2025-08-21T11:25:49.120Z",
    "dateTo": "2025-08-28T11:25:49.120Z",
    "content": [_CLOSED],
    "page": _PAGE,
    "links": [{"rel": "self", "href": f"{_SIM}/sessionhistory", "type": "GET", "name": ""}],
}
HISTORY_REQUEST = {
    "msisdn": IDENTIFIER["msisdn"],
    "dateFrom": "2025-08-01",
    "dateTo": "2025-08-28",
}
SMS_HISTORY = {
    "iccid": ICCID,
    "dateFrom": "2025-05-28T11:25:49.120Z",
    "dateTo": "2025-08-28T11:25:49.120Z",
    "content": [
        {
            "smsId": "sms-0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f",
            "direction": "MT",
            "timestamp": "2025-08-28T09:12:40.031Z",
            "originator": "M2MPortal",
            "destination": IDENTIFIER["msisdn"],
            "status": "DELIVERED",
            "network": NETWORK,
        }
    ],
    "page": _PAGE,
    "links": [{"rel": "self", "href": f"{_SIM}/smshistory", "type": "GET", "name": ""}],
}
SEND = {"message": "PING status", "validityMinutes": 60}
SEND_BY = {"msisdn": IDENTIFIER["msisdn"], **SEND}
SENT = {"smsId": "sms-0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f", "iccid": ICCID, "status": "DELIVERED"}
HLR_CHECK = {
    "iccid": ICCID,
    "imsi": IDENTIFIER["imsi"],
    "msisdn": IDENTIFIER["msisdn"],
    "registered": True,
    "online": True,
    "network": NETWORK,
    "lastLocationUpdate": "2025-08-28T10:02:11.480Z",
    "dataBarred": False,
}
HLR_RESET = {
    "iccid": ICCID,
    "closedSessions": ["ses-4f9c2d1e8a7b4c3d9e0f1a2b3c4d5e6f"],
    "newSessions": ["ses-7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d"],
    "resetAt": "2025-08-28T11:25:49.120Z",
}
BY_ICCID = {"iccid": ICCID}

# Operator injection.
INJECT_SESSION = {
    "iccid": ICCID,
    "imei": IDENTIFIER["imei"],
    "apn": "internet.m2m",
    "mcc": "262",
    "mnc": "01",
    "bytesUp": 182044,
    "bytesDown": 1048576,
    "durationSeconds": 600,
    "open": True,
}
INJECT_SMS = {"iccid": ICCID, "direction": "MO", "text": "temp=21.5", "mcc": "262", "mnc": "01"}
INJECT_VOICE = {
    "iccid": ICCID,
    "direction": "MO",
    "durationSeconds": 95,
    "mcc": "262",
    "mnc": "01",
    "cost": 0.09,
}
INJECTED = {
    "iccid": ICCID,
    "id": "ses-4f9c2d1e8a7b4c3d9e0f1a2b3c4d5e6f",
    "recordIds": ["rec-1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e", "rec-2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f"],
}
