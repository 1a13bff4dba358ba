"""Adding SIM records to the inventory: the operator API's bulk insert and the CSV import.

Every record is validated (identifiers, references, duplicates within the input and
against the inventory) before anything is written. Records go in batches inside one
transaction: on any error nothing is kept, unless the caller asked to skip invalid rows.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from m2mportal.clock import Clock, iso, parse_iso
from m2mportal.domain.errors import not_found
from m2mportal.domain.identifiers import CHECKS, imei_key
from m2mportal.domain.instants import INSTANT_RULE, parse_instant
from m2mportal.models import NewSim, SimListEntry, TariffRef
from m2mportal.services.partner_tree import PartnerTree
from m2mportal.services.sims import list_entry
from m2mportal.store import catalog as catalog_store
from m2mportal.store import sims as sim_store
from m2mportal.store.database import Database

BATCH = 5000
# An import this large refreshes the planner's statistics when it is done.
ANALYZE_AFTER = 20_000
_UNIQUE = ("iccid", "euiccid", "imsi", "msisdn")
# Records read between two turns of the event loop.
_YIELD_EVERY = 250
# Allocations between young-generation collections while records stream through.
_GC_THRESHOLD = 50_000


class ImportFailed(Exception):
    def __init__(self, errors: list[str], rejected: int, taken: int = 0) -> None:
        super().__init__(f"{rejected} invalid records")
        self.errors = errors
        self.rejected = rejected
        # Of the rejected records, those valid but for identifiers already in the inventory.
        self.taken = taken

    @property
    def only_taken(self) -> bool:
        """Every record refused is valid on its own: a conflict with the inventory."""
        return self.rejected == self.taken


@dataclass
class ImportOutcome:
    inserted: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    taken: int = 0  # rejected for identifiers already in the inventory, and nothing else


@dataclass
class _References:
    tariffs: dict[int, int]  # id -> binding months
    options: set[int]
    materials: set[int]
    profiles: dict[int, str]  # id -> kind
    tariff_names: dict[int, str] = field(default_factory=dict)

    @classmethod
    async def load(cls, db: Database) -> _References:
        tariffs = await catalog_store.list_all(db, "tariffs")
        return cls(
            tariffs={r["id"]: r["binding_months"] for r in tariffs},
            options={r["id"] for r in await catalog_store.list_all(db, "options")},
            materials={r["id"] for r in await catalog_store.list_all(db, "materials")},
            profiles={r["id"]: r["kind"] for r in await catalog_store.list_all(db, "profiles")},
            tariff_names={r["id"]: r["name"] for r in tariffs},
        )


def record_errors(sim: NewSim, refs: _References, scope: frozenset[int]) -> list[str]:
    """Everything wrong with one record on its own (no look-ups beyond the references)."""
    problems = []
    for kind in ("iccid", "euiccid", "imsi", "msisdn", "imei"):
        value = getattr(sim, kind)
        if value is not None and (problem := CHECKS[kind](value)):
            problems.append(f"{kind}: {problem}")
    if sim.euiccid is not None and sim.sim_type != "eSIM":
        problems.append("euiccid: only an eSIM has an eUICCID")
    if sim.msisdn is not None and sim.status == "Inactive":
        problems.append("msisdn: an Inactive SIM has no MSISDN yet")
    if sim.tariff_id is not None and sim.tariff_id not in refs.tariffs:
        problems.append(f"tariffId: tariff {sim.tariff_id} does not exist")
    if sim.material_id is not None and sim.material_id not in refs.materials:
        problems.append(f"materialId: material {sim.material_id} does not exist")
    for column, kind in (
        ("limit_profile_id", "limit"),
        ("fraud_profile_id", "fraud"),
        ("cost_limit_profile_id", "costLimit"),
    ):
        value = getattr(sim, column)
        if value is not None and refs.profiles.get(value) != kind:
            name = column.replace("_profile_id", "").replace("cost_limit", "costLimit")
            problems.append(f"{name}ProfileId: no {kind} profile {value}")
    if sim.subunit_id is not None and sim.subunit_id not in scope:
        problems.append(f"subunitId: partner {sim.subunit_id} is not in this partner's tree")
    if sim.activation_date is not None and parse_instant(sim.activation_date) is None:
        problems.append(f"activationDate: must be {INSTANT_RULE}")
    return problems


class _Dates:
    """Activation and binding-end stamps, computed once per distinct input: an import
    of 1,000,000 SIMs mostly repeats "now" and a handful of binding periods."""

    def __init__(self, now: str) -> None:
        self.now = now
        self._activation: dict[str, str] = {now: now}
        self._binding_end: dict[tuple[str, int], str] = {}

    def activation(self, given: str) -> str:
        hit = self._activation.get(given)
        if hit is None:
            moment = parse_instant(given)
            assert moment is not None  # record_errors refused the others
            hit = iso(moment)
            if len(self._activation) < 10_000:
                self._activation[given] = hit
        return hit

    def binding_end(self, activation: str, months: int) -> str:
        key = (activation, months)
        hit = self._binding_end.get(key)
        if hit is None:
            hit = iso(parse_iso(activation) + timedelta(days=round(months * 30.44)))
            if len(self._binding_end) < 10_000:
                self._binding_end[key] = hit
        return hit


def _row(sim: NewSim, partner_id: int, refs: _References, dates: _Dates) -> tuple[Any, ...]:
    """The SIM's row in ``sim_store.INSERT_COLUMNS`` order (tests/test_inventory_rows.py
    checks the two agree)."""
    now = dates.now
    remarks = sim.remarks
    if remarks is None:
        r1 = r2 = r3 = r4 = r5 = None
        search = ""
    else:
        r1, r2, r3, r4, r5 = (
            remarks.remark1, remarks.remark2, remarks.remark3, remarks.remark4, remarks.remark5,
        )  # fmt: skip
        search = "\n".join(t.lower() for t in (r1, r2, r3, r4, r5) if t)
    status = sim.status
    activation = sim.activation_date
    if activation is None:
        if status != "Inactive":
            activation = now
    else:
        activation = dates.activation(activation)
    binding_months = sim.binding_months or refs.tariffs.get(sim.tariff_id or -1, 0)
    binding_end = None
    if activation is not None and binding_months:
        binding_end = dates.binding_end(activation, binding_months)
    esim = sim.sim_type == "eSIM"
    imei = sim.imei
    owner = sim.subunit_id or partner_id
    tariff = sim.tariff_id
    entry = SimListEntry(
        sim.iccid, sim.euiccid, sim.imsi, sim.msisdn, imei, status, sim.productive, owner,
        TariffRef(tariff, refs.tariff_names.get(tariff, "")) if tariff is not None else None,
        activation, 0,
    )  # fmt: skip
    return (
        sim.iccid,
        owner,
        sim.euiccid,
        sim.imsi,
        sim.msisdn,
        imei,
        imei_key(imei) if imei else None,
        sim.sim_type,
        sim.material_id,
        status,
        sim.productive,
        activation,
        now if status == "Terminated" else None,  # termination_date
        binding_months,
        binding_end,
        sim.tariff_id,
        sim.limit_profile_id,
        sim.fraud_profile_id,
        sim.cost_limit_profile_id,
        "No Restriction",  # restriction_status
        "OK",  # limit_status
        "OK",  # fraud_status
        r1,
        r2,
        r3,
        r4,
        r5,
        search,
        sim.activation_code if esim else None,
        (("Enabled" if sim.euiccid else "Not bound") if esim else None),  # eid_profile_status
        None,  # usage_month
        0,  # data_bytes
        0,  # sms_mo
        0,  # sms_mt
        0,  # voice_seconds
        0,  # session_count
        None,  # last_session_at
        now,  # created_at
        now,  # updated_at
        list_entry(entry),
    )


async def _batches(
    records: Iterable[tuple[str, NewSim | str]] | AsyncIterator[tuple[str, NewSim | str]],
) -> AsyncIterator[list[tuple[str, NewSim | str]]]:
    batch: list[tuple[str, NewSim | str]] = []
    if isinstance(records, AsyncIterator):
        async for item in records:
            batch.append(item)
            if len(batch) >= BATCH:
                yield batch
                batch = []
    else:
        for item in records:
            batch.append(item)
            if len(batch) >= BATCH:
                yield batch
                batch = []
            elif len(batch) % _YIELD_EVERY == 0:
                # Reading a file never waits: let the previous batch's write go on (a COPY
                # needs a round trip before its rows are sent).
                await asyncio.sleep(0)
    if batch:
        yield batch


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Fewer cyclic collections while records stream through.

    Each record allocates several objects the collector tracks (the CSV row, the NewSim,
    tuples); with CPython's default threshold of 700 a collection ran every ~100 records
    and promoted the batch in flight towards the older generations: about 10% of the CPU
    of a 1,000,000-SIM import. A process whose collector is tuned already (the server)
    is left as it is.
    """
    before = gc.get_threshold()
    raised = before[0] < _GC_THRESHOLD
    if raised:
        gc.set_threshold(_GC_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        if raised and gc.get_threshold()[0] == _GC_THRESHOLD:
            gc.set_threshold(*before)


async def _write(db: Database, rows: list[tuple[Any, ...]], apns: list[tuple[Any, ...]]) -> None:
    await sim_store.insert_many(db, rows)
    if apns:
        await sim_store.insert_apns(db, apns)


# (where, problems, taken): taken when the record's only problem is the inventory's.
Reject = Callable[[str, list[str], bool], None]


def _validate(
    batch: list[tuple[str, NewSim | str]], refs: _References, scope: frozenset[int], reject: Reject
) -> tuple[list[tuple[str, NewSim]], dict[str, dict[str, str]]]:
    """The batch's records valid on their own and unique within it, and for each unique
    identifier the record that has it first."""
    good: list[tuple[str, NewSim]] = []
    seen: dict[str, dict[str, str]] = {kind: {} for kind in _UNIQUE}
    for where, sim in batch:
        if isinstance(sim, str):
            reject(where, [sim], False)
            continue
        problems = record_errors(sim, refs, scope)
        for kind, seen_values in seen.items():
            value = getattr(sim, kind)
            if value is None:
                continue
            first = seen_values.setdefault(value, where)
            if first != where:
                problems.append(f"{kind}: {value} repeats {first}")
        if problems:
            reject(where, problems, False)
        else:
            good.append((where, sim))
    return good, seen


async def _new_rows(
    db: Database,
    good: list[tuple[str, NewSim]],
    seen: dict[str, dict[str, str]],
    reject: Reject,
    row_of: Callable[[NewSim], tuple[Any, ...]],
) -> list[tuple[Any, ...]]:
    """Rows for the records none of whose identifiers is in the inventory already."""
    taken = {kind: await sim_store.existing_values(db, kind, list(seen[kind])) for kind in _UNIQUE}
    if not any(taken.values()):  # the usual case
        return [row_of(sim) for _, sim in good]
    rows = []
    for where, sim in good:
        clashes = [
            f"{kind}: {getattr(sim, kind)} is already in the inventory"
            for kind in _UNIQUE
            if getattr(sim, kind) in taken[kind]
        ]
        if clashes:
            reject(where, clashes, True)
        else:
            rows.append(row_of(sim))
    return rows


def _apn_rows(good: list[tuple[str, NewSim]], rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    apns = [(sim.iccid, apn, None, "No Restriction") for _, sim in good for apn in sim.apns]
    if apns:
        written = {row[0] for row in rows}
        apns = [apn for apn in apns if apn[0] in written]
    return apns


async def add_sims(
    db: Database,
    tree: PartnerTree,
    clock: Clock,
    partner_id: int,
    records: Iterable[tuple[str, NewSim | str]] | AsyncIterator[tuple[str, NewSim | str]],
    skip_invalid: bool = False,
    progress: Callable[[int], None] | None = None,
    max_errors: int = 1000,
) -> ImportOutcome:
    """Insert records given as ``(where, NewSim)``, or ``(where, error text)`` for a record
    that could not even be parsed. ``where`` names the record in errors (``line 7``,
    ``sims[3]``). Raises ImportFailed (nothing written) when a record is invalid and
    ``skip_invalid`` is off."""
    scope = await tree.descendants(partner_id)
    if not scope:
        raise not_found(f"partner {partner_id} does not exist")
    refs = await _References.load(db)
    outcome = ImportOutcome()
    dates = _Dates(iso(clock.now()))

    def reject(where: str, problems: list[str], taken: bool) -> None:
        outcome.rejected += 1
        outcome.taken += taken
        for problem in problems:
            if len(outcome.errors) < max_errors:
                outcome.errors.append(f"{where}: {problem}")

    def row_of(sim: NewSim) -> tuple[Any, ...]:
        return _row(sim, partner_id, refs, dates)

    # A batch is written while the next one is read and validated: PostgreSQL inserts and
    # indexes the COPY on its own core meanwhile (SQLite writes inline).
    writing: asyncio.Task[None] | None = None
    with _fewer_collections():
        async with db.transaction():
            try:
                async for batch in _batches(records):
                    good, seen = _validate(batch, refs, scope, reject)
                    if writing is not None:
                        await writing  # in before this batch is checked against it
                        writing = None
                    rows = await _new_rows(db, good, seen, reject, row_of)
                    # Once a record is invalid, keep validating to report every bad
                    # record, but write no more.
                    if skip_invalid or not outcome.rejected:
                        writing = asyncio.create_task(_write(db, rows, _apn_rows(good, rows)))
                        await asyncio.sleep(0)  # starts the write
                        outcome.inserted += len(rows)
                    if progress:
                        progress(len(batch))
                if writing is not None:
                    await writing
            finally:
                if writing is not None:
                    if not writing.done():
                        # Something failed while a write was under way: it ends before
                        # the transaction rolls back on the same connection.
                        await asyncio.wait([writing])
                    if not writing.cancelled():
                        writing.exception()  # retrieved; the error raised is the first one
            if outcome.rejected and not skip_invalid:
                raise ImportFailed(outcome.errors, outcome.rejected, outcome.taken)
    if outcome.inserted >= ANALYZE_AFTER:
        await sim_store.refresh_statistics(db)
    return outcome
