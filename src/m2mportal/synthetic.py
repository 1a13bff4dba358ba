"""Synthetic but well-formed SIM records: demo data, tests and benchmarks share them."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from m2mportal.domain.identifiers import eid_check_digits, luhn_digit

STATUS_MIX = (
    ("Active", 0.55),
    ("Inactive", 0.25),
    ("Suspended", 0.1),
    ("Blocked", 0.05),
    ("Terminated", 0.05),
)
REMARK_WORDS = ("truck", "meter", "pump", "tracker", "vending", "gateway", "sensor", "camera")


def iccid(serial: int, issuer: str = "894902") -> str:
    body = f"{issuer}{serial:013d}"
    return body + luhn_digit(body)


def imsi(serial: int) -> str:
    return f"26201{serial:010d}"


def msisdn(serial: int) -> str:
    return f"49151{serial:08d}"[:15]


def imei(serial: int) -> str:
    body = f"35{serial:012d}"
    return body + luhn_digit(body)


def euiccid(serial: int) -> str:
    body = f"8904903200{serial:020d}"
    return body + eid_check_digits(body)


def records(
    count: int,
    start: int = 1,
    seed: int = 7,
    tariff_ids: tuple[int, ...] = (),
    subunits: tuple[int | None, ...] = (None,),
    esim_share: float = 0.1,
) -> Iterator[dict[str, Any]]:
    """``count`` SIM records as plain dicts (keys as in the operator API, snake_case)."""
    rng = random.Random(seed)
    statuses = [s for s, _ in STATUS_MIX]
    weights = [w for _, w in STATUS_MIX]
    for serial in range(start, start + count):
        status = rng.choices(statuses, weights)[0]
        esim = rng.random() < esim_share
        record: dict[str, Any] = {
            "iccid": iccid(serial),
            "imsi": imsi(serial),
            "sim_type": "eSIM" if esim else "physical",
            "status": status,
            "productive": status != "Inactive" and rng.random() < 0.9,
            "msisdn": msisdn(serial) if status != "Inactive" else None,
            "imei": imei(serial) if status in ("Active", "Suspended") else None,
            "euiccid": euiccid(serial) if esim else None,
            "tariff_id": rng.choice(tariff_ids) if tariff_ids else None,
            "subunit_id": rng.choice(subunits),
            "remark1": f"{rng.choice(REMARK_WORDS)} {serial % 9973}",
            "remark2": f"site-{serial % 251}" if rng.random() < 0.3 else None,
        }
        yield record
