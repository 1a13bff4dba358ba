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

from m2mportal.domain.identifiers import check_number
from m2mportal.models import NewSim

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


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


# How a column's text becomes a field: one decision per column, made once per file.
_REMARK, _APNS, _INTEGER, _BOOL, _TEXT = range(5)
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


def _column(snake: str) -> tuple[str, str, int]:
    """(snake name for messages, NewSim field name, kind) of a known column."""
    if snake.startswith("remark"):
        kind = _REMARK
    elif snake == "apns":
        kind = _APNS
    elif snake in _INT:
        kind = _INTEGER
    elif snake == "productive":
        kind = _BOOL
    else:
        kind = _TEXT
    return snake, _camel(snake), kind


def _record(columns: Sequence[tuple[str, str, int]], row: Sequence[str]) -> NewSim | str:
    if len(row) > len(columns):
        return "more fields than the header has"
    values: dict[str, Any] = {}
    problems: list[str] = []
    remarks: dict[str, str] = {}
    for (key, field, kind), raw_value in zip(columns, row, strict=False):
        value = raw_value.strip()
        if value == "":
            continue
        if "\0" in value:
            # PostgreSQL cannot store it; SQLite would: refused on both alike.
            problems.append(f"{key}: must not contain a NUL character")
        elif kind == _TEXT:
            values[field] = value
        elif kind == _REMARK:
            remarks[field] = value
        elif kind == _INTEGER:
            if problem := check_number(value):
                problems.append(f"{key}: {value!r} {problem}")
            else:
                values[field] = int(value)
        elif kind == _BOOL:
            folded = value.lower()
            if folded in _TRUE:
                values[field] = True
            elif folded in _FALSE:
                values[field] = False
            else:
                problems.append(f"productive: {value!r} is not true or false")
        else:
            values[field] = [a.strip() for a in value.split(";") if a.strip()]
    if problems:
        return "; ".join(problems)
    if remarks:
        values["remarks"] = remarks
    try:
        return msgspec.convert(values, NewSim)
    except msgspec.ValidationError as exc:
        text = str(exc)
        message, _, path = text.partition(" - at `$.")
        return f"{_snake(path.rstrip('`')) or 'row'}: {message}" if path else text


def read(handle: IO[str]) -> Iterator[tuple[str, NewSim | str]]:
    """``(where, record or error)`` per data row; raises CsvProblem for a bad header."""
    reader = csv.reader(handle)
    fieldnames = next(reader, None)
    problems = header_problems(fieldnames)
    if problems:
        raise CsvProblem("\n".join(problems))
    assert fieldnames is not None
    columns = [_column(_snake(name)) for name in fieldnames]
    for row in reader:
        if not row:  # a blank line is no record (as csv.DictReader skips it)
            continue
        yield f"line {reader.line_num}", _record(columns, row)
