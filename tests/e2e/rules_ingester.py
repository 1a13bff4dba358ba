"""A child process for tests/e2e/test_rules_processes.py: ingests usage records straight
through ``network/records.py`` (as a mediation feed or the generator would), in small
batches, once a start file appears, and prints how many records it took.

``python -m tests.e2e.rules_ingester URL NAME ICCIDS ROUNDS START_FILE``
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from m2mportal.clock import Clock
from m2mportal.network import records
from m2mportal.network.models import AnyRecord, SessionStart, SmsRecord
from m2mportal.store.database import connect


def batches(name: str, iccids: list[str], rounds: int, now: str) -> list[list[AnyRecord]]:
    """Per round, a session and an SMS with a cost of 1 for every SIM, a few SIMs a batch
    (in an order of its own per process, so the two processes meet on the same SIMs)."""
    out: list[list[AnyRecord]] = []
    order = iccids if name == "a" else list(reversed(iccids))
    for n in range(rounds):
        batch: list[AnyRecord] = []
        for iccid in order:
            batch.append(
                SessionStart(record_id=f"{name}-{n}-{iccid}-s", iccid=iccid, time=now,
                             session_id=f"{name}-{n}-{iccid}", apn="internet.m2m",
                             mcc="262", mnc="01")
            )  # fmt: skip
            batch.append(
                SmsRecord(record_id=f"{name}-{n}-{iccid}-m", iccid=iccid, time=now,
                          sms_id=f"{name}-{n}-{iccid}", direction="MO", status="DELIVERED",
                          originator="device", destination="M2MPortal", cost=1.0)
            )  # fmt: skip
            if len(batch) >= 8:
                out.append(batch)
                batch = []
        if batch:
            out.append(batch)
    return out


async def main(url: str, name: str, iccids: list[str], rounds: int, start: Path) -> None:
    db = await connect(url)
    clock = Clock()
    work = batches(name, iccids, rounds, clock.iso())
    deadline = time.monotonic() + 60
    while not start.exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    accepted = 0
    for batch in work:
        result = await records.ingest(db, clock, batch)
        assert not result.rejected, result.rejected
        accepted += result.accepted
    await db.close()
    print(f"accepted {accepted}", flush=True)


if __name__ == "__main__":
    url, name, iccids, rounds, start = sys.argv[1:6]
    asyncio.run(main(url, name, iccids.split(","), int(rounds), Path(start)))
