"""The rules engine's cost per ingested record at 10,000 SIMs (issue 12, point 4).

In one process over a scratch database: two partners of 10,000 Active SIMs each. The
"plain" partner's SIMs have no profiles and the partner no pools; every SIM of the "rules"
partner has a session limit, a fraud profile (device and location) and an SMS cost limit,
and the partner a data, a voice and an SMS pool. Each round feeds, for every SIM of one
partner, a session start (the SIM's own device, at home), its stop with 10 kB, one SMS with
a cost and one voice call with a cost (4 records a SIM, 40,000 a round) through
``network/records.py`` in batches of ``--batch``, in slices of 1,000 SIMs, three variants
taking turns: "off" (the plain SIMs with the engine replaced by a no-op: ingestion as
before the rules), "plain" (the engine on, nothing to judge) and "rules". The figures are
the medians of the slices' per-record wall and process-CPU times and of the ratios of
neighbouring slices (the machine is shared: only the ratios carry over; on PostgreSQL the
server's CPU is not in the process figure, so the wall ratio is the one to read). Levels
are set out of reach, so this is the cost of judging; ``--crossing`` adds a round in which
every SIM of the rules partner crosses session level 1 (10,000 notifications through the
outbox).

    python bench/rules.py [--db sqlite|postgresql] [--rounds 3] [--batch 250]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from types import SimpleNamespace
from typing import Any

import msgspec
from common import DEFAULT_PG_URL, close_scratch, open_scratch
from cryptography.fernet import Fernet

SIMS = 10_000
SLICE = 1_000  # SIMs a measured slice: 4,000 records


async def setup(platform: Any) -> tuple[list[str], list[str], int]:
    from m2mportal.domain.pools import NewPool
    from m2mportal.models import NewProfile, NewSim
    from m2mportal.services import catalog, inventory, partners, pools
    from m2mportal.synthetic import records

    db, tree, clock = platform.db, platform.tree, platform.clock
    plain = await partners.create(db, tree, clock, "Plain", None)
    ruled = await partners.create(db, tree, clock, "Rules", None)
    ids = {}
    for kind, rules in (
        ("limit", {"type": "sessions", "levels": [10**6, 2 * 10**6]}),
        ("fraud", {"deviceFraud": True, "allowedCountries": ["DE"]}),
        ("costLimit", {"type": "SMS", "levels": [10**6, 2 * 10**6]}),
    ):
        raw = {k: msgspec.Raw(msgspec.json.encode(v)) for k, v in rules.items()}
        made = await catalog.create(db, NewProfile(kind=kind, name=kind, rules=raw))
        ids[kind] = made.id
    for kind in ("Data", "Voice", "SMS"):
        spec = NewPool(name=kind, type=kind, allowance=10**15, levels=[50, 80])
        await pools.create(db, tree, clock, ruled, spec)
    generated = list(records(2 * SIMS, esim_share=0.0))
    groups: dict[int, list[str]] = {plain: [], ruled: []}
    for n, partner in ((0, plain), (SIMS, ruled)):
        extra = (
            {"limit_profile_id": ids["limit"], "fraud_profile_id": ids["fraud"],
             "cost_limit_profile_id": ids["costLimit"]}
            if partner == ruled else {}
        )  # fmt: skip
        sims = [
            (f"r{i}", NewSim(iccid=r["iccid"], imsi=r["imsi"], msisdn=r["msisdn"],
                             imei=r["imei"], status="Active", **extra))
            for i, r in enumerate(generated[n : n + SIMS])
        ]  # fmt: skip
        await inventory.add_sims(db, tree, clock, partner, sims)
        groups[partner] = [sim.iccid for _, sim in sims]
    imeis = {r["iccid"]: r["imei"] for r in generated}
    platform.extras["imeis"] = imeis
    return groups[plain], groups[ruled], ids["limit"]


def traffic(iccids: list[str], imeis: dict[str, str], tag: str, moment: str) -> list[Any]:
    from m2mportal.network.models import SessionStart, SessionStop, SmsRecord, VoiceRecord

    out: list[Any] = []
    for iccid in iccids:
        sid = f"{tag}-{iccid}"
        out += [
            SessionStart(record_id=f"{sid}-a", iccid=iccid, time=moment, session_id=sid,
                         apn="internet.m2m", mcc="262", mnc="01", imei=imeis[iccid]),
            SessionStop(record_id=f"{sid}-z", iccid=iccid, time=moment, session_id=sid,
                        bytes_up=2_000, bytes_down=8_000),
            SmsRecord(record_id=f"{sid}-m", iccid=iccid, time=moment, sms_id=sid,
                      direction="MO", status="DELIVERED", originator="d", destination="p",
                      mcc="262", mnc="01", cost=0.09),
            VoiceRecord(record_id=f"{sid}-v", iccid=iccid, time=moment, call_id=sid,
                        direction="MO", duration_seconds=60, mcc="262", mnc="01", cost=0.2),
        ]  # fmt: skip
    return out


async def _no_rules(*args: Any) -> None:
    """The engine switched off: ingestion as it was before the rules existed."""


async def feed(platform: Any, batch: list[Any], size: int, engine: bool) -> tuple[float, float]:
    """Wall and process-CPU seconds to ingest ``batch`` in transactions of ``size``."""
    from m2mportal.network import records

    switch = records.rules
    if not engine:
        records.rules = SimpleNamespace(evaluate=_no_rules)
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        for first in range(0, len(batch), size):
            answer = await records.ingest(
                platform.db, platform.clock, batch[first : first + size], platform.bus
            )
            assert not answer.rejected and answer.accepted == len(batch[first : first + size])
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        records.rules = switch


async def run(url: str, rounds: int, size: int, crossing: bool) -> None:
    from m2mportal.config import Settings
    from m2mportal.platform import open_platform

    platform = await open_platform(Settings.from_env())
    try:
        started = time.perf_counter()
        plain, ruled, limit_id = await setup(platform)
        print(f"{url.split(':')[0]}: 2 x {SIMS:,} SIMs set up in"
              f" {time.perf_counter() - started:.1f} s")  # fmt: skip
        imeis = platform.extras["imeis"]
        moment = platform.clock.iso()
        # Slices of SIMs, the variants taking turns (which one goes first rotates): on a
        # shared machine the load drifts within seconds, so each ratio compares
        # neighbouring slices and the median of many such ratios is the figure.
        variants = [("off", plain, False), ("plain", plain, True), ("rules", ruled, True)]
        wall: dict[str, list[float]] = {name: [] for name, _, _ in variants}
        cpu: dict[str, list[float]] = {name: [] for name, _, _ in variants}
        for n in range(rounds):
            for k, first in enumerate(range(0, SIMS, SLICE)):
                for name, iccids, engine in variants[k % 3 :] + variants[: k % 3]:
                    batch = traffic(iccids[first : first + SLICE], imeis, f"{name}{n}", moment)
                    seconds, used = await feed(platform, batch, size, engine)
                    wall[name].append(seconds / len(batch) * 1e6)
                    cpu[name].append(used / len(batch) * 1e6)
        slices = len(wall["rules"])
        print(f"medians of {slices} slices of {SLICE * 4:,} records each; ratios: medians of"
              " the neighbouring slices' ratios")  # fmt: skip
        for label, figures in (("wall", wall), ("process CPU", cpu)):
            us = {name: statistics.median(values) for name, values in figures.items()}

            def ratio(a: str, b: str, figures: dict[str, list[float]] = figures) -> float:
                pairs = zip(figures[b], figures[a], strict=True)
                return statistics.median(x / y for y, x in pairs)

            print(f"{label}: engine off {us['off']:.1f} us a record; SIMs without rules"
                  f" {us['plain']:.1f} us ({ratio('plain', 'off'):.2f}x off); SIMs with rules"
                  f" {us['rules']:.1f} us ({ratio('rules', 'off'):.2f}x off,"
                  f" {ratio('rules', 'plain'):.2f}x without rules)")  # fmt: skip
        if crossing:
            # Session level 1 within reach of every SIM's next session: one notification a SIM.
            await platform.db.execute(
                "UPDATE profiles SET rules = :rules WHERE id = :id",
                {"rules": f'{{"type": "sessions", "levels": [{rounds}, 1000000]}}', "id": limit_id},
            )
            batch = traffic(ruled, imeis, "crossing", moment)
            seconds, _ = await feed(platform, batch, size, True)
            events = await platform.db.fetch_val(
                "SELECT COUNT(*) FROM events WHERE type = 'profilenotification.v1'"
            )
            print(f"crossing round: {len(batch):,} records, {events:,} notifications, "
                  f"{seconds / len(batch) * 1e6:.1f} us a record")  # fmt: skip
    finally:
        await platform.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--crossing", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    folder, url = open_scratch(args.db, args.pg_url, "m2mp-bench-rules-")
    os.environ.update(
        M2MP_DATABASE_URL=url,
        M2MP_SECRET_KEY=Fernet.generate_key().decode(),
        M2MP_SECRET_KEY_FILE=str(folder / "secret.key"),
        M2MP_SIMULATION="false",
    )
    try:
        asyncio.run(run(url, args.rounds, args.batch, args.crossing))
    finally:
        close_scratch(folder, url, args.pg_url, args.keep)


if __name__ == "__main__":
    main()
