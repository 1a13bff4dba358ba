"""Adding SIM records to the inventory: the operator API's bulk insert and the CSV import.

Every record is validated (identifiers, references, duplicates within the input and
against the inventory) before anything is written. Records go in batches inside one
transaction: on any error nothing is kept, unless the caller asked to skip invalid rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from m2mportal.clock import Clock, iso, parse_iso
from m2mportal.domain.identifiers import CHECKS, imei_key
from m2mportal.models import NewSim
from m2mportal.services.partner_tree import PartnerTree
from m2mportal.store import catalog as catalog_store
from m2mportal.store import sims as sim_store
from m2mportal.store.database import Database

BATCH = 5000
_UNIQUE = ("iccid", "euiccid", "imsi", "msisdn")


class ImportFailed(Exception):
    def __init__(self, errors: list[str], rejected: int) -> None:
        super().__init__(f"{rejected} invalid records")
        self.errors = errors
        self.rejected = rejected


@dataclass
class ImportOutcome:
    inserted: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class _References:
    tariffs: dict[int, int]  # id -> binding months
    options: set[int]
    materials: set[int]
    profiles: dict[int, str]  # id -> kind

    @classmethod
    async def load(cls, db: Database) -> _References:
        return cls(
            tariffs={
                r["id"]: r["binding_months"] for r in await catalog_store.list_all(db, "tariffs")
            },
            options={r["id"] for r in await catalog_store.list_all(db, "options")},
            materials={r["id"] for r in await catalog_store.list_all(db, "materials")},
            profiles={r["id"]: r["kind"] for r in await catalog_store.list_all(db, "profiles")},
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
    if sim.activation_date is not None:
        try:
            parse_iso(sim.activation_date)
        except ValueError:
            problems.append("activationDate: not an ISO-8601 timestamp")
    return problems


def _row(sim: NewSim, partner_id: int, refs: _References, now: str) -> tuple[Any, ...]:
    remarks = sim.remarks
    texts = [getattr(remarks, f"remark{i}") if remarks else None for i in range(1, 6)]
    activation = sim.activation_date
    if activation is None and sim.status != "Inactive":
        activation = now
    if activation is not None:
        activation = iso(parse_iso(activation))
    binding_months = sim.binding_months or refs.tariffs.get(sim.tariff_id or -1, 0)
    binding_end = None
    if activation is not None and binding_months:
        binding_end = iso(parse_iso(activation) + timedelta(days=round(binding_months * 30.44)))
    values = {
        "iccid": sim.iccid,
        "partner_id": sim.subunit_id or partner_id,
        "euiccid": sim.euiccid,
        "imsi": sim.imsi,
        "msisdn": sim.msisdn,
        "imei": sim.imei,
        "imei_key": imei_key(sim.imei) if sim.imei else None,
        "sim_type": sim.sim_type,
        "material_id": sim.material_id,
        "status": sim.status,
        "productive": sim.productive,
        "activation_date": activation,
        "termination_date": now if sim.status == "Terminated" else None,
        "binding_months": binding_months,
        "binding_end": binding_end,
        "tariff_id": sim.tariff_id,
        "limit_profile_id": sim.limit_profile_id,
        "fraud_profile_id": sim.fraud_profile_id,
        "cost_limit_profile_id": sim.cost_limit_profile_id,
        "restriction_status": "No Restriction",
        "limit_status": "OK",
        "fraud_status": "OK",
        "remark1": texts[0],
        "remark2": texts[1],
        "remark3": texts[2],
        "remark4": texts[3],
        "remark5": texts[4],
        "remarks_search": "\n".join(t.lower() for t in texts if t),
        "activation_code": sim.activation_code if sim.sim_type == "eSIM" else None,
        "eid_profile_status": (
            ("Enabled" if sim.euiccid else "Not bound") if sim.sim_type == "eSIM" else None
        ),
        "usage_month": None,
        "data_bytes": 0,
        "sms_mo": 0,
        "sms_mt": 0,
        "voice_seconds": 0,
        "session_count": 0,
        "last_session_at": None,
        "created_at": now,
        "updated_at": now,
    }
    return tuple(values[column] for column in sim_store.INSERT_COLUMNS)


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
    if batch:
        yield batch


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
        raise ImportFailed([f"partner {partner_id} does not exist"], 0)
    refs = await _References.load(db)
    outcome = ImportOutcome()
    now = iso(clock.now())

    def reject(where: str, problems: list[str]) -> None:
        outcome.rejected += 1
        for problem in problems:
            if len(outcome.errors) < max_errors:
                outcome.errors.append(f"{where}: {problem}")

    async with db.transaction():
        async for batch in _batches(records):
            good: list[tuple[str, NewSim]] = []
            seen: dict[str, dict[str, str]] = {kind: {} for kind in _UNIQUE}
            for where, sim in batch:
                if isinstance(sim, str):
                    reject(where, [sim])
                    continue
                problems = record_errors(sim, refs, scope)
                for kind in _UNIQUE:
                    value = getattr(sim, kind)
                    if value is None:
                        continue
                    first = seen[kind].get(value)
                    if first is not None:
                        problems.append(f"{kind}: {value} repeats {first}")
                    else:
                        seen[kind][value] = where
                if problems:
                    reject(where, problems)
                else:
                    good.append((where, sim))
            taken = {
                kind: await sim_store.existing_values(
                    db, kind, [v for v in seen[kind] if v is not None]
                )
                for kind in _UNIQUE
            }
            rows = []
            for where, sim in good:
                clashes = [
                    f"{kind}: {getattr(sim, kind)} is already in the inventory"
                    for kind in _UNIQUE
                    if getattr(sim, kind) in taken[kind]
                ]
                if clashes:
                    reject(where, clashes)
                else:
                    rows.append(_row(sim, partner_id, refs, now))
            if outcome.rejected and not skip_invalid:
                # Keep validating to report every bad record, but stop writing.
                if progress:
                    progress(len(batch))
                continue
            await sim_store.insert_many(db, rows)
            apns = [(sim.iccid, apn, None, "No Restriction") for _, sim in good for apn in sim.apns]
            if apns:
                valid = {row[0] for row in rows}
                await sim_store.insert_apns(db, [a for a in apns if a[0] in valid])
            outcome.inserted += len(rows)
            if progress:
                progress(len(batch))
        if outcome.rejected and not skip_invalid:
            raise ImportFailed(outcome.errors, outcome.rejected)
    return outcome
