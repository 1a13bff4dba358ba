"""The locked runtime dependencies and their audit (`make lock`, `make audit`).

``lock REPORT``: requirements.lock from a ``pip install --dry-run --report`` of the project
constrained to the installed venv: exactly what the runtime dependencies pull in, at the
versions installed.

``check``: pip-audit (PyPI's vulnerability data) on requirements.lock, with one decision
for when the service cannot answer:

- a known vulnerability in a pinned dependency fails, naming it and the fixed versions;
- the service unreachable, or not answering for some pins: a clear warning, and the run
  passes (a network outage is not a defect of the code; the next run audits again), unless
  ``M2MP_AUDIT_STRICT=1`` (a release build wants a real audit or none);
- pip-audit failing for any other reason (say, a malformed lock file) fails.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

LOCK = Path(__file__).resolve().parents[2] / "requirements.lock"
HEADER = """\
# Runtime dependencies of m2mportal, pinned: what pyproject.toml's [project] dependencies
# pull in, at the versions installed in .venv. `make lock` regenerates it; `make audit`
# (part of `make test`) checks it with pip-audit; `make install` installs within it.
"""
OUTAGE = re.compile(
    r"ConnectionError|ProxyError|Max retries|timed out|Timeout|NameResolution|"
    r"Temporary failure|Network is unreachable|ServiceError",
    re.IGNORECASE,
)


def lock_lines(report: dict[str, Any]) -> list[str]:
    """``name==version`` of every package pip would install, the project itself left out."""
    pins = {
        (item["metadata"]["name"], item["metadata"]["version"])
        for item in report["install"]
        if not item.get("requested")
    }
    return [f"{name}=={version}" for name, version in sorted(pins, key=lambda p: p[0].lower())]


def verdict(returncode: int, stdout: str, stderr: str, strict: bool) -> tuple[int, list[str]]:
    """Exit code and lines to print for one pip-audit run (JSON format)."""
    try:
        report = json.loads(stdout)
    except ValueError:
        report = None
    if not isinstance(report, dict):
        last = (stderr.strip().splitlines() or ["no output"])[-1]
        if OUTAGE.search(stderr):
            return (1 if strict else 0), [
                "WARNING: the vulnerability service could not be reached; the dependencies"
                f" were NOT audited this run ({last[:200]})"
            ]
        return 1, [f"pip-audit failed (exit {returncode}): {last[:300]}"]
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    lines = [
        f"VULNERABLE: {d['name']} {d['version']}: {v['id']}"
        f" (fixed in {', '.join(v.get('fix_versions') or ['no release yet'])})"
        for d in vulnerable
        for v in d["vulns"]
    ]
    if skipped:
        lines.append(
            f"WARNING: {len(skipped)} of {len(dependencies)} pinned dependencies were NOT"
            f" audited: the vulnerability service did not answer for them"
            f" (first: {skipped[0]['skip_reason']})"
        )
    audited = len(dependencies) - len(skipped)
    lines.append(f"pip-audit: {audited} audited, {len(vulnerable)} with known vulnerabilities")
    failed = bool(vulnerable) or (strict and bool(skipped))
    return (1 if failed else 0), lines


def check() -> int:
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--requirement",
        str(LOCK),
        "--no-deps",  # every pin is given: nothing to resolve
        "--disable-pip",
        "--progress-spinner",
        "off",
        "--format",
        "json",
        "--timeout",
        "30",
    ]
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    strict = os.environ.get("M2MP_AUDIT_STRICT", "") == "1"
    code, lines = verdict(run.returncode, run.stdout, run.stderr, strict)
    print("\n".join(lines), file=sys.stderr if code else sys.stdout)
    return code


def main(argv: list[str]) -> int:
    if argv[:1] == ["lock"] and len(argv) == 2:
        report = json.loads(Path(argv[1]).read_text())
        LOCK.write_text(HEADER + "\n".join(lock_lines(report)) + "\n")
        return 0
    if argv == ["check"]:
        return check()
    print("usage: python -m tests.guards.audit lock REPORT.json | check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
