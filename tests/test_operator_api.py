"""The operator API (/operator/v1, CONTRACT.md section 11): partners, applications,
SIM bulk insert, catalogue, limits and the clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from m2mportal import synthetic
from m2mportal.models import EVENT_TYPES
from m2mportal.services import applications
from tests.helpers import OP, TOKEN_PATH, World, assert_error_mentions, assert_error_names

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


assert_error = assert_error_names


def names(errors: list[str], record: str, field: str) -> bool:
    """Whether an error names ``field`` of ``record`` (``sims[2].iccid`` or ``sims[2]: iccid``)."""
    return any(e.startswith((f"{record}.{field}:", f"{record}: {field}:")) for e in errors)


def sim(serial: int, status: str = "Active", **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "iccid": synthetic.iccid(serial),
        "imsi": synthetic.imsi(serial),
        "status": status,
    }
    if status != "Inactive":
        record["msisdn"] = synthetic.msisdn(serial)
    record.update(extra)
    return record


async def sim_total(world: World, partner: int) -> int:
    answer = await world.op("GET", f"/partners/{partner}")
    assert answer.status_code == 200, answer.text
    return int(answer.json()["simCounts"]["total"])


async def listed(world: World, partner: int) -> dict[str, Any]:
    headers = await world.headers_for(await world.app(partner, name="reader"))
    answer = await world.api("GET", f"/partners/{partner}/sims", headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


# --- who may call ---------------------------------------------------------------------------


async def test_operator_api_needs_a_token(world: World) -> None:
    answer = await world.http.get(OP + "/clock")
    assert_error(answer, 401, "UNAUTHORIZED")


async def test_operator_api_refuses_a_partner_token(world: World) -> None:
    partner = await world.partner()
    headers = await world.headers_for(await world.app(partner))
    answer = await world.http.get(OP + f"/partners/{partner}", headers=headers)
    assert_error(answer, 403, "FORBIDDEN")


async def test_customer_api_refuses_the_operator_token(world: World) -> None:
    partner = await world.partner()
    answer = await world.api("GET", f"/partners/{partner}", world.operator)
    assert_error(answer, 403, "FORBIDDEN")


# --- partners ---------------------------------------------------------------------------------


async def test_create_partner_and_subunit(world: World) -> None:
    answer = await world.op("POST", "/partners", json={"name": "Logistics SE"})
    assert answer.status_code == 201, answer.text
    parent = answer.json()
    assert isinstance(parent["partnerId"], int)
    assert parent["name"] == "Logistics SE"
    assert parent["parentPartnerId"] is None
    assert parent["subunits"] == []
    assert parent["simCounts"]["total"] == 0

    answer = await world.op(
        "POST",
        "/partners",
        json={"name": "Logistics SE Depot", "parentPartnerId": parent["partnerId"]},
    )
    assert answer.status_code == 201, answer.text
    child = answer.json()
    assert child["parentPartnerId"] == parent["partnerId"]
    assert child["partnerId"] != parent["partnerId"]

    answer = await world.op("GET", f"/partners/{parent['partnerId']}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["subunits"] == [
        {"partnerId": child["partnerId"], "name": "Logistics SE Depot"}
    ]


async def test_create_subunit_of_an_unknown_parent_is_400(world: World) -> None:
    answer = await world.op("POST", "/partners", json={"name": "Orphan", "parentPartnerId": 424242})
    errors = assert_error(answer, 400, "BAD_REQUEST", "parentPartnerId")
    assert "424242" in errors[0]


async def test_create_partner_with_a_bad_body_is_400(world: World) -> None:
    for body, field in (
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": 5}, "name"),
        ({"name": "X", "parentPartnerId": "one"}, "parentPartnerId"),
        ({"name": "X", "parentPartnerId": 0}, "parentPartnerId"),
        ({"name": "X", "colour": "red"}, "colour"),
    ):
        answer = await world.op("POST", "/partners", json=body)
        errors = assert_error(answer, 400, "BAD_REQUEST")
        assert any(field in e for e in errors), (body, errors)
    assert_error(await world.op("POST", "/partners", content=b"{"), 400, "BAD_REQUEST", "body")


async def test_get_unknown_partner_is_404(world: World) -> None:
    errors = assert_error(await world.op("GET", "/partners/987654"), 404, "NOT_FOUND")
    assert "987654" in errors[0]


async def test_get_partner_with_a_malformed_id_is_400(world: World) -> None:
    assert_error(await world.op("GET", "/partners/abc"), 400, "BAD_REQUEST", "partnerId")


# --- applications -------------------------------------------------------------------------


async def test_register_application_returns_credentials_and_subscriptions(world: World) -> None:
    partner = await world.partner()
    answer = await world.op(
        "POST",
        f"/partners/{partner}/applications",
        json={"name": "fleet-backend", "readOnly": False, "ipWhitelist": ["203.0.113.7"]},
    )
    assert answer.status_code == 201, answer.text
    app = answer.json()
    for key in ("clientId", "clientSecret", "eventClientId", "eventClientSecret"):
        assert isinstance(app[key], str) and len(app[key]) >= 8, key
    assert app["clientId"] != app["eventClientId"]
    assert app["clientSecret"] != app["eventClientSecret"]
    assert app["status"] == "Active"  # provisioning_seconds is 0 in tests
    assert app["partnerId"] == partner
    assert app["name"] == "fleet-backend"
    assert app["ipWhitelist"] == ["203.0.113.7"]
    assert app["userType"] == "Standard"
    subs = app["subscriptions"]
    assert sorted(s["eventType"] for s in subs) == sorted(EVENT_TYPES)
    assert len({s["subscriptionId"] for s in subs}) == len(EVENT_TYPES)
    for sub in subs:
        assert sub["url"].endswith(f"/events/v1/sse/{sub['subscriptionId']}")
        assert sub["url"].startswith("http://testserver/")


async def test_register_application_with_chosen_event_types(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner, eventTypes=["simaction.v1", "costlimitnotification.v1"])
    assert sorted(s["eventType"] for s in app["subscriptions"]) == [
        "costlimitnotification.v1",
        "simaction.v1",
    ]
    answer = await world.op(
        "POST",
        f"/partners/{partner}/applications",
        json={"name": "x", "eventTypes": ["simaction.v1", "simaction.v1"]},
    )
    assert_error(answer, 400, "BAD_REQUEST", "eventTypes")
    answer = await world.op(
        "POST", f"/partners/{partner}/applications", json={"name": "x", "eventTypes": ["foo.v1"]}
    )
    assert_error(answer, 400, "BAD_REQUEST", "eventTypes")


async def test_register_application_with_a_bad_ip_whitelist_is_400(world: World) -> None:
    partner = await world.partner()
    for whitelist, field in (
        ([f"203.0.113.{i}" for i in range(1, 12)], "ipWhitelist"),  # 11 entries
        (["2001:db8::1"], "ipWhitelist[0]"),
        (["203.0.113.7", "300.1.1.1"], "ipWhitelist[1]"),
        (["203.0.113.7", "203.0.113.7"], "ipWhitelist"),
        (["localhost"], "ipWhitelist[0]"),
    ):
        answer = await world.op(
            "POST",
            f"/partners/{partner}/applications",
            json={"name": "x", "ipWhitelist": whitelist},
        )
        assert_error(answer, 400, "BAD_REQUEST", field)
    listing = await world.op("GET", f"/partners/{partner}/applications")
    assert listing.json() == []


async def test_register_application_with_ten_addresses_is_fine(world: World) -> None:
    partner = await world.partner()
    whitelist = [f"198.51.100.{i}" for i in range(1, 11)]
    app = await world.app(partner, ipWhitelist=whitelist)
    assert app["ipWhitelist"] == whitelist


async def test_subunit_user_application(world: World) -> None:
    partner = await world.partner()
    subunit = await world.partner("Sub", parent=partner)
    other = await world.partner("Other")
    answer = await world.op(
        "POST",
        f"/partners/{partner}/applications",
        json={"name": "x", "userType": "Subunit", "subunits": []},
    )
    assert_error(answer, 400, "BAD_REQUEST", "subunits")
    answer = await world.op(
        "POST",
        f"/partners/{partner}/applications",
        json={"name": "x", "userType": "Subunit", "subunits": [other]},
    )
    assert_error(answer, 400, "BAD_REQUEST", "subunits[0]")
    answer = await world.op(
        "POST", f"/partners/{partner}/applications", json={"name": "x", "subunits": [subunit]}
    )
    assert_error(answer, 400, "BAD_REQUEST", "subunits")
    app = await world.app(partner, userType="Subunit", subunits=[subunit])
    assert app["userType"] == "Subunit" and app["subunits"] == [subunit]


async def test_register_application_for_an_unknown_partner_is_404(world: World) -> None:
    answer = await world.op("POST", "/partners/555555/applications", json={"name": "x"})
    assert_error(answer, 404, "NOT_FOUND")


async def test_get_application_never_shows_secrets(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner, name="meter-reader", readOnly=True)
    answer = await world.op("GET", f"/applications/{app['clientId']}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["clientId"] == app["clientId"]
    assert body["eventClientId"] == app["eventClientId"]
    assert body["name"] == "meter-reader"
    assert body["status"] == "Active"
    assert body["readOnly"] is True
    assert body["partnerId"] == partner
    by_type = sorted(body["subscriptions"], key=lambda sub: sub["eventType"])
    assert by_type == sorted(app["subscriptions"], key=lambda sub: sub["eventType"])
    assert "clientSecret" not in body and "eventClientSecret" not in body
    assert app["clientSecret"] not in answer.text
    assert app["eventClientSecret"] not in answer.text

    listing = await world.op("GET", f"/partners/{partner}/applications")
    assert listing.status_code == 200, listing.text
    assert [a["clientId"] for a in listing.json()] == [app["clientId"]]
    assert app["clientSecret"] not in listing.text
    assert app["eventClientSecret"] not in listing.text


async def test_patch_application(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    path = f"/applications/{app['clientId']}"
    answer = await world.op(
        "PATCH", path, json={"ipWhitelist": ["198.51.100.10"], "readOnly": True}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["ipWhitelist"] == ["198.51.100.10"]
    assert answer.json()["readOnly"] is True
    again = (await world.op("GET", path)).json()
    assert again["ipWhitelist"] == ["198.51.100.10"] and again["readOnly"] is True
    assert app["clientSecret"] not in answer.text

    answer = await world.op("PATCH", path, json={"ipWhitelist": ["not-an-ip"]})
    assert_error(answer, 400, "BAD_REQUEST", "ipWhitelist[0]")
    answer = await world.op("PATCH", path, json={"clientSecret": "mine"})
    assert_error(answer, 400, "BAD_REQUEST")
    answer = await world.op("PATCH", "/applications/m2m-doesnotexist", json={"readOnly": True})
    assert_error(answer, 404, "NOT_FOUND")


async def test_delete_application(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    headers = await world.headers_for(app)
    assert (await world.api("GET", f"/partners/{partner}", headers)).status_code == 200

    answer = await world.op("DELETE", f"/applications/{app['clientId']}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["clientId"] == app["clientId"]
    assert_error(await world.op("GET", f"/applications/{app['clientId']}"), 404, "NOT_FOUND")
    assert_error(await world.op("DELETE", f"/applications/{app['clientId']}"), 404, "NOT_FOUND")
    # Its tokens stop working.
    assert_error(await world.api("GET", f"/partners/{partner}", headers), 401, "UNAUTHORIZED")


# --- secrets (issue 9.6) ---------------------------------------------------------------------


async def _token_answer(world: World, client_id: str, secret: str) -> int:
    answer = await world.http.post(
        TOKEN_PATH,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    return answer.status_code


async def test_show_an_applications_secrets(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    answer = await world.op("GET", f"/applications/{app['clientId']}/secrets")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "clientId": app["clientId"],
        "clientSecret": app["clientSecret"],
        "eventClientId": app["eventClientId"],
        "eventClientSecret": app["eventClientSecret"],
    }
    assert answer.headers["Cache-Control"] == "no-store"


async def test_rotate_the_client_secret(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    issued = await world.headers_for(app)
    path = f"/applications/{app['clientId']}/secrets"
    answer = await world.op("POST", path + "/rotate", json={"which": "client"})
    assert answer.status_code == 200, answer.text
    rotated = answer.json()
    new = rotated["clientSecret"]
    assert rotated["rotated"] == "client" and new != app["clientSecret"] and len(new) >= 32
    assert rotated["eventClientSecret"] == app["eventClientSecret"]
    assert (await world.op("GET", path)).json()["clientSecret"] == new
    # The old secret is refused at once; the new one and the event secret work.
    assert await _token_answer(world, app["clientId"], app["clientSecret"]) == 401
    assert await _token_answer(world, app["clientId"], new) == 200
    assert await _token_answer(world, app["eventClientId"], app["eventClientSecret"]) == 200
    # A token issued before the rotation lives until it expires (docs/api.md).
    assert (await world.api("GET", f"/partners/{partner}", issued)).status_code == 200


async def test_rotate_the_event_secret(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    answer = await world.op(
        "POST", f"/applications/{app['clientId']}/secrets/rotate", json={"which": "event"}
    )
    assert answer.status_code == 200, answer.text
    rotated = answer.json()
    assert rotated["rotated"] == "event" and rotated["clientSecret"] == app["clientSecret"]
    new = rotated["eventClientSecret"]
    assert new != app["eventClientSecret"]
    assert await _token_answer(world, app["eventClientId"], app["eventClientSecret"]) == 401
    assert await _token_answer(world, app["eventClientId"], new) == 200
    assert await _token_answer(world, app["clientId"], app["clientSecret"]) == 200


async def test_secrets_of_an_unknown_application_are_404(world: World) -> None:
    for method, path, body in (
        ("GET", "/applications/m2m-0000000000000000/secrets", None),
        ("POST", "/applications/m2m-0000000000000000/secrets/rotate", {"which": "client"}),
    ):
        answer = await world.op(method, path, json=body)
        assert_error_mentions(answer, 404, "NOT_FOUND", "application m2m-0000000000000000")


async def test_rotate_names_a_bad_which(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    path = f"/applications/{app['clientId']}/secrets/rotate"
    for body in ({"which": "both"}, {}, {"which": 1}, {"which": "client", "extra": 1}):
        answer = await world.op("POST", path, json=body)
        errors = assert_error(answer, 400, "BAD_REQUEST")
        assert any("which" in e or "extra" in e for e in errors), errors
    assert_error(await world.op("POST", path, json={"which": "both"}), 400, "BAD_REQUEST", "which")
    # Nothing was rotated.
    assert await _token_answer(world, app["clientId"], app["clientSecret"]) == 200
    operator = world.operator_client[0]
    answer = await world.op(
        "POST", f"/applications/{operator}/secrets/rotate", json={"which": "event"}
    )
    assert_error(answer, 400, "BAD_REQUEST", "which")


async def test_secrets_need_an_operator_token(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    partner_token = await world.headers_for(app)
    for method, path, body in (
        ("GET", f"/applications/{app['clientId']}/secrets", None),
        ("POST", f"/applications/{app['clientId']}/secrets/rotate", {"which": "client"}),
    ):
        assert_error(await world.http.request(method, OP + path, json=body), 401, "UNAUTHORIZED")
        answer = await world.http.request(method, OP + path, json=body, headers=partner_token)
        assert_error(answer, 403, "FORBIDDEN")
        assert app["clientSecret"] not in answer.text
    assert await _token_answer(world, app["clientId"], app["clientSecret"]) == 200


# --- SIM bulk insert ----------------------------------------------------------------------


async def test_bulk_insert_adds_sims(world: World) -> None:
    partner = await world.partner()
    answer = await world.sims(partner, [sim(1), sim(2, "Inactive"), sim(3, "Suspended")])
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"inserted": 3, "rejected": 0, "errors": []}
    assert await sim_total(world, partner) == 3


async def test_bulk_insert_is_all_or_nothing(world: World) -> None:
    partner = await world.partner()
    records = [sim(1), sim(2), sim(3, iccid="89490200000000000012"), sim(4)]
    errors = assert_error(await world.sims(partner, records), 400, "BAD_REQUEST")
    assert names(errors, "sims[2]", "iccid"), errors
    assert len(errors) == 1, errors
    assert (await listed(world, partner))["page"]["totalElements"] == 0
    assert await sim_total(world, partner) == 0
    # The good records were not kept: they go in now without clashes.
    answer = await world.sims(partner, [sim(1), sim(2), sim(4)])
    assert answer.status_code == 201, answer.text
    assert answer.json()["inserted"] == 3


async def test_bulk_insert_errors_name_the_field_as_in_the_contract(world: World) -> None:
    # CONTRACT.md section 4: "errors": ["sims[3].iccid: check digit wrong"]
    partner = await world.partner()
    records = [sim(1), sim(2), sim(3), sim(4, iccid="89490200000000000012")]
    errors = assert_error(await world.sims(partner, records), 400, "BAD_REQUEST")
    assert errors == ["sims[3].iccid: check digit wrong"]


async def test_bulk_insert_reports_every_bad_record(world: World) -> None:
    partner = await world.partner()
    records = [
        sim(1, imsi="123"),  # malformed IMSI
        sim(2),
        sim(3, "Inactive", msisdn=synthetic.msisdn(3)),  # no MSISDN before activation
        sim(4, tariffId=999999),  # unknown tariff
        sim(5, euiccid=synthetic.euiccid(5)),  # a physical SIM has no eUICCID
        sim(6, subunitId=999999),  # not in the tree
        sim(7, imei="350000000000015"),  # Luhn wrong
    ]
    errors = assert_error(await world.sims(partner, records), 400, "BAD_REQUEST")
    assert names(errors, "sims[0]", "imsi")
    assert names(errors, "sims[2]", "msisdn")
    assert names(errors, "sims[3]", "tariffId")
    assert names(errors, "sims[4]", "euiccid")
    assert names(errors, "sims[5]", "subunitId")
    assert names(errors, "sims[6]", "imei")
    assert not any(e.startswith("sims[1]") for e in errors)
    assert await sim_total(world, partner) == 0


async def test_bulk_insert_schema_errors_name_the_record(world: World) -> None:
    partner = await world.partner()
    answer = await world.sims(partner, [sim(1), sim(2, status="Sleeping")])
    errors = assert_error(answer, 400, "BAD_REQUEST", "sims[1].status")
    assert len(errors) == 1
    answer = await world.sims(partner, [sim(1, colour="red")])
    errors = assert_error(answer, 400, "BAD_REQUEST", "sims[0]")
    assert "colour" in errors[0]
    assert_error(await world.sims(partner, []), 400, "BAD_REQUEST", "sims")
    assert await sim_total(world, partner) == 0


async def test_bulk_insert_reports_duplicates_within_the_request(world: World) -> None:
    partner = await world.partner()
    records = [
        sim(1),
        sim(2),
        sim(3, iccid=synthetic.iccid(1)),  # same ICCID as sims[0]
        sim(4, imsi=synthetic.imsi(2)),  # same IMSI as sims[1]
        sim(5, msisdn=synthetic.msisdn(2)),  # same MSISDN as sims[1]
    ]
    errors = assert_error(await world.sims(partner, records), 400, "BAD_REQUEST")
    assert names(errors, "sims[2]", "iccid")
    assert names(errors, "sims[3]", "imsi")
    assert names(errors, "sims[4]", "msisdn")
    assert any("sims[2]" in e and synthetic.iccid(1) in e and "sims[0]" in e for e in errors)
    assert not any(e.startswith(("sims[0]", "sims[1]")) for e in errors)
    assert await sim_total(world, partner) == 0


async def test_bulk_insert_reports_duplicates_against_the_inventory(world: World) -> None:
    """Identifiers already in the inventory conflict with its state: 409 naming each."""
    partner = await world.partner()
    other = await world.partner("Other")
    assert (
        await world.sims(other, [sim(1, euiccid=synthetic.euiccid(1), simType="eSIM")])
    ).status_code == 201
    records = [
        sim(2),
        sim(3, iccid=synthetic.iccid(1)),
        sim(4, imsi=synthetic.imsi(1)),
        sim(5, euiccid=synthetic.euiccid(1), simType="eSIM"),
        sim(6, msisdn=synthetic.msisdn(1)),
    ]
    errors = assert_error(await world.sims(partner, records), 409, "CONFLICT")
    assert names(errors, "sims[1]", "iccid")
    assert any(e.startswith("sims[1].iccid") and synthetic.iccid(1) in e for e in errors)
    assert names(errors, "sims[2]", "imsi")
    assert names(errors, "sims[3]", "euiccid")
    assert names(errors, "sims[4]", "msisdn")
    assert all("inventory" in e for e in errors), errors
    assert await sim_total(world, partner) == 0
    assert await sim_total(world, other) == 1
    # A record invalid on its own beside a clash: the request is bad, 400 naming both.
    records = [sim(2, imsi="26201"), sim(3, iccid=synthetic.iccid(1))]
    errors = assert_error(await world.sims(partner, records), 400, "BAD_REQUEST")
    assert names(errors, "sims[0]", "imsi") and names(errors, "sims[1]", "iccid")
    assert await sim_total(world, partner) == 0


async def test_bulk_insert_for_an_unknown_partner_fails(world: World) -> None:
    answer = await world.sims(777777, [sim(1)])
    assert answer.status_code in (400, 404), answer.text
    assert_error(
        answer, answer.status_code, "BAD_REQUEST" if answer.status_code == 400 else "NOT_FOUND"
    )


async def test_bulk_insert_into_a_subunit(world: World) -> None:
    partner = await world.partner()
    subunit = await world.partner("Sub", parent=partner)
    answer = await world.sims(partner, [sim(1, subunitId=subunit), sim(2)])
    assert answer.status_code == 201, answer.text
    assert await sim_total(world, subunit) == 1
    assert await sim_total(world, partner) == 2


async def test_bulk_insert_rejects_non_ascii_digits(world: World) -> None:
    # "٢٦٢٠١٠٠٠٠٠٠٠٠١" is 14 Arabic-Indic digits: not an IMSI a network can use.
    partner = await world.partner()
    imsi = "\u0662\u0666\u0662\u0660\u0661" + "\u0660" * 8 + "\u0661"
    answer = await world.sims(partner, [sim(1, imsi=imsi)])
    assert_error(answer, 400, "BAD_REQUEST")
    assert await sim_total(world, partner) == 0


# --- catalogue ----------------------------------------------------------------------------


async def test_catalogue_items_get_ids(world: World) -> None:
    ids = []
    for path, body in (
        ("/tariffs", {"name": "IoT Basic", "bindingMonths": 12}),
        ("/tariffs", {"name": "IoT Flex"}),
        ("/options", {"name": "Parallel Sessions", "description": "two APN sessions"}),
        ("/materials", {"name": "Industrial MFF2", "simType": "eSIM", "minOrderQuantity": 100}),
        ("/materials", {"name": "Standard 2FF"}),
        ("/profiles", {"kind": "limit", "name": "1 GB"}),
        ("/profiles", {"kind": "fraud", "name": "DE only"}),
        ("/profiles", {"kind": "costLimit", "name": "EUR 10"}),
    ):
        answer = await world.op("POST", path, json=body)
        assert answer.status_code == 201, (path, answer.text)
        item = answer.json()
        assert set(item) == {"id", "name"}, path
        assert isinstance(item["id"], int), path
        assert item["name"] == body["name"]
        ids.append((path, item["id"]))
    assert len(set(ids)) == len(ids), ids


async def test_profile_with_rules(world: World) -> None:
    answer = await world.op(
        "POST",
        "/profiles",
        json={
            "kind": "limit",
            "name": "1 GB per month",
            "rules": {"type": "volume", "levels": [800_000_000, 1_000_000_000]},
        },
    )
    assert answer.status_code == 201, answer.text
    assert isinstance(answer.json()["id"], int)


async def test_catalogue_validation(world: World) -> None:
    for path, body, field in (
        ("/tariffs", {"name": "x", "bindingMonths": -1}, "bindingMonths"),
        ("/tariffs", {}, "name"),
        ("/materials", {"name": "x", "simType": "nano"}, "simType"),
        ("/materials", {"name": "x", "minOrderQuantity": 0}, "minOrderQuantity"),
        ("/profiles", {"kind": "speed", "name": "x"}, "kind"),
        ("/options", {"name": ""}, "name"),
    ):
        errors = assert_error(await world.op("POST", path, json=body), 400, "BAD_REQUEST")
        assert any(field in e for e in errors), (path, body, errors)


# --- limits -------------------------------------------------------------------------------


async def test_set_limits(world: World) -> None:
    partner = await world.partner()
    answer = await world.op(
        "PUT", f"/partners/{partner}/limits", json={"actions": ["1000/6 minutes", "10000/hour"]}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["actions"] == ["1000/6 minutes", "10000/hour"]
    answer = await world.op(
        "PUT", f"/partners/{partner}/limits", json={"history": ["500/6 minutes"]}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["history"] == ["500/6 minutes"]
    assert body["actions"] == ["1000/6 minutes", "10000/hour"]  # kept


async def test_set_limits_rejects_bad_rates_and_unknown_classes(world: World) -> None:
    partner = await world.partner()
    for body, field in (
        ({"actions": ["lots/hour"]}, "actions[0]"),
        ({"details": ["100/hour", "5/fortnight"]}, "details[1]"),
    ):
        answer = await world.op("PUT", f"/partners/{partner}/limits", json=body)
        assert_error(answer, 400, "BAD_REQUEST", field)
    answer = await world.op("PUT", f"/partners/{partner}/limits", json={"bandwidth": ["10/hour"]})
    errors = assert_error(answer, 400, "BAD_REQUEST")
    assert any("bandwidth" in e for e in errors), errors
    # Nothing was stored by the rejected calls.
    answer = await world.op("PUT", f"/partners/{partner}/limits", json={"sms": ["30/hour"]})
    assert answer.json() == {"sms": ["30/hour"]}


async def test_set_limits_names_the_class_of_a_malformed_list(world: World) -> None:
    partner = await world.partner()
    for body in ({"sms": []}, {"sms": "30/hour"}, {"sms": ["x" * 65]}):
        answer = await world.op("PUT", f"/partners/{partner}/limits", json=body)
        assert_error(answer, 400, "BAD_REQUEST", "sms")


async def test_set_limits_rejects_zero_and_absurd_rates(world: World) -> None:
    """Issue 8.6: each refused value is named with its class; nothing is stored."""
    partner = await world.partner()
    path = f"/partners/{partner}/limits"
    for body, field, fragment in (
        ({"actions": ["0/hour"]}, "actions[0]", "'0/hour'"),
        ({"details": ["1000/6 minutes", "0 per hour"]}, "details[1]", "'0 per hour'"),
        ({"details": ["10000001/hour"]}, "details[0]", "10,000,000"),
        ({"history": ["10/2 days"]}, "history[0]", "longer than a day"),
        ({"history": ["10/week"]}, "history[0]", "10/week"),
        ({"sms": ["10/month"]}, "sms[0]", "longer than a day"),
        ({"sms": ["10/0 hours"]}, "sms[0]", "not a rate"),
        ({"sms": ["10/hour;5/minute"]}, "sms[0]", "one per entry"),
        ({"sms": ["10/hour", "20/day", "10/hour"]}, "sms[2]", "repeats sms[0]"),
        ({"sms": ["\uff11\uff10/hour"]}, "sms[0]", "not a rate"),
        # (The edge may refuse the NUL before the limits are read: only the field is sure.)
        ({"sms": ["30/hour\u0000"]}, "sms[0]", "sms[0]"),
        ({"sms": [30]}, "sms[0]", "rate string"),
        ({"sms": []}, "sms", "1 to 4"),
        ({"sms": ["1/second", "2/minute", "3/hour", "4/day", "5/6 hours"]}, "sms", "1 to 4"),
        ({"de\u0000tails": ["10/hour"]}, "", "tails"),
        ({"bandwidth": ["10/hour"]}, "bandwidth", "unknown class"),
        ({}, "body", "at least one class"),
    ):
        answer = await world.op("PUT", path, json=body)
        assert_error_mentions(answer, 400, "BAD_REQUEST", fragment)
        assert_error(answer, 400, "BAD_REQUEST", field)
    # A valid class beside a bad one is not stored either (all or nothing).
    answer = await world.op("PUT", path, json={"sms": ["5/hour"], "actions": ["0/hour"]})
    assert_error(answer, 400, "BAD_REQUEST", "actions[0]")
    answer = await world.op("PUT", path, json={"details": ["10000000/day", "1/second"]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"details": ["10000000/day", "1/second"]}


async def test_set_limits_of_an_unknown_partner_is_404(world: World) -> None:
    answer = await world.op("PUT", "/partners/313131/limits", json={"sms": ["30/hour"]})
    assert_error(answer, 404, "NOT_FOUND")


# --- clock --------------------------------------------------------------------------------


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


async def _fresh_operator(world: World) -> dict[str, str]:
    """Tokens expire on the platform clock: after moving it a day, get a new one."""
    creds = await applications.create_operator_client(world.platform, "after-the-jump")
    token = await world.token(creds.client_id, creds.client_secret)
    return {"Authorization": f"Bearer {token}"}


async def test_clock_reads_and_advances(world: World) -> None:
    answer = await world.op("GET", "/clock")
    assert answer.status_code == 200, answer.text
    before = answer.json()
    assert set(before) == {"now", "offsetSeconds"}
    assert before["offsetSeconds"] == 0
    assert abs((_parse(before["now"]) - datetime.now(UTC)).total_seconds()) < 60

    answer = await world.op("POST", "/clock/advance", json={"seconds": 86400})
    assert answer.status_code == 200, answer.text
    after = answer.json()
    assert after["offsetSeconds"] == 86400
    moved = (_parse(after["now"]) - _parse(before["now"])).total_seconds()
    assert 86400 <= moved < 86400 + 60

    # The old token expired on the moved clock.
    assert_error(await world.op("GET", "/clock"), 401, "UNAUTHORIZED")
    headers = await _fresh_operator(world)
    again = (await world.http.get(OP + "/clock", headers=headers)).json()
    assert again["offsetSeconds"] == 86400
    assert _parse(again["now"]) >= _parse(after["now"])


async def test_error_timestamps_follow_the_simulated_clock(world: World) -> None:
    answer = await world.op("POST", "/clock/advance", json={"seconds": 400 * 86400})
    assert answer.status_code == 200, answer.text
    headers = await _fresh_operator(world)
    errors = await world.http.get(OP + "/partners/987654", headers=headers)
    assert errors.status_code == 404, errors.text
    stamp = datetime.strptime(errors.json()["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert (stamp - datetime.now(UTC)).days >= 399


async def test_clock_advance_rejects_bad_bodies(world: World) -> None:
    for body in ({"seconds": -5}, {}, {"seconds": "soon"}, {"minutes": 5}):
        answer = await world.op("POST", "/clock/advance", json=body)
        assert_error(answer, 400, "BAD_REQUEST")
    assert (await world.op("GET", "/clock")).json()["offsetSeconds"] == 0
