"""Everything published as one long table for an analyst (insyn export --format tabell,
insyn.publish.analyst): read back with pandas, numbers are numbers, kommunkod is text with its
leading zero, every period has its first day, a hidden figure has no numbers, and there is no
line above the header."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest
from test_publish import RULES, VIMMERBY, YEARS, build_results

from insyn.publish.analyst import COLUMNS, LABEL_COLUMN, first_day, write_analyst_table
from insyn.publish.publication import SYNTHETIC_LABEL, prepare


@pytest.fixture(scope="module")
def publication():
    results = build_results(["1480", VIMMERBY, "0780"], YEARS)
    hit = ((results.indicator == "utredning_inom_4_manader") & (results.municipality == VIMMERBY)
           & (results.period == YEARS[-1]) & results[["unit", "sex", "age_group", "category"]].isna().all(axis=1))
    results.loc[hit, ["numerator", "denominator", "value"]] = [3, 7, 300 / 7]
    return prepare(results, RULES)


def _read(path):
    if path.suffix == ".csv":
        return pd.read_csv(path, sep=";", decimal=",", dtype={"Kommunkod": str}, parse_dates=["Periodens första dag"])
    return pd.read_excel(path, dtype={"Kommunkod": str})


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_the_table_reads_back_typed(publication, tmp_path, suffix):
    frame = _read(write_analyst_table(publication, tmp_path / f"publicerat{suffix}"))
    assert list(frame.columns) == COLUMNS  # the header is the first line: nothing above it
    assert len(frame) == len(publication.index)
    for column in ("Täljare", "Nämnare", "Värde"):
        assert pd.api.types.is_float_dtype(frame[column]), column
    assert VIMMERBY in set(frame.Kommunkod)  # "0884", not 884
    assert pd.api.types.is_datetime64_any_dtype(frame["Periodens första dag"])
    total = frame[["Enhet", "Kön", "Åldersgrupp", "Kategori"]].isna().all(axis=1)
    hidden = frame[(frame["Indikator-id"] == "utredning_inom_4_manader") & (frame.Kommunkod == VIMMERBY)
                   & (frame.Period == YEARS[-1]) & total]
    assert len(hidden) == 1 and hidden.Status.iloc[0] == "dold"
    assert hidden[["Täljare", "Värde"]].isna().all(axis=None)
    shown = frame[(frame.Status == "publicerad") & frame["Värde"].notna()]
    assert len(shown) > 100
    row = shown.iloc[0]
    source = publication.row(next(d for d in publication.definitions if d.id == row["Indikator-id"]),
                             row.Kommunkod, str(row.Period))
    assert row["Värde"] == pytest.approx(source["value"])


def test_the_kommunkod_is_a_text_cell_in_excel(publication, tmp_path):
    sheet = openpyxl.load_workbook(write_analyst_table(publication, tmp_path / "t.xlsx")).active
    codes = [sheet.cell(r, COLUMNS.index("Kommunkod") + 1).value for r in range(2, sheet.max_row + 1)]
    assert VIMMERBY in codes and all(isinstance(c, str) for c in codes)


def test_every_kind_of_period_has_its_first_day():
    assert first_day("2025", "year") == dt.date(2025, 1, 1)
    assert first_day("2025-Q3", "quarter") == dt.date(2025, 7, 1)
    assert first_day("2025-11", "month") == dt.date(2025, 11, 1)
    assert first_day("2023–2025", "three_years") == dt.date(2023, 1, 1)


def test_synthetic_data_say_so_on_every_row(tmp_path):
    pub = prepare(build_results(["1480"], YEARS), RULES, synthetic=True)
    frame = _read(write_analyst_table(pub, tmp_path / "syntetiskt.csv"))
    assert list(frame.columns) == [*COLUMNS, LABEL_COLUMN] and (frame[LABEL_COLUMN] == SYNTHETIC_LABEL).all()
