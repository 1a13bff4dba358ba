"""The shortest tour: operator builds a partner, an application reads its SIM list."""

from __future__ import annotations

from tests.helpers import World


async def test_application_lists_its_partners_sims(world: World) -> None:
    partner = await world.partner()
    await world.synthetic_sims(partner, 5)
    app = await world.app(partner)
    headers = await world.headers_for(app)
    answer = await world.api("GET", f"/partners/{partner}/sims", headers)
    assert answer.status_code == 200
    body = answer.json()
    assert body["page"]["totalElements"] == 5
    assert len(body["content"]) == 5
