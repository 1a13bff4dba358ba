"""Settings: one object, documented from its fields, a bad value is one line and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from m2mportal.config import Settings, SettingsError, settings_table
from tests.conftest import test_settings
from tests.helpers import World, assert_error_mentions

ROOT = Path(__file__).resolve().parents[1]


def test_the_docs_table_is_the_settings_object() -> None:
    text = (ROOT / "docs" / "operations.md").read_text()
    block = text.split("<!-- settings:start -->\n", 1)[1].split("<!-- settings:end -->", 1)[0]
    assert block == settings_table(), "regenerate with `m2mportal settings --markdown`"


def test_every_setting_is_documented() -> None:
    for line in settings_table().splitlines()[2:]:
        assert line.count("|") == 4 and line.split("|")[3].strip(), line


BAD = [
    ("M2MP_PORT", "abc", "M2MP_PORT"),
    ("M2MP_PORT", "70000", "1 to 65535"),
    ("M2MP_DATABASE_URL", "mysql://root@127.0.0.1/db", "postgresql://"),
    ("M2MP_REDIS_URL", "http://127.0.0.1:6379", "redis://"),
    ("M2MP_PUBLIC_URL", "ftp://example", "http"),
    ("M2MP_SECRET_KEY", "not-a-key", "Fernet"),
    ("M2MP_TOKEN_LIFETIME", "0", "above 0"),
    ("M2MP_CLOCK_LEEWAY", "300", "0 to 30"),
    ("M2MP_EMBEDDED_WORKER", "maybe", "true or false"),
    ("M2MP_TRUSTED_PROXIES", "10.0.0.0/33", "CIDR"),
    ("M2MP_LIMITS_ACTIONS", "lots", "1000/6 minutes"),
    ("M2MP_LIMITS_SMS", "0/hour", "at least 1"),
    ("M2MP_LOG_LEVEL", "loud", "debug"),
]


@pytest.mark.parametrize(("variable", "value", "hint"), BAD)
def test_a_bad_setting_raises_one_named_error(variable: str, value: str, hint: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({variable: value})
    message = str(caught.value)
    assert variable in message and hint in message
    assert "\n" not in message


def _cli(env: dict[str, str], *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("M2MP_")} | env
    return subprocess.run(
        [sys.executable, "-m", "m2mportal.cli", *args],
        env=full,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [("M2MP_PORT", "abc"), ("M2MP_DATABASE_URL", "mysql://root@127.0.0.1/db")],
)
def test_the_command_prints_one_line_and_exits_2(variable: str, value: str) -> None:
    done = _cli({variable: value}, "serve")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and variable in lines[0]
    assert "Traceback" not in done.stderr


def test_the_data_folder_does_not_follow_the_current_directory(tmp_path: Path) -> None:
    here = Settings.from_env({})
    os.chdir(tmp_path)
    try:
        elsewhere = Settings.from_env({})
    finally:
        os.chdir(ROOT)
    assert here.database_url == elsewhere.database_url
    assert here.secret_key_file == elsewhere.secret_key_file
    assert Path(here.data_dir).is_absolute()


def test_the_data_folder_setting_places_database_and_key(tmp_path: Path) -> None:
    settings = Settings.from_env({"M2MP_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'm2mportal.db'}"
    assert settings.secret_key_file == str(tmp_path / "secret.key")


def test_a_command_refuses_a_missing_database_instead_of_creating_one(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    done = _cli({"M2MP_DATA_DIR": str(empty)}, "partners", "create", "Acme", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no database at" in lines[0], done.stderr
    assert str(empty / "m2mportal.db") in lines[0]
    assert not (empty / "m2mportal.db").exists() and not (tmp_path / "var").exists()


def test_a_command_names_the_database_it_opened(tmp_path: Path) -> None:
    env = {"M2MP_DATA_DIR": str(tmp_path)}
    assert _cli(env, "db", "upgrade").returncode == 0
    done = _cli(env, "partners", "create", "Acme", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"database: sqlite:///{tmp_path / 'm2mportal.db'}" in done.stderr
    assert '"name": "Acme"' in done.stdout


def test_an_unreachable_postgresql_is_one_line() -> None:
    done = _cli({"M2MP_DATABASE_URL": "postgresql://postgres@127.0.0.1:9/none"}, "keys", "rotate")
    assert done.returncode == 2
    lines = [line for line in done.stderr.strip().splitlines() if not line.startswith("database")]
    assert len(lines) == 1 and "cannot open the database" in lines[0], done.stderr
    assert "M2MP_DATABASE_URL" in lines[0] and "Traceback" not in done.stderr


# --- the defaults a user gets: links on the configured address, no simulation controls ----


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The defaults, on another port and without a public URL (links must follow the
    port), the test database and key aside."""
    return test_settings(database_url, tmp_path, public_url="", port=18090, simulation=False)


PUBLIC = "http://127.0.0.1:18090"


def _hrefs(value: Any) -> list[str]:
    """Every URL in a JSON answer (``href``, ``url``, ``issuer``, ``*_endpoint`` ...)."""
    if isinstance(value, dict):
        return [u for v in value.values() for u in _hrefs(v)]
    if isinstance(value, list):
        return [u for v in value for u in _hrefs(v)]
    return [value] if isinstance(value, str) and "://" in value else []


async def test_every_link_uses_the_configured_address(world: World) -> None:
    partner = await world.partner()
    (sim,) = await world.synthetic_sims(partner, 1)
    created = await world.app(partner)
    headers = await world.headers_for(created)
    base = f"/partners/{partner}/sims"
    answers = [
        created,
        (await world.op("GET", f"/partners/{partner}/applications")).json(),
        (await world.api("GET", f"{base}?size=1", headers)).json(),
        (await world.api("GET", f"{base}?size=1&after={sim['iccid']}", headers)).json(),
        (await world.api("GET", f"{base}/{sim['iccid']}", headers)).json(),
    ]
    action = await world.api("POST", f"{base}/actions/suspend", headers,
                             json={"sims": [{"iccid": sim["iccid"]}]})  # fmt: skip
    assert action.status_code == 202, action.text
    answers.append(action.json())
    status = await world.api("GET", f"{base}/actions/{action.json()['signupId']}", headers)
    answers.append(status.json())
    discovery = await world.http.get("/auth/realms/m2m/.well-known/openid-configuration")
    answers.append(discovery.json())
    assert discovery.json()["issuer"] == PUBLIC + "/auth/realms/m2m"
    urls = _hrefs(answers)
    # The answers' every kind of link: subscriptions, list pages, SIM and action links.
    assert len(urls) > 15, urls
    assert all(u.startswith(PUBLIC + "/") for u in urls), [u for u in urls if PUBLIC not in u]


async def test_without_simulation_the_clock_cannot_be_moved(world: World) -> None:
    assert Settings.from_env({}).simulation is False  # the default these tests run with
    for method, path, body in (("GET", "/clock", None), ("POST", "/clock/advance",
                                                        {"seconds": 86400})):  # fmt: skip
        answer = await world.op(method, path, json=body)
        assert_error_mentions(answer, 404, "NOT_FOUND", "clock")
    assert world.platform.clock.offset == 0
    document = (await world.http.get("/v3/api-docs/operator")).json()
    assert not [p for p in document["paths"] if "/clock" in p]
