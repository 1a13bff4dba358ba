"""Issue 9.5: an application's token works the moment its status reads Active.

A new application is ``In Creation`` for ``M2MP_PROVISIONING_SECONDS``. The token endpoint,
the operator API (and the portal, which reads the same service) must agree at every
moment: these tests move the platform clock past the delay and never run the background
provisioner, so nothing but the clock can end provisioning.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from m2mportal.clock import Clock
from m2mportal.config import Settings
from m2mportal.services import applications
from tests.conftest import test_settings
from tests.helpers import TOKEN_PATH, World, error_list

DELAY = 2.0


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return test_settings(database_url, tmp_path, provisioning_seconds=DELAY)


async def _status(world: World, client_id: str) -> str:
    answer = await world.op("GET", f"/applications/{client_id}")
    assert answer.status_code == 200, answer.text
    status: str = answer.json()["status"]
    return status


async def _token(world: World, app: dict[str, str]) -> tuple[int, dict[str, str]]:
    answer = await world.http.post(
        TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": app["clientId"],
            "client_secret": app["clientSecret"],
        },
    )
    return answer.status_code, answer.json()


async def test_the_token_works_the_moment_the_status_reads_active(
    world: World, clock: Clock
) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    assert app["status"] == "In Creation"
    assert await _status(world, app["clientId"]) == "In Creation"
    code, body = await _token(world, app)
    assert (code, body["error"]) == (401, "invalid_client")
    assert "In Creation" in body["error_description"]

    clock.advance(DELAY - 0.1)
    assert await _status(world, app["clientId"]) == "In Creation"
    assert (await _token(world, app))[0] == 401

    clock.advance(0.1)
    assert await _status(world, app["clientId"]) == "Active"
    code, body = await _token(world, app)
    assert code == 200, body
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert (await world.api("GET", f"/partners/{partner}", headers)).status_code == 200
    listed = await world.op("GET", f"/partners/{partner}/applications")
    assert [a["status"] for a in listed.json()] == ["Active"]


async def test_the_token_endpoint_first_then_the_operator_api_agrees(
    world: World, clock: Clock
) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    events = {"clientId": app["eventClientId"], "clientSecret": app["eventClientSecret"]}
    clock.advance(DELAY)
    code, body = await _token(world, events)
    assert code == 200, body
    assert (await _token(world, app))[0] == 200
    assert await _status(world, app["clientId"]) == "Active"
    # The provisioner, when it comes round, finds nothing left to do for it.
    assert await applications.activate_due(world.platform) == 0


async def test_an_application_in_creation_is_refused_with_the_oauth_body(world: World) -> None:
    partner = await world.partner()
    app = await world.app(partner)
    code, body = await _token(world, app)
    assert code == 401 and set(body) == {"error", "error_description"}
    # The operator API reads the same status.
    missing = await world.op("GET", "/applications/m2m-0000000000000000")
    assert error_list(missing, 404, "NOT_FOUND")
