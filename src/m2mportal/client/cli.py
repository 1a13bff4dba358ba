"""`m2mportal api ...`: the customer's command line over the SDK (the operator commands
are in m2mportal/cli.py). Credentials come from ``M2M_*`` variables or a profile file;
answers print as tables, or as the API's JSON with ``--json``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from m2mportal.client.config import PROFILE_FILE, ConfigError, Credentials
from m2mportal.client.engine import ApiError, AuthError, BudgetError, ConnectionFailed
from m2mportal.client.sync import Client

api_app = typer.Typer(
    help="The customer API through the SDK (credentials: M2M_BASE_URL, M2M_CLIENT_ID,"
    " M2M_CLIENT_SECRET, M2M_PARTNER_ID, ... or a profile in"
    f" {PROFILE_FILE}).",
    no_args_is_help=True,
)
sims_app = typer.Typer(help="SIMs: list, details, session, histories.", no_args_is_help=True)
actions_app = typer.Typer(help="SIM actions: run, show, wait, cancel.", no_args_is_help=True)
events_app = typer.Typer(help="Event streams.", no_args_is_help=True)
api_app.add_typer(sims_app, name="sims")
api_app.add_typer(actions_app, name="actions")
api_app.add_typer(events_app, name="events")

out = Console()
err = Console(stderr=True)

JsonOpt = typer.Option(False, "--json", help="Print the API's JSON instead of a table.")


class _Where:
    profile: str | None = None
    profile_file: Path | None = None
    partner_id: int | None = None


_where = _Where()


@api_app.callback()
def _options(
    profile: str | None = typer.Option(
        None, "--profile", help="A profile of the profile file instead of M2M_* variables."
    ),
    profile_file: Path | None = typer.Option(
        None, "--profile-file", help=f"The profile file (default {PROFILE_FILE})."
    ),
    partner: int | None = typer.Option(
        None, "--partner", help="The partner to act for (default: M2M_PARTNER_ID / profile)."
    ),
) -> None:
    _where.profile, _where.profile_file, _where.partner_id = profile, profile_file, partner


def _fail(message: str) -> NoReturn:
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _credentials() -> Credentials:
    """Environment first; a profile when asked for, or when the environment has none."""
    import os

    try:
        if _where.profile is None and os.environ.get("M2M_BASE_URL"):
            return Credentials.from_env()
        return Credentials.from_profile(_where.profile or "default", _where.profile_file)
    except ConfigError as exc:
        _fail(f"{exc} (set M2M_BASE_URL, M2M_CLIENT_ID, M2M_CLIENT_SECRET or use --profile)")


@contextmanager
def _client() -> Iterator[tuple[Client, int]]:
    creds = _credentials()
    partner = _where.partner_id or creds.partner_id
    if partner is None:
        _fail("no partner: set M2M_PARTNER_ID, partner_id in the profile, or --partner")
    try:
        with Client(creds) as client:
            yield client, partner
    except ApiError as exc:  # AuthError too
        kind = "token endpoint" if isinstance(exc, AuthError) else "API"
        _fail(f"{kind} answered {exc.status_code} {exc.status}: {exc.message} {exc.errors}")
    except (BudgetError, ConnectionFailed, TimeoutError) as exc:
        _fail(str(exc))


def _json(value: Any) -> None:
    sys.stdout.write(msgspec.json.encode(value).decode() + "\n")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, msgspec.Struct):
        return json.dumps(msgspec.to_builtins(value))
    if isinstance(value, list | dict):
        return json.dumps(msgspec.to_builtins(value))
    return str(value)


def _record(title: str, value: msgspec.Struct) -> None:
    """One resource as a two-column table of its fields (camelCase, as the API)."""
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for name, field_value in msgspec.to_builtins(value).items():
        table.add_row(name, _cell(field_value))
    out.print(table)


def _rows(title: str, columns: list[str], rows: list[dict[str, Any]]) -> None:
    table = Table(title=title)
    for index, column in enumerate(columns):
        # The first column is the row's identifier (an ICCID): never broken over lines.
        table.add_column(column, no_wrap=index == 0)
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    out.print(table)


# --- sims ------------------------------------------------------------------------------------

SIM_COLUMNS = ["iccid", "status", "imsi", "msisdn", "tariff", "dataConsumption"]


@sims_app.command("list")
def sims_list(
    status: str | None = typer.Option(None, help="Active, Inactive, Suspended, ..."),
    iccid: str | None = typer.Option(None),
    imsi: str | None = typer.Option(None),
    msisdn: str | None = typer.Option(None),
    remark: str | None = typer.Option(None, help="A substring of a remark."),
    subunit: int | None = typer.Option(None, "--subunit", help="Only this subunit's SIMs."),
    size: int = typer.Option(100, help="SIMs per page (at most 1,000)."),
    every: bool = typer.Option(False, "--all", help="Every matching SIM, page after page."),
    as_json: bool = JsonOpt,
) -> None:
    """The partner's SIMs (one page, or --all)."""
    filters = {"status": status, "iccid": iccid, "imsi": imsi, "msisdn": msisdn,
               "remark": remark, "subunit_id": subunit, "size": size}  # fmt: skip
    with _client() as (api, partner):
        if every:
            entries = list(api.iter_sims(partner, **filters))
        else:
            entries = api.sims(partner, **filters).content
    if as_json:
        _json(entries)
        return
    rows = [msgspec.to_builtins(e) for e in entries]
    for row in rows:
        row["tariff"] = (row.get("tariff") or {}).get("name")
    _rows(f"SIMs of partner {partner}", SIM_COLUMNS, rows)


@sims_app.command("show")
def sims_show(iccid: str, as_json: bool = JsonOpt) -> None:
    """One SIM's details."""
    with _client() as (api, partner):
        details = api.sim(partner, iccid)
    _json(details) if as_json else _record(f"SIM {iccid}", details)


@sims_app.command("session")
def sims_session(
    iccid: str,
    parallel: bool = typer.Option(False, "--parallel", help="Every open session."),
    as_json: bool = JsonOpt,
) -> None:
    """Whether the SIM is online, and its current data session."""
    with _client() as (api, partner):
        session = api.session_of(partner, iccid, parallel_sessions=parallel)
    _json(session) if as_json else _record(f"Session of {iccid}", session)


@sims_app.command("history")
def sims_history(
    iccid: str,
    sms: bool = typer.Option(False, "--sms", help="The SMS history instead of sessions."),
    date_from: str | None = typer.Option(None, "--from", help="ISO 8601 date or time."),
    date_to: str | None = typer.Option(None, "--to", help="ISO 8601 date or time."),
    as_json: bool = JsonOpt,
) -> None:
    """The SIM's closed data sessions (default: the last 7 days) or its messages."""
    window = {"date_from": date_from, "date_to": date_to, "size": 1000}
    with _client() as (api, partner):
        if sms:
            entries: list[Any] = list(api.iter_sms_history(partner, iccid, **window))
        else:
            entries = list(api.iter_session_history(partner, iccid, **window))
    if as_json:
        _json(entries)
        return
    rows = [msgspec.to_builtins(e) for e in entries]
    if sms:
        columns = ["smsId", "direction", "timestamp", "originator", "destination", "status"]
        _rows(f"SMS history of {iccid}", columns, rows)
        return
    for row in rows:
        row["network"] = (row.get("network") or {}).get("name")
    columns = ["sessionId", "apn", "network", "sessionStart", "sessionEnd", "volumeRounded",
               "endCause"]  # fmt: skip
    _rows(f"Session history of {iccid}", columns, rows)


# --- actions ---------------------------------------------------------------------------------


def _params(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` pairs; a value that reads as JSON is taken as JSON (numbers,
    booleans, objects), anything else as a string."""
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            _fail(f"--param {pair!r}: use name=value (e.g. tariffId=800000100)")
        try:
            params[name] = json.loads(raw)
        except ValueError:
            params[name] = raw
    return params


def _status_table(status: Any) -> None:
    counts = status.counts
    out.print(
        f"action {status.signup_id} {status.action}: {status.status} (total {counts.total},"
        f" done {counts.done}, failed {counts.failed}, cancelled {counts.cancelled},"
        f" pending {counts.pending})",
        highlight=False,
    )
    failed = [msgspec.to_builtins(s) for s in status.sims if s.error]
    if failed:
        _rows("Failed SIMs", ["index", "iccid", "status", "error"], failed)


@actions_app.command("run")
def actions_run(
    action: str = typer.Argument(..., help="suspend, activation, changetariff, ..."),
    iccids: list[str] = typer.Argument(None, help="ICCIDs (or use --file)."),
    file: Path | None = typer.Option(None, "--file", help="One ICCID a line ('-': stdin)."),
    param: list[str] = typer.Option([], "--param", help="An extra field: name=value."),
    wait: bool = typer.Option(False, "--wait", help="Wait until every action has ended."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate only: nothing applied."),
    as_json: bool = JsonOpt,
) -> None:
    """Runs an action on any number of SIMs: more than 1,000 (or more than the partner's
    budget allows at once) become several actions, each sent when the budget has room."""
    sims = list(iccids or [])
    if file is not None:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        sims += [line.strip() for line in text.splitlines() if line.strip()]
    if not sims:
        _fail("no SIMs: give ICCIDs or --file")
    params = _params(param)
    with _client() as (api, partner):
        if dry_run:
            result = api.dry_run(partner, action, sims, **params)
            if as_json:
                _json(result)
            else:
                out.print(f"would succeed {result.would_succeed}, would fail {result.would_fail}")
            return
        accepted = api.submit(partner, action, sims, **params)
        ended = [
            api.wait_for_action(partner, a.signup_id, progress=not as_json, console=err)
            for a in accepted
            if wait
        ]
    if as_json:
        _json(ended or accepted)
        return
    for item in ended or accepted:
        if wait:
            _status_table(item)
        else:
            out.print(f"action {item.signup_id}: {item.status}", highlight=False)


@actions_app.command("show")
def actions_show(signup_id: int, as_json: bool = JsonOpt) -> None:
    """An action's status, counts and failed SIMs."""
    with _client() as (api, partner):
        status = api.action(partner, signup_id)
    _json(status) if as_json else _status_table(status)


@actions_app.command("wait")
def actions_wait(
    signup_id: int,
    timeout: float | None = typer.Option(None, help="Give up after this many seconds."),
    as_json: bool = JsonOpt,
) -> None:
    """Waits until the action has ended, with a progress bar."""
    with _client() as (api, partner):
        status = api.wait_for_action(
            partner, signup_id, timeout=timeout, progress=not as_json, console=err
        )
    _json(status) if as_json else _status_table(status)


@actions_app.command("cancel")
def actions_cancel(signup_id: int, as_json: bool = JsonOpt) -> None:
    """Cancels the SIMs of the action not processed yet."""
    with _client() as (api, partner):
        status = api.cancel_action(partner, signup_id)
    _json(status) if as_json else _status_table(status)


@actions_app.command("list")
def actions_list(
    action: str | None = typer.Option(None, help="Only this action."),
    status: str | None = typer.Option(None, help="Only this status."),
    size: int = typer.Option(20, help="Newest first, this many."),
    as_json: bool = JsonOpt,
) -> None:
    """The partner's latest actions."""
    with _client() as (api, partner):
        page = api.actions(partner, action=action, status=status, size=size)
    if as_json:
        _json(page.content)
        return
    rows = [msgspec.to_builtins(a) for a in page.content]
    for row in rows:
        row["sims"] = row["counts"]["total"]
    _rows("Actions", ["signupId", "action", "status", "sims", "createdAt", "finishedAt"], rows)


# --- events ------------------------------------------------------------------------------


@events_app.command("tail")
def events_tail(
    subscription_id: str,
    count: int | None = typer.Option(None, "--count", help="Stop after this many events."),
    last_event_id: str | None = typer.Option(
        None, "--last-event-id", help="Resume after this event."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Follows the subscription's stream (with the event credentials M2M_EVENT_CLIENT_ID
    and M2M_EVENT_CLIENT_SECRET), reconnecting as streams end; Ctrl-C stops."""
    creds = _credentials()
    try:
        events_creds = creds.for_events()
    except ConfigError as exc:
        _fail(str(exc))
    seen = 0
    with Client(creds) as api:
        try:
            for event in api.events(subscription_id, last_event_id, events_creds):
                if as_json:
                    _json(event)
                else:
                    data = msgspec.to_builtins(getattr(event, "data", None))
                    text = data.get("message") if isinstance(data, dict) else None
                    out.print(
                        f"{event.time} {event.id} {event.type} {text or json.dumps(data)}",
                        highlight=False,
                        markup=False,
                        soft_wrap=True,
                    )
                seen += 1
                if count is not None and seen >= count:
                    return
        except KeyboardInterrupt:
            return
        except ApiError as exc:
            _fail(f"stream answered {exc.status_code} {exc.status}: {exc.message} {exc.errors}")
