"""The operator's direct setting of a SIM's limit, fraud and restriction state
(``PATCH /operator/v1/sims/{iccid}``, CONTRACT 11.1), so an integration can be tested
against a state without producing the traffic. Rules in services/rules.py."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from m2mportal.domain import rules as domain_rules
from m2mportal.domain.errors import bad_request
from m2mportal.domain.identifiers import check_iccid
from m2mportal.gateway.endpoints import Call
from m2mportal.models import Model
from m2mportal.services import rules


def _shape(rules_type: type[Any], empty: bool) -> dict[str, Any]:
    schema: dict[str, Any] = msgspec.json.schema(rules_type)["$defs"][rules_type.__name__]
    # Profiles without rules (they never fire) stay valid where the shape needs fields.
    return {"anyOf": [{"type": "object", "maxProperties": 0}, schema]} if empty else schema


# What a profile's ``rules`` look like per ``kind`` (domain/rules.py; CONTRACT 11.1); the
# service refuses levels that do not ascend, which a JSON schema cannot say.
PROFILE_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"properties": {"kind": {"const": kind}, "rules": _shape(shape, empty)}}
        for kind, shape, empty in (
            ("limit", domain_rules.LimitRules, True),
            ("fraud", domain_rules.FraudRules, False),
            ("costLimit", domain_rules.CostRules, True),
        )
    ]
}

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
