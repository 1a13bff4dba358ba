"""The customer portal in a real browser (issue 14, "Must show").

A uvicorn server on 127.0.0.1 serves the platform with a partner (two subunits), an
application with subscriptions, one without, and the partner's technical contact. Debian's
chromium, driven by Playwright, logs in and walks the seed's "Application Management in
the Portal": the overview, the plus symbol with the subscription URLs (none where there are
none), "Show IRIS Client Secrets", "Register new application" (name, Save, details with
the read-only slider, the IP whitelist with its plus, ten-address limit, a bad address
refused with a message and the trash can, the subunit dialog, Save to confirm), the new row
going from "In Creation" to "Active" without a reload, the secret shown once with its copy
button; then a token from that application calls the API, its secret is rotated on the
application page, the trash can with its confirmation popup deletes it, and the token no
longer works. Last the password change and logout. Every request stays on the server and
the page logs no error (a Content-Security-Policy violation would be one).

With M2MP_DOCS_SCREENSHOTS=1 the screenshots go to docs/images/ (portal-*.png), with the
secrets on screen replaced by a placeholder.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Page, Route, async_playwright, expect

from m2mportal import API_BASE
from m2mportal.app import create_app
from m2mportal.config import Settings
from m2mportal.platform import Platform
from tests.conftest import test_settings
from tests.e2e.in_process import serving
from tests.e2e.test_api_reference_browser import ARGS, CHROMIUM, SCREENSHOTS
from tests.e2e.test_streams_live import free_port
from tests.helpers import World
from tests.test_network import add_sims

BOUND_S = 45.0
STEP_MS = 10_000
PASSWORD = "portal test password"
TOKEN_PATH = "/auth/realms/m2m/protocol/openid-connect/token"

# Secrets on screen become a placeholder before a picture is taken for docs/.
_REDACT = r"""() => {
  for (const node of document.querySelectorAll('.secret, .iris-secret[data-hidden="false"]')) {
    if (node.textContent) node.textContent = "(secret shown here)";
  }
}"""

pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"the browser test drives Debian's chromium at {CHROMIUM} (apt-get install chromium)",
)


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, port: int) -> Settings:
    # Provisioning takes a moment, so the page shows "In Creation" before "Active"; the
    # gateway reads the application afresh on each call, so a deletion shows at once.
    return test_settings(
        database_url,
        tmp_path,
        public_url=f"http://127.0.0.1:{port}",
        provisioning_seconds=1.5,
        app_cache_seconds=0.0,
    )


@pytest.fixture
async def server(platform: Platform, port: int) -> AsyncIterator[str]:
    async with serving(create_app(platform), port, 10) as url:
        yield url


class Shots:
    def __init__(self, page: Page, tmp_path: Path) -> None:
        self.page = page
        self.folder = SCREENSHOTS if os.environ.get("M2MP_DOCS_SCREENSHOTS") == "1" else tmp_path

    async def take(self, name: str) -> None:
        await self.page.evaluate(_REDACT)
        await self.page.screenshot(path=self.folder / f"portal-{name}.png")


async def _token(http: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await http.post(
        TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "openid profile",
        },
    )


async def _world(platform: Platform, server: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server, timeout=10.0) as http:
        world = await World.start(platform, http)
        top = await world.partner("Telekom Main Test Company")
        north = await world.partner("Telekom Main Test Company - North", parent=top)
        await world.partner("Telekom Main Test Company - South", parent=top)
        sims = await add_sims(world, top, range(1, 4))
        await world.inject(
            "sessions", iccid=sims[0]["iccid"], bytesUp=1000, bytesDown=2000,
            durationSeconds=600, open=False, apn="internet.m2m", mcc="262", mnc="01",
        )  # fmt: skip
        await world.inject(
            "sms", iccid=sims[0]["iccid"], direction="MO", text="t", mcc="262", mnc="01"
        )
        events = await world.app(top, name="fleet-events")
        plain = await world.app(top, name="plain-rest", eventTypes=[])
        answer = await world.op(
            "POST",
            f"/partners/{top}/portal-users",
            json={"username": "contact", "password": PASSWORD},
        )
        assert answer.status_code == 201, answer.text
    return {"top": top, "north": north, "events": events, "plain": plain, "sims": sims}


async def test_the_portal_manages_applications_in_a_browser(
    platform: Platform, server: str, tmp_path: Path
) -> None:
    seed = await _world(platform, server)
    events, plain = seed["events"], seed["plain"]
    outside: list[str] = []
    problems: list[str] = []

    async def local_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    http = httpx.AsyncClient(base_url=server, timeout=10.0)
    async with asyncio.timeout(BOUND_S), async_playwright() as pw, http:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 860})
            await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
            page = await context.new_page()
            page.set_default_timeout(STEP_MS)
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            await page.route("**/*", local_only)
            shots = Shots(page, tmp_path)

            # Log in as the partner's technical contact.
            await page.goto(f"{server}/portal")
            await expect(page).to_have_url(f"{server}/portal/login")
            await page.get_by_label("Username").fill("contact")
            await page.get_by_label("Password").fill(PASSWORD)
            await shots.take("login")
            await page.get_by_role("button", name="Log in").click()
            await expect(page).to_have_url(f"{server}/portal/rest-api")

            # The overview: a plus only where there are subscriptions.
            row = page.locator(f'tbody[data-client-id="{events["clientId"]}"]')
            plain_row = page.locator(f'tbody[data-client-id="{plain["clientId"]}"]')
            await expect(row.locator(".status")).to_have_text("Active")
            await expect(row).to_contain_text(events["eventClientId"])
            await expect(plain_row.locator("button.expand")).to_have_count(0)
            await row.get_by_role("button", name="Event types of fleet-events").click()
            subs = row.locator("tr.subscriptions")
            await expect(subs).to_be_visible()
            for sub in events["subscriptions"]:
                await expect(subs).to_contain_text(sub["eventType"])
                await expect(subs).to_contain_text(sub["url"])
            # Secrets hidden until "Show IRIS Client Secrets" shows them for all rows.
            secret_cell = row.locator(".iris-secret")
            await expect(secret_cell).not_to_contain_text(events["eventClientSecret"])
            await page.get_by_role("button", name="Show IRIS Client Secrets").click()
            await expect(secret_cell).to_have_text(events["eventClientSecret"])
            await expect(plain_row.locator(".iris-secret")).to_have_text(plain["eventClientSecret"])
            await shots.take("rest-api")
            await page.get_by_role("button", name="Hide IRIS Client Secrets").click()
            await expect(secret_cell).not_to_contain_text(events["eventClientSecret"])
            await page.evaluate("window.notReloaded = true")

            # Register new application: the name, Save.
            await page.get_by_role("button", name="Register new application").click()
            name_dialog = page.locator("#dlg-name")
            await name_dialog.get_by_label("Application name").fill("browser-app")
            await shots.take("register-name")
            await name_dialog.get_by_role("button", name="Save").click()

            # The details: read-only slider, IP whitelist, user type.
            details = page.locator("#dlg-details")
            await expect(details).to_be_visible()
            await details.locator("label.switch").click()
            await expect(details.get_by_role("switch")).to_be_checked()
            address = details.get_by_label("IPv4 address")
            plus = details.get_by_role("button", name="Add IP address")
            message = details.locator("#ip-message")
            await address.fill("300.1.2.3")
            await plus.click()
            await expect(message).to_have_text(re.compile(r"'300\.1\.2\.3' is not an IPv4 address"))
            await expect(details.locator("#ip-list li")).to_have_count(0)
            await shots.take("register-bad-address")
            # The browser's own address, so the token below is allowed, and nine more.
            for ip in ["127.0.0.1"] + [f"203.0.113.{n}" for n in range(1, 10)]:
                await address.fill(ip)
                await plus.click()
            await expect(details.locator("#ip-list li")).to_have_count(10)
            await expect(plus).to_be_disabled()
            await expect(message).to_have_text(re.compile("At most ten IPv4 addresses"))
            await shots.take("register-details")
            await details.get_by_role("button", name="Remove 203.0.113.9").click()
            await expect(details.locator("#ip-list li")).to_have_count(9)
            await expect(plus).to_be_enabled()
            await expect(message).to_be_hidden()

            await details.get_by_label("Subunit user").check()
            subunits = page.locator("#dlg-subunits")
            await expect(subunits).to_be_visible()
            await subunits.get_by_label(re.compile("North")).check()
            await shots.take("register-subunits")
            await subunits.get_by_role("button", name="Assign").click()
            await expect(details.locator("#chosen-subunits")).to_contain_text("North")
            await details.get_by_role("button", name="Save").click()

            # Confirm account registration: Save again.
            confirm = page.locator("#dlg-confirm")
            await expect(confirm).to_contain_text("Confirm account registration")
            await expect(confirm).to_contain_text("127.0.0.1")
            await expect(confirm).to_contain_text("Subunit user: Telekom Main Test Company - North")
            await shots.take("register-confirm")
            await confirm.get_by_role("button", name="Save").click()

            # The secret, once, with a copy button; the new row goes In Creation -> Active.
            created = page.locator("#dlg-created")
            await expect(created).to_be_visible()
            client_id = (await created.locator(".client-id").inner_text()).strip()
            secret = (await created.locator(".client-secret").inner_text()).strip()
            assert client_id.startswith("m2m-") and len(secret) > 30
            new_row = page.locator(f'tbody[data-client-id="{client_id}"]')
            await expect(new_row.locator(".status")).to_have_text("In Creation")
            await created.get_by_role("button", name="Copy").click()
            await expect(created.get_by_role("button", name="Copied")).to_be_visible()
            assert await page.evaluate("navigator.clipboard.readText()") == secret
            await shots.take("register-created")
            await created.get_by_role("button", name="Done").click()
            await expect(new_row.locator(".status")).to_have_text("Active")
            assert await page.evaluate("window.notReloaded") is True
            await expect(new_row).to_contain_text("Subunit")
            await expect(new_row.locator("button.expand")).to_have_count(1)
            await shots.take("rest-api-new-row")

            # A token of the application registered in the browser calls the API.
            answer = await _token(http, client_id, secret)
            assert answer.status_code == 200, answer.text
            bearer = {"Authorization": f"Bearer {answer.json()['access_token']}"}
            north_sims = f"{API_BASE}/partners/{seed['north']}/sims"
            assert (await http.get(north_sims, headers=bearer)).status_code == 200
            top_sims = f"{API_BASE}/partners/{seed['top']}/sims"
            assert (await http.get(top_sims, headers=bearer)).status_code == 403

            # Its page: rotate the client secret; the old one gets no more tokens.
            await new_row.get_by_role("link", name="browser-app").click()
            await expect(page.locator("h1")).to_have_text("browser-app")
            await page.get_by_role("button", name="Rotate client secret").click()
            await page.locator("#dlg-rotate").get_by_role("button", name="Rotate").click()
            shown = page.locator("#dlg-secret")
            await expect(shown).to_be_visible()
            rotated = (await shown.locator(".secret").inner_text()).strip()
            assert rotated and rotated != secret
            await shots.take("application")
            await shown.get_by_role("button", name="Done").click()
            assert (await _token(http, client_id, secret)).status_code == 401
            assert (await _token(http, client_id, rotated)).status_code == 200

            # The trash can and its confirmation popup delete it; its token stops working.
            await page.get_by_role("link", name=re.compile(r"^My Partner Data . REST API$")).click()
            new_row = page.locator(f'tbody[data-client-id="{client_id}"]')
            await new_row.get_by_role("button", name="Delete browser-app").click()
            popup = page.locator("#dlg-delete")
            await expect(popup).to_be_visible()
            await expect(popup).to_contain_text(f"browser-app ({client_id})")
            await shots.take("delete")
            await popup.get_by_role("button", name="Cancel").click()
            await expect(new_row).to_have_count(1)
            await new_row.get_by_role("button", name="Delete browser-app").click()
            await popup.get_by_role("button", name="Delete").click()
            await expect(new_row).to_have_count(0)
            assert (await http.get(north_sims, headers=bearer)).status_code == 401
            assert (await _token(http, client_id, rotated)).status_code == 401
            await page.reload()
            await expect(page.locator(f'tbody[data-client-id="{client_id}"]')).to_have_count(0)

            # Beyond the seed: live events, SIMs, a SIM's details, actions.
            await page.get_by_role("link", name="Events", exact=True).click()
            await expect(page.locator("#events-state")).to_contain_text("Live")
            answer = await _token(http, events["clientId"], events["clientSecret"])
            bearer = {"Authorization": f"Bearer {answer.json()['access_token']}"}
            sims = seed["sims"]
            started = await http.post(
                f"{API_BASE}/partners/{seed['top']}/sims/actions/suspend",
                headers=bearer,
                json={"sims": [{"iccid": sims[1]["iccid"]}, {"iccid": sims[2]["iccid"]}]},
            )
            assert started.status_code == 202, started.text
            signup = started.json()["signupId"]
            live = page.locator("#event-rows tr", has_text=str(signup))
            await expect(live).to_contain_text("simaction.v1")
            await shots.take("events")

            await page.get_by_role("link", name="SIMs", exact=True).click()
            await expect(page.locator("ul.counts")).to_contain_text("3 all")
            await shots.take("sims")
            await page.get_by_label(re.compile("Search by ICCID")).fill(sims[0]["msisdn"])
            await page.get_by_role("button", name="Search").click()
            await page.get_by_role("link", name=sims[0]["iccid"]).click()
            await expect(page.locator("table.history")).to_contain_text("internet.m2m")
            await expect(page.locator("table.sms")).to_contain_text("MO")
            await shots.take("sim")

            await page.get_by_role("link", name="Actions", exact=True).click()
            await page.get_by_role("link", name=str(signup)).click()
            await expect(page.locator("table.results tbody tr")).to_have_count(2)
            await expect(page.locator("table.results")).to_contain_text("Done")
            await shots.take("action")

            # Password change, then logout.
            await page.get_by_role("link", name="Change password").click()
            await page.get_by_label("Current password").fill(PASSWORD)
            await page.get_by_label("New password", exact=True).fill("a new portal password")
            await page.get_by_label("Repeat new password").fill("a new portal password")
            await page.get_by_role("button", name="Change password").click()
            await expect(page.get_by_role("status")).to_contain_text("Your password was changed")
            await shots.take("password")
            await page.get_by_role("button", name="Log out").click()
            await expect(page).to_have_url(f"{server}/portal/login")
            await page.goto(f"{server}/portal/rest-api")
            await expect(page).to_have_url(f"{server}/portal/login")
        finally:
            await browser.close()
    assert outside == [], f"the page reached beyond the server: {outside}"
    assert problems == [], f"the page logged errors: {problems}"
