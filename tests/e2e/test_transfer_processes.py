"""A 1,000-SIM SIM transfer completed by a real ``m2mportal worker`` process that is killed
(SIGKILL) half way: the SIMs change owner only at completion, so at the kill every SIM is
still the sender's; a new worker completes it, every SIM then has exactly one owner (the
receiver's subunit) and each side has exactly one completion event. SQLite and PostgreSQL.

The transfer is created and accepted through HTTP (the in-process app runs no worker); the
worker processes go one SIM at a time (a 2 ms simulated backend pause between SIMs), so
the kill lands while the action is part done.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from m2mportal import synthetic
from m2mportal.platform import Platform
from tests.e2e.test_worker_processes import Workers, wait_for, workers
from tests.helpers import World

pytestmark = pytest.mark.slow
_ = workers  # the fixture

SIMS = 1000
ACTIONS = "/partners/{p}/sims/actions"


async def _action(platform: Platform, signup_id: int) -> dict[str, Any]:
    row = await platform.db.fetch_one(
        "SELECT status, done, pending, failed, finished_at FROM actions WHERE signup_id = :id",
        {"id": signup_id},
    )
    assert row is not None
    return dict(row)


async def _owners(platform: Platform, iccids: list[str]) -> dict[int, int]:
    rows = await platform.db.fetch_all(
        "SELECT partner_id, COUNT(*) AS n FROM sims WHERE "
        + platform.db.in_list("iccid", "ids")
        + " GROUP BY partner_id",
        {"ids": platform.db.list_param(iccids)},
    )
    return {r["partner_id"]: int(r["n"]) for r in rows}


async def _completions(platform: Platform, partner: int, transaction_id: int) -> int:
    rows = await platform.db.fetch_all(
        "SELECT data FROM events WHERE type = 'simaction.v1' AND partner_id = :p", {"p": partner}
    )
    return sum(
        1
        for row in rows
        if (data := msgspec.json.decode(row["data"])).get("transactionID") == str(transaction_id)
        and data["message"].endswith("has been completed.")
    )


async def test_killed_worker_completes_a_1000_sim_transfer_once(
    world: World, workers: Workers, platform: Platform
) -> None:
    sender = await world.partner("Telekom Main Test Company")
    receiver = await world.partner("Telekom Secondary Test Company")
    unit = await world.partner("Secondary South", parent=receiver)
    allowed = await world.op(
        "PUT", f"/partners/{sender}/transfer-partners", json={"partnerIds": [receiver]}
    )
    assert allowed.status_code == 200, allowed.text
    sims = [
        {"iccid": synthetic.iccid(n), "imsi": synthetic.imsi(n), "status": "Inactive"}
        for n in range(1, SIMS + 1)
    ]
    assert (await world.sims(sender, sims)).status_code == 201
    iccids = [s["iccid"] for s in sims]
    sender_headers = await world.headers_for(await world.app(sender))
    receiver_headers = await world.headers_for(await world.app(receiver))
    created = await world.api(
        "POST", ACTIONS.format(p=sender) + "/simtransfer", sender_headers,
        json={"sims": [{"iccid": i} for i in iccids], "targetPartnerId": receiver},
    )  # fmt: skip
    assert created.status_code == 202, created.text
    tid, signup = created.json()["transactionId"], created.json()["signupId"]
    accepted = await world.api(
        "PATCH", ACTIONS.format(p=receiver) + f"/simtransfer/{tid}", receiver_headers,
        json={"status": "Accepted", "subunitPartnerID": unit},
    )  # fmt: skip
    assert accepted.status_code == 200, accepted.text

    first = workers.start("first", per_sim_delay_ms=2)

    async def some_done() -> bool:
        return int((await _action(platform, signup))["done"]) >= SIMS // 5

    await wait_for("the first worker to check some SIMs", some_done, [first], workers)
    first.kill()
    at_kill = await _action(platform, signup)
    assert 0 < at_kill["done"] < SIMS and at_kill["finished_at"] is None, at_kill
    # Part of the SIMs checked, none moved: ownership changes only at completion.
    assert await _owners(platform, iccids) == {sender: SIMS}
    assert await _completions(platform, sender, tid) == 0

    second = workers.start("second", per_sim_delay_ms=0)

    async def finished() -> bool:
        return (await _action(platform, signup))["finished_at"] is not None

    await wait_for("the second worker to complete the transfer", finished, [second], workers)
    assert (await _action(platform, signup))["status"] == "Done"
    # Every SIM has exactly one owner, the receiver's subunit; each side one event.
    assert await _owners(platform, iccids) == {unit: SIMS}
    assert await _completions(platform, sender, tid) == 1
    assert await _completions(platform, receiver, tid) == 1
    details = await world.api(
        "GET", ACTIONS.format(p=receiver) + f"/simtransfer/{tid}", receiver_headers
    )
    assert details.json()["status"] == "Completed"
    listed = await world.api("GET", f"/partners/{unit}/sims?size=1000", receiver_headers)
    assert {s["iccid"] for s in listed.json()["content"]} == set(iccids)
