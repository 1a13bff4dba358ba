"""SIM inventory reads: the list with search and filters, details by ICCID or identifier."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from m2mportal import API_BASE
from m2mportal.domain.errors import bad_request, forbidden
from m2mportal.domain.identifiers import CHECKS, check_iccid, imei_key
from m2mportal.gateway.endpoints import Call
from m2mportal.models import Id, SimDetails, SimSelector, SimStatus
from m2mportal.platform import base_url
from m2mportal.services import sims
from m2mportal.store.sims import SimFilter


class SimListQuery(msgspec.Struct, forbid_unknown_fields=False):
    iccid: str | None = None
    euiccid: str | None = None
    imsi: str | None = None
    imei: str | None = None
    msisdn: str | None = None
    status: SimStatus | None = None
    tariffId: Id | None = None
    subunitId: Id | None = None
    remark: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    page: Annotated[int, Meta(ge=0, le=10_000_000)] = 0
    size: Annotated[int, Meta(ge=1, le=1000)] = 100
    after: str | None = None


def _api_base(call: Call) -> str:
    return base_url(call.platform.settings) + API_BASE


def _public_url(call: Call) -> str:
    """The request's URL on the configured public address (never the Host header's)."""
    url = call.request.url
    return base_url(call.platform.settings) + url.path + (f"?{url.query}" if url.query else "")


async def list_sims(call: Call) -> sims.SimPageAnswer:
    q: SimListQuery = call.query
    assert call.partner_id is not None and call.principal is not None
    problems = [
        f"{kind}: {problem}"
        for kind in ("iccid", "euiccid", "imsi", "imei", "msisdn")
        if (value := getattr(q, kind)) is not None and (problem := CHECKS[kind](value))
    ]
    if q.after is not None and (problem := check_iccid(q.after)):
        problems.append(f"after: {problem}")
    if problems:
        raise bad_request(*problems)
    tree = call.platform.tree
    scope = await tree.descendants(call.partner_id)
    if q.subunitId is not None:
        if q.subunitId not in scope:
            raise forbidden(
                f"subunitId: partner {q.subunitId} is not a subunit of {call.partner_id}"
            )
        scope = await tree.descendants(q.subunitId)
    flt = SimFilter(
        partner_ids=sorted(scope),
        iccid=q.iccid,
        euiccid=q.euiccid,
        imsi=q.imsi,
        imei_key=imei_key(q.imei) if q.imei else None,
        msisdn=q.msisdn,
        status=q.status,
        tariff_id=q.tariffId,
        remark=q.remark,
    )
    platform = call.platform
    return await sims.list_page(
        platform.db, platform.clock, _public_url(call), flt, q.size, q.page, q.after
    )


async def _details(call: Call, kind: str, value: str) -> SimDetails:
    assert call.partner_id is not None
    await call.charge(1)
    platform = call.platform
    scope = await platform.tree.descendants(call.partner_id)
    return await sims.details(
        platform.db, platform.names, platform.clock, _api_base(call), kind, value, scope
    )


async def get_sim(call: Call) -> SimDetails:
    iccid = call.path["iccid"]
    if problem := check_iccid(iccid):
        raise bad_request(f"iccid: {problem}")
    return await _details(call, "iccid", iccid)


async def post_sim_details(call: Call) -> SimDetails:
    kind, value = sims.selector_of(msgspec.structs.asdict(call.body))
    return await _details(call, kind, value)


__all__ = ["SimListQuery", "SimSelector", "get_sim", "list_sims", "post_sim_details"]
