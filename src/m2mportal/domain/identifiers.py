"""SIM identifiers (CONTRACT.md section 6): their forms and how a SIM is selected by one.

Each validator returns an error text or ``None``; callers collect every error so a
request with several malformed identifiers names all of them at once.
"""

from __future__ import annotations

from collections.abc import Callable

KINDS = ("iccid", "euiccid", "imsi", "imei", "msisdn")

# Numeric ids (partners, actions, tariffs, ...) are stored as signed 64-bit integers.
MAX_ID = 2**63 - 1
# A dotted-quad IPv4 address in its one spelling ([0-9], not \d: Python's \d also takes
# Arabic-Indic and other digits; no leading zeros), as the ipaddress module reads one.
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4_PATTERN = rf"^({_OCTET}\.){{3}}{_OCTET}$"


def _digits(value: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts Arabic-Indic, Devanagari, ... digits."""
    return value.isascii() and value.isdigit()


def check_number(text: str, maximum: int = MAX_ID, minimum: int = 0) -> str | None:
    """A whole number in its one spelling: ASCII digits, no sign, no leading zero, in range.

    ``int()`` alone would take "007", "+7", " 7", "1_000" and fullwidth or Arabic-Indic
    digits, so one id would have many spellings (and superscripts raise instead of
    failing validation).
    """
    if not _digits(text) or (len(text) > 1 and text[0] == "0"):
        return "must be a whole number in ASCII digits, without sign or leading zeros"
    if len(text) > len(str(maximum)) or not minimum <= int(text) <= maximum:
        return f"must be between {minimum} and {maximum}"
    return None


def check_id(text: str) -> str | None:
    """A numeric id (1 to 2^63-1) in its one spelling."""
    return check_number(text, MAX_ID, 1)


# A digit doubled, less 9 when above 9 (the Luhn sum of every second digit from the right),
# as the digit character it sums to.
_DOUBLED = str.maketrans("0123456789", "0246813579")


def luhn_ok(digits: str) -> bool:
    """For ASCII digits (callers check that first). On every ICCID a call names, so
    without a per-digit loop in Python: the digits' values are summed as bytes (each is
    its character's code less 48), the doubled ones after mapping each to the digit its
    doubling sums to. 0.5 us instead of 1.6 (a loop took 10)."""
    kept = digits[-1::-2].encode("ascii")
    doubled = digits[-2::-2].translate(_DOUBLED).encode("ascii")
    return (sum(kept) + sum(doubled) - 48 * len(digits)) % 10 == 0


def luhn_digit(body: str) -> str:
    """The check digit that makes ``body + digit`` pass the Luhn test."""
    for digit in "0123456789":
        if luhn_ok(body + digit):
            return digit
    raise AssertionError("unreachable")


def eid_check_digits(body30: str) -> str:
    """GSMA SGP.29: two check digits so that the 32-digit number mod 97 equals 1."""
    remainder = int(body30 + "00") % 97
    return f"{98 - remainder:02d}"


def check_iccid(value: str) -> str | None:
    if not _digits(value) or len(value) not in (19, 20):
        return "must be 19 or 20 digits"
    if not value.startswith("89"):
        return "must start with 89"
    if len(value) == 20 and not luhn_ok(value):
        return "check digit wrong"
    return None


def check_euiccid(value: str) -> str | None:
    if not _digits(value) or len(value) != 32:
        return "must be 32 digits"
    if int(value) % 97 != 1:
        return "check digits wrong"
    return None


def check_imsi(value: str) -> str | None:
    if not _digits(value) or len(value) not in (14, 15):
        return "must be 14 or 15 digits"
    return None


def check_imei(value: str) -> str | None:
    if not _digits(value) or len(value) not in (15, 16):
        return "must be 15 digits (IMEI) or 16 digits (IMEISV)"
    if len(value) == 15 and not luhn_ok(value):
        return "check digit wrong"
    return None


def check_msisdn(value: str) -> str | None:
    if not _digits(value) or not 1 <= len(value) <= 15 or value.startswith("0"):
        return "must be E.164 digits without '+', at most 15"
    return None


CHECKS: dict[str, Callable[[str], str | None]] = {
    "iccid": check_iccid,
    "euiccid": check_euiccid,
    "imsi": check_imsi,
    "imei": check_imei,
    "msisdn": check_msisdn,
}


def imei_key(imei: str) -> str:
    """IMEI and IMEISV select a device by their first 14 digits (TAC + serial)."""
    return imei[:14]


def lookup_value(kind: str, value: str) -> str:
    """The value stored in the lookup column for ``kind``."""
    return imei_key(value) if kind == "imei" else value


def selector_errors(selector: object, path: str, allowed: tuple[str, ...] = KINDS) -> list[str]:
    """Errors for one ``{"<kind>": "<value>"}`` selector; empty when it is valid."""
    if not isinstance(selector, dict):
        return [f"{path}: must be an object with exactly one identifier"]
    keys = [key for key in selector if selector[key] is not None]
    if len(keys) != 1:
        names = ", ".join(allowed)
        return [f"{path}: exactly one identifier of {names} is required"]
    kind = keys[0]
    if kind not in allowed:
        if kind in KINDS:
            return [
                f"{path}.{kind}: identifier not supported here (use one of {', '.join(allowed)})"
            ]
        return [f"{path}.{kind}: unknown identifier"]
    value = selector[kind]
    if not isinstance(value, str):
        return [f"{path}.{kind}: must be a string of digits"]
    problem = CHECKS[kind](value)
    return [f"{path}.{kind}: {problem}"] if problem else []
