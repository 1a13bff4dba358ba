"""The bulk insert's rows line up with the store's column list."""

from __future__ import annotations

import msgspec

from m2mportal.models import NewSim, Remarks
from m2mportal.services.inventory import _Dates, _References, _row
from m2mportal.store.sims import INSERT_COLUMNS


def test_row_values_sit_under_their_columns() -> None:
    refs = _References(
        tariffs={7: 12}, options=set(), materials=set(), profiles={}, tariff_names={7: "IoT 12"}
    )
    sim = NewSim(
        iccid="89490200000000000013",
        imsi="262010000000001",
        msisdn="4915100000001",
        imei="350000000000014",
        sim_type="eSIM",
        status="Active",
        productive=True,
        tariff_id=7,
        remarks=Remarks(remark1="Truck 7", remark3="Depot"),
        subunit_id=100014,
        activation_code="LPA:1$smdp.example$ABC",
    )
    row = dict(zip(INSERT_COLUMNS, _row(sim, 100013, refs, _Dates("2026-01-01T00:00:00.000Z")),
                   strict=True))  # fmt: skip
    assert row["iccid"] == sim.iccid and row["partner_id"] == 100014
    assert row["imsi"] == sim.imsi and row["msisdn"] == sim.msisdn
    assert row["imei"] == sim.imei and row["imei_key"] == sim.imei[:14]
    assert row["sim_type"] == "eSIM" and row["status"] == "Active" and row["productive"] is True
    assert row["activation_date"] == "2026-01-01T00:00:00.000Z"
    assert row["binding_months"] == 12 and row["binding_end"].startswith("2027-01-01")
    assert row["tariff_id"] == 7
    assert row["remark1"] == "Truck 7" and row["remark2"] is None and row["remark3"] == "Depot"
    assert row["remarks_search"] == "truck 7\ndepot"
    assert row["restriction_status"] == "No Restriction"
    assert row["limit_status"] == row["fraud_status"] == "OK"
    assert row["activation_code"] == sim.activation_code
    assert row["eid_profile_status"] == "Not bound"
    assert row["created_at"] == row["updated_at"] == "2026-01-01T00:00:00.000Z"
    assert msgspec.json.decode(row["list_entry"]) == {
        "iccid": sim.iccid, "euiccid": None, "imsi": sim.imsi, "msisdn": sim.msisdn,
        "imei": sim.imei, "status": "Active", "productive": True, "partnerId": 100014,
        "tariff": {"id": 7, "name": "IoT 12"}, "activationDate": "2026-01-01T00:00:00.000Z",
        "dataConsumption": 0,
    }  # fmt: skip
