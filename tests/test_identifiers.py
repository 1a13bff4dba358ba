"""Unit tests of the SIM identifier forms (CONTRACT.md section 6), domain/identifiers.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from m2mportal.domain.identifiers import (
    CHECKS,
    KINDS,
    check_euiccid,
    check_iccid,
    check_imei,
    check_imsi,
    check_msisdn,
    eid_check_digits,
    imei_key,
    lookup_value,
    luhn_digit,
    luhn_ok,
    selector_errors,
)

ASCII_DIGITS = "0123456789"
# No per-example deadline: a loaded CI machine must not turn a slow example into a failure.
relaxed = settings(deadline=None)
digits = st.text(alphabet=ASCII_DIGITS, min_size=1, max_size=40)


def reference_luhn_ok(number: str) -> bool:
    """An independent Luhn: double every second digit from the right, digit-sum, mod 10."""
    total = 0
    for position, char in enumerate(number[::-1]):
        value = int(char) * (2 if position % 2 else 1)
        total += sum(int(d) for d in str(value))
    return total % 10 == 0


def fixed_digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=ASCII_DIGITS, min_size=n, max_size=n)


# --- Luhn and EID check digits ---------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "ok"),
    [
        ("79927398713", True),  # the textbook example
        ("79927398710", False),
        ("0", True),
        ("18", True),
        ("4111111111111111", True),
        ("4111111111111112", False),
    ],
)
def test_luhn_ok_known_values(number: str, ok: bool) -> None:
    assert luhn_ok(number) is ok


def test_luhn_digit_completes_the_textbook_example() -> None:
    assert luhn_digit("7992739871") == "3"


@relaxed
@given(digits)
def test_luhn_ok_agrees_with_an_independent_implementation(number: str) -> None:
    assert luhn_ok(number) == reference_luhn_ok(number)


@relaxed
@given(digits)
def test_luhn_digit_makes_the_number_pass(body: str) -> None:
    digit = luhn_digit(body)
    assert len(digit) == 1 and digit.isdigit()
    assert reference_luhn_ok(body + digit)


def test_gsma_sample_eid_is_valid() -> None:
    # The example EID of GSMA SGP.29.
    assert check_euiccid("89049032123451234512345678901235") is None
    assert eid_check_digits("890490321234512345123456789012") == "35"


@relaxed
@given(fixed_digits(30))
def test_eid_check_digits_make_the_number_one_mod_97(body: str) -> None:
    check = eid_check_digits(body)
    assert len(check) == 2 and check.isdigit()
    assert int(body + check) % 97 == 1


# --- each form --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "8999829698800485278",  # the seed's 19-digit ICCID without a check digit
        "89490200000000000013",  # 20 digits, Luhn ok
        "8949020000000000001",
    ],
)
def test_valid_iccids(value: str) -> None:
    assert check_iccid(value) is None


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("89490200000000000012", "check digit wrong"),
        ("79490200000000000013", "must start with 89"),
        ("894902000000000000", "must be 19 or 20 digits"),  # 18
        ("894902000000000000130", "must be 19 or 20 digits"),  # 21
        ("8949020000000000001a", "must be 19 or 20 digits"),
        (" 8949020000000000001", "must be 19 or 20 digits"),
        ("", "must be 19 or 20 digits"),
    ],
)
def test_invalid_iccids(value: str, error: str) -> None:
    assert check_iccid(value) == error


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("89049032000000000000000000000164", "check digits wrong"),
        ("89049032000001000", "must be 32 digits"),  # the seed's 17-digit test value
        ("8904903200000000000000000000016", "must be 32 digits"),
        ("8904903200000000000000000000016x", "must be 32 digits"),
    ],
)
def test_invalid_euiccids(value: str, error: str) -> None:
    assert check_euiccid(value) == error


@pytest.mark.parametrize("value", ["26201000000001", "262010000000001"])
def test_valid_imsis(value: str) -> None:
    assert check_imsi(value) is None


@pytest.mark.parametrize("value", ["2620100000001", "2620100000000011", "26201000000000a", ""])
def test_invalid_imsis(value: str) -> None:
    assert check_imsi(value) == "must be 14 or 15 digits"


@pytest.mark.parametrize("value", ["350000000000014", "3500000000000101"])
def test_valid_imeis(value: str) -> None:
    assert check_imei(value) is None


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("350000000000015", "check digit wrong"),
        ("35000000000001", "must be 15 digits (IMEI) or 16 digits (IMEISV)"),
        ("35000000000001000", "must be 15 digits (IMEI) or 16 digits (IMEISV)"),
        ("35000000000001x", "must be 15 digits (IMEI) or 16 digits (IMEISV)"),
    ],
)
def test_invalid_imeis(value: str, error: str) -> None:
    assert check_imei(value) == error


@pytest.mark.parametrize("value", ["4915100000001", "1", "491510000000001"])
def test_valid_msisdns(value: str) -> None:
    assert check_msisdn(value) is None


@pytest.mark.parametrize(
    "value", ["+4915100000001", "04915100000001", "4915100000000011", "", "49 151 0000"]
)
def test_invalid_msisdns(value: str) -> None:
    assert check_msisdn(value) == "must be E.164 digits without '+', at most 15"


def test_checks_cover_every_kind() -> None:
    assert set(CHECKS) == set(KINDS) == {"iccid", "euiccid", "imsi", "imei", "msisdn"}


# Identifiers are ASCII digits. str.isdigit() also accepts other scripts' digits
# (Arabic-Indic, Devanagari, superscripts), which no SIM identifier contains.
NON_ASCII_DIGIT_CASES = [
    ("iccid", "89" + "\u0660" * 17),  # 89 + 17 Arabic-Indic zeros
    ("imsi", "\u0662\u0666\u0662\u0660\u0661" + "\u0660" * 9),  # 14 Arabic-Indic digits
    ("msisdn", "\u0664\u0669\u0661\u0665\u0661"),
    ("imei", "3" + "\u0966" * 15),  # Devanagari zeros, 16 characters (IMEISV length)
    ("euiccid", "8904903212345123451234567890123\u0665"),  # mod 97 via int() still == 1
]


@pytest.mark.parametrize(("kind", "value"), NON_ASCII_DIGIT_CASES)
def test_non_ascii_digits_are_rejected(kind: str, value: str) -> None:
    assert CHECKS[kind](value) is not None, f"{kind} {value!r} was accepted"


# --- property tests ---------------------------------------------------------------------


@st.composite
def iccids20(draw: st.DrawFn) -> str:
    body = "89" + draw(fixed_digits(17))
    return body + luhn_digit(body)


@st.composite
def eids(draw: st.DrawFn) -> str:
    body = "89" + draw(fixed_digits(28))
    return body + eid_check_digits(body)


@st.composite
def imeis(draw: st.DrawFn) -> str:
    body = draw(fixed_digits(14))
    return body + luhn_digit(body)


@relaxed
@given(iccids20(), fixed_digits(17))
def test_generated_iccids_pass(iccid20: str, serial: str) -> None:
    assert check_iccid(iccid20) is None
    assert check_iccid("89" + serial) is None  # 19 digits need no check digit


@relaxed
@given(eids())
def test_generated_eids_pass(eid: str) -> None:
    assert check_euiccid(eid) is None


@relaxed
@given(imeis(), fixed_digits(2))
def test_generated_imeis_pass_and_imeisv_shares_the_key(imei: str, sv: str) -> None:
    imeisv = imei[:14] + sv
    assert check_imei(imei) is None
    assert check_imei(imeisv) is None
    assert imei_key(imei) == imei_key(imeisv) == imei[:14]
    assert lookup_value("imei", imeisv) == lookup_value("imei", imei) == imei[:14]


@relaxed
@given(iccids20(), st.integers(0, 19), st.integers(1, 9))
def test_single_digit_corruption_of_a_20_digit_iccid_fails(
    iccid: str, position: int, shift: int
) -> None:
    replaced = str((int(iccid[position]) + shift) % 10)
    corrupted = iccid[:position] + replaced + iccid[position + 1 :]
    assert corrupted != iccid
    assert check_iccid(corrupted) is not None


@relaxed
@given(eids(), st.integers(0, 31), st.integers(1, 9))
def test_single_digit_corruption_of_an_eid_fails(eid: str, position: int, shift: int) -> None:
    replaced = str((int(eid[position]) + shift) % 10)
    corrupted = eid[:position] + replaced + eid[position + 1 :]
    assert check_euiccid(corrupted) is not None


# Mostly ASCII digits, with a few look-alikes: other scripts' digits, a superscript, '+'.
near_digits = st.text(
    alphabet=st.sampled_from("01234567890123456789\u0660\u0665\u0966\u00b2+ a"),
    min_size=1,
    max_size=33,
)


@relaxed
@given(st.sampled_from(KINDS), near_digits)
def test_every_accepted_identifier_is_ascii_digits(kind: str, value: str) -> None:
    if CHECKS[kind](value) is None:
        assert value.isascii() and value.isdigit(), f"{kind} accepted {value!r}"


# --- lookups and selectors --------------------------------------------------------------


def test_lookup_value_passes_other_kinds_through() -> None:
    for kind in ("iccid", "euiccid", "imsi", "msisdn"):
        assert lookup_value(kind, "262010000000001") == "262010000000001"


@pytest.mark.parametrize(
    ("selector", "errors"),
    [
        ({"iccid": "89490200000000000013"}, []),
        ({"imei": "3500000000000101"}, []),
        ({"imsi": "262010000000001", "iccid": None}, []),
        ("89490200000000000013", ["sims[0]: must be an object with exactly one identifier"]),
        (
            {},
            ["sims[0]: exactly one identifier of iccid, euiccid, imsi, imei, msisdn is required"],
        ),
        (
            {"iccid": "89490200000000000013", "imsi": "262010000000001"},
            ["sims[0]: exactly one identifier of iccid, euiccid, imsi, imei, msisdn is required"],
        ),
        ({"serial": "1"}, ["sims[0].serial: unknown identifier"]),
        ({"imsi": 262010000000001}, ["sims[0].imsi: must be a string of digits"]),
        ({"imsi": "2620"}, ["sims[0].imsi: must be 14 or 15 digits"]),
        ({"iccid": "89490200000000000012"}, ["sims[0].iccid: check digit wrong"]),
    ],
)
def test_selector_errors(selector: object, errors: list[str]) -> None:
    assert selector_errors(selector, "sims[0]") == errors


def test_selector_errors_with_restricted_kinds() -> None:
    assert selector_errors({"msisdn": "4915100000001"}, "sims[1]", allowed=("iccid",)) == [
        "sims[1].msisdn: identifier not supported here (use one of iccid)"
    ]
    assert selector_errors({"iccid": "89490200000000000013"}, "x", allowed=("iccid",)) == []
