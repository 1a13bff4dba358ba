"""The ``m2mportal`` command line: partners, operator clients, applications, catalogue and
the CSV import (SQLite only: the commands share the services the API tests cover)."""

from __future__ import annotations

import asyncio
import csv
import json
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from m2mportal import cli as cli_module
from m2mportal import synthetic
from m2mportal.cli import app
from m2mportal.config import Settings
from m2mportal.models import EVENT_TYPES
from m2mportal.platform import open_platform

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# A credentials line of the `make run` banner: "<who>  client_id=<id>  client_secret=<s>".
CREDENTIALS = re.compile(r"^(\S.*?)\s+client_id=(\S+)\s+client_secret=(\S+)$")
Run = Callable[..., Result]


def text(stream: str) -> str:
    """Output without colour codes, one space between words (rich may wrap lines)."""
    return " ".join(ANSI.sub("", stream).split())


def lines(stream: str) -> list[str]:
    return [ANSI.sub("", line).strip() for line in stream.splitlines() if line.strip()]


class Cli:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.db = folder / "x.db"
        self.env: dict[str, str | None] = {
            "M2MP_DATABASE_URL": f"sqlite:///{self.db}",
            "M2MP_SECRET_KEY_FILE": str(folder / "k"),
            "M2MP_SECRET_KEY": None,
            "COLUMNS": "250",
            "NO_COLOR": "1",
            "FORCE_COLOR": None,
        }
        self.runner = CliRunner()

    def run(self, *args: str) -> Result:
        return self.runner.invoke(app, list(args), env=self.env)

    def json(self, *args: str) -> Any:
        result = self.run(*args, "--json")
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        return json.loads(result.stdout)

    def partner(self, name: str = "Acme Metering", parent: int | None = None) -> int:
        extra = ["--parent", str(parent)] if parent is not None else []
        return int(self.json("partners", "create", name, *extra)["partnerId"])

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as conn:
            return list(conn.execute(sql, params))

    def sim_count(self, partner: int | None = None) -> int:
        if partner is None:
            return int(self.query("SELECT COUNT(*) FROM sims")[0][0])
        return int(self.query("SELECT COUNT(*) FROM sims WHERE partner_id = ?", partner)[0][0])

    def csv(self, name: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
        path = self.folder / name
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        return path


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with its signing key, made once (key generation is slow)."""
    folder = tmp_path_factory.mktemp("cli-template")
    cli = Cli(folder)
    result = cli.run("db", "upgrade")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    result = cli.run("keys", "rotate")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return folder


@pytest.fixture
def cli(template: Path, tmp_path: Path) -> Iterator[Cli]:
    for name in ("x.db", "x.db-wal", "x.db-shm", "k"):
        if (template / name).exists():
            shutil.copyfile(template / name, tmp_path / name)
    yield Cli(tmp_path)


# --- partners, operator clients, applications, catalogue ------------------------------------


def test_partners_create(cli: Cli) -> None:
    parent = cli.json("partners", "create", "Acme Metering")
    assert isinstance(parent["partnerId"], int)
    assert parent["name"] == "Acme Metering"
    assert parent["parentPartnerId"] is None
    assert parent["simCounts"]["total"] == 0
    child = cli.json("partners", "create", "Acme North", "--parent", str(parent["partnerId"]))
    assert child["parentPartnerId"] == parent["partnerId"]
    assert child["partnerId"] != parent["partnerId"]


def test_partners_create_prints_a_table_without_json(cli: Cli) -> None:
    result = cli.run("partners", "create", "Tabular GmbH")
    assert result.exit_code == 0, result.stderr
    out = text(result.stdout)
    assert "Tabular GmbH" in out and "partnerId" in out


def test_partners_create_under_an_unknown_parent_fails(cli: Cli) -> None:
    result = cli.run("partners", "create", "Orphan", "--parent", "424242")
    assert result.exit_code == 2
    assert "parentPartnerId" in text(result.stderr) and "424242" in text(result.stderr)
    assert cli.query("SELECT COUNT(*) FROM partners") == [(0,)]


def test_operator_create_client_json(cli: Cli) -> None:
    created = cli.json("operator", "create-client", "ops-team")
    assert created["clientId"].startswith("operator-")
    assert isinstance(created["clientSecret"], str) and len(created["clientSecret"]) >= 20
    rows = cli.query("SELECT role, name, secret_enc FROM applications WHERE client_id = ?",
                     created["clientId"])  # fmt: skip
    assert len(rows) == 1
    role, name, secret_enc = rows[0]
    assert (role, name) == ("operator", "ops-team")
    # Stored encrypted, never in plain text.
    assert created["clientSecret"] not in secret_enc
    stored = b"".join(p.read_bytes() for p in cli.folder.glob("x.db*"))
    assert created["clientSecret"].encode() not in stored


def test_apps_create_json(cli: Cli) -> None:
    partner = cli.partner()
    created = cli.json("apps", "create", "--partner", str(partner), "--name", "fleet-api")
    for key in ("clientId", "clientSecret", "eventClientId", "eventClientSecret"):
        assert isinstance(created[key], str) and created[key], key
    assert created["partnerId"] == partner
    assert created["name"] == "fleet-api"
    assert created["userType"] == "Standard"
    assert sorted(s["eventType"] for s in created["subscriptions"]) == sorted(EVENT_TYPES)
    for sub in created["subscriptions"]:
        assert sub["url"].endswith(f"/events/v1/sse/{sub['subscriptionId']}")

    listed = cli.run("apps", "list", "--partner", str(partner), "--json")
    assert listed.exit_code == 0, listed.stderr
    apps = json.loads(listed.stdout)
    assert [a["clientId"] for a in apps] == [created["clientId"]]
    assert created["clientSecret"] not in listed.stdout
    assert created["eventClientSecret"] not in listed.stdout


def test_apps_create_with_options(cli: Cli) -> None:
    partner = cli.partner()
    subunit = cli.partner("Acme South", parent=partner)
    created = cli.json(
        "apps", "create", "--partner", str(partner), "--name", "south",
        "--read-only", "--ip", "203.0.113.7", "--ip", "203.0.113.8", "--subunit", str(subunit),
    )  # fmt: skip
    assert created["readOnly"] is True
    assert created["ipWhitelist"] == ["203.0.113.7", "203.0.113.8"]
    assert created["userType"] == "Subunit"
    assert created["subunits"] == [subunit]


def test_apps_create_errors(cli: Cli) -> None:
    result = cli.run("apps", "create", "--partner", "999999", "--name", "x", "--json")
    assert result.exit_code == 2
    assert "partner 999999 does not exist" in text(result.stderr)
    assert result.stdout == ""
    partner = cli.partner()
    result = cli.run("apps", "create", "--partner", str(partner), "--name", "x", "--ip", "1.2.3")
    assert result.exit_code == 2
    assert "ipWhitelist[0]: '1.2.3' is not an IPv4 address" in text(result.stderr)
    assert cli.query("SELECT COUNT(*) FROM applications") == [(0,)]


def test_apps_secrets_prints_them_whole(cli: Cli) -> None:
    partner = cli.partner()
    created = cli.json("apps", "create", "--partner", str(partner), "--name", "fleet-api")
    shown = cli.json("apps", "secrets", created["clientId"])
    assert shown == {
        key: created[key]
        for key in ("clientId", "clientSecret", "eventClientId", "eventClientSecret")
    }
    cli.env["COLUMNS"] = "30"  # a narrow terminal must not cut a secret short
    result = cli.run("apps", "secrets", created["clientId"])
    assert result.exit_code == 0, result.stderr
    assert f"clientSecret: {created['clientSecret']}" in lines(result.stdout)
    assert f"eventClientSecret: {created['eventClientSecret']}" in lines(result.stdout)


def test_apps_rotate_secret(cli: Cli) -> None:
    partner = cli.partner()
    created = cli.json("apps", "create", "--partner", str(partner), "--name", "fleet-api")
    client_id = created["clientId"]
    rotated = cli.json("apps", "rotate-secret", client_id, "--which", "event")
    assert rotated["rotated"] == "event"
    assert rotated["clientSecret"] == created["clientSecret"]
    assert rotated["eventClientSecret"] != created["eventClientSecret"]
    cli.env["COLUMNS"] = "30"
    result = cli.run("apps", "rotate-secret", client_id, "--which", "client")
    assert result.exit_code == 0, result.stderr
    new = next(line for line in lines(result.stdout) if line.startswith("clientSecret: "))
    new_secret = new.removeprefix("clientSecret: ")
    assert new_secret != created["clientSecret"] and len(new_secret) >= 32
    shown = cli.json("apps", "secrets", client_id)
    assert shown["clientSecret"] == new_secret
    assert shown["eventClientSecret"] == rotated["eventClientSecret"]


def test_apps_secrets_errors(cli: Cli) -> None:
    result = cli.run("apps", "secrets", "m2m-0000000000000000")
    assert result.exit_code == 2
    assert "application m2m-0000000000000000 does not exist" in text(result.stderr)
    partner = cli.partner()
    created = cli.json("apps", "create", "--partner", str(partner), "--name", "x")
    result = cli.run("apps", "rotate-secret", created["clientId"], "--which", "both")
    assert result.exit_code == 2
    assert "--which" in text(result.stderr)
    assert (
        cli.json("apps", "secrets", created["clientId"])["clientSecret"] == created["clientSecret"]
    )


def test_run_banner_prints_the_demo_event_credentials(
    cli: Cli, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `make run` prints before serving (the serving itself is not started here)."""
    for name, value in cli.env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)

    async def banner() -> None:
        platform = await open_platform(Settings.from_env())
        try:
            await cli_module._print_demo(platform)
        finally:
            await platform.close()

    asyncio.run(banner())
    out = lines(capsys.readouterr().out)
    pairs = [CREDENTIALS.match(line) for line in out]
    fields = {m[1]: (m[2], m[3]) for m in pairs if m}
    rest, events = fields["demo application"], fields["demo application events"]
    shown = cli.json("apps", "secrets", rest[0])
    assert events == (shown["eventClientId"], shown["eventClientSecret"])
    stream = next(line for line in out if line.startswith("event stream (simaction.v1): "))
    subscription = stream.rsplit("/", 1)[1]
    assert stream.endswith(f"/events/v1/sse/{subscription}")
    assert cli.query("SELECT client_id FROM subscriptions WHERE id = ?", subscription) == [
        (rest[0],)
    ]


def test_catalog_tariff(cli: Cli) -> None:
    first = cli.json("catalog", "tariff", "IoT Basic")
    second = cli.json("catalog", "tariff", "IoT Flex 24", "--binding-months", "24")
    assert set(first) == {"id", "name"}
    assert first["name"] == "IoT Basic"
    assert isinstance(first["id"], int) and first["id"] != second["id"]
    assert cli.query("SELECT binding_months FROM tariffs WHERE id = ?", second["id"]) == [(24,)]


def test_catalog_other_items(cli: Cli) -> None:
    option = cli.json("catalog", "option", "Parallel Sessions")
    material = cli.json("catalog", "material", "MFF2", "--sim-type", "eSIM")
    profile = cli.json("catalog", "profile", "fraud", "DE only")
    assert len({option["id"], material["id"], profile["id"]}) == 3
    bad = cli.run("catalog", "profile", "speed", "x")
    assert bad.exit_code == 2


# --- SIM import ------------------------------------------------------------------------------

HEADER = ("iccid", "imsi", "msisdn", "status", "tariff_id", "productive", "remark1")


def good_rows(tariff: int) -> list[list[Any]]:
    return [
        [synthetic.iccid(1), synthetic.imsi(1), synthetic.msisdn(1), "Active", tariff, "true",
         "truck 1"],
        [synthetic.iccid(2), synthetic.imsi(2), "", "Inactive", tariff, "false", "meter 2"],
        [synthetic.iccid(3), synthetic.imsi(3), synthetic.msisdn(3), "Suspended", "", "yes", ""],
    ]  # fmt: skip


def mixed_rows(tariff: int) -> list[list[Any]]:
    """Good rows at lines 2, 4 and 9; bad rows at lines 3, 5, 6, 7, 8."""
    good = good_rows(tariff)
    return [
        good[0],  # line 2
        ["89490200000000000012", synthetic.imsi(9), "", "Inactive", "", "", ""],  # line 3
        good[1],  # line 4
        [synthetic.iccid(5), synthetic.imsi(5), synthetic.msisdn(5), "Inactive", "", "", ""],
        [synthetic.iccid(6), synthetic.imsi(6), "", "Inactive", "", "maybe", ""],  # line 6
        [synthetic.iccid(1), synthetic.imsi(7), "", "Inactive", "", "", ""],  # line 7
        [synthetic.iccid(8), synthetic.imsi(8), "", "Inactive", 999999, "", ""],  # line 8
        good[2],  # line 9
    ]


def expect_bad_lines(stderr: str) -> None:
    found = lines(stderr)
    assert "line 3: iccid: check digit wrong" in found, found
    assert "line 5: msisdn: an Inactive SIM has no MSISDN yet" in found, found
    assert "line 6: productive: 'maybe' is not true or false" in found, found
    assert any(line.startswith("line 7: iccid:") and "line 2" in line for line in found), (
        found
    )  # the repeat names the first row
    assert any(line.startswith("line 8: tariff") and "999999" in line for line in found), found
    for good in ("line 2:", "line 4:", "line 9:"):
        assert not any(line.startswith(good) for line in found), found


def test_sims_import_valid_rows(cli: Cli) -> None:
    partner = cli.partner()
    tariff = cli.json("catalog", "tariff", "IoT Basic", "--binding-months", "12")["id"]
    path = cli.csv("sims.csv", HEADER, good_rows(tariff))
    result = cli.run("sims", "import", str(path), "--partner", str(partner))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "imported 3 SIMs, skipped 0 invalid rows" in text(result.stdout)
    assert cli.sim_count(partner) == 3
    rows = cli.query(
        "SELECT iccid, status, msisdn, tariff_id, productive, remark1, binding_months"
        " FROM sims ORDER BY iccid"
    )
    assert rows == [
        (synthetic.iccid(1), "Active", synthetic.msisdn(1), tariff, 1, "truck 1", 12),
        (synthetic.iccid(2), "Inactive", None, tariff, 0, "meter 2", 12),
        (synthetic.iccid(3), "Suspended", synthetic.msisdn(3), None, 1, None, 0),
    ]


def test_sims_import_with_bad_rows_imports_nothing(cli: Cli) -> None:
    partner = cli.partner()
    tariff = cli.json("catalog", "tariff", "IoT Basic")["id"]
    mixed = cli.csv("mixed.csv", HEADER, mixed_rows(tariff))
    result = cli.run("sims", "import", str(mixed), "--partner", str(partner))
    assert result.exit_code == 1, (result.stdout, result.stderr)
    expect_bad_lines(result.stderr)
    assert "5 invalid rows: nothing imported" in text(result.stderr)
    assert "imported" not in text(result.stdout)
    assert cli.sim_count() == 0
    # Nothing was kept: the good rows alone now import without clashes.
    good = cli.csv("good.csv", HEADER, good_rows(tariff))
    result = cli.run("sims", "import", str(good), "--partner", str(partner))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "imported 3 SIMs, skipped 0 invalid rows" in text(result.stdout)
    assert cli.sim_count(partner) == 3


def test_sims_import_skip_invalid(cli: Cli) -> None:
    partner = cli.partner()
    tariff = cli.json("catalog", "tariff", "IoT Basic")["id"]
    mixed = cli.csv("mixed.csv", HEADER, mixed_rows(tariff))
    result = cli.run("sims", "import", str(mixed), "--partner", str(partner), "--skip-invalid")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    expect_bad_lines(result.stderr)
    assert "imported 3 SIMs, skipped 5 invalid rows" in text(result.stdout)
    imported = [row[0] for row in cli.query("SELECT iccid FROM sims ORDER BY iccid")]
    assert imported == [synthetic.iccid(1), synthetic.iccid(2), synthetic.iccid(3)]


def test_sims_import_again_reports_the_inventory_clash(cli: Cli) -> None:
    partner = cli.partner()
    path = cli.csv("sims.csv", ("iccid", "status"), [[synthetic.iccid(1), "Inactive"]])
    assert cli.run("sims", "import", str(path), "--partner", str(partner)).exit_code == 0
    result = cli.run("sims", "import", str(path), "--partner", str(partner))
    assert result.exit_code == 1
    assert any(
        line.startswith("line 2: iccid:") and "inventory" in line for line in lines(result.stderr)
    ), result.stderr
    assert cli.sim_count() == 1


def test_sims_import_unknown_column(cli: Cli) -> None:
    partner = cli.partner()
    path = cli.csv(
        "colour.csv", ("iccid", "status", "colour"), [[synthetic.iccid(1), "Inactive", "red"]]
    )
    result = cli.run("sims", "import", str(path), "--partner", str(partner))
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "unknown column 'colour'" in text(result.stderr)
    assert cli.sim_count() == 0


def test_sims_import_without_iccid_column(cli: Cli) -> None:
    partner = cli.partner()
    path = cli.csv("noiccid.csv", ("imsi", "status"), [[synthetic.imsi(1), "Inactive"]])
    result = cli.run("sims", "import", str(path), "--partner", str(partner))
    assert result.exit_code == 2
    assert "iccid" in text(result.stderr)


def test_sims_import_camel_case_headers_and_subunits(cli: Cli) -> None:
    partner = cli.partner()
    subunit = cli.partner("Acme North", parent=partner)
    path = cli.csv(
        "camel.csv",
        ("iccid", "simType", "euiccid", "status", "subunitId", "apns"),
        [
            [synthetic.iccid(1), "eSIM", synthetic.euiccid(1), "Inactive", subunit,
             "internet.m2m;iot.corp"],
            [synthetic.iccid(2), "physical", "", "Inactive", "", ""],
        ],
    )  # fmt: skip
    result = cli.run("sims", "import", str(path), "--partner", str(partner))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "imported 2 SIMs" in text(result.stdout)
    assert cli.sim_count(subunit) == 1 and cli.sim_count(partner) == 1
    assert cli.query("SELECT sim_type, euiccid FROM sims WHERE iccid = ?", synthetic.iccid(1)) == [
        ("eSIM", synthetic.euiccid(1))
    ]
    apns = cli.query("SELECT name FROM sim_apns WHERE iccid = ? ORDER BY name", synthetic.iccid(1))
    assert apns == [("internet.m2m",), ("iot.corp",)]


def test_sims_import_for_an_unknown_partner(cli: Cli) -> None:
    path = cli.csv("sims.csv", ("iccid", "status"), [[synthetic.iccid(1), "Inactive"]])
    result = cli.run("sims", "import", str(path), "--partner", "999999")
    assert "partner 999999 does not exist" in text(result.stderr)
    assert cli.sim_count() == 0
    # Like every other command given an unknown partner (exit 2), and no talk of
    # "0 invalid rows ... see --skip-invalid": no row was wrong.
    assert result.exit_code == 2, text(result.stderr)
    assert "invalid rows" not in text(result.stderr)


def test_sims_import_missing_file(cli: Cli) -> None:
    result = cli.run("sims", "import", str(cli.folder / "nope.csv"), "--partner", "1")
    assert result.exit_code == 2


# --- as printed in the README, whole in a narrow terminal, links on the configured address --


def test_operator_create_client_takes_the_name_as_argument_or_option(cli: Cli) -> None:
    as_option = cli.json("operator", "create-client", "--name", "ops-b")
    default = cli.json("operator", "create-client")
    names = dict(cli.query("SELECT client_id, name FROM applications"))
    assert names[as_option["clientId"]] == "ops-b" and names[default["clientId"]] == "operator"
    both = cli.run("operator", "create-client", "ops-c", "--name", "ops-d")
    assert both.exit_code == 2 and "give the name once" in text(both.stderr)


def _fields(stdout: str) -> dict[str, str]:
    """``name: value`` lines as printed (no colour codes, no wrapping)."""
    return dict(line.split(": ", 1) for line in stdout.splitlines() if ": " in line)


def test_a_narrow_terminal_never_cuts_an_id_or_a_secret(cli: Cli) -> None:
    cli.env["COLUMNS"] = "60"
    partner = cli.partner()
    result = cli.run("apps", "create", "--partner", str(partner), "--name", "fleet-api")
    assert result.exit_code == 0, result.stderr
    assert "…" not in result.stdout and "..." not in result.stdout
    shown = _fields(result.stdout)
    secrets = cli.json("apps", "secrets", shown["clientId"])
    for key in ("clientId", "clientSecret", "eventClientId", "eventClientSecret"):
        assert shown[key] == secrets[key], key
    urls = [s["url"] for s in json.loads(shown["subscriptions"])]
    assert len(urls) == len(EVENT_TYPES) and all("/events/v1/sse/" in u for u in urls)

    operator = cli.run("operator", "create-client", "ops")
    assert operator.exit_code == 0, operator.stderr
    fields = _fields(operator.stdout)
    assert "…" not in operator.stdout and len(fields["clientSecret"]) >= 32
    listed = cli.run("apps", "list", "--partner", str(partner))
    assert listed.exit_code == 0 and "…" not in listed.stdout
    assert shown["clientId"] in listed.stdout and shown["eventClientId"] in listed.stdout
    settings = cli.run("settings")
    assert settings.exit_code == 0 and "…" not in settings.stdout
    assert _fields(settings.stdout)["M2MP_DATABASE_URL"] == f"sqlite:///{cli.db}"


@pytest.mark.parametrize(
    "args",
    [
        ("keys", "rotate"),
        ("portal-users", "create", "--username", "ops", "--password", "p4ssw0rd!"),
    ],
)
def test_commands_that_print_data_take_json(cli: Cli, args: tuple[str, ...]) -> None:
    if args[0] == "portal-users":
        args = (*args, "--partner", str(cli.partner()))
    assert isinstance(cli.json(*args), dict)


def test_sims_import_takes_json(cli: Cli) -> None:
    partner = cli.partner()
    tariff = cli.json("catalog", "tariff", "IoT Basic")["id"]
    path = cli.csv("sims.csv", ["iccid", "imsi", "status", "tariffId"],
                   [[synthetic.iccid(1), synthetic.imsi(1), "Inactive", tariff]])  # fmt: skip
    assert cli.json("sims", "import", str(path), "--partner", str(partner)) == {
        "imported": 1, "skipped": 0, "errors": []
    }  # fmt: skip


@pytest.mark.parametrize("how", ["M2MP_PORT", "M2MP_PUBLIC_URL"])
def test_printed_links_use_the_configured_address(cli: Cli, how: str) -> None:
    partner = cli.partner()
    if how == "M2MP_PORT":
        cli.env["M2MP_PORT"], base = "18090", "http://127.0.0.1:18090"
    else:
        cli.env["M2MP_PUBLIC_URL"], base = "https://m2m.example.net", "https://m2m.example.net"
    created = cli.json("apps", "create", "--partner", str(partner), "--name", "fleet-api")
    listed = cli.json("apps", "list", "--partner", str(partner))
    urls = [s["url"] for s in created["subscriptions"] + listed[0]["subscriptions"]]
    assert urls and all(u.startswith(base + "/events/v1/sse/") for u in urls), urls
    assert ":8080" not in json.dumps(listed)


def test_only_run_turns_the_simulation_on(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[Settings] = []
    monkeypatch.setattr(cli_module, "_serve", lambda settings, demo: served.append(settings))
    for name in ("M2MP_SIMULATION", "M2MP_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    cli.env["M2MP_DATA_DIR"] = str(cli.folder)
    assert cli.run("run").exit_code == 0
    assert cli.run("serve").exit_code == 0
    cli.env["M2MP_SIMULATION"] = "false"
    assert cli.run("run").exit_code == 0
    assert [s.simulation for s in served] == [True, False, False]
    assert Settings.from_env({}).simulation is False


def test_demo_env_needs_the_demo(cli: Cli) -> None:
    result = cli.run("demo", "env")
    assert result.exit_code == 2 and result.stdout == ""
    assert "demo partner is not seeded" in text(result.stderr)
