"""Reading SIM records from a CSV file, one row at a time (1,000,000 rows in modest memory).

Columns (header row, any order): iccid, euiccid, imsi, msisdn, imei, sim_type, status,
productive, activation_date, tariff_id, material_id, binding_months, limit_profile_id,
fraud_profile_id, cost_limit_profile_id, remark1..remark5, apns (";"-separated),
activation_code, subunit_id. Only iccid is required. camelCase headers work too.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from typing import IO, Any

import msgspec

from m2mportal.models import NewSim, Remarks

_INT = ("tariff_id", "material_id", "binding_months", "limit_profile_id", "fraud_profile_id",
        "cost_limit_profile_id", "subunit_id")  # fmt: skip
_KNOWN = {
    "iccid", "euiccid", "imsi", "msisdn", "imei", "sim_type", "status", "productive",
    "activation_date", "activation_code", "apns", *_INT, *(f"remark{i}" for i in range(1, 6)),
}  # fmt: skip


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name.strip()).lower()


class CsvProblem(Exception):
    pass


def header_problems(fieldnames: Sequence[str] | None) -> list[str]:
    if not fieldnames:
        return ["line 1: the file has no header row"]
    names = [_snake(n) for n in fieldnames]
    problems = [f"line 1: unknown column {raw!r}" for raw, n in zip(fieldnames, names, strict=True)
                if n not in _KNOWN]  # fmt: skip
    if "iccid" not in names:
        problems.append("line 1: column 'iccid' is required")
    return problems


def _record(row: dict[str, str]) -> NewSim | str:
    values: dict[str, Any] = {}
    problems: list[str] = []
    remarks: dict[str, str] = {}
    for raw_key, raw_value in row.items():
        if raw_key is None:
            return "more fields than the header has"
        key = _snake(raw_key)
        value = (raw_value or "").strip()
        if value == "":
            continue
        if key.startswith("remark"):
            remarks[key] = value
        elif key == "apns":
            values["apns"] = [a.strip() for a in value.split(";") if a.strip()]
        elif key in _INT:
            if not value.isdigit():
                problems.append(f"{key}: {value!r} is not a whole number")
            else:
                values[key] = int(value)
        elif key == "productive":
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                problems.append(f"productive: {value!r} is not true or false")
            else:
                values[key] = value.lower() in ("true", "1", "yes")
        else:
            values[key] = value
    if problems:
        return "; ".join(problems)
    if remarks:
        values["remarks"] = Remarks(**remarks)
    try:
        return msgspec.convert(values, NewSim, from_attributes=False)
    except msgspec.ValidationError as exc:
        text = str(exc)
        message, _, path = text.partition(" - at `$.")
        return f"{_snake(path.rstrip('`')) or 'row'}: {message}" if path else text


def read(handle: IO[str]) -> Iterator[tuple[str, NewSim | str]]:
    """``(where, record or error)`` per data row; raises CsvProblem for a bad header."""
    reader = csv.DictReader(handle)
    problems = header_problems(reader.fieldnames)
    if problems:
        raise CsvProblem("\n".join(problems))
    for row in reader:
        yield f"line {reader.line_num}", _record(row)
