"""SIM inventory reads: the list with search and filters, details by ICCID or identifier."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import msgspec
from msgspec import Meta
from starlette.types import Scope

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
    """The request's URL on the configured public address (never the Host header's): its
    path and query as Starlette's ``request.url`` gives them, read from the scope (the URL
    object costs 4 us, a twentieth of a list page's time in process)."""
    return base_url(call.platform.settings) + request_target(call.request.scope)


def request_target(scope: Scope) -> str:
    """The path and query of Starlette's ``URL(scope=scope)``, without building it."""
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    # As Starlette's URL takes it apart: urlsplit removes tabs and line breaks and ends the
    # query at a "#".
    query = urlsplit("?" + scope["query_string"].decode()).query
    return path + (f"?{query}" if query else "")


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
