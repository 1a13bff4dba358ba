"""Oversized bodies are refused before they are read whole."""

from __future__ import annotations

from http import HTTPStatus

from tests.helpers import TOKEN_PATH, World, assert_error_mentions


async def test_an_oversized_api_body_is_413(world: World) -> None:
    partner = await world.partner()
    headers = await world.headers_for(await world.app(partner))
    big = b'{"sims": [' + b'{"iccid": "89490200000000000013"},' * 600_000 + b"{}]}"
    answer = await world.api(
        "POST", f"/partners/{partner}/sims/actions/suspend",
        {**headers, "Content-Type": "application/json"}, content=big,
    )  # fmt: skip
    # The status name follows Python's HTTPStatus (renamed in 3.13).
    assert_error_mentions(answer, 413, HTTPStatus(413).name, "body: at most")
    listing = await world.api("GET", f"/partners/{partner}/sims/actions", headers)
    assert listing.json()["page"]["totalElements"] == 0


async def test_an_oversized_token_request_is_refused(world: World) -> None:
    answer = await world.http.post(
        TOKEN_PATH,
        content=b"grant_type=client_credentials&pad=" + b"x" * 70_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413
    assert answer.json()["error"] == "invalid_request"
