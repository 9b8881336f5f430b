"""An indicator added as YAML needs no edit outside the library, its docs row and its hand-worked
test (issue 15): here one is added to a copy of the library (insyn.indicators.definitions.library
reads another folder of area files), computed to a value worked out by hand on a tiny dataset,
and the benchmark's baselines (bench/baselines.py) still agree with the engine without a change,
since they are compared only on the indicators they implement.
"""

from __future__ import annotations

import datetime as dt
import sys
from importlib import resources
from pathlib import Path

from helpers import EVENT_COLUMNS, pnr, write_csv

from insyn.indicators.definitions import library
from insyn.indicators.engine import compute
from insyn.ingest.load import import_files

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
import baselines  # noqa: E402

NEW_ID = "prov_forhandsbedomning_inom_7_dagar"
# Appended to arendeflode.yaml as an analyst would write it, reusing the file's own anchor.
NEW_INDICATOR = f"""
  - id: {NEW_ID}
    name: Förhandsbedömningar inom 7 dagar (prov)
    description: >
      Andel förhandsbedömningar som gjorts senast 7 dagar efter att anmälan kom in (samma urval
      som förhandsbedömningar inom 14 dagar).
    unit: "%"
    follows: Ett påhittat prov för testerna, inget nyckeltal.
    higher_is_better: true
    subjects: *assessments
    numerator: {{count: subjects, where: {{within_days: 7}}}}
    denominator: {{count: subjects}}
    factor: 100
"""

VIMMERBY = "0884"


def ev(case, person, event, date, **extra):
    return dict(municipality=VIMMERBY, case_id=case, person_id=person, event=event, date=date,
                unit="Mottagning", caseworker_id="S1", **extra)


C1, C2, C3, C4 = pnr("20120315", "123"), pnr("20080601", "242"), pnr("20150505", "462"), pnr("20100101", "582")
EVENTS = [
    ev("A", C1, "report", "2023-03-01", source="skola"),
    ev("A", C1, "initial_assessment", "2023-03-05", outcome="no_investigation"),  # 4 days: in time
    ev("B", C2, "report", "2023-03-01", source="polis"),
    ev("B", C2, "initial_assessment", "2023-03-09", outcome="investigate"),  # 8 days: late
    ev("C", C3, "report", "2023-04-10", source="skola"),
    ev("C", C3, "initial_assessment", "2023-04-17", outcome="no_investigation"),  # exactly 7 days: in time
    # Two reports, one assessment: it answers the earliest report not yet decided on (1 May): 8 days, late.
    ev("D", C4, "report", "2023-05-01", source="polis"),
    ev("D", C4, "report", "2023-05-03", source="skola"),
    ev("D", C4, "initial_assessment", "2023-05-09", outcome="investigate"),
]
EXTRACT_DATE = dt.date(2023, 12, 31)


def library_with_new_indicator(folder: Path) -> Path:
    """A copy of the shipped library with NEW_INDICATOR appended to the case-flow area."""
    shipped = resources.files("insyn.indicators").joinpath("library")
    folder.mkdir()
    for entry in shipped.iterdir():
        if entry.name.endswith(".yaml"):
            (folder / entry.name).write_text(entry.read_text(encoding="utf-8"), encoding="utf-8")
    area = folder / "arendeflode.yaml"
    text = area.read_text(encoding="utf-8")
    assert text.rstrip().splitlines()[-1].startswith("    "), "indicators: is no longer the file's last key"
    area.write_text(text.rstrip("\n") + "\n" + NEW_INDICATOR, encoding="utf-8")
    return folder


def test_an_indicator_added_as_yaml_is_computed_and_the_baselines_still_agree(tmp_path, store, key):
    definitions = library(library_with_new_indicator(tmp_path / "library"))
    assert [d.id for d in definitions if d.id not in {s.id for s in library()}] == [NEW_ID]
    assert next(d for d in definitions if d.id == NEW_ID).area == "arendeflode"

    import_files(store, [write_csv(tmp_path / "e.csv", EVENT_COLUMNS, EVENTS)], key, extract_date=EXTRACT_DATE)
    # The new indicator beside those the baselines implement, in one query (the whole library
    # would only add compile time: test_indicators.py computes all of it).
    computed = [d for d in definitions if d.id == NEW_ID or d.id in baselines.BASELINE]
    results = compute(store, computed, quarters=False, breakdowns=False)
    totals = results[(results.municipality == VIMMERBY) & (results.period == "2023")
                     & results[["unit", "sex", "age_group", "category"]].isna().all(axis=1)].set_index("indicator")
    # By hand: A (4 days) and C (7) in time, B (8) and D (8, from its earlier report) late.
    assert tuple(totals.loc[NEW_ID, ["numerator", "denominator", "value"]]) == (2, 4, 50.0)
    assert tuple(totals.loc["forhandsbedomning_inom_14_dagar", ["numerator", "denominator", "value"]]) == (4, 4, 100.0)

    # The baselines, unchanged, on the extended library's results: they pick their own indicators.
    assert NEW_ID not in baselines.BASELINE
    assert {d.id for d in baselines.definitions(library=definitions)} == set(baselines.BASELINE)
    engine = baselines.engine_as_baseline(results)
    assert NEW_ID not in set(engine.indicator)
    population = baselines.reference_population()
    sql = baselines.sql_indicators(store.raw, population, EXTRACT_DATE)
    pandas = baselines.pandas_indicators(store.raw.execute("SELECT * FROM events").df(), population, EXTRACT_DATE)
    assert len(sql) >= 4
    assert baselines.compare(engine, sql) == []
    assert baselines.compare(engine, pandas) == []

