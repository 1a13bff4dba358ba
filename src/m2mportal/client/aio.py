"""The asynchronous client (httpx.AsyncClient). ``sync.py`` is the same API, blocking."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from types import TracebackType
from typing import Any, TypeVar

import httpx

from m2mportal.client import endpoints as ep
from m2mportal.client import engine
from m2mportal.client.config import Credentials
from m2mportal.client.engine import ApiError, Exchange, Req, Send, Session, Wait
from m2mportal.client.events import (
    JSON_LINES,
    STREAM_PATH,
    STREAM_TIMEOUT,
    Event,
    EventState,
    reconnect_pause,
)
from m2mportal.client.paging import FINAL_STATUSES, chunks, next_page
from m2mportal.client.progress import ActionProgress
from m2mportal.domain.pools import PoolsUsage
from m2mportal.domain.transfers import TransferDetails
from m2mportal.models import (
    ActionAccepted,
    ActionPage,
    ActionStatus,
    ActionSummary,
    DryRunResult,
    Partner,
    SimDetails,
    SimListEntry,
    SimPage,
)
from m2mportal.network.models import (
    ClosedSession,
    HlrCheck,
    HlrReset,
    MessageAccepted,
    SessionHistory,
    SimSession,
    SmsEntry,
    SmsHistory,
)

T = TypeVar("T")


class AsyncClient:
    """The customer API of one application. ``credentials`` (or ``base_url``,
    ``client_id``, ``client_secret``, ``token_url``) say where and who; tokens, pacing,
    retries and idempotency keys are handled for every call. A call waits for budget
    room as long as it takes, or at most ``max_wait`` seconds (then ``BudgetError``)."""

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        max_wait: float | None = None,
        **fields: Any,
    ) -> None:
        self.credentials = credentials or Credentials(**fields)
        self.session = Session(self.credentials, max_wait=max_wait)
        self.http = http or httpx.AsyncClient(timeout=timeout)
        self._own_http = http is None

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()

    async def run(self, exchange: Exchange[T]) -> T:
        """Runs one call's steps (engine.py) with this client's HTTP and sleep."""
        answer: httpx.Response | httpx.TransportError | None = None
        try:
            while True:
                step = exchange.send(answer)
                answer = None
                if isinstance(step, Wait):
                    await asyncio.sleep(step.seconds)
                    continue
                answer = await self._send(step)
        except StopIteration as done:
            result: T = done.value
            return result

    async def _send(self, step: Send) -> httpx.Response | httpx.TransportError:
        try:
            return await self.http.request(
                step.method, step.url, params=step.params, json=step.json, data=step.data,
                headers=step.headers,
            )  # fmt: skip
        except httpx.TransportError as error:
            return error

    async def call(self, req: Req[T]) -> T:
        return await self.run(engine.call(self.session, req))

    async def _pages(self, req: Req[Any], by_keyset: bool = False) -> AsyncIterator[Any]:
        following: Req[Any] | None = req
        while following is not None:
            page = await self.call(following)
            for entry in page.content:
                yield entry
            following = next_page(following, page, by_keyset)

    # --- partner -----------------------------------------------------------------------

    async def partner(self, partner_id: int) -> Partner:
        return await self.call(ep.partner(partner_id))

    async def api_usage(self, partner_id: int) -> dict[str, Any]:
        return await self.call(ep.api_usage(partner_id))

    async def pools_usage(self, partner_id: int) -> PoolsUsage:
        return await self.call(ep.pools_usage(partner_id))

    # --- SIMs ----------------------------------------------------------------------------

    async def sims(self, partner_id: int, **filters: Any) -> SimPage:
        """One page of the SIM list (``page``/``size`` or ``after``, search and filters)."""
        return await self.call(ep.sims(partner_id, **filters))

    def iter_sims(self, partner_id: int, **filters: Any) -> AsyncIterator[SimListEntry]:
        """Every SIM matching the filters, page after page by keyset."""
        filters.setdefault("size", 1000)
        return self._pages(ep.sims(partner_id, **filters), by_keyset=True)

    async def sim(self, partner_id: int, iccid: str) -> SimDetails:
        return await self.call(ep.sim(partner_id, iccid))

    async def sim_by(self, partner_id: int, **identifier: str) -> SimDetails:
        """Details by one identifier: ``sim_by(p, imsi="...")``."""
        return await self.call(ep.sim_by(partner_id, **identifier))

    # --- network -------------------------------------------------------------------------

    async def session_of(
        self, partner_id: int, iccid: str | None = None, parallel_sessions: bool = False,
        **identifier: str,
    ) -> SimSession:  # fmt: skip
        if iccid is not None:
            return await self.call(ep.session(partner_id, iccid, parallel_sessions))
        return await self.call(ep.session_by(partner_id, parallel_sessions, **identifier))

    async def session_history(
        self, partner_id: int, iccid: str | None = None, **options: Any
    ) -> SessionHistory:
        """One page; ``date_from``, ``date_to``, ``page``, ``size``; or ``msisdn=...``."""
        return await self.call(ep.session_history(partner_id, iccid, **options))

    def iter_session_history(
        self, partner_id: int, iccid: str | None = None, **options: Any
    ) -> AsyncIterator[ClosedSession]:
        return self._pages(ep.session_history(partner_id, iccid, **options))

    async def sms_history(
        self, partner_id: int, iccid: str | None = None, **options: Any
    ) -> SmsHistory:
        return await self.call(ep.sms_history(partner_id, iccid, **options))

    def iter_sms_history(
        self, partner_id: int, iccid: str | None = None, **options: Any
    ) -> AsyncIterator[SmsEntry]:
        return self._pages(ep.sms_history(partner_id, iccid, **options))

    async def send_sms(
        self, partner_id: int, iccid: str | None, message: str,
        validity_minutes: int | None = None, **identifier: str,
    ) -> MessageAccepted:  # fmt: skip
        return await self.call(
            ep.send_sms(partner_id, iccid, message, validity_minutes, **identifier)
        )

    async def hlr_check(
        self, partner_id: int, iccid: str | None = None, **identifier: str
    ) -> HlrCheck:
        return await self.call(ep.hlr_check(partner_id, iccid, **identifier))

    async def hlr_reset(
        self, partner_id: int, iccid: str | None = None, **identifier: str
    ) -> HlrReset:
        return await self.call(ep.hlr_reset(partner_id, iccid, **identifier))

    # --- actions ---------------------------------------------------------------------------

    async def run_action(
        self, partner_id: int, action: str, sims: Iterable[ep.SimRef],
        idempotency_key: str | None = None, **params: Any,
    ) -> ActionAccepted:  # fmt: skip
        """One action of 1 to 1,000 SIMs (``params``: its extra fields, e.g.
        ``tariff_id=...``); an Idempotency-Key is sent (made up unless given)."""
        return await self.call(ep.action(partner_id, action, sims, params, idempotency_key))

    async def submit(
        self, partner_id: int, action: str, sims: Iterable[ep.SimRef], **params: Any
    ) -> list[ActionAccepted]:
        """Any number of SIMs: as many actions as it takes (at most 1,000 SIMs each, and
        no more than the partner's smallest ``actions`` window), each sent when the
        budget has room for it."""
        entries = list(sims)
        largest = await self.run(engine.largest_call(self.session, partner_id, "actions"))
        size = min(ep.MAX_SIMS_PER_ACTION, largest or ep.MAX_SIMS_PER_ACTION)
        return [
            await self.run_action(partner_id, action, part, **params)
            for part in chunks(entries, size)
        ]

    async def dry_run(
        self, partner_id: int, action: str, sims: Iterable[ep.SimRef], **params: Any
    ) -> DryRunResult:
        return await self.call(ep.dry_run(partner_id, action, sims, params))

    async def action(self, partner_id: int, signup_id: int) -> ActionStatus:
        return await self.call(ep.action_status(partner_id, signup_id))

    async def actions(self, partner_id: int, **filters: Any) -> ActionPage:
        return await self.call(ep.actions(partner_id, **filters))

    def iter_actions(self, partner_id: int, **filters: Any) -> AsyncIterator[ActionSummary]:
        return self._pages(ep.actions(partner_id, **filters))

    async def cancel_action(self, partner_id: int, signup_id: int) -> ActionStatus:
        return await self.call(ep.cancel_action(partner_id, signup_id))

    async def wait_for_action(
        self, partner_id: int, signup_id: int, *, timeout: float | None = None,
        progress: bool = False, poll_seconds: float = 0.2, console: Any = None,
    ) -> ActionStatus:  # fmt: skip
        """Polls the action until it has ended (Done, Partially Done, Failed, Cancelled);
        ``progress`` shows a rich progress bar. ``TimeoutError`` after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = poll_seconds
        with ActionProgress(progress, signup_id, console) as bar:
            while True:
                status = await self.action(partner_id, signup_id)
                bar.update(status)
                if status.status in FINAL_STATUSES:
                    return status
                if deadline is not None and time.monotonic() + pause > deadline:
                    raise TimeoutError(f"action {signup_id} is still {status.status}")
                await asyncio.sleep(pause)
                pause = min(pause * 1.5, 2.0)

    # --- transfers and orders ----------------------------------------------------------

    async def transfer_sims(
        self, partner_id: int, sims: Iterable[ep.SimRef], target_partner_id: int,
        message: str = "", idempotency_key: str | None = None,
    ) -> ActionAccepted:  # fmt: skip
        """Offers SIMs to another partner (the answer carries the ``transaction_id``)."""
        return await self.run_action(
            partner_id, "simtransfer", sims, idempotency_key,
            target_partner_id=target_partner_id, message=message,
        )  # fmt: skip

    async def transfer(self, partner_id: int, transaction_id: int) -> TransferDetails:
        return await self.call(ep.transfer(partner_id, transaction_id))

    async def decide_transfer(
        self, partner_id: int, transaction_id: int, status: str,
        subunit_partner_id: int | None = None,
    ) -> TransferDetails:  # fmt: skip
        """``Accepted`` or ``Rejected`` (receiver), ``Cancelled`` (sender)."""
        return await self.call(
            ep.decide_transfer(partner_id, transaction_id, status, subunit_partner_id)
        )

    async def order(
        self, partner_id: int, material_id: int, quantity: int,
        tariff_id: int | None = None, override_moq: bool = False,
    ) -> ActionAccepted:  # fmt: skip
        return await self.call(ep.order(partner_id, material_id, quantity, tariff_id, override_moq))

    # --- events --------------------------------------------------------------------------

    def events(
        self, subscription_id: str, last_event_id: str | None = None,
        credentials: Credentials | None = None,
    ) -> AsyncEventConsumer:  # fmt: skip
        """A consumer of the subscription's stream, with the event credentials (the
        given ones, or this client's ``event_client_id``/``event_client_secret``)."""
        return AsyncEventConsumer(
            credentials or self.credentials.for_events(), subscription_id, last_event_id,
            http=self.http,
        )  # fmt: skip


class AsyncEventConsumer:
    """``async for event in consumer``: every event of the subscription once, in order,
    across stream ends, network faults and server restarts (see events.py)."""

    def __init__(
        self, credentials: Credentials, subscription_id: str,
        last_event_id: str | None = None, *, http: httpx.AsyncClient | None = None,
        max_failures: int | None = None,
    ) -> None:  # fmt: skip
        self.subscription_id = subscription_id
        self.state = EventState(last_event_id)
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=None))
        self.max_failures = max_failures
        self.connections = 0  # streams opened
        self.faults = 0  # connections that failed or broke off
        self._client = AsyncClient(credentials, http=self.http)
        self.session = self._client.session

    @property
    def last_event_id(self) -> str | None:
        return self.state.last_event_id

    async def terminate(self) -> None:
        """Ends the subscription's open stream on the server (``POST .../terminate``)."""
        await self._client.call(
            Req("POST", f"{STREAM_PATH}/{self.subscription_id}/terminate", None, absolute=True)
        )

    async def __aiter__(self) -> AsyncIterator[Event]:
        url = self.session.credentials.base_url.rstrip("/") + f"{STREAM_PATH}/"
        failures = 0
        renewed = False
        while True:
            if failures:
                if self.max_failures is not None and failures > self.max_failures:
                    raise ConnectionError(f"stream {self.subscription_id}: gave up")
                await asyncio.sleep(reconnect_pause(failures))
            token = await self._client.run(
                engine.token_exchange(self.session, force=renewed and failures == 1)
            )
            headers = {"Authorization": f"Bearer {token}", "Accept": JSON_LINES}
            if self.state.last_event_id:
                headers["Last-Event-ID"] = self.state.last_event_id
            try:
                async with self.http.stream(
                    "GET", url + self.subscription_id, headers=headers, timeout=STREAM_TIMEOUT
                ) as answer:
                    self.connections += 1
                    if answer.status_code != 200:
                        await answer.aread()
                        if answer.status_code == 401 and not renewed:
                            renewed, failures = True, 1
                            continue
                        if answer.status_code < 500:
                            raise ApiError(answer)
                        failures += 1
                        continue
                    failures, renewed = 0, False
                    async for line in answer.aiter_lines():
                        event = self.state.accept(line)
                        if event is not None:
                            yield event
            except httpx.TransportError:
                self.faults += 1
                failures += 1
