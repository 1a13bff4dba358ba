"""The demo partner that ``make run`` seeds: subunits, catalogue, SIMs, applications."""

from __future__ import annotations

from dataclasses import dataclass

from m2mportal.models import NewApplication, NewOption, NewProfile, NewSim, NewTariff, Remarks
from m2mportal.platform import Platform
from m2mportal.services import applications, catalog, inventory, partners
from m2mportal.services.applications import subscription_url
from m2mportal.store import applications as app_store
from m2mportal.store import partners as partner_store
from m2mportal.synthetic import records
from m2mportal.vault import hash_password, new_secret

DEMO_NAME = "Telekom Main Test Company"
DEMO_USER = "demo"


@dataclass
class DemoCredentials:
    partner_id: int
    subunits: list[int]
    client_id: str
    client_secret: str
    event_client_id: str
    event_client_secret: str
    # The demo application's stream of SIM action events, and its event type.
    subscription_url: str
    subscription_type: str
    read_only_client_id: str
    read_only_client_secret: str
    operator_client_id: str
    operator_client_secret: str
    portal_user: str
    portal_password: str
    sample_iccid: str


async def _find_demo(platform: Platform) -> int | None:
    for row in await partner_store.all_partners(platform.db):
        if row["name"] == DEMO_NAME and row["parent_id"] is None:
            return int(row["id"])
    return None


async def seed(platform: Platform, sim_count: int = 3000) -> int:
    """Create the demo partner unless it exists; returns its id."""
    existing = await _find_demo(platform)
    if existing is not None:
        return existing
    db, tree, clock = platform.db, platform.tree, platform.clock
    pid = await partners.create(db, tree, clock, DEMO_NAME, None)
    north = await partners.create(db, tree, clock, "Telekom Main Test Company - North", pid)
    south = await partners.create(db, tree, clock, "Telekom Main Test Company - South", pid)
    basic = await catalog.create(db, NewTariff(name="IoT Basic 50 MB", binding_months=12))
    large = await catalog.create(db, NewTariff(name="IoT Data 1 GB", binding_months=24))
    await catalog.create(db, NewOption(name="Parallel Sessions"))
    await catalog.create(db, NewOption(name="Static IP"))
    await catalog.create(db, NewProfile(kind="limit", name="Standard session limit"))
    await catalog.create(db, NewProfile(kind="fraud", name="Device and location fraud"))
    await catalog.create(db, NewProfile(kind="costLimit", name="SMS cost limit"))
    sims = (
        (
            f"record {i}",
            NewSim(
                iccid=r["iccid"],
                imsi=r["imsi"],
                msisdn=r["msisdn"],
                imei=r["imei"],
                euiccid=r["euiccid"],
                sim_type=r["sim_type"],
                status=r["status"],
                productive=r["productive"],
                tariff_id=r["tariff_id"],
                subunit_id=r["subunit_id"],
                remarks=Remarks(remark1=r["remark1"], remark2=r["remark2"]),
                apns=["b2b.dtag.test"] if r["status"] != "Inactive" else [],
            ),
        )
        for i, r in enumerate(
            records(sim_count, tariff_ids=(basic.id, large.id), subunits=(None, north, south)),
            start=1,
        )
    )
    await inventory.add_sims(db, tree, clock, pid, sims)
    await applications.register(platform, pid, NewApplication(name="demo-app"))
    await applications.register(platform, pid, NewApplication(name="demo-readonly", read_only=True))
    await applications.create_operator_client(platform, "demo-operator")
    await partners.create_portal_user(db, clock, pid, DEMO_USER, new_secret(12))
    return pid


async def find(platform: Platform) -> int | None:
    """The demo partner's id, if it was seeded."""
    return await _find_demo(platform)


async def credentials(
    platform: Platform, partner_id: int, reset_password: bool = True
) -> DemoCredentials:
    """The demo's credentials, read back (secrets are stored encrypted, not hashed) and a
    fresh portal password (passwords are hashed, so it is reset on each start; without
    ``reset_password`` it stays as it is and is not shown)."""
    db, vault = platform.db, platform.vault
    apps = {row["name"]: row for row in await app_store.list_for_partner(db, partner_id)}
    operator = await db.fetch_one(
        "SELECT client_id, secret_enc FROM applications WHERE role = 'operator' AND name = :n",
        {"n": "demo-operator"},
    )
    assert operator is not None
    password = ""
    if reset_password:
        password = new_secret(12)
        await partner_store.set_password(db, DEMO_USER, hash_password(password))
    demo_app = apps["demo-app"]
    subs = {
        row["event_type"]: row["id"]
        for row in await app_store.subscriptions_of(db, demo_app["client_id"])
    }
    event_type = "simaction.v1" if "simaction.v1" in subs else min(subs)
    sample = await db.fetch_val(
        "SELECT iccid FROM sims WHERE partner_id = :p AND status = 'Active' ORDER BY iccid LIMIT 1",
        {"p": partner_id},
    )
    return DemoCredentials(
        partner_id=partner_id,
        subunits=sorted((await platform.tree.descendants(partner_id)) - {partner_id}),
        client_id=demo_app["client_id"],
        client_secret=vault.decrypt(demo_app["secret_enc"]),
        event_client_id=demo_app["event_client_id"],
        event_client_secret=vault.decrypt(demo_app["event_secret_enc"]),
        subscription_url=subscription_url(platform.settings, subs[event_type]),
        subscription_type=event_type,
        read_only_client_id=apps["demo-readonly"]["client_id"],
        read_only_client_secret=vault.decrypt(apps["demo-readonly"]["secret_enc"]),
        operator_client_id=operator["client_id"],
        operator_client_secret=vault.decrypt(operator["secret_enc"]),
        portal_user=DEMO_USER,
        portal_password=password,
        sample_iccid=sample or "",
    )
