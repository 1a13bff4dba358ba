"""The ``m2mportal`` command: serve, migrate, seed the demo, and the operator's commands."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import msgspec
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn

from m2mportal import API_BASE, logs
from m2mportal.client.cli import api_app
from m2mportal.config import Settings, SettingsError
from m2mportal.domain.errors import ApiError
from m2mportal.models import (
    NewApplication,
    NewMaterial,
    NewOption,
    NewProfile,
    NewTariff,
)
from m2mportal.platform import Platform, base_url, open_platform

T = TypeVar("T")
console = Console()
err = Console(stderr=True)

# A command that crashes prints a plain traceback: typer's rich one shows the local
# variables, which can hold secrets.
app = typer.Typer(
    help="m2mportal: an M2M Service Portal 3.0 platform.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="Token signing keys.", no_args_is_help=True)
partners_app = typer.Typer(help="Partners (customer accounts) and subunits.", no_args_is_help=True)
apps_app = typer.Typer(help="API applications of a partner.", no_args_is_help=True)
operator_app = typer.Typer(help="Operator clients.", no_args_is_help=True)
catalog_app = typer.Typer(help="Tariffs, options, materials, profiles.", no_args_is_help=True)
sims_app = typer.Typer(help="The SIM inventory.", no_args_is_help=True)
users_app = typer.Typer(help="Portal users (technical contacts).", no_args_is_help=True)
events_app = typer.Typer(help="Event streams.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo partner that `make run` seeds.", no_args_is_help=True)
for sub, name in (
    (db_app, "db"),
    (keys_app, "keys"),
    (partners_app, "partners"),
    (apps_app, "apps"),
    (operator_app, "operator"),
    (catalog_app, "catalog"),
    (sims_app, "sims"),
    (users_app, "portal-users"),
    (events_app, "events"),
    (demo_app, "demo"),
):
    app.add_typer(sub, name=name)
# The customer's commands over the SDK (m2mportal/client/cli.py), apart from the operator's.
app.add_typer(api_app, name="api")

JsonOpt = typer.Option(False, "--json", help="Print the result as JSON.")


@app.callback()
def _configure_logging() -> None:
    # Before any command: every log line of the process (ours, uvicorn's, the libraries')
    # is one short line with no secret (m2mportal.logs).
    logs.configure_once()


def _masked(url: str) -> str:
    return re.sub(r"://([^:/@]*):[^@]*@", r"://\1:***@", url)


def _database_problem(settings: Settings, exc: BaseException) -> str:
    """One line for a database that cannot be opened, naming the setting to fix."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (
        f"cannot open the database {_masked(settings.database_url)}: {reason[:200]}"
        " (check M2MP_DATABASE_URL, and that the server runs)"
    )


# Errors of a database that is unreachable, refuses us or has a schema we cannot use.
_OPEN_ERRORS: tuple[type[BaseException], ...] = (OSError, TimeoutError)
with contextlib.suppress(ImportError):
    import sqlite3

    import asyncpg
    import sqlalchemy.exc

    _OPEN_ERRORS += (
        sqlite3.Error,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        sqlalchemy.exc.SQLAlchemyError,
    )


def _fail(message: str) -> NoReturn:
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _existing_settings() -> Settings:
    """The settings of a command that works on an existing database: a missing SQLite
    file is refused (a command run from the wrong place must not start an empty one)."""
    settings = Settings.from_env()
    path = settings.sqlite_path
    if path is not None and not path.exists():
        _fail(
            f"no database at {path} (data folder {settings.data_dir}); start the platform"
            " once (`make run` or `m2mportal serve`), or set M2MP_DATA_DIR / M2MP_DATABASE_URL"
        )
    err.print(
        f"database: {_masked(settings.database_url)}", markup=False, highlight=False, soft_wrap=True
    )
    return settings


def _with_platform(work: Callable[[Platform], Awaitable[T]], migrate: bool = True) -> T:
    settings = _existing_settings()

    async def main() -> T:
        try:
            platform = await open_platform(settings, run_migrations=migrate)
        except _OPEN_ERRORS as exc:
            _fail(_database_problem(settings, exc))
        try:
            return await work(platform)
        finally:
            await platform.close()

    try:
        return asyncio.run(main())
    except ApiError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        for line in exc.errors:
            err.print(f"  {line}")
        raise typer.Exit(2) from exc


def _json_out(data: Any) -> None:
    sys.stdout.write(json.dumps(msgspec.to_builtins(data), indent=2) + "\n")


def _lines_out(data: dict[str, Any]) -> None:
    """``name: value`` lines, written as they are: a table would cut ids and secrets at
    the terminal's width (a cut secret is lost: it is shown once)."""

    def shown(item: Any) -> str:
        return "-" if item is None else item if isinstance(item, str) else json.dumps(item)

    sys.stdout.write("".join(f"{key}: {shown(item)}\n" for key, item in data.items()))


def _print(value: Any, as_json: bool, title: str = "") -> None:
    """One object: JSON with ``--json``, else ``name: value`` lines (``title`` on stderr,
    so standard output holds only the data)."""
    if as_json:
        _json_out(value)
        return
    if title:
        err.print(title, markup=False, highlight=False, soft_wrap=True)
    _lines_out(msgspec.to_builtins(value))


def _print_rows(headers: list[str], rows: list[list[str]]) -> None:
    """Rows in aligned columns, never cut: a long line wraps in the terminal instead of
    losing the end of an id."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]
    for row in (headers, *rows):
        cells = [str(c).ljust(w) for c, w in zip(row, widths, strict=True)]
        sys.stdout.write("  ".join(cells).rstrip() + "\n")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    from m2mportal.store import migrate

    settings = Settings.from_env()
    migrate.upgrade(settings.database_url)
    console.print("database is at the newest schema")


@keys_app.command("rotate")
def keys_rotate(as_json: bool = JsonOpt) -> None:
    """Make a new signing key; older keys stay published until their tokens expire."""

    async def work(platform: Platform) -> str:
        return await platform.keyring.rotate()

    kid = _with_platform(work)
    if as_json:
        _json_out({"kid": kid})
        return
    sys.stdout.write(f"new signing key {kid}\n")


@partners_app.command("create")
def partners_create(
    name: str, parent: int = typer.Option(None, help="Parent partner id (makes a subunit)."),
    as_json: bool = JsonOpt,
) -> None:  # fmt: skip
    """Create a partner, or a subunit with --parent."""
    from m2mportal.services import partners

    async def work(p: Platform) -> Any:
        new_id = await partners.create(p.db, p.tree, p.clock, name, parent)
        return await partners.view(p.db, p.tree, new_id)

    _print(_with_platform(work), as_json, "partner")


@users_app.command("create")
def users_create(
    partner: int = typer.Option(..., help="Partner id."),
    username: str = typer.Option(...),
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, envvar="M2MP_PORTAL_PASSWORD"
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Create a portal user (the partner's technical contact)."""
    from m2mportal.services import partners

    if len(password) < 8:
        err.print("[red]error:[/red] password: at least 8 characters")
        raise typer.Exit(2)

    async def work(p: Platform) -> None:
        await partners.create_portal_user(p.db, p.clock, partner, username, password)

    _with_platform(work)
    if as_json:
        _json_out({"partnerId": partner, "username": username})
        return
    sys.stdout.write(f"portal user {username} created for partner {partner}\n")


@operator_app.command("create-client")
def operator_create_client(
    name: str = typer.Argument("operator", help="The client's name."),
    name_option: str = typer.Option(None, "--name", help="The same as NAME (older form)."),
    as_json: bool = JsonOpt,
) -> None:
    """Create an operator client; its secret is shown once."""
    from m2mportal.services import applications

    if name_option is not None:
        if name not in ("operator", name_option):
            _fail(f"give the name once: {name!r} or --name {name_option!r}")
        name = name_option

    async def work(p: Platform) -> Any:
        return await applications.create_operator_client(p, name)

    _print(_with_platform(work), as_json, "operator client (the secret is shown once)")


@apps_app.command("create")
def apps_create(
    partner: int = typer.Option(..., help="Partner id."),
    name: str = typer.Option(...),
    read_only: bool = typer.Option(False, "--read-only"),
    ip: list[str] = typer.Option([], help="Whitelisted IPv4 address (repeatable, up to 10)."),
    subunit: list[int] = typer.Option([], help="Subunit id for a Subunit user (repeatable)."),
    as_json: bool = JsonOpt,
) -> None:
    """Register an application; its secrets are shown once."""
    from m2mportal.services import applications

    spec = NewApplication(
        name=name,
        read_only=read_only,
        ip_whitelist=list(ip),
        user_type="Subunit" if subunit else "Standard",
        subunits=list(subunit),
    )

    async def work(p: Platform) -> Any:
        return await applications.register(p, partner, spec)

    _print(_with_platform(work), as_json, "application (the secrets are shown once)")


@apps_app.command("list")
def apps_list(partner: int = typer.Option(...), as_json: bool = JsonOpt) -> None:
    """List a partner's applications (no secrets)."""
    from m2mportal.services import applications

    async def work(p: Platform) -> Any:
        return await applications.list_for_partner(p, partner)

    found = _with_platform(work)
    if as_json:
        _json_out(found)
        return
    _print_rows(
        ["clientId", "eventClientId", "name", "status", "readOnly", "userType", "ipWhitelist"],
        [
            [a.client_id, a.event_client_id or "-", a.name, a.status, str(a.read_only).lower(),
             a.user_type, ",".join(a.ip_whitelist) or "-"]
            for a in found
        ],
    )  # fmt: skip


class SecretKind(StrEnum):
    client = "client"
    event = "event"


@apps_app.command("secrets")
def apps_secrets(client_id: str, as_json: bool = JsonOpt) -> None:
    """Show an application's client secret and event client secret."""
    from m2mportal.services import applications

    async def work(p: Platform) -> Any:
        return await applications.secrets_of(p, client_id)

    _print(_with_platform(work), as_json)


@apps_app.command("rotate-secret")
def apps_rotate_secret(
    client_id: str,
    which: SecretKind = typer.Option(..., help="The secret to replace: client or event."),
    as_json: bool = JsonOpt,
) -> None:
    """Replace an application's client or event client secret; the old one stops working."""
    from m2mportal.services import applications

    async def work(p: Platform) -> Any:
        return await applications.rotate_secret(p, client_id, which.value)

    _print(_with_platform(work), as_json)


def _catalog(spec: Any, as_json: bool) -> None:
    from m2mportal.services import catalog

    async def work(p: Platform) -> Any:
        return await catalog.create(p.db, spec)

    _print(_with_platform(work), as_json)


@catalog_app.command("tariff")
def catalog_tariff(name: str, binding_months: int = 0, as_json: bool = JsonOpt) -> None:
    """Create a tariff."""
    _catalog(NewTariff(name=name, binding_months=binding_months), as_json)


@catalog_app.command("option")
def catalog_option(name: str, as_json: bool = JsonOpt) -> None:
    """Create an option."""
    _catalog(NewOption(name=name), as_json)


@catalog_app.command("material")
def catalog_material(
    name: str, sim_type: str = "physical", min_order_quantity: int = 1, as_json: bool = JsonOpt
) -> None:
    """Create a SIM material."""
    if sim_type not in ("physical", "eSIM"):
        err.print("[red]error:[/red] sim-type: physical or eSIM")
        raise typer.Exit(2)
    _catalog(
        NewMaterial(name=name, sim_type=sim_type, min_order_quantity=min_order_quantity),  # type: ignore[arg-type]
        as_json,
    )


@catalog_app.command("profile")
def catalog_profile(kind: str, name: str, rules: str = "{}", as_json: bool = JsonOpt) -> None:
    """Create a profile: KIND is limit, fraud or costLimit; --rules takes JSON."""
    try:
        spec = msgspec.json.decode(
            json.dumps({"kind": kind, "name": name, "rules": json.loads(rules)}), type=NewProfile
        )
    except (ValueError, msgspec.ValidationError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    _catalog(spec, as_json)


@sims_app.command("import")
def sims_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    partner: int = typer.Option(..., help="Partner id the SIMs belong to."),
    skip_invalid: bool = typer.Option(False, help="Import the valid rows, report the rest."),
    as_json: bool = JsonOpt,
) -> None:
    """Import SIMs from CSV: every row is checked; nothing is imported on error unless
    --skip-invalid."""
    from m2mportal import csv_import
    from m2mportal.services import inventory

    size = file.stat().st_size

    async def work(p: Platform) -> inventory.ImportOutcome:
        with (
            file.open("rb") as raw,
            io.TextIOWrapper(raw, encoding="utf-8", newline="") as handle,
            Progress(
                TextColumn("importing"),
                BarColumn(),
                TextColumn("{task.fields[rows]} rows"),
                TransferSpeedColumn(),
                TimeElapsedColumn(),
                console=err,
                transient=False,
            ) as bar,
        ):
            task = bar.add_task("import", total=size, rows=0)
            rows_done = [0]

            def step(count: int) -> None:
                rows_done[0] += count
                bar.update(task, completed=raw.tell(), rows=rows_done[0])

            return await inventory.add_sims(
                p.db, p.tree, p.clock, partner, csv_import.read(handle),
                skip_invalid=skip_invalid, progress=step,
            )  # fmt: skip

    from m2mportal.csv_import import CsvProblem
    from m2mportal.services.inventory import ImportFailed

    try:
        outcome = _with_platform(work)
    except CsvProblem as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    except ImportFailed as exc:
        for line in exc.errors:
            err.print(line)
        err.print(f"[red]{exc.rejected} invalid rows: nothing imported[/red] (see --skip-invalid)")
        raise typer.Exit(1) from exc
    for line in outcome.errors:
        err.print(line, markup=False, highlight=False)
    if as_json:
        _json_out(
            {"imported": outcome.inserted, "skipped": outcome.rejected, "errors": outcome.errors}
        )
        return
    sys.stdout.write(f"imported {outcome.inserted} SIMs, skipped {outcome.rejected} invalid rows\n")


def _tune_gc() -> None:
    """Fewer, cheaper cyclic collections for a long-running server.

    Each open event stream holds ~160 objects the collector tracks (tasks, coroutines,
    closures of the ASGI stack): 2,000 streams make ~450,000. With CPython's default
    thresholds (700, 10, 10), the objects that live across an await during a fan-out
    to 2,000 streams trigger a full collection every few events, and each pauses the
    event loop for 100 ms or more (bench/streams.py). Start-up objects (modules,
    classes, the app) are frozen out of the collector, and young collections run after
    50,000 allocations instead of 700 (and the middle one after 20 of them, not 10):
    short-lived objects are freed by reference counting long before, so far fewer
    survive into the old generation. A full collection still runs every 10 middle ones
    once the old generation has grown by a quarter, as by default.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)


def _serve(settings: Settings, demo: bool) -> None:
    import uvicorn

    from m2mportal.app import create_app
    from m2mportal.http_server import server_config

    async def main() -> None:
        try:
            platform = await open_platform(settings)
        except _OPEN_ERRORS as exc:
            _fail(_database_problem(settings, exc))
        try:
            if demo:
                await _print_demo(platform)
            app = create_app(platform)
            _tune_gc()
            config = server_config(app, settings.host, settings.port, settings.log_level)
            await uvicorn.Server(config).serve()
        finally:
            await platform.close()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


async def _print_demo(platform: Platform) -> None:
    from m2mportal import demo

    with console.status("seeding the demo partner (first start only)"):
        partner_id = await demo.seed(platform)
    creds = await demo.credentials(platform, partner_id)
    base = base_url(platform.settings)
    token_url = f"{base}{platform.settings.issuer_path}/protocol/openid-connect/token"
    console.print(f"\n[bold]m2mportal[/bold] on {base}  (API base {base}{API_BASE})")
    console.print(f"demo partner {creds.partner_id}, subunits {creds.subunits}")
    # Plain lines, not a table: a narrow terminal must never cut a secret short.
    for who, client_id, secret in (
        ("demo application     ", creds.client_id, creds.client_secret),
        ("read-only application", creds.read_only_client_id, creds.read_only_client_secret),
        ("operator client      ", creds.operator_client_id, creds.operator_client_secret),
    ):
        print(f"{who}  client_id={client_id}  client_secret={secret}")
    print(
        f"demo application events  client_id={creds.event_client_id}"
        f"  client_secret={creds.event_client_secret}"
    )
    print(f"event stream ({creds.subscription_type}): {creds.subscription_url}")
    console.print(
        f"portal {base}/portal/  user {creds.portal_user!r}, password for this run:"
        f" {creds.portal_password}"
    )
    console.print("\nTry it (get a token, then list the demo SIMs):\n")
    extract = "python3 -c 'import sys,json;print(json.load(sys.stdin)[\"access_token\"])'"
    sims_url = f"{base}{API_BASE}/partners/{creds.partner_id}/sims?size=3"
    curl = (
        f"TOKEN=$(curl -s {token_url} -d grant_type=client_credentials "
        f"-d client_id={creds.client_id} -d client_secret={creds.client_secret} "
        f"-d 'scope=openid profile' | {extract})\n"
        f'curl -s -H "Authorization: Bearer $TOKEN" "{sims_url}"'
    )
    print(curl, flush=True)
    console.print(f"\nSwagger UI: {base}/swagger-ui/index.html\n")


@app.command()
def serve(
    host: str = typer.Option(None, help="Listen address (M2MP_HOST, default 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (M2MP_PORT, default 8080)."),
    demo: bool = typer.Option(False, help="Seed the demo partner and print its credentials."),
) -> None:
    """Serve the platform (migrates first)."""
    overrides: dict[str, Any] = {}
    if host:
        overrides["host"] = host
    if port:
        overrides["port"] = port
    _serve(Settings.from_env(**overrides), demo)


@events_app.command("test")
def events_test(
    partner: int = typer.Option(..., help="Partner id the event is for."),
    event_type: str = typer.Option("simaction.v1", "--type", help="One of the four types."),
    as_json: bool = JsonOpt,
) -> None:
    """Publish a test event to a partner's subscriptions (to try a stream without traffic)."""
    from m2mportal.models import EVENT_TYPES
    from m2mportal.services import events

    if event_type not in EVENT_TYPES:
        err.print(f"[red]error:[/red] type: one of {', '.join(EVENT_TYPES)}")
        raise typer.Exit(2)

    async def work(p: Platform) -> Any:
        return await events.publish_test(p, partner, event_type)

    _print(_with_platform(work), as_json, "published")


@events_app.command("backlog")
def events_backlog(subscription: str, as_json: bool = JsonOpt) -> None:
    """A subscription's backlog: undelivered events, oldest undelivered, last delivered."""
    from m2mportal.services import events

    async def work(p: Platform) -> Any:
        return await events.backlog(p, subscription)

    _print(_with_platform(work), as_json, "subscription")


@demo_app.command("env")
def demo_env(as_json: bool = JsonOpt) -> None:
    """The demo's address and credentials as shell variables: `eval "$(m2mportal demo env)"`
    (BASE, PARTNER_ID, CLIENT_ID, CLIENT_SECRET, EVENT_CLIENT_ID, EVENT_CLIENT_SECRET,
    SUBSCRIPTION_ID, OPERATOR_CLIENT_ID, OPERATOR_CLIENT_SECRET, READONLY_CLIENT_ID,
    READONLY_CLIENT_SECRET)."""
    import shlex

    from m2mportal import demo

    async def work(p: Platform) -> dict[str, str]:
        partner_id = await demo.find(p)
        if partner_id is None:
            _fail("the demo partner is not seeded here; start `make run` (or `m2mportal run`) once")
        creds = await demo.credentials(p, partner_id, reset_password=False)
        return {
            "BASE": base_url(p.settings),
            "PARTNER_ID": str(creds.partner_id),
            "CLIENT_ID": creds.client_id,
            "CLIENT_SECRET": creds.client_secret,
            "EVENT_CLIENT_ID": creds.event_client_id,
            "EVENT_CLIENT_SECRET": creds.event_client_secret,
            "SUBSCRIPTION_ID": creds.subscription_url.rsplit("/", 1)[-1],
            "OPERATOR_CLIENT_ID": creds.operator_client_id,
            "OPERATOR_CLIENT_SECRET": creds.operator_client_secret,
            "READONLY_CLIENT_ID": creds.read_only_client_id,
            "READONLY_CLIENT_SECRET": creds.read_only_client_secret,
        }

    found = _with_platform(work)
    if as_json:
        _json_out(found)
        return
    sys.stdout.write("".join(f"export {k}={shlex.quote(v)}\n" for k, v in found.items()))


@app.command("worker")
def worker_command() -> None:
    """Run the action workflow worker as its own process (stops on SIGTERM or Ctrl-C)."""
    import signal

    from m2mportal.actions import worker

    settings = _existing_settings()

    async def main() -> None:
        try:
            platform = await open_platform(settings)
        except _OPEN_ERRORS as exc:
            _fail(_database_problem(settings, exc))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await worker.run(platform, stop)
        finally:
            await platform.close()

    err.print("worker started")
    asyncio.run(main())


@app.command("simulator")
def simulator_command(
    speed: float | None = typer.Option(None, help="Simulated seconds per second (60: a minute)."),
    seed: int | None = typer.Option(None, help="Seed of every SIM's behaviour."),
) -> None:
    """Run the traffic generator as its own process (stops on SIGTERM or Ctrl-C); it
    generates while switched on (PUT /operator/v1/simulator/config, or --speed/--seed)."""
    import signal

    from m2mportal.network import generator

    settings = _existing_settings()

    async def main() -> None:
        try:
            platform = await open_platform(settings)
        except _OPEN_ERRORS as exc:
            _fail(_database_problem(settings, exc))
        made = generator.for_platform(platform)
        if speed is not None or seed is not None:
            if speed is not None and not 0 < speed <= 3600:
                _fail("--speed: use more than 0 and at most 3600")
            if seed is not None and not 0 <= seed < 2**31:
                _fail("--seed: use 0 to 2147483647")
            config = await generator.read_config(platform.db, made.default)
            given = {"speed": speed, "seed": seed}
            config = generator.changed(
                config, running=True, **{k: v for k, v in given.items() if v is not None}
            )
            await generator.write_config(platform.db, platform.clock, config)
        task = asyncio.create_task(generator.run(made))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await platform.close()

    err.print("simulator started")
    asyncio.run(main())


@app.command()
def run() -> None:
    """What `make run` does: migrate, seed the demo partner, print credentials, serve."""
    # The demo is where the simulation controls belong (unless M2MP_SIMULATION says no).
    overrides: dict[str, Any] = {} if "M2MP_SIMULATION" in os.environ else {"simulation": True}
    settings = Settings.from_env(**overrides)
    os.makedirs(settings.data_dir, exist_ok=True)
    _serve(settings, demo=True)


@app.command("settings")
def settings_show(
    markdown: bool = typer.Option(False, "--markdown", help="The docs' settings table."),
    as_json: bool = JsonOpt,
) -> None:
    """The settings in effect (secret values masked), or the table of every setting."""
    from dataclasses import asdict

    from m2mportal.config import settings_table

    if markdown:
        sys.stdout.write(settings_table())
        return
    values = asdict(Settings.from_env())
    values["secret_key"] = "(set)" if values["secret_key"] else ""
    for name in ("database_url", "redis_url"):
        values[name] = _masked(values[name])
    if as_json:
        _json_out(values)
        return
    _lines_out({"M2MP_" + key.upper(): item for key, item in values.items()})


def main() -> None:
    try:
        app()
    except SettingsError as exc:
        # A setting that cannot work is the operator's to fix: one line, no traceback.
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
