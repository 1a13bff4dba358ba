"""The API reference in a real browser (issue 9, point 2).

A uvicorn server on 127.0.0.1 serves the platform with a partner, an application and SIMs;
Debian's chromium, driven by Playwright, opens /swagger-ui/index.html, authorizes with the
application's client credentials, runs "Get SIM list" and sees a 200, then switches the
selector to the operator document. Every request the page makes must stay on the server
(the reference works offline).

With M2MP_DOCS_SCREENSHOTS=1 the screenshots go to docs/images/ (api-reference*.png).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Locator, Page, Route, async_playwright, expect

from m2mportal.app import create_app
from m2mportal.config import Settings
from m2mportal.platform import Platform
from tests.conftest import test_settings
from tests.e2e.in_process import serving
from tests.e2e.test_streams_live import free_port
from tests.helpers import World

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "images"
BOUND_S = 60.0
STEP_MS = 15_000

_REDACT = r"""() => {
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walk.nextNode(); node; node = walk.nextNode()) {
    node.nodeValue = node.nodeValue.replace(/Bearer [A-Za-z0-9._~+\/=-]+/g, "Bearer <token>");
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
    return test_settings(database_url, tmp_path, public_url=f"http://127.0.0.1:{port}")


@pytest.fixture
async def server(platform: Platform, port: int) -> AsyncIterator[str]:
    """uvicorn serving the app in this event loop (lifespan on), stopped at the end."""
    async with serving(create_app(platform), port, 10) as url:
        yield url


async def _rendered(page: Page, title: str) -> None:
    """The document's title and its operations are on the page, and no render error."""
    await expect(page.locator(".information-container .title")).to_contain_text(title)
    await expect(page.locator(".opblock").first).to_be_visible()
    assert await page.get_by_text("Unable to render this definition").count() == 0


async def _screenshots(page: Page, block: Locator, tmp_path: Path) -> None:
    """The executed call (request, 200 and its body) and the page's top (the selector,
    the authorized lock): in tmp_path, and in docs/images when asked."""
    folder = SCREENSHOTS if os.environ.get("M2MP_DOCS_SCREENSHOTS") == "1" else tmp_path
    # The curl command shows the access token: no token goes into a picture in docs/.
    await page.evaluate(_REDACT)
    assert await page.get_by_text(re.compile(r"Bearer ey")).count() == 0
    await block.locator(".execute-wrapper, .btn-group").first.evaluate(
        "element => element.scrollIntoView({block: 'start'})"
    )
    await page.screenshot(path=folder / "api-reference.png")
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=folder / "api-reference-top.png")


async def test_the_reference_renders_authorizes_and_runs_get_sim_list(
    platform: Platform, server: str, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=10.0) as http:
        world = await World.start(platform, http)
        partner = await world.partner()
        await world.synthetic_sims(partner, 5)
        app = await world.app(partner, name="reference")

    outside: list[str] = []

    async def local_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    async with asyncio.timeout(BOUND_S), async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(STEP_MS)
            await page.route("**/*", local_only)
            await page.goto(f"{server}/swagger-ui/index.html")
            await _rendered(page, "M2M Service Portal 3.0 REST API")

            # Authorize: OAuth2 client credentials against the token endpoint.
            await page.locator("button.authorize").first.click()
            oauth = page.locator(".auth-container", has_text="clientCredentials")
            await oauth.locator("#client_id_clientCredentials").fill(app["clientId"])
            await oauth.locator("#client_secret_clientCredentials").fill(app["clientSecret"])
            await oauth.locator("button.modal-btn.authorize").click()
            await expect(oauth.get_by_role("button", name="Remove authorization")).to_be_visible()
            await page.locator("button.btn-done").first.click()

            # Get SIM list: Try it out, the partner, Execute, 200.
            summary = page.locator(".opblock-summary", has_text=re.compile(r"Get SIM list$"))
            await summary.click()
            block = page.locator(".opblock.is-open")
            await block.locator("button.try-out__btn").click()
            await block.locator('input[placeholder="partnerId"]').fill(str(partner))
            await block.locator("button.execute").click()
            status = block.locator(".live-responses-table tbody .response-col_status").first
            await expect(status).to_have_text("200", timeout=STEP_MS)
            await expect(block.locator(".live-responses-table")).to_contain_text("iccid")
            await _screenshots(page, block, tmp_path)

            # The selector's other document renders too.
            await page.locator(".topbar select").select_option(label="Operator API")
            await _rendered(page, "m2mportal operator API")
        finally:
            await browser.close()
    assert outside == [], f"the page reached beyond the server: {outside}"
