"""Personal identity numbers: our vectorised validator against the `personnummer` package."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pytest
from helpers import luhn_digit, pnr
from hypothesis import given, settings
from hypothesis import strategies as st
from personnummer import personnummer as oracle

from insyn.ingest.personnummer import parse

TODAY = dt.date(2026, 11, 23)
SHARED_LISTS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "personnummer"
FORMS = ("long_format", "short_format", "separated_format", "separated_long", "integer")


def one(value: str, today: dt.date = TODAY):
    parsed = parse(pa.array([value]), today)
    return (parsed.canonical[0].as_py(), parsed.reason[0].as_py(), int(parsed.birth_year[0]),
            parsed.birth_month[0].as_py(), parsed.sex[0].as_py())


def kind(value: str) -> str | None:
    return parse(pa.array([value]), TODAY).kind[0].as_py()


def shared_list(name: str) -> list[dict]:
    """The personnummer project's shared test list (github.com/personnummer/meta, testdata/)."""
    path = SHARED_LISTS / name
    if not path.exists():
        pytest.skip(f"{path} is not here")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["list.json", "interim.json"])
def test_every_case_of_the_shared_lists_in_every_written_form(name):
    """Valid or not as the list says, in each form it is written; the valid ones with the
    list's legal sex, kind, and one canonical number (so one pseudonym) for all their forms."""
    kinds = {"ssn": "personnummer", "con": "samordningsnummer", "interim": "reservnummer"}
    checked = 0
    for case in shared_list(name):
        forms = [str(case[f]) for f in FORMS if case[f]]  # interim numbers have no integer form
        parsed = parse(pa.array(forms), dt.date.today())
        canonical = set(parsed.canonical.to_pylist())
        if not case["valid"]:
            assert canonical == {None}, case
            continue
        assert None not in canonical, case
        assert set(parsed.sex.to_pylist()) == {"male" if case["isMale"] else "female"}, case
        assert set(parsed.kind.to_pylist()) == {kinds[case["type"]]}, case
        # Ten digits without '+' are read as under 100 this year: only the forms that carry
        # the century (or the '+') must agree.
        with_century = [c for f, c in zip(forms, parsed.canonical.to_pylist(), strict=True)
                        if len(f.replace("-", "").replace("+", "")) == 12 or "+" in f]
        assert len(set(with_century)) == 1, case
        checked += 1
    assert checked >= 6


def test_plus_from_the_year_of_the_hundredth_birthday():
    """'+' is written from 1 January of the year the person turns 100: on 5 December 2026
    261223+9232 is born 23 December 1926, one pseudonym with 19261223-9232."""
    today = dt.date(2026, 12, 5)
    nine = "261223923"
    number = f"{nine[:6]}+{nine[6:]}{luhn_digit(nine)}"
    assert one(number, today)[0] == one(f"19{nine[:6]}-{nine[6:]}{luhn_digit(nine)}", today)[0]
    assert one(number, today)[2] == 1926
    # The same number with '-' is a child born this December: still to come.
    assert one(number.replace("+", "-"), today)[1] == "future"
    # Born 1927 turns 100 next year: '-' this year, and 2027 would be in the future.
    assert one(f"270101-{pnr('19270101', '123')[-4:]}", today)[2] == 1927


def test_samordningsnummer_with_unknown_birth_month_or_day():
    """Day 60 (unknown day) and month 00 (unknown month) keep the year, and the month when known."""
    assert one(pnr("20080300", "122", coordination=True))[1:] == (None, 2008, 3, "female")
    assert one(pnr("20080000", "124", coordination=True))[1:] == (None, 2008, None, "female")
    assert one(pnr("20080012", "125", coordination=True))[1:] == (None, 2008, None, "male")
    assert kind(pnr("20080000", "124", coordination=True)) == "samordningsnummer"
    # Only a samordningsnummer may leave them unknown; a known date must still exist.
    assert one(pnr("20080000", "124"))[1] == "date"
    assert one(pnr("20080230", "124", coordination=True))[1] == "date"
    assert one(pnr("20270000", "124", coordination=True))[1] == "future"


def test_reserve_numbers_letter_and_ivo_forms():
    """A letter in place of the first birth-number digit, and IVO's ÅÅÅÅMMDD-TF10: accepted
    without a check digit, sex from the third of the last four, kind reservnummer."""
    assert one("20100315-T123")[1:] == (None, 2010, 3, "female")
    assert one("20100315-TF10")[1:] == (None, 2010, 3, "male")
    assert one("20100315tf10")[0] == one("20100315-TF10")[0] == "20100315TF10"
    assert kind("100315-R221") == "reservnummer"
    assert one("20100315-E123")[1] == "format"  # not a reserve letter
    assert one("20100230-T123")[1] == "date"  # the date of a reserve number must exist
    assert one("20100375-T123")[1] == "date"  # and is never a samordningsnummer's


def test_numbers_that_lost_their_leading_zeros():
    """Excel keeps a number typed into a cell as a number: 0512121234 becomes 512121234."""
    ten = pnr("20051212", "123")[2:].replace("-", "")
    assert ten.startswith("0")
    for stored in (ten.lstrip("0"), ten.lstrip("0") + ".0"):
        assert one(stored)[0] == one(ten)[0] == "20" + ten
    assert one("5,12121E+09")[1] == "excel"


def test_skatteverkets_test_number_in_every_form():
    for form in ("19121212-1212", "191212121212", "19121212+1212", "121212+1212"):
        assert one(form) == ("191212121212", None, 1912, 12, "male"), form


def test_ten_digits_take_the_latest_century_not_in_the_future():
    assert one("121212-1212")[0] == "201212121212"
    assert one(pnr("20120315", "123")[2:])[2] == 2012
    assert kind("121212-1212") == "personnummer"


def test_coordination_number_day_plus_60():
    number = pnr("19900817", "251", coordination=True)
    assert number[6:8] == "77"
    assert one(number)[1:] == (None, 1990, 8, "male")
    assert kind(number) == "samordningsnummer"


def test_reasons():
    assert one("19121212-1213")[1] == "checksum"
    assert one("abc")[1] == "format"
    assert one("1212121212121")[1] == "format"
    nine = "230230123"  # 30 February
    assert one(f"20{nine[:6]}-{nine[6:]}{luhn_digit(nine)}")[1] == "date"
    nine = "301231123"  # born 31 Dec 2030: in the future
    assert one(f"20{nine[:6]}-{nine[6:]}{luhn_digit(nine)}")[1] == "future"


def test_sex_from_the_second_last_digit():
    assert one(pnr("20100101", "242"))[4] == "female"
    assert one(pnr("20100101", "253"))[4] == "male"


@st.composite
def candidate_numbers(draw):
    """Mostly well-formed numbers with valid or broken checksums and dates, in every form."""
    year = draw(st.integers(1900, 2026))
    month = draw(st.integers(1, 13))
    day = draw(st.integers(1, 32)) + draw(st.sampled_from([0, 0, 60]))
    serial = draw(st.integers(0, 999))
    core9 = f"{year % 100:02d}{month:02d}{day:02d}{serial:03d}"
    check = luhn_digit(core9) if draw(st.booleans()) else draw(st.integers(0, 9))
    ten = f"{core9}{check}"
    form = draw(st.sampled_from(["12dash", "12", "10dash", "10"]))
    return {"12dash": f"{year // 100}{ten[:6]}-{ten[6:]}", "12": f"{year // 100}{ten}",
            "10dash": f"{ten[:6]}-{ten[6:]}", "10": ten}[form]


@settings(max_examples=400, deadline=None)
@given(st.lists(candidate_numbers(), min_size=1, max_size=30))
def test_agrees_with_the_personnummer_package(values):
    parsed = parse(pa.array(values), dt.date.today())
    for value, canonical in zip(values, parsed.canonical.to_pylist(), strict=True):
        try:
            expected = oracle.valid(value)
        except Exception:  # the package raises for some malformed input
            expected = False
        if expected and oracle.parse(value).get_date() > dt.date.today():
            expected = False  # the package accepts 12-digit numbers born in the future
        assert (canonical is not None) == expected, value
        if expected:
            assert canonical == oracle.parse(value).format(True).replace("-", "").replace("+", "")


@settings(max_examples=200, deadline=None)
@given(st.integers(1900, 2025), st.integers(0, 12), st.booleans(), st.integers(1, 999))
def test_unknown_parts_of_a_samordningsnummer_keep_what_is_known(year, month, day_known, serial):
    """Any year, a known or unknown (00) month, a known or unknown (60) day: valid with the
    birth year, the month when known, in the 12- and 10-digit forms alike."""
    day = 1 if day_known else 0
    number = pnr(f"{year}{month:02d}{day:02d}", f"{serial:03d}", coordination=True)
    under_100 = year > 1926  # ten digits with '-' are read as under 100
    for form in (number, number[2:]) if under_100 else (number,):
        parsed = one(form, dt.date(2026, 1, 1))
        assert parsed[1:4] == (None, year, month or None), form


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=20), st.binary(min_size=16, max_size=64))
def test_pseudonym_is_hmac_sha256(values, key):
    import hmac

    from insyn.ingest.pseudonymise import PSEUDONYM_HEX_CHARS, pseudonymise

    got = pseudonymise(pa.array(values + [None]), key).to_pylist()
    expected = [hmac.digest(key, v.encode(), "sha256").hex()[:PSEUDONYM_HEX_CHARS] for v in values]
    assert got == expected + [None]
