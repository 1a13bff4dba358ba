"""Examples for the customer API's reference, in the shapes the server answers.

tests/test_openapi.py validates every example against its schema and its identifiers
against the identifier rules, so they cannot drift from what the API takes and answers.
"""

from __future__ import annotations

from typing import Any

from m2mportal import API_BASE

PARTNER = 100013
SUBUNIT = 100014
ICCID = "89882806660004909182"
ICCID_2 = "89882806660004909190"
SIGNUP = 708855306
CLIENT = "m2m-3ba4d3dc71a9f796"
_BASE = f"http://127.0.0.1:8080{API_BASE}/partners/{PARTNER}"
_SIM = f"{_BASE}/sims/{ICCID}"
_ACTION = f"{_BASE}/sims/actions/{SIGNUP}"

# One value per identifier kind, for the selectors of the action examples.
IDENTIFIER = {
    "iccid": ICCID,
    "euiccid": "89049066000000000000000000123422",
    "imsi": "262016660490918",
    "imei": "352099001761481",
    "msisdn": "491511234567",
}

PARTNER_VIEW = {
    "partnerId": PARTNER,
    "name": "Telekom Main Test Company",
    "parentPartnerId": None,
    "subunits": [{"partnerId": SUBUNIT, "name": "Telekom Main Test Company - North"}],
    "simCounts": {
        "Inactive": 120,
        "Active": 2750,
        "Suspended": 80,
        "Blocked": 20,
        "Terminated": 30,
        "total": 3000,
    },
}

_LIST_ENTRY = {
    "iccid": ICCID,
    "euiccid": None,
    "imsi": IDENTIFIER["imsi"],
    "msisdn": IDENTIFIER["msisdn"],
    "imei": IDENTIFIER["imei"],
    "status": "Active",
    "productive": True,
    "partnerId": PARTNER,
    "tariff": {"id": 1, "name": "IoT Basic 50 MB"},
    "activationDate": "2025-03-14T09:26:53.589Z",
    "dataConsumption": 10485760,
}

SIM_PAGE = {
    "content": [_LIST_ENTRY],
    "page": {"size": 1, "number": 0, "totalElements": 3000, "totalPages": 3000},
    "links": [
        {"rel": "self", "href": f"{_BASE}/sims?size=1", "type": "GET", "name": ""},
        {"rel": "next", "href": f"{_BASE}/sims?size=1&page=1", "type": "GET", "name": ""},
        {
            "rel": "nextKeyset",
            "href": f"{_BASE}/sims?size=1&after={ICCID}",
            "type": "GET",
            "name": "",
        },
    ],
}

SIM_DETAILS = {
    **{k: v for k, v in _LIST_ENTRY.items() if k not in ("dataConsumption", "tariff")},
    "simType": "physical",
    "material": "Industrial SIM chip MFF2",
    "terminationDate": None,
    "bindingPeriod": {"months": 12, "endDate": "2026-03-14"},
    "tariff": {"id": 1, "name": "IoT Basic 50 MB"},
    "options": [{"id": 2, "name": "Static IP", "bookedAt": "2025-03-14T09:30:00.000Z"}],
    "profiles": {
        "limitProfile": {"id": 3, "name": "Standard session limit"},
        "fraudProfile": None,
        "costLimitProfile": None,
    },
    "apns": [{"name": "b2b.dtag.test", "staticIp": None, "restrictionStatus": "No Restriction"}],
    "restrictionStatus": "No Restriction",
    "limitStatus": "OK",
    "fraudStatus": "OK",
    "remarks": {
        "remark1": "meter 4711",
        "remark2": None,
        "remark3": None,
        "remark4": None,
        "remark5": None,
    },
    "activationCode": None,
    "eidProfileStatus": None,
    "simAggregatedData": {
        "dataBytes": 10485760,
        "smsMo": 3,
        "smsMt": 1,
        "voiceSeconds": 0,
        "sessions": 12,
        "lastSessionAt": "2025-08-28T11:20:02.000Z",
    },
    "links": [
        {"rel": "self", "href": _SIM, "type": "GET", "name": "get SIM details"},
        {"rel": "session", "href": f"{_SIM}/session", "type": "GET", "name": "get SIM session"},
        {
            "rel": "actions",
            "href": f"{_BASE}/sims/actions",
            "type": "GET",
            "name": "get SIM action list",
        },
    ],
}

API_USAGE = {
    "partnerId": PARTNER,
    "budgetPartnerId": PARTNER,
    "limits": {
        "details": [
            {
                "limit": "1000 per 6 minute",
                "allowed": 1000,
                "used": 1,
                "remaining": 999,
                "resetSeconds": 360,
            },
            {
                "limit": "10000 per 1 hour",
                "allowed": 10000,
                "used": 1,
                "remaining": 9999,
                "resetSeconds": 3600,
            },
        ]
    },
}

_STATUS_LINK = {"rel": "actions", "href": _ACTION, "type": "GET", "name": "get action status"}
ACTION_ACCEPTED = {
    "signupId": SIGNUP,
    "status": "Pending",
    "links": [_STATUS_LINK],
    "transactionId": None,
}

DRY_RUN = {
    "action": "suspend",
    "dryRun": True,
    "wouldSucceed": 1,
    "wouldFail": 1,
    "sims": [
        {
            "index": 0,
            "request": {"iccid": ICCID},
            "iccid": ICCID,
            "status": "Done",
            "error": None,
        },
        {
            "index": 1,
            "request": {"msisdn": "491511234568"},
            "iccid": None,
            "status": "Failed",
            "error": "no SIM with msisdn 491511234568",
        },
    ],
}

_COUNTS = {"total": 2, "pending": 0, "done": 1, "failed": 1, "cancelled": 0}
ACTION_STATUS: dict[str, Any] = {
    "signupId": SIGNUP,
    "action": "suspend",
    "status": "Partially Done",
    "partnerId": PARTNER,
    "requestedBy": CLIENT,
    "createdAt": "2025-08-28T11:25:49.120Z",
    "startedAt": "2025-08-28T11:25:49.300Z",
    "finishedAt": "2025-08-28T11:25:50.020Z",
    "counts": _COUNTS,
    "parameters": {},
    "sims": [
        {
            "index": 0,
            "request": {"iccid": ICCID},
            "iccid": ICCID,
            "status": "Done",
            "error": None,
            "processedAt": "2025-08-28T11:25:49.800Z",
        },
        {
            "index": 1,
            "request": {"iccid": ICCID_2},
            "iccid": ICCID_2,
            "status": "Failed",
            "error": "SIM is Terminated: cannot suspend",
            "processedAt": "2025-08-28T11:25:50.010Z",
        },
    ],
    "links": [{**_STATUS_LINK, "rel": "self"}],
}

ACTION_CANCELLED = {
    **ACTION_STATUS,
    "status": "Cancelled",
    "counts": {"total": 2, "pending": 0, "done": 1, "failed": 0, "cancelled": 1},
    "sims": [
        ACTION_STATUS["sims"][0],
        {**ACTION_STATUS["sims"][1], "status": "Cancelled", "error": None},
    ],
}

ACTION_PAGE = {
    "content": [
        {
            "signupId": SIGNUP,
            "action": "suspend",
            "status": "Partially Done",
            "requestedBy": CLIENT,
            "createdAt": "2025-08-28T11:25:49.120Z",
            "finishedAt": "2025-08-28T11:25:50.020Z",
            "counts": _COUNTS,
            "links": [{**_STATUS_LINK, "rel": "self"}],
        }
    ],
    "page": {"size": 100, "number": 0, "totalElements": 1, "totalPages": 1},
    "links": [],
}

# What each action takes besides `sims` (CONTRACT §7.6).
ACTION_EXTRAS: dict[str, dict[str, Any]] = {
    "activation": {"tariffId": 1},
    "block": {"reason": "Device stolen"},
    "unblock": {"reason": "Device found"},
    "termination": {"force": False},
    "restrict": {"restriction": "Speed Step-down", "apn": "b2b.dtag.test"},
    "unrestrict": {"apn": "b2b.dtag.test"},
    "move": {"targetPartnerId": SUBUNIT},
    "simtransfer": {"targetPartnerId": 100017, "message": "Fleet of 40 trackers, as agreed"},
    "changetariff": {"tariffId": 2},
    "changeoption": {"fromOptionId": 1, "toOptionId": 2},
    "bookoption": {"optionId": 2},
    "terminateoption": {"optionId": 2},
    "modifyprofiles": {"limitProfileId": 3, "fraudProfileId": 4},
    "modifyremarks": {"remarks": {"remark1": "meter 4711", "remark2": "building B"}},
}


def action_request(path: str, kinds: tuple[str, ...], single: bool, binding: bool) -> Any:
    """An action's request: its first identifiers, one SIM each, and its extra fields."""
    if binding:
        sims: list[dict[str, str]] = [{"iccid": ICCID, "euiccid": IDENTIFIER["euiccid"]}]
    else:
        sims = [{kind: IDENTIFIER[kind]} for kind in kinds[: 1 if single else 2]]
    return {"sims": sims, **ACTION_EXTRAS.get(path, {})}
