"""Tenant isolation, generated from the OpenAPI documents: every customer operation is
called by each caller that must not see the victim's data (another partner, a sibling
subunit, a subunit user), by a read-only application and by an event token, with the
victim's real ICCIDs, signupIds and partner ids filled in so a leak would show.

- A foreign partner in the path answers 403; a foreign object under the caller's own path
  answers exactly like an object that never existed (status, error text, and the action
  results once the workflow ran); no answer holds a victim identifier the caller did not
  send; the victim's SIMs, actions and applications are unchanged afterwards.
- The victim's own application gets through with the same filled requests, which proves
  the fill reaches the objects (a request that missed them would pass the probes vacuously).
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from m2mportal import API_BASE
from m2mportal.app import OPERATOR_BASE
from tests.guards.conftest import (
    Caller,
    GuardWorld,
    Objects,
    Operation,
    Request,
    answer_of,
    fill,
    leaked,
    operations,
    request_words,
)
from tests.helpers import error_list

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?Z?")


class Probe:
    """Sends filled requests and collects every problem instead of stopping at the first."""

    def __init__(self, guard: GuardWorld) -> None:
        self.guard = guard
        self.http = guard.world.http
        self.problems: list[str] = []
        self.sent: dict[str, set[str]] = {}

    async def send(self, caller: str, headers: dict[str, str], request: Request) -> httpx.Response:
        self.sent.setdefault(caller, set()).update(request_words(request))
        return await answer_of(
            self.http, request.method, request.path, headers=headers, **request.send_kwargs()
        )

    def fail(self, who: str, request: Request, answer: httpx.Response, why: str) -> None:
        self.problems.append(
            f"{who}: {request.text()} -> {answer.status_code} {answer.text[:300]}: {why}"
        )

    def expect_error(
        self, who: str, request: Request, answer: httpx.Response, codes: tuple[int, ...]
    ) -> None:
        if answer.status_code not in codes:
            self.fail(who, request, answer, f"expected {codes}")
            return
        try:
            error_list(answer, answer.status_code, _status_name(answer.status_code))
        except AssertionError as exc:
            self.fail(who, request, answer, f"not the contract's error body ({exc})")

    def scan(self, caller: Caller, request: Request, answer: httpx.Response) -> None:
        secrets = self.guard.secrets_of(caller.foreign)
        found = leaked(answer, secrets, self.sent.get(caller.name, set()))
        if found:
            self.fail(caller.name, request, answer, f"foreign data in the answer: {found}")


def _status_name(code: int) -> str:
    from http import HTTPStatus

    return HTTPStatus(code).name


def _names_objects(op: Operation, request: Request) -> bool:
    """Whether the operation names objects besides the partner (path or body)."""
    if set(op.path_names()) - {"partnerId"}:
        return True
    return bool(re.search(r'"(iccid|euiccid|imsi|imei|msisdn|signupId)"', str(request.body)))


def _foreign_objects(guard: GuardWorld, caller: Caller, node_objects: Objects) -> Objects:
    """The caller's own partner path naming another partner's objects."""
    home = guard.objects(caller.home)
    return Objects(
        partner_id=home.partner_id,
        sim=node_objects.sim,
        signup_id=node_objects.signup_id,
        client_id=node_objects.client_id,
        subscription_id=node_objects.subscription_id,
        target_partner_id=node_objects.partner_id,
        transaction_id=node_objects.transaction_id,
    )


def _masked(answer: httpx.Response, values: set[str]) -> tuple[int, str]:
    text = answer.text
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, "<id>")
    text = re.sub(r"\b7\d{8}\b", "<signup>", text)  # this answer's own new signupId
    return answer.status_code, TIMESTAMP.sub("<time>", text)


async def _probe_attacker(
    probe: Probe, op: Operation, caller: Caller, pending: list[tuple[Caller, Any, Any, set[str]]]
) -> None:
    guard = probe.guard
    for node in caller.foreign:
        if "partnerId" in op.path_names():
            request = fill(guard, op, guard.objects(node))
            answer = await probe.send(caller.name, caller.headers, request)
            probe.expect_error(caller.name, request, answer, (403,))
            probe.scan(caller, request, answer)
        own = fill(guard, op, guard.objects(caller.home))
        if "partnerId" in op.path_names() and not _names_objects(op, own):
            continue
        foreign = fill(guard, op, _foreign_objects(guard, caller, guard.objects(node)))
        never = fill(guard, op, _foreign_objects(guard, caller, guard.nowhere(caller.home)))
        answer = await probe.send(caller.name, caller.headers, foreign)
        control = await probe.send(caller.name, caller.headers, never)
        probe.scan(caller, foreign, answer)
        if set(op.path_names()) - {"partnerId"}:  # an object in the path: not found
            probe.expect_error(caller.name, foreign, answer, (404,))
        if answer.status_code < 300 and not _names_objects(op, own):
            # An operation outside any partner path must not answer with a foreign object.
            probe.fail(caller.name, foreign, answer, "a foreign object was served")
        values = request_words(foreign) | request_words(never)
        if _masked(answer, values) != _masked(control, values):
            probe.fail(
                caller.name,
                foreign,
                answer,
                f"answers unlike a never-made object ({control.status_code} {control.text[:200]})",
            )
        if answer.status_code == 202 and control.status_code == 202:
            pending.append((caller, answer.json(), control.json(), values))


async def _compare_results(probe: Probe, pending: list[tuple[Caller, Any, Any, set[str]]]) -> None:
    """After the workflow ran: an action on a foreign SIM ends like one on a SIM that never
    existed (same status, same per-SIM error)."""
    for caller, foreign, never, values in pending:
        home = caller.home.partner_id
        answers = []
        for accepted in (foreign, never):
            path = f"{API_BASE}/partners/{home}/sims/actions/{accepted['signupId']}"
            answers.append(await probe.http.get(path, headers=caller.headers))
        request = Request("GET", f"{API_BASE}/partners/{home}/sims/actions/<signupId>", {})
        probe.scan(caller, request, answers[0])
        if _masked(answers[0], values) != _masked(answers[1], values):
            probe.fail(
                caller.name,
                request,
                answers[0],
                f"action on a foreign SIM ended unlike one on a never-made SIM: {answers[1].text}",
            )


async def _victim_state(guard: GuardWorld) -> list[Any]:
    """What the victim tree holds, read through the victim's and the operator's eyes."""
    http, headers = guard.world.http, guard.victim_headers
    state: list[Any] = []
    tree = [guard.victim, guard.unit_one, guard.unit_two]
    for node in tree:
        base = f"{API_BASE}/partners/{node.partner_id}"
        for path in ("", "/sims?size=1000", "/sims/actions?size=1000"):
            answer = await http.get(base + path, headers=headers)
            assert answer.status_code == 200, answer.text
            state.append(answer.json())
        for sim in node.sims:
            answer = await http.get(f"{base}/sims/{sim['iccid']}", headers=headers)
            assert answer.status_code == 200, answer.text
            state.append(answer.json())
        answer = await guard.world.op("GET", f"/partners/{node.partner_id}/applications")
        assert answer.status_code == 200, answer.text
        state.append(answer.json())
    return state


async def test_tenant_matrix(guard: GuardWorld, documents: dict[str, Any]) -> None:
    customer = operations(documents["customer"], "customer")
    probe = Probe(guard)
    await guard.run_actions()  # the world's own actions finish before the snapshot
    before = await _victim_state(guard)
    pending: list[tuple[Caller, Any, Any, set[str]]] = []
    reader = Caller("the victim's read-only application", guard.read_only, guard.victim, [])
    reader.foreign = [guard.other]
    for op in customer:
        assert op.path.startswith(API_BASE), op.label
        for caller in guard.attackers():
            await _probe_attacker(probe, op, caller, pending)
        request = fill(guard, op, guard.objects(guard.victim))
        answer = await probe.send(reader.name, reader.headers, request)
        probe.scan(reader, request, answer)
        if op.writes():
            probe.expect_error(reader.name, request, answer, (403,))
        elif not 200 <= answer.status_code < 300:
            probe.fail(reader.name, request, answer, "a read-only application may read")
        for who, headers in (("an event token", guard.event_headers), ("no token", {})):
            answer = await probe.send(who, headers, request)
            probe.expect_error(who, request, answer, (401, 403))
    await guard.run_actions()
    await _compare_results(probe, pending)
    after = await _victim_state(guard)
    if after != before:
        probe.problems.append("the victim's SIMs, actions or applications changed")
    for op in customer:  # last: the victim's own writes change its state
        request = fill(guard, op, guard.objects(guard.victim))
        answer = await probe.send("victim", guard.victim_headers, request)
        if answer.status_code in (400, 401, 403, 404) or answer.status_code >= 500:
            probe.fail("the victim itself", request, answer, "the filled request misses (FILL)")
    assert not probe.problems, f"{len(probe.problems)} problems:\n" + "\n".join(probe.problems)


async def test_operator_api_refuses_customer_tokens(
    guard: GuardWorld, documents: dict[str, Any]
) -> None:
    """Every operator operation refuses a partner's REST token and an event token."""
    probe = Probe(guard)
    for op in operations(documents["operator"], "operator"):
        assert op.path.startswith(OPERATOR_BASE), op.label
        request = fill(guard, op, guard.objects(guard.victim))
        for who, headers in (
            ("a partner's token", guard.victim_headers),
            ("an event token", guard.event_headers),
            ("no token", {}),
        ):
            answer = await probe.send(who, headers, request)
            probe.expect_error(who, request, answer, (401, 403))
    assert not probe.problems, f"{len(probe.problems)} problems:\n" + "\n".join(probe.problems)
