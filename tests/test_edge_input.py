"""Every input checked at the edge, alike on SQLite and PostgreSQL (issue 8, points 3, 4, 6).

NUL characters (which PostgreSQL refuses and SQLite stores), Unicode digits, ids with
more than one spelling, integers beyond 64 bits, malformed dates and repeated JSON keys
each answer 400 naming the field, before anything reaches the database.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from m2mportal import API_BASE, synthetic
from m2mportal.actions import worker
from m2mportal.cli import app as cli_app
from m2mportal.platform import Platform
from tests.conftest import FERNET_KEY
from tests.helpers import TOKEN_PATH, World, assert_error_mentions, assert_error_names

BIG = str(2**63)  # one past the largest id
HUGE = 2**64
# Digits that str.isdigit() and int() accept: fullwidth (U+FF10...) and Arabic-Indic (U+0660...).
FULLWIDTH = {ord("0") + d: 0xFF10 + d for d in range(10)}
ARABIC_INDIC = {ord("0") + d: 0x0660 + d for d in range(10)}
SUPERSCRIPT_THREE = "\u00b3"  # isdigit() is true, int() raises


@dataclass
class Tenant:
    world: World
    partner: int
    sims: list[dict[str, Any]]
    headers: dict[str, str]
    app: dict[str, Any]

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.world.api("GET", path.format(p=self.partner), self.headers, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        if body is not None:
            kw["json"] = body
        return await self.world.api("POST", path.format(p=self.partner), self.headers, **kw)

    async def post_raw(self, path: str, raw: bytes) -> httpx.Response:
        headers = {**self.headers, "Content-Type": "application/json"}
        return await self.world.api("POST", path.format(p=self.partner), headers, content=raw)


@pytest.fixture
async def tenant(world: World) -> Tenant:
    partner = await world.partner()
    sims = await world.synthetic_sims(partner, 3)
    app = await world.app(partner)
    return Tenant(world, partner, sims, await world.headers_for(app), app)


def bad(answer: httpx.Response, *fields: str) -> list[str]:
    return assert_error_names(answer, 400, "BAD_REQUEST", *fields)


# --- NUL characters ---------------------------------------------------------------------


async def test_nul_in_query_filters_is_400_naming_the_filter(tenant: Tenant) -> None:
    for path, params, field in (
        ("/partners/{p}/sims", {"remark": "truck\0"}, "remark"),
        ("/partners/{p}/sims", {"iccid": "\0"}, "iccid"),
        ("/partners/{p}/sims/actions", {"createdFrom": "2025-08-28\0"}, "createdFrom"),
        ("/partners/{p}/sims/actions", {"createdTo": "\x00"}, "createdTo"),
        # A parameter no operation reads is refused alike: nothing with a NUL gets in.
        ("/partners/{p}", {"anything": "a\0b"}, "anything"),
    ):
        errors = bad(await tenant.get(path, params=params), field)
        assert any("control characters" in e for e in errors), errors


async def test_nul_in_path_parameters_is_400_naming_the_parameter(tenant: Tenant) -> None:
    world = tenant.world
    bad(await world.op("GET", "/applications/m2m-a%00b"), "clientId")
    bad(await world.op("GET", "/subscriptions/sub-%00"), "subscriptionId")
    bad(await tenant.get("/partners/{p}/sims/8949%00"), "iccid")
    bad(await tenant.get("/partners/1%00"), "partnerId")


async def test_nul_in_operator_bodies_is_400_and_nothing_is_stored(tenant: Tenant) -> None:
    world = tenant.world
    answer = await world.op("POST", "/partners", json={"name": "Nul\0 GmbH"})
    errors = bad(answer, "name")
    assert errors == ["name: must not contain a NUL character (\\u0000)"]
    app = tenant.app["clientId"]
    bad(await world.op("PATCH", f"/applications/{app}", json={"name": "x\0"}), "name")
    assert (await world.op("GET", f"/applications/{app}")).json()["name"] == "test-app"
    bad(await world.op("POST", "/tariffs", json={"name": "T", "description": "\0"}), "description")
    profile = {"kind": "limit", "name": "p", "rules": {"x": ["\0"]}}
    bad(await world.op("POST", "/profiles", json=profile), "rules.x[0]")
    limits = await world.op("PUT", f"/partners/{tenant.partner}/limits", json={"sm\0s": ["1/hour"]})
    bad(limits, "'sm\\x00s'")


async def test_sim_import_with_a_nul_remark_is_400_and_imports_nothing(tenant: Tenant) -> None:
    sim = {"iccid": synthetic.iccid(50), "remarks": {"remark1": "meter", "remark2": "a\0b"}}
    answer = await tenant.world.sims(tenant.partner, [{"iccid": synthetic.iccid(51)}, sim])
    assert bad(answer, "sims[1].remarks.remark2") == [
        "sims[1].remarks.remark2: must not contain a NUL character (\\u0000)"
    ]
    found = await tenant.get("/partners/{p}/sims/" + synthetic.iccid(51))
    assert_error_mentions(found, 404, "NOT_FOUND")


async def test_modifyremarks_with_a_nul_is_refused_at_acceptance(
    tenant: Tenant, platform: Platform
) -> None:
    """It passed its dry run, was accepted, then failed every SIM with an internal error."""
    path = "/partners/{p}/sims/actions/modifyremarks"
    body = {
        "sims": [{"iccid": s["iccid"]} for s in tenant.sims],
        "remarks": {"remark1": "before\0after"},
    }
    bad(await tenant.post(path, body, params={"dryRun": "true"}), "remarks.remark1")
    bad(await tenant.post(path, body), "remarks.remark1")
    await worker.run_until_idle(platform)
    listed = await tenant.get("/partners/{p}/sims/actions")
    assert listed.json()["content"] == []
    details = await tenant.get("/partners/{p}/sims/" + tenant.sims[0]["iccid"])
    assert details.json()["remarks"]["remark1"] == tenant.sims[0]["remarks"]["remark1"]


async def test_escaped_backslash_before_u0000_is_not_a_nul(tenant: Tenant) -> None:
    """``\\\\u0000`` in JSON is a backslash and the text "u0000": a valid remark."""
    sim = tenant.sims[0]
    raw = (
        b'{"sims": [{"iccid": "%s"}], "remarks": {"remark1": "C:\\\\u0000"}}'
        % sim["iccid"].encode()
    )
    answer = await tenant.post_raw("/partners/{p}/sims/actions/modifyremarks", raw)
    assert answer.status_code == 202, answer.text


# --- ids: ASCII digits, one spelling, in range -----------------------------------------------


async def test_partner_id_in_a_path_has_one_spelling(tenant: Tenant) -> None:
    own = str(tenant.partner)
    for spelling in (
        SUPERSCRIPT_THREE,
        own.translate(FULLWIDTH),
        own.translate(ARABIC_INDIC),
        "0" + own,
        "+" + own,
        " " + own,
        own + " ",
        "1_00013",
        "-1",
        "0",
        BIG,
        "9" * 40,
    ):
        answer = await tenant.get(f"/partners/{spelling}")
        bad(answer, "partnerId")
        answer = await tenant.world.op("GET", f"/partners/{spelling}")
        bad(answer, "partnerId")
    # In range but not the caller's: refused by scope, not by form.
    assert_error_mentions(await tenant.get(f"/partners/{2**63 - 1}"), 403, "FORBIDDEN")
    assert (await tenant.get(f"/partners/{own}")).status_code == 200


async def test_signup_id_in_a_path_has_one_spelling(tenant: Tenant) -> None:
    base = "/partners/{p}/sims/actions/"
    # Not digits: no action and no signupId can be named so; the path names nothing.
    for spelling in ("%C2%B9", "1".translate(FULLWIDTH), "1".translate(ARABIC_INDIC)):
        answer = await tenant.get(base + spelling)
        assert_error_mentions(answer, 404, "NOT_FOUND", "signupId", "suspend")
    for spelling in ("0", "0708855306", BIG, "9" * 30):
        bad(await tenant.get(base + spelling), "signupId")
    answer = await tenant.get(base + str(2**63 - 1))
    assert_error_mentions(answer, 404, "NOT_FOUND", "signupId")


async def test_integer_query_parameters_are_bounded_and_spelled_once(tenant: Tenant) -> None:
    sims, actions = "/partners/{p}/sims", "/partners/{p}/sims/actions"
    for path, name, value in (
        (sims, "page", BIG),
        (sims, "tariffId", BIG),
        (sims, "subunitId", BIG),
        (sims, "tariffId", str(HUGE)),
        (actions, "page", BIG),
        (sims, "page", "1e3"),
        (sims, "size", "5.0"),
        (sims, "page", "-0"),
        (sims, "page", "01"),
        (sims, "tariffId", "+5"),
        (sims, "tariffId", "1".translate(FULLWIDTH)),
        (sims, "tariffId", "3".translate(ARABIC_INDIC)),
        (sims, "tariffId", SUPERSCRIPT_THREE),
        (sims, "page", "x" * 3000),
    ):
        bad(await tenant.get(path, params={name: value}), name)
    answer = await tenant.get(sims, params=[("page", "0"), ("page", "1")])
    assert bad(answer, "page") == ["page: given more than once"]
    answer = await tenant.get(sims, params={"tariffId": str(2**63 - 1)})
    assert answer.status_code == 200, answer.text
    assert answer.json()["content"] == []


async def test_huge_integers_in_operator_bodies_are_400_naming_the_field(tenant: Tenant) -> None:
    world = tenant.world
    partner = tenant.partner
    for number in (HUGE, 2**63):
        for path, body, field in (
            ("/partners", {"name": "Sub", "parentPartnerId": number}, "parentPartnerId"),
            (f"/partners/{partner}/applications", {"name": "a", "subunits": [number]},
             "subunits[0]"),
            (f"/partners/{partner}/sims", {"sims": [{"iccid": synthetic.iccid(60),
             "tariffId": number}]}, "sims[0].tariffId"),
            (f"/partners/{partner}/sims", {"sims": [{"iccid": synthetic.iccid(60),
             "subunitId": number}]}, "sims[0].subunitId"),
            ("/events/test", {"partnerId": number}, "partnerId"),
            ("/tariffs", {"name": "T", "bindingMonths": number}, "bindingMonths"),
            ("/materials", {"name": "M", "minOrderQuantity": number}, "minOrderQuantity"),
            ("/clock/advance", {"seconds": number}, "seconds"),
        ):  # fmt: skip
            bad(await world.op("POST", path, json=body), field)
    body = {"sims": [{"iccid": tenant.sims[0]["iccid"]}], "tariffId": HUGE}
    bad(await tenant.post("/partners/{p}/sims/actions/activation", body), "tariffId")


async def test_ip_whitelist_entries_are_ascii_dotted_quads(tenant: Tenant) -> None:
    for address in ("1.2.3.4".translate(ARABIC_INDIC), "999.1.1.1", "1.2.3.04x"):
        answer = await tenant.world.op(
            "POST", f"/partners/{tenant.partner}/applications",
            json={"name": "w", "ipWhitelist": [address]},
        )  # fmt: skip
        bad(answer, "ipWhitelist[0]")


# --- dates ---------------------------------------------------------------------------------


async def test_created_from_and_to_are_validated_dates(tenant: Tenant) -> None:
    path = "/partners/{p}/sims/actions"
    for name, value in (
        ("createdFrom", "notadate"),
        ("createdFrom", "2025-02-30"),
        ("createdTo", "2025-08-28T25:00:00Z"),
        ("createdFrom", "2025-08-28".translate(FULLWIDTH)),
        ("createdTo", "2025-08-28T10:00:00 02:00"),  # an unencoded '+' arrives as a space
        ("createdFrom", "28.08.2025"),
    ):
        bad(await tenant.get(path, params={name: value}), name)
    answer = await tenant.get(
        path, params={"createdFrom": "2025-08-29", "createdTo": "2025-08-28T00:00:00Z"}
    )
    bad(answer, "createdTo")


async def test_created_filters_select_by_day_and_instant(
    tenant: Tenant, platform: Platform
) -> None:
    answer = await tenant.post(
        "/partners/{p}/sims/actions/suspend", {"sims": [{"iccid": tenant.sims[0]["iccid"]}]}
    )
    assert answer.status_code == 202, answer.text
    now = platform.clock.now()
    today, yesterday = now.date().isoformat(), (now - timedelta(days=1)).date().isoformat()
    path = "/partners/{p}/sims/actions"

    async def count(**params: str) -> int:
        listed = await tenant.get(path, params=params)
        assert listed.status_code == 200, listed.text
        return len(listed.json()["content"])

    assert await count(createdFrom=today) == 1
    assert await count(createdTo=today) == 1  # a date as upper bound counts the whole day
    assert await count(createdTo=yesterday) == 0
    assert await count(createdFrom=(now + timedelta(minutes=1)).isoformat()) == 0
    assert await count(createdFrom=(now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")) == 1


async def test_dates_beyond_the_calendar_are_400_and_real_ones_pass(tenant: Tenant) -> None:
    """The documented pattern holds the calendar, so what it takes the server takes."""
    path = "/partners/{p}/sims/actions"
    for name, value in (
        ("createdFrom", "8470-12-00"),  # day 00 (the old pattern took it: a 400 to a valid value)
        ("createdFrom", "2025-13-01"),
        ("createdTo", "2023-02-29"),  # not a leap year
        ("createdTo", "2100-02-29"),  # a century that is not one
        ("createdFrom", "2025-04-31"),
        ("createdFrom", "2025-08-28T23:60"),
        ("createdFrom", "1899-12-31"),  # outside the years 1900 to 2999
        ("createdTo", "9999-12-31"),  # its day's end would overflow
    ):
        bad(await tenant.get(path, params={name: value}), name)
    for params in (
        {"createdFrom": "2024-02-29", "createdTo": "2999-12-31"},
        {"createdFrom": "1900-01-01T00:00-23:59", "createdTo": "2000-02-29T23:59:59.5+23:59"},
    ):
        answer = await tenant.get(path, params=params)
        assert answer.status_code == 200, (params, answer.text)


# --- values given that must not read as absent ------------------------------------------------


async def test_empty_and_null_values_of_typed_query_parameters_are_400(tenant: Tenant) -> None:
    """msgspec's lax reading took "null" for None and the handler took "" for no filter:
    each filtered nothing and answered 200 with everything."""
    sims, actions = "/partners/{p}/sims", "/partners/{p}/sims/actions"
    for path, name, value in (
        (actions, "createdFrom", ""),
        (actions, "createdTo", ""),
        (actions, "status", "null"),
        (actions, "status", ""),
        (actions, "status", "Finished"),
        (actions, "action", "null"),
        (actions, "action", "suspnd"),
        (actions, "page", ""),
        (sims, "status", "null"),
        (sims, "status", ""),
        (sims, "status", "active"),
        (sims, "tariffId", "null"),
        (sims, "tariffId", ""),
        (sims, "subunitId", "null"),
        (sims, "size", ""),
        (sims, "iccid", ""),
        (sims, "after", ""),
        (sims, "remark", ""),
        (actions + "/suspend", "dryRun", "null"),
        (actions + "/suspend", "dryRun", ""),
    ):
        body = {"sims": [{"iccid": tenant.sims[0]["iccid"]}]}
        answer = (
            await tenant.post(path, body, params={name: value})
            if path.endswith("suspend")
            else await tenant.get(path, params={name: value})
        )
        bad(answer, name)
    # A text filter takes "null" as the text it is.
    answer = await tenant.get(sims, params={"remark": "null"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["content"] == []


# --- request headers ---------------------------------------------------------------------------


async def test_idempotency_key_is_printable_ascii_of_bounded_length(tenant: Tenant) -> None:
    """A key beyond ASCII was accepted (202): its bytes depend on the client's encoding."""
    path = API_BASE + f"/partners/{tenant.partner}/sims/actions/suspend"
    body = {"sims": [{"iccid": tenant.sims[0]["iccid"]}]}
    for key in ("\u00e9".encode("latin-1"), "schlüssel".encode(), b"k\x7f", b" key", b"key ",
                b"", b"k" * 201):  # fmt: skip
        sent = [(k.encode(), v.encode()) for k, v in tenant.headers.items()]
        answer = await tenant.world.http.post(
            path,
            json=body,
            headers=[*sent, (b"Idempotency-Key", key)],  # the bytes as sent
        )
        assert bad(answer, "Idempotency-Key") == [
            "Idempotency-Key: 1 to 200 printable ASCII characters, no space at either end"
        ], key
    twice = [*tenant.headers.items(), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    answer = await tenant.world.http.post(path, json=body, headers=twice)
    assert bad(answer, "Idempotency-Key") == ["Idempotency-Key: given more than once"]
    for key in ("k" * 200, "3f8a2c1e suspend ~!"):
        headers = {**tenant.headers, "Idempotency-Key": key}
        answer = await tenant.world.http.post(path, json=body, headers=headers)
        assert answer.status_code == 202, answer.text


# --- repeated JSON keys ---------------------------------------------------------------------


async def test_repeated_json_keys_are_400_naming_the_key(tenant: Tenant) -> None:
    iccid = tenant.sims[0]["iccid"].encode()
    other = tenant.sims[1]["iccid"].encode()
    answer = await tenant.post_raw(
        "/partners/{p}/sims/details", b'{"iccid": "%s", "iccid": "%s"}' % (iccid, other)
    )
    assert bad(answer, "iccid") == ["iccid: given more than once"]
    answer = await tenant.post_raw(
        "/partners/{p}/sims/actions/suspend",
        b'{"sims": [{"iccid": "%s"}, {"iccid": "%s", "iccid": "%s"}]}' % (iccid, other, iccid),
    )
    bad(answer, "sims[1].iccid")
    # (Without a Content-Type a body is taken as JSON.)
    answer = await tenant.world.op("POST", "/partners", content=b'{"name": "A", "name": "B"}')
    bad(answer, "name")
    # Equal values in different objects are no repetition.
    answer = await tenant.post_raw(
        "/partners/{p}/sims/actions/suspend",
        b'{"sims": [{"iccid": "%s"}, {"iccid": "%s"}]}' % (iccid, other),
    )
    assert answer.status_code == 202, answer.text


async def test_a_body_nested_too_deeply_is_400(tenant: Tenant) -> None:
    for depth in (1_500, 100_000):
        rules = b"[" * depth + b"1, 2" + b"]" * depth
        raw = b'{"kind": "limit", "name": "deep", "rules": {"x": %s}}' % rules
        answer = await tenant.world.op("POST", "/profiles", content=raw)
        assert bad(answer, "body") == ["body: nested too deeply"]


# --- the token endpoint ----------------------------------------------------------------------


def _form(app: dict[str, Any], **change: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": app["clientId"],
        "client_secret": app["clientSecret"],
        "scope": "openid profile",
    }
    form.update(change)
    return form


def invalid_request(answer: httpx.Response, name: str) -> None:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["error"] == "invalid_request", body
    assert body["error_description"].startswith(name), body


async def test_token_request_with_nul_or_overlong_values_is_invalid_request(
    tenant: Tenant,
) -> None:
    http, app = tenant.world.http, tenant.app
    for name, value in (
        ("client_id", "m2m-\0"),
        ("client_id", app["clientId"] + "\0"),
        ("client_secret", app["clientSecret"] + "\0"),
        ("scope", "openid\0"),
        ("grant_type", "client_credentials\0"),
        ("client_id", "m" * 201),
        ("client_secret", "s" * 501),
        ("scope", "openid " * 100),
    ):
        answer = await http.post(TOKEN_PATH, data=_form(app, **{name: value}))
        invalid_request(answer, name)
        assert app["clientSecret"] not in answer.text
    repeated = "&".join(f"{k}={v}" for k, v in _form(app).items()) + "&client_id=other"
    answer = await http.post(
        TOKEN_PATH, content=repeated,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    invalid_request(answer, "client_id")
    basic = base64.b64encode(f"{app['clientId']}%00:{app['clientSecret']}".encode()).decode()
    answer = await http.post(
        TOKEN_PATH, data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )  # fmt: skip
    invalid_request(answer, "client_id")


async def test_token_endpoint_failure_is_an_rfc6749_server_error(
    tenant: Tenant, platform: Platform, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError(f"signing failed for {tenant.app['clientSecret']}")

    monkeypatch.setattr(platform.issuer, "issue", broken)
    answer = await tenant.world.http.post(TOKEN_PATH, data=_form(tenant.app))
    assert answer.status_code == 500, answer.text
    assert answer.json() == {
        "error": "server_error",
        "error_description": "an unexpected error occurred",
    }
    assert answer.headers["cache-control"] == "no-store"
    logged = caplog.text + "".join(capsys.readouterr())
    assert "RuntimeError" in logged
    assert tenant.app["clientSecret"] not in logged


async def test_token_endpoint_answers_503_while_the_database_is_unreachable(
    tenant: Tenant, platform: Platform
) -> None:
    await platform.db.close()
    answer = await tenant.world.http.post(TOKEN_PATH, data=_form(tenant.app))
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "temporarily_unavailable"
    assert int(answer.headers["retry-after"]) > 0
    assert tenant.app["clientSecret"] not in answer.text


# --- the CSV import (the CLI writes straight to the database) --------------------------------


@pytest.fixture
def import_csv(database_url: str, tmp_path: Path) -> Iterator[Any]:
    env = {
        "M2MP_DATABASE_URL": database_url,
        "M2MP_SECRET_KEY": FERNET_KEY,
        "M2MP_SECRET_KEY_FILE": str(tmp_path / "k"),
        "COLUMNS": "250",
        "NO_COLOR": "1",
    }
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli_app, list(args), env=env)

    yield run


def test_csv_import_refuses_a_nul_cell_naming_line_and_column(
    import_csv: Any, tmp_path: Path
) -> None:
    created = import_csv("partners", "create", "CSV GmbH", "--json")
    assert created.exit_code == 0, created.stderr
    partner = str(json.loads(created.stdout)["partnerId"])
    path = tmp_path / "sims.csv"
    arabic_one = "1".translate(ARABIC_INDIC)
    path.write_text(
        "iccid,status,remark1,tariff_id\n"
        f"{synthetic.iccid(1)},Inactive,ok,\n"
        f"{synthetic.iccid(2)},Inactive,a\0b,\n"
        f"{synthetic.iccid(3)},Inactive,ok,{arabic_one}\n"
        f"{synthetic.iccid(4)},Inactive,ok,{2**63}\n",
        encoding="utf-8",
    )
    result = import_csv("sims", "import", str(path), "--partner", partner)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    errors = " ".join(result.stderr.split())
    assert "line 3: remark1: must not contain a NUL character" in errors
    assert f"line 4: tariff_id: '{arabic_one}' must be a whole number in ASCII digits" in errors
    assert "line 5: tariff_id:" in errors
    assert "nothing imported" in errors
