"""The README's commands run as printed (issue 10, "README steps that fail as written").

Every ```sh block of README.md and docs/*.md runs, in order, in bash against a live
server started the way ``make run`` starts it (``m2mportal run``, demo seeded) on a free
loopback port, with its data folder in a temp folder. A block preceded by an HTML comment
``<!-- not run by tests/e2e/test_readme.py: <why> -->`` is illustrative and skipped.
Blocks of one document share their shell variables (``set -a``; the environment is
carried from one block to the next), like a reader's terminal does. Each block must exit
0 with ``set -euo pipefail``, every JSON document it prints must parse and none may be an
error body, and standard error may hold no error or traceback.

The blocks run in a temp folder holding a ``.venv`` link to the checkout's, so files a
block writes (``sims.csv``) stay out of the checkout.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_limits_processes import free_ports

ROOT = Path(__file__).resolve().parents[2]
SKIP_MARK = "<!-- not run by tests/e2e/test_readme.py:"
BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# The benchmarks' commands run for minutes against their own servers (docs/benchmarks.md).
NOT_RUN_DOCUMENTS = {"docs/benchmarks.md"}
START_TIMEOUT_S = 40.0
BLOCK_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Block:
    document: str
    line: int
    text: str
    illustrative: bool


def blocks(document: Path) -> list[Block]:
    text = document.read_text(encoding="utf-8")
    found = []
    for match in BLOCK.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        found.append(
            Block(
                document=str(document.relative_to(ROOT)),
                line=text.count("\n", 0, match.start()) + 1,
                text=match.group(1),
                illustrative=before.startswith(SKIP_MARK),
            )
        )
    return found


def documents() -> list[Path]:
    docs = sorted((ROOT / "docs").glob("*.md"))
    return [
        ROOT / "README.md",
        *[d for d in docs if str(d.relative_to(ROOT)) not in NOT_RUN_DOCUMENTS],
    ]


def json_documents(output: str) -> list[Any]:
    """Every JSON object or array in ``output`` (pretty-printed, on one line, or several
    back to back as curl prints them), text around them ignored."""
    decoder = json.JSONDecoder()
    found, at = [], 0
    while True:
        starts = [i for i in (output.find("{", at), output.find("[", at)) if i >= 0]
        if not starts:
            return found
        at = min(starts)
        try:
            value, end = decoder.raw_decode(output, at)
        except json.JSONDecodeError:
            at += 1
            continue
        found.append(value)
        at = end


def error_bodies(values: list[Any]) -> list[Any]:
    """The contract's error body or an OAuth2 error among ``values``."""
    return [
        v
        for v in values
        if isinstance(v, dict) and ({"status", "errors", "timestamp"} <= set(v) or "error" in v)
    ]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """``m2mportal run`` (what ``make run`` runs) on a free port; the environment the
    blocks get (the data folder and port of that server, nothing else of M2MP_*)."""
    folder = tmp_path_factory.mktemp("readme")
    (port,) = free_ports(1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("M2MP_")}
    env |= {"M2MP_DATA_DIR": str(folder / "data"), "M2MP_PORT": str(port)}
    # `m2mportal` is not on PATH until the README's `source .venv/bin/activate`.
    bin_dir = str(ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != bin_dir)
    env.pop("VIRTUAL_ENV", None)
    log = folder / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "m2mportal.cli", "run"],
            env={**env, "PYTHONUNBUFFERED": "1"},
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"m2mportal run exited {process.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"m2mportal run not serving after {START_TIMEOUT_S:.0f} s:\n{log.read_text()}"
                )
            time.sleep(0.2)
        _wait_for_the_demo_application(env, port)
        work = folder / "terminal"
        work.mkdir()
        (work / ".venv").symlink_to(ROOT / ".venv")
        yield env | {"_WORK": str(work), "_LOG": str(log)}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_for_the_demo_application(env: dict[str, str], port: int) -> None:
    """A reader's second terminal comes seconds after the banner: by then the demo's
    applications left 'In Creation' (M2MP_PROVISIONING_SECONDS, 2 s by default)."""
    shown = subprocess.run(
        [sys.executable, "-m", "m2mportal.cli", "demo", "env", "--json"],
        env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S, check=True,
    )  # fmt: skip
    creds = json.loads(shown.stdout)
    assert creds["BASE"] == f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15.0
    while True:
        answer = httpx.post(
            f"{creds['BASE']}/auth/realms/m2m/protocol/openid-connect/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["CLIENT_ID"], creds["CLIENT_SECRET"]),
        )
        if answer.status_code == 200:
            return
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.2)


def run_block(block: Block, env: dict[str, str], work: Path) -> dict[str, str]:
    """Run one block in bash; the environment it leaves (for the next block)."""
    state = work / "env.after"
    script = f"set -euo pipefail\nset -a\n{block.text}\nenv -0 > {state}\n"
    where = f"{block.document}:{block.line}"
    try:
        done = subprocess.run(
            ["bash", "-c", script], env=env, cwd=work, capture_output=True, text=True,
            timeout=BLOCK_TIMEOUT_S,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"{where}: still running after {BLOCK_TIMEOUT_S:.0f} s\n{block.text}\n{exc.stdout!r}"
        )
    report = f"{where}:\n{block.text}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    assert done.returncode == 0, report
    assert error_bodies(json_documents(done.stdout)) == [], report
    assert "Traceback" not in done.stderr and "error" not in done.stderr.lower(), report
    return dict(item.split("=", 1) for item in state.read_text().split("\0") if "=" in item)


def test_the_documents_have_blocks_to_run() -> None:
    found = [b for d in documents() for b in blocks(d)]
    assert len([b for b in found if not b.illustrative]) >= 8
    assert any(b.illustrative for b in found)  # `make run` itself, the production servers


@pytest.mark.parametrize("document", documents(), ids=lambda d: str(d.relative_to(ROOT)))
def test_every_command_runs_as_printed(server: dict[str, str], document: Path) -> None:
    work = Path(server["_WORK"])
    env = {k: v for k, v in server.items() if not k.startswith("_")}
    started = time.monotonic()
    ran = []
    for block in blocks(document):
        if block.illustrative:
            continue
        env = run_block(block, env, work)
        ran.append(block.line)
    if document.name == "README.md":
        # What the tour did is there: the suspended SIMs' action ended and its event was read.
        assert ran and "TOKEN" in env and "SIGNUP" in env
    assert time.monotonic() - started < 60


def test_the_docs_count_the_actions_of_the_catalogue() -> None:
    from m2mportal.domain.actions import CATALOGUE

    said = re.findall(r"all (\d+) actions", (ROOT / "docs" / "api.md").read_text())
    assert said == [str(len(CATALOGUE))]


@pytest.mark.parametrize("document", [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))],
                         ids=lambda d: str(d.relative_to(ROOT)))  # fmt: skip
def test_links_stay_in_the_repository(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([\w./-]+)(?:#[\w-]*)?\)", text) + re.findall(
        r"`(\.\./[^`]+)`", text
    ):
        if "://" in target:
            continue
        path = (document.parent / target).resolve()
        assert path.is_relative_to(ROOT) and path.exists(), f"{document.name}: {target}"
