"""Issue 12, point 3: two processes ingest traffic for the same SIMs at once on
PostgreSQL, and every notification is written exactly once.

Twelve SIMs with a session limit (levels 40 and 50 sessions), an SMS cost limit (levels
40 and 50) and a partner SMS pool (levels 50 % and 80 % of 1,440 messages). Each of two
``tests/e2e/rules_ingester.py`` processes sends 30 sessions and 30 messages per SIM in
batches of 4 SIMs, one walking the SIMs forwards and the other backwards, so they meet on
the same SIM rows, counters and pool. Together they cross every level once: the outbox
must hold exactly one profile and one cost notification per SIM and level and one pool
notification per level, and the counters must hold every record once. SQLite has one
writer per database by design, so this runs on PostgreSQL only. ~10 s.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import msgspec
import pytest

from m2mportal import synthetic
from m2mportal.platform import Platform
from tests.e2e.processes import Child
from tests.helpers import World

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SIMS = 12
ROUNDS = 30
ROOT = Path(__file__).resolve().parents[2]


async def test_two_ingesting_processes_notify_each_level_once(
    world: World, platform: Platform, tmp_path: Path
) -> None:
    if platform.db.dialect != "postgresql":
        pytest.skip("one writer per SQLite database: two ingesting processes need PostgreSQL")
    partner = await world.partner("Two feeds")
    ids = {}
    for kind, rules in (
        ("limit", {"type": "sessions", "levels": [40, 50]}),
        ("costLimit", {"type": "SMS", "levels": [40, 50]}),
    ):
        answer = await world.op("POST", "/profiles", json={"kind": kind, "name": kind,
                                                           "rules": rules})  # fmt: skip
        assert answer.status_code == 201, answer.text
        ids[kind] = answer.json()["id"]
    pool = await world.op(
        "POST", f"/partners/{partner}/pools",
        json={"name": "SMS", "type": "SMS", "allowance": 2 * SIMS * ROUNDS, "levels": [50, 80]},
    )  # fmt: skip
    assert pool.status_code == 201, pool.text
    iccids = [synthetic.iccid(n) for n in range(1, SIMS + 1)]
    answer = await world.sims(
        partner,
        [{"iccid": i, "status": "Active", "limitProfileId": ids["limit"],
          "costLimitProfileId": ids["costLimit"]} for i in iccids],
    )  # fmt: skip
    assert answer.status_code == 201, answer.text

    start = tmp_path / "go"
    children = []
    for name in ("a", "b"):
        log = tmp_path / f"ingester-{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.e2e.rules_ingester", platform.settings.database_url,
                 name, ",".join(iccids), str(ROUNDS), str(start)],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        children.append(Child(process, log))
    try:
        start.touch()
        for child in children:
            assert child.process.wait(timeout=120) == 0, child.log_tail()
            assert f"accepted {SIMS * ROUNDS * 2}" in child.log_tail(), child.log_tail()
    finally:
        for child in children:
            child.stop()

    # The two feeds did run at the same time (else this would prove nothing).
    spans = {
        name: await platform.db.fetch_one(
            "SELECT MIN(received_at) AS first, MAX(received_at) AS last FROM network_records"
            " WHERE record_id LIKE :prefix",
            {"prefix": f"{name}-%"},
        )
        for name in ("a", "b")
    }
    assert spans["a"]["first"] < spans["b"]["last"] and spans["b"]["first"] < spans["a"]["last"]

    rows = await platform.db.fetch_all("SELECT type, data FROM events ORDER BY seq")
    seen: Counter[tuple[str, ...]] = Counter()
    for row in rows:
        data = msgspec.json.decode(row["data"])
        if row["type"] == "profilenotification.v1":
            status = data["profileStatus"]
            seen[("limit", data["sim"]["iccid"], str(status["barringLevel"]))] += 1
        elif row["type"] == "costlimitnotification.v1":
            note = data["costLimitNotification"]
            seen[("cost", note["iccid"], note["typeOfThreshold"])] += 1
        elif row["type"] == "poollimitnotification.v1":
            seen[("pool", data["poolLimitNotification"]["typeOfThreshold"])] += 1
    expected = Counter(
        [("limit", i, level) for i in iccids for level in ("1", "2")]
        + [("cost", i, f"SMS Limit {level}") for i in iccids for level in (1, 2)]
        + [("pool", "SMS Limit 1"), ("pool", "SMS Limit 2")]
    )
    assert seen == expected
    counters = await platform.db.fetch_all("SELECT subject, rule, value FROM rule_counters")
    values = {(r["subject"], r["rule"].split(":")[0]): r["value"] for r in counters}
    for iccid in iccids:
        assert values[(iccid, "limit")] == 2 * ROUNDS
        assert values[(iccid, "cost")] == 2 * ROUNDS
    assert values[(f"pool:{pool.json()['offeringId']}", "pool")] == 2 * SIMS * ROUNDS
