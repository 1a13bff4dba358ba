"""The operator's catalogue: tariffs, options, materials and profiles."""

from __future__ import annotations

import json

import msgspec

from m2mportal.domain import rules
from m2mportal.domain.errors import bad_request
from m2mportal.models import CatalogItem, NewMaterial, NewOption, NewProfile, NewTariff
from m2mportal.store import catalog as catalog_store
from m2mportal.store.database import Database
from m2mportal.store.sequences import next_id

# Which sequence numbers each table's ids.
_SEQUENCE = {
    "tariffs": "tariff",
    "options": "option",
    "materials": "material",
    "profiles": "profile",
}

NewCatalogItem = NewTariff | NewOption | NewMaterial | NewProfile
_TABLE_OF: dict[type, str] = {
    NewTariff: "tariffs",
    NewOption: "options",
    NewMaterial: "materials",
    NewProfile: "profiles",
}


async def create(db: Database, spec: NewCatalogItem) -> CatalogItem:
    table = _TABLE_OF[type(spec)]
    values = msgspec.structs.asdict(spec)
    if isinstance(spec, NewProfile):
        given = {k: msgspec.json.decode(v) for k, v in spec.rules.items()}
        # The rules engine's shape per kind (domain/rules.py); empty rules never fire.
        if isinstance(problems := rules.parse_rules(spec.kind, given), list):
            raise bad_request(*problems)
        values["rules"] = json.dumps(given)
    async with db.transaction():
        item_id = await next_id(db, _SEQUENCE[table])
        await catalog_store.insert(db, table, {"id": item_id, **values})
    return CatalogItem(id=item_id, name=spec.name)


async def list_items(db: Database, table: str) -> list[CatalogItem]:
    return [
        CatalogItem(id=r["id"], name=r["name"]) for r in await catalog_store.list_all(db, table)
    ]
