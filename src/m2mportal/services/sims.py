"""Reading the SIM inventory: details by any identifier, the filtered and paged list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec

from m2mportal.clock import Clock
from m2mportal.domain.errors import bad_request, not_found
from m2mportal.domain.identifiers import CHECKS, lookup_value
from m2mportal.models import (
    Apn,
    BindingPeriod,
    Link,
    Model,
    OptionRef,
    PageInfo,
    ProfileRef,
    Profiles,
    Remarks,
    SimAggregatedData,
    SimDetails,
    SimListEntry,
    SimPage,
    TariffRef,
)
from m2mportal.services.catalog_names import CatalogNames
from m2mportal.store import sims as sim_store
from m2mportal.store.database import Database


# A referenced catalogue entry with its name; an id the catalogue does not name gets an
# empty name, as the joins these names replaced gave it.
def _ref(id_: int | None, names: dict[int, str]) -> ProfileRef | None:
    return ProfileRef(id=id_, name=names.get(id_, "")) if id_ is not None else None


def _tariff(id_: int | None, names: dict[int, str]) -> TariffRef | None:
    return TariffRef(id=id_, name=names.get(id_, "")) if id_ is not None else None


def _rows(found: str | list[tuple[Any, ...]] | None) -> Sequence[Sequence[Any]]:
    """A SIM's options or APNs as the store read them: JSON text (SQLite) or a list of
    tuples (PostgreSQL); None or empty when there are none."""
    if isinstance(found, str):
        rows: list[list[Any]] = msgspec.json.decode(found)
        return rows
    return found or ()


_DETAIL_ORDER = (
    "iccid", "euiccid", "imsi", "msisdn", "imei", "partner_id", "sim_type", "status",
    "productive", "activation_date", "termination_date", "binding_months", "binding_end",
    "tariff_id", "limit_profile_id", "fraud_profile_id", "cost_limit_profile_id",
    "restriction_status", "limit_status", "fraud_status", "remark1", "remark2", "remark3",
    "remark4", "remark5", "activation_code", "eid_profile_status", "usage_month",
    "data_bytes", "sms_mo", "sms_mt", "voice_seconds", "session_count", "last_session_at",
    "material_id", "options", "apns",
)  # fmt: skip
assert _DETAIL_ORDER == sim_store.DETAIL_FIELDS, "details unpacks the store's detail columns"


# The answer is built with positional arguments (details): the field order each call
# relies on, checked when the module loads.
_POSITIONAL: dict[Any, tuple[str, ...]] = {
    SimDetails: (
        "iccid", "euiccid", "imsi", "msisdn", "imei", "partner_id", "sim_type", "material",
        "status", "productive", "activation_date", "termination_date", "binding_period",
        "tariff", "options", "profiles", "apns", "restriction_status", "limit_status",
        "fraud_status", "remarks", "activation_code", "eid_profile_status",
        "sim_aggregated_data", "links",
    ),
    BindingPeriod: ("months", "end_date"),
    OptionRef: ("id", "name", "booked_at"),
    Profiles: ("limit_profile", "fraud_profile", "cost_limit_profile"),
    Apn: ("name", "static_ip", "restriction_status"),
    Remarks: ("remark1", "remark2", "remark3", "remark4", "remark5"),
    SimAggregatedData: (
        "data_bytes", "sms_mo", "sms_mt", "voice_seconds", "sessions", "last_session_at"
    ),
    Link: ("rel", "href", "type", "name"),
}  # fmt: skip
for _struct, _order in _POSITIONAL.items():
    assert _struct.__struct_fields__ == _order, f"{_struct.__name__}: details passes {_order}"


async def details(
    db: Database,
    names: CatalogNames,
    clock: Clock,
    base: str,
    kind: str,
    value: str,
    partner_ids: frozenset[int],
) -> SimDetails:
    """One SIM by an identifier, searched only among ``partner_ids`` (404 otherwise)."""
    column = sim_store.LOOKUP_COLUMN[kind]
    row = await sim_store.find(db, column, lookup_value(kind, value), partner_ids)
    if row is None:
        raise not_found(f"{kind} {value}: no SIM with this identifier")
    # By position (the store's DETAIL_FIELDS): a dict of the values and a lookup per
    # field cost 3 of a GET SIM details' 47 us in process.
    (iccid, euiccid, imsi, msisdn, imei, partner_id, sim_type, status, productive,
     activation_date, termination_date, binding_months, binding_end, tariff_id,
     limit_profile_id, fraud_profile_id, cost_limit_profile_id, restriction_status,
     limit_status, fraud_status, remark1, remark2, remark3, remark4, remark5,
     activation_code, eid_profile_status, usage_month, data_bytes, sms_mo, sms_mt,
     voice_seconds, session_count, last_session_at, material_id, options,
     apns) = row  # fmt: skip
    booked = _rows(options)
    profile_ids = (limit_profile_id, fraud_profile_id, cost_limit_profile_id)
    if names.missing((tariff_id,), (o[0] for o in booked), (material_id,), profile_ids):
        await names.refresh()
    profiles, option_names = names.profiles, names.options
    # Counters hold the month named in usage_month; an older month reads as zero.
    current = usage_month == clock.month()
    sim_path = f"{base}/partners/{partner_id}/sims/{iccid}"
    # Positional, in the field orders _POSITIONAL checks: msgspec matches keyword arguments
    # name by name (SimDetails' 25 cost five times the call; 6.6 -> 4.7 us for the whole).
    return SimDetails(
        iccid, euiccid, imsi, msisdn, imei, partner_id, sim_type,
        names.materials.get(material_id) if material_id is not None else None,
        status, bool(productive), activation_date, termination_date,
        BindingPeriod(binding_months, binding_end),
        _tariff(tariff_id, names.tariffs),
        # A booked option is a catalogue entry (sim_options' foreign key, both databases).
        [OptionRef(id_, option_names.get(id_, ""), booked_at) for id_, booked_at in booked],
        Profiles(
            _ref(limit_profile_id, profiles),
            _ref(fraud_profile_id, profiles),
            _ref(cost_limit_profile_id, profiles),
        ),
        [Apn(name, static_ip, restriction) for name, static_ip, restriction in _rows(apns)],
        restriction_status, limit_status, fraud_status,
        Remarks(remark1, remark2, remark3, remark4, remark5),
        activation_code, eid_profile_status,
        SimAggregatedData(
            int(data_bytes or 0) if current else 0,
            int(sms_mo or 0) if current else 0,
            int(sms_mt or 0) if current else 0,
            int(voice_seconds or 0) if current else 0,
            int(session_count or 0) if current else 0,
            last_session_at,
        ),
        [
            Link("self", sim_path, "GET", "get SIM details"),
            Link("session", sim_path + "/session", "GET", "get SIM session"),
            Link("sessionHistory", sim_path + "/sessionhistory", "GET", "get SIM session history"),
            Link("smsHistory", sim_path + "/smshistory", "GET", "get SMS history"),
            Link("actions", f"{base}/partners/{partner_id}/sims/actions", "GET",
                 "get SIM action list"),
        ],
    )  # fmt: skip


def selector_of(raw: dict[str, Any]) -> tuple[str, str]:
    """The single identifier of a POST body, validated; 400 naming the field otherwise."""
    given = [(k, v) for k, v in raw.items() if v is not None]
    if len(given) != 1:
        raise bad_request("body: exactly one of iccid, euiccid, imsi, imei, msisdn is required")
    kind, value = given[0]
    problem = CHECKS[kind](value)
    if problem:
        raise bad_request(f"{kind}: {problem}")
    return kind, value


class SimPageAnswer(Model):
    """A SimPage as the list answers it: the entries come from the database as JSON text
    (store/sims.py) and go out as they are, the same bytes msgspec writes for the SimPage
    (tests/test_sim_list_entry.py)."""

    content: msgspec.Raw
    page: PageInfo
    links: list[Link]

    def entries(self) -> list[SimListEntry]:
        """The entries as structs (the portal shows them)."""
        return msgspec.json.decode(self.content, type=list[SimListEntry])


assert SimPageAnswer.__struct_fields__ == SimPage.__struct_fields__


def list_entry(entry: SimListEntry) -> str:
    """A new SIM's entry as sims.list_entry holds it, for the bulk insert to bring along:
    the JSON msgspec writes for it, without data volume (migration 0009's triggers write
    the same text for any SIM changed later)."""
    assert entry.data_consumption == 0
    return msgspec.json.encode(entry).decode()


def _content(page: sim_store.ListPage) -> msgspec.Raw:
    return msgspec.Raw(f"[{page.entries}]".encode())


async def list_page(
    db: Database,
    clock: Clock,
    url: str,
    flt: sim_store.SimFilter,
    size: int,
    page: int,
    after: str | None,
) -> SimPageAnswer:
    """A page of SIMs: offset paging with totals, or keyset (``after``) without them."""
    month = clock.month()
    if after is not None:
        found = await sim_store.list_page(db, flt, month, size + 1, after=after)
        links = [Link(rel="self", href=url)]
        if found.count > size:
            found = found.without_last()
            links.append(Link(rel="next", href=_with(url, after=found.last_iccid())))
        return SimPageAnswer(content=_content(found), page=PageInfo(size=size), links=links)
    found = await sim_store.list_page(db, flt, month, size, offset=page * size)
    total = await sim_store.count(db, flt)
    pages = (total + size - 1) // size
    links = [Link(rel="self", href=url)]
    if page + 1 < pages:
        links.append(Link(rel="next", href=_with(url, page=str(page + 1))))
    if found.count:
        links.append(Link(rel="nextKeyset", href=_with(url, after=found.last_iccid(), page=None)))
    return SimPageAnswer(
        content=_content(found),
        page=PageInfo(size=size, number=page, total_elements=total, total_pages=pages),
        links=links,
    )


def _with(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return urlunsplit(parts._replace(query=urlencode(query)))
