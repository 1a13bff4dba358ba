"""`make audit`'s decisions on pip-audit's answers (no network: canned pip-audit output)."""

from __future__ import annotations

import json

from tests.guards.audit import lock_lines, verdict

CLEAN = {"dependencies": [{"name": "httpx", "version": "0.28.1", "vulns": []}], "fixes": []}
VULNERABLE = {
    "dependencies": [
        {"name": "httpx", "version": "0.28.1", "vulns": []},
        {
            "name": "jinja2",
            "version": "3.1.4",
            "vulns": [{"id": "GHSA-q2x7-8rv6-6q7h", "fix_versions": ["3.1.5"]}],
        },
    ],
    "fixes": [],
}
SKIPPED = {
    "dependencies": [
        {"name": "httpx", "skip_reason": "Dependency not found on PyPI and could not be audited"}
    ],
    "fixes": [],
}
OUTAGE = "requests.exceptions.ConnectionError: Max retries exceeded with url: /pypi/httpx"


def test_a_known_vulnerability_fails_naming_the_fix() -> None:
    code, lines = verdict(1, json.dumps(VULNERABLE), "", strict=False)
    assert code == 1
    assert "VULNERABLE: jinja2 3.1.4: GHSA-q2x7-8rv6-6q7h (fixed in 3.1.5)" in lines


def test_a_clean_audit_passes() -> None:
    code, lines = verdict(0, json.dumps(CLEAN), "", strict=False)
    assert code == 0
    assert lines == ["pip-audit: 1 audited, 0 with known vulnerabilities"]


def test_an_outage_warns_and_passes_unless_strict() -> None:
    code, lines = verdict(1, "", OUTAGE, strict=False)
    assert code == 0 and "NOT audited" in lines[0]
    assert verdict(1, "", OUTAGE, strict=True)[0] == 1


def test_pins_the_service_did_not_answer_for_are_a_warning() -> None:
    code, lines = verdict(0, json.dumps(SKIPPED), "", strict=False)
    assert code == 0 and "1 of 1 pinned dependencies were NOT audited" in lines[0]
    assert verdict(0, json.dumps(SKIPPED), "", strict=True)[0] == 1


def test_any_other_failure_fails() -> None:
    code, lines = verdict(2, "", "ERROR: invalid requirement: 'httpx=='", strict=False)
    assert code == 1 and "invalid requirement" in lines[0]


def test_the_lock_leaves_the_project_out_and_sorts_by_name() -> None:
    report = {
        "install": [
            {"requested": True, "metadata": {"name": "m2mportal", "version": "0.1.0"}},
            {"metadata": {"name": "starlette", "version": "1.10.0"}},
            {"metadata": {"name": "Jinja2", "version": "3.1.6"}},
        ]
    }
    assert lock_lines(report) == ["Jinja2==3.1.6", "starlette==1.10.0"]
