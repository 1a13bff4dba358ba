"""The operator's direct setting of a SIM's limit, fraud and restriction state
(``PATCH /operator/v1/sims/{iccid}``, CONTRACT 11.1), so an integration can be tested
against a state without producing the traffic. Rules in services/rules.py."""

from __future__ import annotations

from typing import Literal

import msgspec

from m2mportal.domain.errors import bad_request
from m2mportal.domain.identifiers import check_iccid
from m2mportal.gateway.endpoints import Call
from m2mportal.models import Model
from m2mportal.services import rules

LimitStatus = Literal["OK", "Warning", "Alarm", "Overridden"]
FraudStatus = Literal["OK", "Device Fraud", "Location Fraud"]
Restriction = Literal["No Restriction", "Speed Step-down", "Data Restricted"]


class SimStateChange(Model, forbid_unknown_fields=True):
    limit_status: LimitStatus | None = None
    fraud_status: FraudStatus | None = None
    restriction_status: Restriction | None = None


class SimRuleState(Model):
    iccid: str
    partner_id: int
    limit_status: str
    fraud_status: str
    restriction_status: str


async def set_sim_state(call: Call) -> SimRuleState:
    iccid = call.path["iccid"]
    if problem := check_iccid(iccid):
        raise bad_request(f"iccid: {problem}")
    body: SimStateChange = call.body
    changes = {k: v for k, v in msgspec.structs.asdict(body).items() if v is not None}
    row = await rules.set_state(call.platform.db, iccid, changes, call.platform.clock.iso())
    return SimRuleState(
        iccid=row["iccid"],
        partner_id=row["partner_id"],
        limit_status=row["limit_status"],
        fraud_status=row["fraud_status"],
        restriction_status=row["restriction_status"],
    )


STATE_CHANGE = {"fraudStatus": "Device Fraud", "restrictionStatus": "Data Restricted"}
STATE = {
    "iccid": "89882806660004909182",
    "partnerId": 100013,
    "limitStatus": "OK",
    "fraudStatus": "Device Fraud",
    "restrictionStatus": "Data Restricted",
}
