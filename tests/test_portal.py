"""The customer portal's security through HTTP (issue 14): cookies, CSRF, throttled logins,
security headers, the partner tree, password change. The browser walk-through of the pages
is tests/e2e/test_portal_browser.py."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from m2mportal.app import create_app
from m2mportal.platform import Platform
from tests.conftest import test_settings
from tests.helpers import World, mid_month
from tests.test_network import add_sims

PASSWORD = "correct horse battery"
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')


def _portal_client(
    platform: Platform, address: str = "198.51.100.10", base: str = "http://testserver"
) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(platform, background=False), client=(address, 1))
    return httpx.AsyncClient(transport=transport, base_url=base)


async def _user(world: World, partner: int, username: str) -> None:
    answer = await world.op(
        "POST",
        f"/partners/{partner}/portal-users",
        json={"username": username, "password": PASSWORD},
    )
    assert answer.status_code == 201, answer.text


async def _login(
    http: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    form = await http.get("/portal/login")
    assert form.status_code == 200
    token = CSRF_FIELD.search(form.text)
    assert token is not None
    return await http.post(
        "/portal/login",
        data={"csrf": token.group(1), "username": username, "password": password},
    )


async def _logged_in(http: httpx.AsyncClient, username: str) -> str:
    """Logs in; answers the session's CSRF token (from the overview page)."""
    answer = await _login(http, username)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/portal/rest-api"
    page = await http.get("/portal/rest-api")
    assert page.status_code == 200
    found = CSRF_META.search(page.text)
    assert found is not None
    return found.group(1)


async def test_pages_carry_the_security_headers_and_the_cookie_its_attributes(
    platform: Platform, world: World
) -> None:
    partner = await world.partner()
    await _user(world, partner, "contact")
    async with _portal_client(platform) as http:
        assert (await http.get("/portal")).headers["location"] == "/portal/login"
        assert (await http.get("/portal/rest-api")).headers["location"] == "/portal/login"
        page = await http.get("/portal/login")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in page.headers
        answer = await _login(http, "contact")
        cookie = answer.headers["set-cookie"]
        assert "m2mp_portal=" in cookie
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/portal" in cookie
        assert "Secure" not in cookie  # plain http: the browser would drop a Secure cookie
        unknown = await http.get("/portal/no-such-page")
        assert unknown.status_code == 404 and "content-security-policy" in unknown.headers
        assert (await http.get("/portal/static/no-such.js")).status_code == 404
        script = await http.get("/portal/static/portal.js")
        assert script.status_code == 200 and "X-CSRF-Token" in script.text
        assert "content-security-policy" in script.headers


async def test_over_https_the_cookie_is_secure_and_hsts_is_sent(
    database_url: str, tmp_path: Path, world: World
) -> None:
    from m2mportal.platform import open_platform

    settings = test_settings(database_url, tmp_path, public_url="https://portal.example")
    secure = await open_platform(settings, run_migrations=False)
    try:
        partner = await world.partner()
        await _user(world, partner, "contact")
        async with _portal_client(secure, base="https://portal.example") as http:
            answer = await _login(http, "contact")
            assert answer.status_code == 303
            assert "Secure" in answer.headers["set-cookie"]
            assert answer.headers["strict-transport-security"].startswith("max-age=")
    finally:
        await secure.close()


async def test_a_wrong_password_five_times_is_throttled(platform: Platform, world: World) -> None:
    partner = await world.partner()
    await _user(world, partner, "contact")
    async with _portal_client(platform) as http:
        for _ in range(5):
            answer = await _login(http, "contact", "wrong password")
            assert answer.status_code == 401
            assert "Wrong username or password." in answer.text
        # The right password too: the account is locked for the window, not the guess.
        refused = await _login(http, "contact")
        assert refused.status_code == 429
        assert "Too many failed logins. Try again in 15 minutes." in refused.text
        assert "m2mp_portal=" not in refused.headers.get("set-cookie", "")
    # From another address the same user is refused as well (counted per user) ...
    async with _portal_client(platform, "203.0.113.9") as other:
        assert (await _login(other, "contact")).status_code == 429
    # ... and after the window the right password works again.
    platform.clock.advance(15 * 60 + 1)
    async with _portal_client(platform) as http:
        assert (await _login(http, "contact")).status_code == 303


async def test_failures_are_counted_per_address_across_usernames(
    platform: Platform, world: World
) -> None:
    partner = await world.partner()
    await _user(world, partner, "contact")
    async with _portal_client(platform, "192.0.2.50") as http:
        for n in range(20):
            assert (await _login(http, f"guess{n}", "x")).status_code == 401
        assert (await _login(http, "contact")).status_code == 429
    async with _portal_client(platform, "192.0.2.51") as http:
        assert (await _login(http, "contact")).status_code == 303


async def test_a_form_without_the_csrf_token_is_refused(platform: Platform, world: World) -> None:
    partner = await world.partner()
    await _user(world, partner, "contact")
    async with _portal_client(platform) as http:
        await http.get("/portal/login")
        no_token = await http.post(
            "/portal/login", data={"username": "contact", "password": PASSWORD}
        )
        assert no_token.status_code == 403
        assert "m2mp_portal=" not in no_token.headers.get("set-cookie", "")
        csrf = await _logged_in(http, "contact")
        # Logout without the token: refused, the session still works.
        refused = await http.post("/portal/logout", data={})
        assert refused.status_code == 403
        assert "security token" in refused.text
        assert (await http.get("/portal/rest-api")).status_code == 200
        # A script call without the header: refused, nothing created.
        body = {"name": "forged"}
        forged = await http.post("/portal/api/applications", json=body)
        assert forged.status_code == 403
        assert forged.json()["errors"] == ["X-CSRF-Token: missing or wrong"]
        wrong = await http.post(
            "/portal/api/applications", json=body, headers={"X-CSRF-Token": csrf + "x"}
        )
        assert wrong.status_code == 403
        listed = await world.op("GET", f"/partners/{partner}/applications")
        assert listed.json() == []
        # With it: logout works and the session is gone.
        out = await http.post("/portal/logout", data={"csrf": csrf})
        assert out.status_code == 303
        assert (await http.get("/portal/rest-api")).headers["location"] == "/portal/login"


async def test_another_partners_application_answers_404(platform: Platform, world: World) -> None:
    mine, theirs = await world.partner("Mine"), await world.partner("Theirs")
    own = await world.app(mine, name="own-app")
    other = await world.app(theirs, name="their-app")
    await _user(world, mine, "contact")
    async with _portal_client(platform) as http:
        csrf = await _logged_in(http, "contact")
        overview = (await http.get("/portal/rest-api")).text
        assert own["clientId"] in overview and other["clientId"] not in overview
        assert (await http.get(f"/portal/applications/{own['clientId']}")).status_code == 200
        page = await http.get(f"/portal/applications/{other['clientId']}")
        assert page.status_code == 404
        assert "their-app" not in page.text
        unknown = await http.get("/portal/applications/m2m-0000000000000000")
        assert unknown.status_code == 404
        for odd in ("%00", "x" * 300, "%C3%A9"):
            assert (await http.get(f"/portal/applications/{odd}")).status_code == 404
            call = await http.get(f"/portal/api/applications/{odd}", headers={"X-CSRF-Token": csrf})
            assert call.status_code == 404
        headers = {"X-CSRF-Token": csrf}
        path = f"/portal/api/applications/{other['clientId']}"
        assert (await http.get(path, headers=headers)).status_code == 404
        assert (await http.delete(path, headers=headers)).status_code == 404
        rotate = await http.post(path + "/rotate", json={"which": "client"}, headers=headers)
        assert rotate.status_code == 404
        secrets = await http.post("/portal/api/event-secrets", json={}, headers=headers)
        assert set(secrets.json()) == {own["clientId"]}
    # Still there, secret unchanged: its owner gets a token with it.
    assert await world.token(other["clientId"], other["clientSecret"])


async def test_a_subunit_user_sees_only_its_subunit(platform: Platform, world: World) -> None:
    top = await world.partner("Top")
    north = await world.partner("North", parent=top)
    top_app = await world.app(top, name="top-app")
    north_app = await world.app(north, name="north-app")
    await _user(world, north, "north-contact")
    async with _portal_client(platform) as http:
        await _logged_in(http, "north-contact")
        overview = (await http.get("/portal/rest-api")).text
        assert north_app["clientId"] in overview and top_app["clientId"] not in overview
        assert (await http.get(f"/portal/applications/{top_app['clientId']}")).status_code == 404


async def test_register_rotate_and_delete_through_the_portal_calls(
    platform: Platform, world: World
) -> None:
    partner = await world.partner()
    await _user(world, partner, "contact")
    async with _portal_client(platform) as http:
        headers = {"X-CSRF-Token": await _logged_in(http, "contact")}
        bad = await http.post(
            "/portal/api/applications",
            json={"name": "fleet", "ipWhitelist": ["203.0.113.300"]},
            headers=headers,
        )
        assert bad.status_code == 400
        assert bad.json()["errors"][0].startswith("ipWhitelist[0]")
        eleven = [f"203.0.113.{n}" for n in range(1, 12)]
        too_many = await http.post(
            "/portal/api/applications",
            json={"name": "fleet", "ipWhitelist": eleven},
            headers=headers,
        )
        assert too_many.status_code == 400
        assert "ipWhitelist" in too_many.json()["errors"][0]
        created = await http.post(
            "/portal/api/applications", json={"name": "fleet"}, headers=headers
        )
        assert created.status_code == 201, created.text
        app = created.json()
        assert app["partnerId"] == partner and app["clientSecret"]
        token = await world.token(app["clientId"], app["clientSecret"])
        # The secret is not on any page afterwards.
        assert app["clientSecret"] not in (await http.get("/portal/rest-api")).text
        rotated = await http.post(
            f"/portal/api/applications/{app['clientId']}/rotate",
            json={"which": "client"},
            headers=headers,
        )
        assert rotated.status_code == 200
        new_secret = rotated.json()["clientSecret"]
        assert new_secret != app["clientSecret"]
        old = await world.http.post(
            "/auth/realms/m2m/protocol/openid-connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": app["clientId"],
                "client_secret": app["clientSecret"],
            },
        )
        assert old.status_code == 401
        assert await world.token(app["clientId"], new_secret)
        deleted = await http.delete(f"/portal/api/applications/{app['clientId']}", headers=headers)
        assert deleted.status_code == 200
        platform.clients.forget(app["clientId"])
        sims = await world.http.get(
            f"/iot/connectivity/management/v1/partners/{partner}/sims",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert sims.status_code == 401


async def test_password_change_ends_the_other_sessions(platform: Platform, world: World) -> None:
    partner = await world.partner()
    await _user(world, partner, "contact")
    async with _portal_client(platform) as http, _portal_client(platform) as elsewhere:
        csrf = await _logged_in(http, "contact")
        await _logged_in(elsewhere, "contact")
        new = "a much longer new password"
        form = {"csrf": csrf, "currentPassword": "wrong", "newPassword": new, "repeatPassword": new}
        wrong = await http.post("/portal/password", data=form)
        assert wrong.status_code == 400 and "currentPassword: wrong password" in wrong.text
        short = {
            **form,
            "currentPassword": PASSWORD,
            "newPassword": "short",
            "repeatPassword": "short",
        }
        refused = await http.post("/portal/password", data=short)
        assert refused.status_code == 400 and "at least 8 characters" in refused.text
        done = await http.post("/portal/password", data={**form, "currentPassword": PASSWORD})
        assert done.status_code == 200 and "Your password was changed" in done.text
        # This browser goes on with a fresh session; the other one is logged out.
        assert (await http.get("/portal/rest-api")).status_code == 200
        assert (await elsewhere.get("/portal/rest-api")).headers["location"] == "/portal/login"
    async with _portal_client(platform) as http:
        assert (await _login(http, "contact")).status_code == 401
        assert (await _login(http, "contact", new)).status_code == 303


@pytest.mark.parametrize(
    "form",
    [
        {"username": "contact\x00", "password": "x"},
        {"username": "c" * 5000, "password": "x"},
        {"username": "c" * 300, "password": "x"},
        {"username": "contact", "password": "p" * 300},
    ],
)
async def test_a_bad_login_form_is_400_never_500(platform: Platform, form: dict[str, str]) -> None:
    async with _portal_client(platform) as http:
        page = await http.get("/portal/login")
        token = CSRF_FIELD.search(page.text)
        assert token is not None
        answer = await http.post("/portal/login", data={"csrf": token.group(1), **form})
        assert answer.status_code == 400


async def test_sims_counts_search_and_details_stay_in_the_tree(
    platform: Platform, world: World
) -> None:
    await world.move_clock(mid_month(platform.clock.now()))
    mine, theirs = await world.partner("Mine"), await world.partner("Theirs")
    own = await world.synthetic_sims(mine, 4)
    other = (await world.synthetic_sims(theirs, 1, start=50))[0]
    sim = own[0]
    await world.inject(
        "sessions", iccid=sim["iccid"], bytesUp=1000, bytesDown=2000, durationSeconds=600,
        open=False, apn="internet.m2m", mcc="262", mnc="01",
    )  # fmt: skip
    await world.inject("sms", iccid=sim["iccid"], direction="MO", text="t", mcc="262", mnc="01")
    await _user(world, mine, "contact")
    async with _portal_client(platform) as http:
        await _logged_in(http, "contact")
        overview = await http.get("/portal/sims")
        assert overview.status_code == 200
        statuses = [s["status"] for s in own]
        for state in set(statuses):
            count = statuses.count(state)
            assert re.search(rf'<span class="n">{count}</span> {state}</a>', overview.text)
        assert '<span class="n">4</span> all' in overview.text
        assert other["iccid"] not in overview.text
        for kind in ("iccid", "imsi", "msisdn", "imei"):
            found = await http.get("/portal/sims", params={"q": sim[kind]})
            assert f"/portal/sims/{sim['iccid']}" in found.text, kind
        hidden = await http.get("/portal/sims", params={"q": other["iccid"]})
        assert f"/portal/sims/{other['iccid']}" not in hidden.text
        assert f"No SIM matches '{other['iccid']}'" in hidden.text
        bad = await http.get("/portal/sims", params={"q": "abc\x00"})
        assert bad.status_code == 200 and "is not an ICCID, EID, IMSI, MSISDN or IMEI" in bad.text
        details = await http.get(f"/portal/sims/{sim['iccid']}")
        assert details.status_code == 200
        assert "internet.m2m" in details.text and "3,000 B" in details.text  # the session
        assert "<td>MO</td>" in details.text  # the SMS
        assert (await http.get(f"/portal/sims/{other['iccid']}")).status_code == 404
        assert (await http.get("/portal/sims/not-an-iccid")).status_code == 404


async def test_actions_with_per_sim_results_and_live_events(
    platform: Platform, world: World
) -> None:
    from m2mportal.actions import worker

    mine, theirs = await world.partner("Mine"), await world.partner("Theirs")
    sims = await add_sims(world, mine, range(1, 3))
    app = await world.app(mine, name="worker")
    started = await world.api(
        "POST",
        f"/partners/{mine}/sims/actions/suspend",
        await world.headers_for(app),
        json={"sims": [{"iccid": s["iccid"]} for s in sims] + [{"iccid": "8949000000000000000"}]},
    )
    assert started.status_code == 202, started.text
    signup = started.json()["signupId"]
    await worker.run_until_idle(platform)
    await _user(world, mine, "contact")
    await _user(world, theirs, "stranger")
    async with _portal_client(platform) as http:
        csrf = await _logged_in(http, "contact")
        listed = await http.get("/portal/actions")
        assert f'href="/portal/actions/{signup}"' in listed.text
        page = await http.get(f"/portal/actions/{signup}")
        assert page.status_code == 200
        assert page.text.count("<td>Done</td>") == 2 and page.text.count("<td>Failed</td>") == 1
        events = await http.get("/portal/api/events", headers={"X-CSRF-Token": csrf})
        assert events.status_code == 200
        found = events.json()
        assert [e["event"]["type"] for e in found] == ["simaction.v1"]
        assert found[0]["event"]["data"]["signupID"] == str(signup)
        after = found[0]["seq"]
        later = await http.get(f"/portal/api/events?after={after}", headers={"X-CSRF-Token": csrf})
        assert later.json() == []
        assert (await http.get("/portal/api/events")).status_code == 403  # no CSRF header
        assert (await http.get("/portal/events")).status_code == 200
    async with _portal_client(platform) as http:
        csrf = await _logged_in(http, "stranger")
        assert (await http.get(f"/portal/actions/{signup}")).status_code == 404
        assert f"/portal/actions/{signup}" not in (await http.get("/portal/actions")).text
        events = await http.get("/portal/api/events", headers={"X-CSRF-Token": csrf})
        assert events.json() == []
