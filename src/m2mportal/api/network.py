"""The network's customer calls: session, session history, SMS history (GET by ICCID and
POST by identifier), send message and HLR check/reset. Rules in services/network.py."""

from __future__ import annotations

from typing import Any

from m2mportal.domain.errors import ApiError, bad_request
from m2mportal.domain.identifiers import check_iccid
from m2mportal.domain.usage import HISTORY_DEFAULT_DAYS, HISTORY_MAX_DAYS
from m2mportal.gateway.endpoints import Call
from m2mportal.models import Link
from m2mportal.network.models import (
    HlrCheck,
    HlrReset,
    MessageAccepted,
    SessionHistory,
    SimSession,
    SmsHistory,
)
from m2mportal.services import network
from m2mportal.store.database import Row


def _path_sim(call: Call) -> tuple[str, str]:
    iccid = call.path["iccid"]
    if problem := check_iccid(iccid):
        raise bad_request(f"iccid: {problem}")
    return "iccid", iccid


def _body_sim(call: Call) -> tuple[str, str]:
    return network.selector_of({"iccid": call.body.iccid, "msisdn": call.body.msisdn})


async def _find(call: Call, kind: str, value: str) -> Row:
    """The SIM in the caller's scope. A SIM that is not there costs 1, as for details
    (docs/api.md "Protective measures"); a found one is charged once the rest is valid."""
    assert call.partner_id is not None
    scope = sorted(await call.platform.tree.descendants(call.partner_id))
    try:
        return await network.find(call.platform.db, kind, value, scope)
    except ApiError:
        await call.charge(1)
        raise


async def _session(call: Call, selected: tuple[str, str], parallel: bool) -> SimSession:
    sim = await _find(call, *selected)
    if parallel:
        await network.check_parallel(call.platform.db, sim)
    await call.charge(1)
    return await network.session(call.platform.db, sim, parallel)


async def get_sim_session(call: Call) -> SimSession:
    return await _session(call, _path_sim(call), call.query.parallelSessions)


async def post_sim_session(call: Call) -> SimSession:
    return await _session(call, _body_sim(call), call.body.parallel_sessions)


def _links(call: Call, page: int, total_pages: int) -> list[Link]:
    """``self``, and for a GET with more pages ``next`` (a POST sends ``page`` again)."""
    url = call.request.url
    links = [Link(rel="self", href=str(url), type=call.request.method)]
    if call.request.method == "GET" and page + 1 < total_pages:
        links.append(Link(rel="next", href=str(url.include_query_params(page=page + 1))))
    return links


async def _history(
    call: Call,
    selected: tuple[str, str],
    date_from: str | None,
    date_to: str | None,
    page: int,
    size: int,
    sms: bool,
) -> Any:
    p = call.platform
    # Without dates the SMS history is everything kept (92 days), the session history
    # the last 7 days (seed 3.5.1).
    default_days = HISTORY_MAX_DAYS if sms else HISTORY_DEFAULT_DAYS
    start, end = network.check_window(p.clock, date_from, date_to, default_days)
    sim = await _find(call, *selected)
    await call.charge(1)
    if sms:
        answer: Any = await network.sms_history(p.db, p.clock, sim, start, end, page, size)
    else:
        answer = await network.session_history(p.db, sim, start, end, page, size)
    answer.links = _links(call, page, answer.page.total_pages or 0)
    return answer


async def get_session_history(call: Call) -> SessionHistory:
    q = call.query
    result: SessionHistory = await _history(
        call, _path_sim(call), q.dateFrom, q.dateTo, q.page, q.size, sms=False
    )
    return result


async def post_session_history(call: Call) -> SessionHistory:
    b = call.body
    result: SessionHistory = await _history(
        call, _body_sim(call), b.date_from, b.date_to, b.page, b.size, sms=False
    )
    return result


async def get_sms_history(call: Call) -> SmsHistory:
    q = call.query
    result: SmsHistory = await _history(
        call, _path_sim(call), q.dateFrom, q.dateTo, q.page, q.size, sms=True
    )
    return result


async def post_sms_history(call: Call) -> SmsHistory:
    b = call.body
    result: SmsHistory = await _history(
        call, _body_sim(call), b.date_from, b.date_to, b.page, b.size, sms=True
    )
    return result


async def _send(call: Call, selected: tuple[str, str]) -> MessageAccepted:
    network.check_message(call.body.message)
    sim = await _find(call, *selected)
    network.require_active(sim)
    await call.charge(1)
    return await network.send_message(
        call.platform.db, call.platform.clock, sim, call.body.validity_minutes, call.platform.bus
    )


async def send_message(call: Call) -> MessageAccepted:
    return await _send(call, _path_sim(call))


async def send_message_by_identifier(call: Call) -> MessageAccepted:
    return await _send(call, _body_sim(call))


async def _hlr_check(call: Call, selected: tuple[str, str]) -> HlrCheck:
    sim = await _find(call, *selected)
    await call.charge(1)
    return await network.hlr_check(call.platform.db, sim)


async def check_hlr(call: Call) -> HlrCheck:
    return await _hlr_check(call, _path_sim(call))


async def check_hlr_by_identifier(call: Call) -> HlrCheck:
    return await _hlr_check(call, _body_sim(call))


async def _hlr_reset(call: Call, selected: tuple[str, str]) -> HlrReset:
    sim = await _find(call, *selected)
    await call.charge(1)
    return await network.hlr_reset(call.platform.db, call.platform.clock, sim, call.platform.bus)


async def reset_hlr(call: Call) -> HlrReset:
    return await _hlr_reset(call, _path_sim(call))


async def reset_hlr_by_identifier(call: Call) -> HlrReset:
    return await _hlr_reset(call, _body_sim(call))
