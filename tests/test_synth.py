"""Synthetic data: valid against the import format, deterministic, and on its calibration."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from personnummer import personnummer as oracle

from insyn.ingest.personnummer import parse
from insyn.model.codes import codes
from insyn.model.tables import OUTCOME_CODES, TABLES
from insyn.synth.generate import TABLE_NAMES, calibration, generate, write_tables

YEARS = [2023, 2024]
FIRST_DAY, LAST_DAY = pd.Timestamp(2023, 1, 1), pd.Timestamp(2024, 12, 31)
CASEWORKER_ROLES = ["socialsekreterare", "forste_socialsekreterare"]
OUT_OF_HOME = ["familjehem", "hvb", "stodboende", "sis"]


def municipalities(populations: list[int], first_code: int = 9001) -> pd.DataFrame:
    """A frame of made-up municipalities with 20.5 % aged 0–17 and 24 % aged 0–20."""
    total = np.array(populations)
    return pd.DataFrame({
        "municipality_code": [f"{first_code + i:04d}" for i in range(total.size)],
        "municipality": [f"Kommun {i}" for i in range(total.size)],
        "population_0_17": (total * 0.205).astype(int),
        "population_0_20": (total * 0.24).astype(int),
        "population_total": total,
    })


# Large enough for split investigation units, one mid-sized, one small enough for one unit.
SMALL = municipalities([90_000, 30_000, 6_000])
MEDIUM = municipalities([160_000, 90_000, 60_000, 45_000, 35_000, 30_000, 25_000, 20_000,
                         15_000, 12_000, 9_000, 6_000], first_code=8001)
# Of one size, so that differences between them come from their drawn rates, not their size.
EQUAL = municipalities([25_000] * 20, first_code=7001)


@pytest.fixture(scope="module")
def small() -> dict[str, pd.DataFrame]:
    return generate(SMALL, YEARS, seed=3)


@pytest.fixture(scope="module")
def medium() -> dict[str, pd.DataFrame]:
    return generate(MEDIUM, YEARS, seed=5)


@pytest.fixture(scope="module")
def equal() -> dict[str, pd.DataFrame]:
    return generate(EQUAL, YEARS, seed=7)


@pytest.fixture(scope="module")
def equal_loads(equal) -> pd.DataFrame:
    return caseloads(equal)


def month_firsts(dtype) -> pd.DataFrame:
    return pd.DataFrame({"day": pd.date_range(FIRST_DAY, LAST_DAY, freq="MS").astype(dtype)})


def ongoing_cases(events: pd.DataFrame) -> pd.DataFrame:
    """(municipality, case_id, day): cases under investigation or intervention on the first of
    each month."""
    key = ["municipality", "case_id"]

    def spells(start: str, end: str, same: list[str]) -> pd.DataFrame:
        starts = events.loc[events["event"] == start, key + same + ["date"]]
        ends = events.loc[events["event"] == end, key + same + ["date"]]
        paired = starts.merge(ends, on=key + same, how="left", suffixes=("", "_end"))
        # An export from the first day shows what began before it only by its end.
        alone = ends.merge(starts[key + same].drop_duplicates(), how="left", indicator=True)
        alone = alone[alone["_merge"] == "left_only"]
        return pd.concat([paired, alone.assign(date_end=alone["date"], date=FIRST_DAY)[paired.columns]])

    ongoing = pd.concat([spells("investigation_start", "investigation_end", []),
                         spells("intervention_start", "intervention_end", ["intervention"])])
    ongoing = ongoing.merge(month_firsts(events["date"].dtype), how="cross")
    ongoing = ongoing[(ongoing["date"] <= ongoing["day"]) & ~(ongoing["date_end"] < ongoing["day"])]
    return ongoing[key + ["day"]].drop_duplicates()


def caseloads(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each caseworker employment on the first of each month, with the cases it holds then: the
    cases under investigation or intervention whose latest event that day or before names it."""
    events, staff = tables["events"], tables["staff"]
    key = ["municipality", "case_id"]
    # Events of a day in the order of the case's steps: the last of them is the latest.
    step = events["event"].map({event: i for i, event in enumerate(codes("event"))})
    history = events.assign(step=step).sort_values(["date", "step"], kind="stable")
    latest = pd.merge_asof(ongoing_cases(events).sort_values("day"),
                           history[key + ["date", "caseworker_id"]], left_on="day",
                           right_on="date", by=key)
    held = latest.groupby(["municipality", "caseworker_id", "day"]).size().rename("cases")

    caseworkers = staff[staff["role"].isin(CASEWORKER_ROLES)].merge(
        month_firsts(events["date"].dtype), how="cross")
    caseworkers = caseworkers[(caseworkers["start_date"] <= caseworkers["day"])
                              & ~(caseworkers["end_date"] < caseworkers["day"])]
    caseworkers = caseworkers.join(held, on=["municipality", "staff_id", "day"])
    return caseworkers.assign(cases=caseworkers["cases"].fillna(0),
                              month=caseworkers["day"].dt.strftime("%Y-%m"))


def test_same_seed_same_tables_other_seed_other_tables(small):
    again = generate(SMALL, YEARS, seed=3)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(small[name], again[name])
    other = generate(SMALL, YEARS, seed=4)
    assert not small["events"]["person_id"].equals(other["events"]["person_id"])


def test_progress_is_reported():
    steps = []
    generate(SMALL.iloc[2:], [2024], progress=lambda step, done: steps.append((step, done)))
    assert len(steps) >= 3 and steps[-1][1] == 1.0
    assert [done for _, done in steps] == sorted(done for _, done in steps)


def test_canonical_columns_required_values_and_codes(small):
    for name in TABLE_NAMES:
        table = TABLES[name]
        frame = small[name]
        assert list(frame.columns) == [c.name for c in table.columns], name
        assert len(frame) > 0, name
        for column in table.required:
            assert frame[column].notna().all(), (name, column)
        for column in table.columns:
            if column.codes:
                found = frame[column.name].dropna()
                if column.kind == "codes":  # several in one value
                    found = found.str.split(";").explode()
                assert set(found) <= set(codes(column.codes)), column.name
    assert set(small["courses"]["programme"]) == set(codes("programme"))
    assert set(small["trainings"]["course"]) <= set(small["courses"]["course"])


def test_conditional_columns_and_outcome_codes(small):
    events = small["events"]
    for column, (condition, values) in TABLES["events"].conditional.items():
        applies = events[condition].isin(values)
        assert events.loc[applies, column].notna().all(), column
        assert events.loc[~applies, column].isna().all(), column
    for event, code_list in OUTCOME_CODES.items():
        outcomes = set(events.loc[events["event"] == event, "outcome"])
        assert outcomes == set(codes(code_list)), event  # every outcome occurs, no other


def test_personal_identity_numbers(small):
    """Valid numbers of every kind social services meet, one child per case: personnummer and
    samordningsnummer (the package agrees), samordningsnummer with unknown birth month and day,
    reserve numbers and temporary ids, each a small share."""
    events = small["events"]
    temporary = events.loc[events["temporary_number"] == "ja", "person_id"].unique()
    assert all(re.fullmatch(r"TILLF-\d+", p) for p in temporary)
    people = events.loc[events["temporary_number"] != "ja", "person_id"].unique()
    parsed = parse(pa.array(people))
    assert parsed.reason.null_count == len(people)
    kinds = pd.Series(parsed.kind.to_pylist())
    unknown_date = np.array([p[4:8] == "0060" for p in people])
    assert all(oracle.valid(p) for p in people[(kinds == "personnummer").to_numpy() | (
        (kinds == "samordningsnummer").to_numpy() & ~unknown_date)])
    assert set(kinds) == {"personnummer", "samordningsnummer", "reservnummer"}
    assert unknown_date.sum() > 0 and len(temporary) > 0
    assert (kinds == "reservnummer").mean() < 0.01 and len(temporary) / len(people) < 0.01
    assert events.groupby(["municipality", "case_id"])["person_id"].nunique().max() == 1
    coordination = np.mean([int(p[6:8]) > 60 for p in people])
    assert 0.002 < coordination < 0.03
    people = people[(kinds == "personnummer").to_numpy()]
    boys = np.mean([int(p[11]) % 2 == 1 for p in people])
    assert abs(boys - calibration()["targets"]["share_boys"]) < 0.04

    # Age on the day of a case's first report, for cases opened in the data's years (the id
    # says the year; a case open before them can start with a later report, at any age): 0–17.
    first = events.drop_duplicates(["municipality", "case_id"])
    opened = first["case_id"].str.split("-").str[1].astype(int)
    first = first[(first["event"] == "report") & (opened >= YEARS[0]) & first["person_id"].str.fullmatch(r"\d{8}-\d{4}")
                  & (first["person_id"].str[4:8] != "0060")]
    birth = pd.to_datetime(first["person_id"].str[:6] + first["person_id"].str[6:8]
                           .astype(int).mod(60).map("{:02d}".format), format="%Y%m%d")
    age = (first["date"] - birth).dt.days / 365.25
    assert age.min() >= 0 and age.max() < 18


def test_dates_within_the_window_except_stock_cases(small):
    events = small["events"]
    assert events["date"].max() <= LAST_DAY
    reports = events[events["event"] == "report"]
    assert reports["date"].min() >= FIRST_DAY
    early = events[events["date"] < FIRST_DAY]
    assert set(early["event"]) <= {"investigation_start", "investigation_extended", "investigation_end",
                                   "intervention_start", "intervention_end"}
    # A stock case has no report or assessment before the first day: the data begin there.
    early_cases = early.set_index(["municipality", "case_id"]).index.unique()
    stock = events.set_index(["municipality", "case_id"]).loc[early_cases]
    assert (stock.loc[stock["event"].isin(["report", "initial_assessment"]), "date"]
            >= FIRST_DAY).all()
    for name, columns in (("staff", ["start_date", "end_date"]),
                          ("trainings", ["completed_date"]),
                          ("mentorships", ["start_date", "end_date"])):
        for column in columns:
            assert small[name][column].max() <= LAST_DAY, (name, column)


def test_each_case_runs_in_order(small):
    events = small["events"]
    assert events["case_id"].str.fullmatch(r"\d{4}-\d{4}-\d{6}").all()
    assert (events["case_id"].str[:4] == events["municipality"]).all()
    key = ["municipality", "case_id"]
    # Cases opened in the data's years (the id says the year) begin with their report.
    events = events[events["case_id"].str.split("-").str[1].astype(int) >= YEARS[0]]

    def first(event: str) -> pd.Series:
        return events[events["event"] == event].groupby(key)["date"].min()

    report, assessed = first("report"), first("initial_assessment")
    opened, ended = first("investigation_start"), first("investigation_end")
    both = assessed.index.intersection(report.index)
    assert (assessed[both] >= report[both]).all()
    both = opened.index.intersection(assessed.index)
    assert (opened[both] >= assessed[both]).all()
    both = ended.index.intersection(opened.index)
    assert (ended[both] >= opened[both]).all()
    # Every assessment answers a report of its case made on or before it.
    assessments = events[events["event"] == "initial_assessment"].merge(
        events.loc[events["event"] == "report", key + ["date"]], on=key, suffixes=("", "_report"))
    answered = (assessments["date_report"] <= assessments["date"]).groupby(
        [assessments[k] for k in key] + [assessments["date"]]).any()
    assert answered.all()

    closed = events[events["event"] == "case_closed"]
    assert closed.groupby(key).size().max() == 1
    last = events.groupby(key)["date"].max()
    assert (closed.set_index(key)["date"] == last[closed.set_index(key).index]).all()


def test_interventions_pair_by_decision_id_where_exported(small):
    events = small["events"]
    interventions = events[events["event"].isin(["intervention_start", "intervention_end"])]
    with_id = interventions[interventions["intervention_id"].notna()]
    # About half the municipalities export decision ids; an id is one intervention: one start,
    # at most one end, on or after it, of the same kind in the same case.
    assert 0 < with_id["municipality"].nunique() < events["municipality"].nunique() or len(SMALL) < 3
    per_id = with_id.groupby("intervention_id")
    assert (per_id["case_id"].nunique() == 1).all() and (per_id["intervention"].nunique() == 1).all()
    counts = with_id.groupby(["intervention_id", "event"]).size().unstack(fill_value=0)
    assert (counts.get("intervention_end", 0) <= 1).all()
    spans = with_id.pivot_table(index="intervention_id", columns="event", values="date", aggfunc="first")
    paired = spans.dropna()
    assert (paired["intervention_end"] >= paired["intervention_start"]).all()
    assert interventions.loc[interventions["intervention_id"].isna(), "municipality"].isin(
        set(interventions["municipality"]) - set(with_id["municipality"])).all()


def test_the_patterns_real_exports_have(medium):
    """Several reports before one assessment, reports during an investigation, two interventions
    of one kind at once, interventions begun before the data, decided extensions and unaccompanied
    children: each occurs, at a plausible rate."""
    events = medium["events"]
    key = ["municipality", "case_id"]
    reports = events[events["event"] == "report"]
    assessments = events[events["event"] == "initial_assessment"]
    first_assessment = assessments.groupby(key)["date"].min().rename("assessed")
    before = reports.join(first_assessment, on=key)
    before = before[before["date"] <= before["assessed"]].groupby(key).size()
    assert 0.2 < (before > 1).mean() < 0.6  # several reports before one decision

    investigations = events[events["event"] == "investigation_start"].merge(
        events[events["event"] == "investigation_end"], on=key, suffixes=("", "_end"))
    during = reports.merge(investigations[key + ["date", "date_end"]], on=key, suffixes=("", "_start"))
    during = during[(during["date_start"] < during["date"]) & (during["date_end"] >= during["date"])]
    assert 0.05 < len(during) / len(reports) < 0.4

    starts = events[events["event"] == "intervention_start"]
    ends = events[events["event"] == "intervention_end"]
    same_kind = starts.groupby(key + ["intervention"]).size()
    assert (same_kind > 1).sum() > 20  # two of a kind in one case
    per_kind = ends.groupby(key + ["intervention"]).size().sub(same_kind, fill_value=0)
    assert (per_kind > 0).sum() > 20  # ends without a start: begun before the data

    extended = events[events["event"] == "investigation_extended"]
    assert extended["extended_until"].notna().all() and len(extended) > 50
    assert (extended["extended_until"] > extended["date"]).all()

    children = events.drop_duplicates("person_id")
    unaccompanied = children["unaccompanied"].eq("ja").mean()
    assert 0.001 < unaccompanied < 0.02
    assert set(events["unaccompanied"].dropna()) == {"ja"}


def test_units_and_caseworkers(small):
    events, staff = small["events"], small["staff"]
    big, _, tiny = SMALL["municipality_code"]
    units = events.groupby("municipality")["unit"].unique()
    assert {"Mottagning", "Utredning barn", "Utredning ungdom"} <= set(units[big])
    assert set(units[tiny]) == {"Barn och unga"}
    assert events["caseworker_id"].isna().mean() < 0.1
    # Reports about a case under investigation or intervention go to the unit handling it.
    key = ["municipality", "case_id"]
    investigated = events[events["event"] == "investigation_start"].groupby(key)["date"].min()
    reports = events[events["event"] == "report"].join(investigated.rename("investigated"), on=key)
    later = reports[reports["date"] > reports["investigated"]]
    assert len(later) > 100 and not (later["unit"] == "Mottagning").any()

    assigned = events[events["caseworker_id"].notna()].reset_index()
    employed = assigned.merge(staff, left_on=["municipality", "caseworker_id"],
                              right_on=["municipality", "staff_id"], suffixes=("", "_staff"))
    on_duty = ((employed["start_date"] <= employed["date"])
               & (employed["end_date"].isna() | (employed["end_date"] >= employed["date"]))
               & (employed["unit_staff"] == employed["unit"])
               & employed["role"].isin(CASEWORKER_ROLES))
    assert employed.loc[on_duty, "index"].nunique() == len(assigned)


def test_staff_employments(small, medium):
    for tables in (small, medium):
        staff = tables["staff"]
        assert staff["staff_id"].str.fullmatch(r"\d{4}-S\d{4,}").all()
        assert staff["fte"].between(0.5, 1.0).all()
        known = staff["exam_year"].notna()
        assert (staff.loc[known, "exam_year"] <= staff.loc[known, "start_date"].dt.year).all()
        # A person's employments follow each other; nobody holds two at once.
        ordered = staff.sort_values(["municipality", "staff_id", "start_date"])
        same = ordered["staff_id"].eq(ordered["staff_id"].shift())
        previous_end = ordered["end_date"].shift()
        assert (previous_end[same].notna() & (ordered.loc[same, "start_date"]
                                              > previous_end[same])).all()
        # One unit manager at a time per unit.
        chefs = staff[staff["role"] == "enhetschef"]
        day = pd.Timestamp(2024, 6, 30)
        on_day = chefs[(chefs["start_date"] <= day)
                       & (chefs["end_date"].isna() | (chefs["end_date"] >= day))]
        assert on_day.groupby(["municipality", "unit"]).size().max() == 1

    # Missing exam years (2 %) over both: the small set alone has too few staff to be sure of one.
    exam_years = pd.concat([small["staff"]["exam_year"], medium["staff"]["exam_year"]])
    assert 0 < exam_years.isna().mean() < 0.1

    staff = medium["staff"]
    ordered = staff.sort_values(["municipality", "staff_id", "start_date"])
    same = ordered["staff_id"].eq(ordered["staff_id"].shift())
    next_day = ordered["start_date"] == ordered["end_date"].shift() + pd.Timedelta(days=1)
    other_unit = ordered["unit"] != ordered["unit"].shift()
    assert (same & next_day & other_unit).sum() >= 3  # moves between units
    assert (same & ~next_day).sum() >= 1  # rehires
    consultant_fte = staff["fte"].where(staff["employment"] == "konsult", 0.0)
    consultants = (consultant_fte.groupby(staff["municipality"]).sum()
                   / staff.groupby("municipality")["fte"].sum())
    assert (consultants == 0).any() and (consultants > 0).any()
    assert consultant_fte.sum() / staff["fte"].sum() < 0.15
    assert (staff["fte"] < 1).any()


def test_trainings_and_mentorships(medium):
    staff, trainings, mentorships = (medium[n] for n in ("staff", "trainings", "mentorships"))
    key = ["municipality", "staff_id"]
    first_start = staff.groupby(key)["start_date"].min().rename("first_start")
    hired = first_start[(first_start >= FIRST_DAY)
                        & (first_start <= LAST_DAY - pd.Timedelta(days=120))].reset_index()
    hired = hired.merge(staff, on=key).drop_duplicates(key)
    hired = hired[hired["employment"] != "konsult"]
    intro = trainings[trainings["course"] == "INTRO"].merge(hired, on=key)
    assert len(intro) / len(hired) > 0.7
    assert ((intro["completed_date"] - intro["first_start"]).dt.days <= 90).all()
    assert trainings.merge(staff[key].drop_duplicates(), on=key).shape[0] == len(trainings)

    graduates = hired[(hired["exam_year"] >= hired["first_start"].dt.year - 1)
                      & hired["role"].isin(CASEWORKER_ROLES)]
    mentored = graduates["staff_id"].isin(mentorships["mentee_id"]).mean()
    assert 0.5 < mentored < 0.95
    assert (mentorships["mentor_id"] != mentorships["mentee_id"]).all()
    assert mentorships["hours_per_month"].between(2, 8).all()
    ended = mentorships["end_date"].notna()
    length = (mentorships.loc[ended, "end_date"] - mentorships.loc[ended, "start_date"]).dt.days
    assert length.between(0, 366).all()
    mentors = mentorships.merge(staff, left_on=["municipality", "mentor_id"], right_on=key)
    known = mentors["exam_year"].notna()
    assert (mentors.loc[known, "start_date_x"].dt.year - mentors.loc[known, "exam_year"]
            >= 5).all()


def test_calibrated_rates_land_near_their_targets(medium):
    targets = calibration()["targets"]
    events, staff = medium["events"], medium["staff"]
    children, youth = MEDIUM["population_0_17"].sum(), MEDIUM["population_0_20"].sum()
    reports = events[events["event"] == "report"]
    per_year = reports.groupby(reports["date"].dt.year)
    per_1000 = per_year.size() / children * 1000
    assert ((per_1000 - targets["reports_per_1000_children_0_17"]).abs() < 0.15 * 190).all()
    per_child = per_year.size() / per_year["person_id"].nunique()
    assert ((per_child - targets["reports_per_reported_child"]).abs() < 0.25).all()
    main_sources = reports["source"].isin(["polis", "skola", "forskola", "halso_sjukvard"])
    assert abs(main_sources.mean() - targets["share_reports_police_school_preschool_health"]) < 0.05

    # A case's first assessment (later ones answer reports while an intervention goes on).
    assessments = events[events["event"] == "initial_assessment"].drop_duplicates(["municipality", "case_id"])
    investigated = (assessments["outcome"] == "investigate").mean()
    assert abs(investigated - targets["share_investigated"]) < 0.05
    # As the indicator pairs them: each assessment with the case's latest report before it.
    paired = pd.merge_asof(
        assessments.sort_values("date"),
        reports[["municipality", "case_id", "date"]].rename(columns={"date": "reported"})
        .sort_values("reported"),
        left_on="date", right_on="reported", by=["municipality", "case_id"])
    within_14 = ((paired["date"] - paired["reported"]).dt.days <= 14).mean()
    assert 0.75 <= within_14 <= 0.95

    key = ["municipality", "case_id"]
    investigations = events[events["event"] == "investigation_end"].merge(
        events[events["event"] == "investigation_start"][key + ["date"]], on=key,
        suffixes=("", "_start"))
    investigations = investigations[investigations["date_start"] >= FIRST_DAY]
    days = (investigations["date"] - investigations["date_start"]).dt.days
    assert 90 <= days.median() <= 120
    over = (investigations["date"] > investigations["date_start"] + pd.DateOffset(months=4))
    assert 0.15 <= over.mean() <= 0.35

    starts = events[events["event"] == "intervention_start"]
    ends = events[events["event"] == "intervention_end"]
    spells = starts.merge(ends[key + ["intervention", "date"]], on=key + ["intervention"], how="left",
                          suffixes=("", "_end"))
    # An export from the first day shows an intervention begun before it only by its end.
    begun_before = ends.merge(starts[key + ["intervention"]], on=key + ["intervention"], how="left",
                              indicator=True)
    begun_before = begun_before[begun_before["_merge"] == "left_only"]
    spells = pd.concat([spells, begun_before.assign(date_end=begun_before["date"], date=FIRST_DAY)])
    placed = spells[spells["intervention"].isin(OUT_OF_HOME)]
    for year in YEARS:
        during = placed[(placed["date"] <= pd.Timestamp(year, 12, 31))
                        & ~(placed["date_end"] < pd.Timestamp(year, 1, 1))]
        prevalence = during["person_id"].nunique() / youth
        assert 0.007 <= prevalence <= 0.014, year
        foster = during.loc[during["intervention"] == "familjehem", "person_id"].nunique()
        assert abs(foster / during["person_id"].nunique()
                   - targets["share_out_of_home_in_foster_homes"]) < 0.08

    # KKiK's return: of the children whose investigated case closed, the share investigated
    # again within a year.
    investigated_cases = events.loc[events["event"] == "investigation_start", ["municipality", "case_id"]]
    closed = events[(events["event"] == "case_closed")
                    & (events["date"] <= LAST_DAY - pd.DateOffset(years=1))].merge(investigated_cases.drop_duplicates())
    closed = closed.sort_values("date").drop_duplicates("person_id")
    starts = events.loc[events["event"] == "investigation_start", ["person_id", "date"]]
    again = closed.merge(starts, on="person_id", suffixes=("", "_again"))
    again = again[(again["date_again"] > again["date"])
                  & (again["date_again"] <= again["date"] + pd.DateOffset(months=12))]
    reinvestigated = again["person_id"].nunique() / len(closed)
    assert abs(reinvestigated - targets["share_reinvestigated_within_12_months"]) < 0.07

    caseworkers = staff[staff["role"].isin(CASEWORKER_ROLES)]
    start, end = pd.Timestamp(2024, 1, 1), pd.Timestamp(2024, 12, 31)

    def employed(day: pd.Timestamp) -> set:
        on = caseworkers[(caseworkers["start_date"] <= day)
                         & (caseworkers["end_date"].isna() | (caseworkers["end_date"] >= day))]
        return set(zip(on["municipality"], on["staff_id"], strict=True))

    at_start = employed(start)
    turnover = len(at_start - employed(end)) / len(at_start)
    assert 0.20 <= turnover <= 0.40


def test_write_tables_csv_and_parquet(small, tmp_path):
    paths = write_tables(small, tmp_path / "csv")
    assert [p.name for p in paths] == [f"{name}.csv" for name in TABLE_NAMES]
    staff = pd.read_csv(tmp_path / "csv" / "staff.csv", dtype=str, keep_default_na=False)
    assert staff["municipality"].str.fullmatch(r"\d{4}").all()
    assert staff["start_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert (staff["end_date"] == "").any()
    events = pd.read_csv(tmp_path / "csv" / "events.csv", dtype=str)
    assert len(events) == len(small["events"])
    assert events["date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()

    paths = write_tables(small, tmp_path / "parquet", fmt="parquet")
    mentorships = pd.read_parquet(paths[TABLE_NAMES.index("mentorships")])
    assert list(mentorships.columns) == list(small["mentorships"].columns)
    with pytest.raises(ValueError):
        write_tables(small, tmp_path, fmt="xlsx")


def test_workload_ratings_of_employed_caseworkers(small):
    ratings, staff = small["workload_ratings"], small["staff"]
    assert ratings["rating"].between(1, 5).all()
    assert set(ratings["rating"]) == {1, 2, 3, 4, 5}
    assert ratings["month"].str.fullmatch(r"\d{4}-\d{2}").all()
    assert set(ratings["month"]) == {f"{year}-{month:02d}" for year in YEARS for month in range(1, 13)}
    assert not ratings.duplicated(["municipality", "staff_id", "month"]).any()
    flex = ratings["flex_hours"].dropna()
    assert (flex >= 0).all() and (flex * 2 == (flex * 2).round()).all() and flex.max() < 80
    assert 0.03 < ratings["flex_hours"].isna().mean() < 0.2

    # Rated by the employed caseworkers (not consultants), about four in five each month.
    loads = caseloads(small)
    employed = loads[loads["employment"] != "konsult"]
    rated = employed.merge(ratings, on=["municipality", "staff_id", "month"])
    assert len(rated) == len(ratings)
    assert set(ratings["staff_id"]) <= set(staff["staff_id"])
    assert 0.75 < len(ratings) / len(employed) < 0.85


def test_more_open_cases_per_fte_where_turnover_is_higher(equal, equal_loads):
    """Across municipalities: ongoing investigations and interventions per FTE of caseworkers
    outside intake against the yearly share of employed caseworkers who leave."""
    staff = equal["staff"]
    holding_fte = equal_loads[equal_loads["unit"] != "Mottagning"].groupby("municipality")["fte"].sum()
    per_fte = ongoing_cases(equal["events"]).groupby("municipality").size() / holding_fte

    employees = staff[staff["role"].isin(CASEWORKER_ROLES) & (staff["employment"] != "konsult")]

    def employed(day: pd.Timestamp) -> pd.DataFrame:
        on = employees[(employees["start_date"] <= day) & ~(employees["end_date"] < day)]
        return on[["municipality", "staff_id"]].drop_duplicates()

    stayed = pd.concat([employed(pd.Timestamp(year, 1, 1)).merge(
        employed(pd.Timestamp(year, 12, 31)), how="left", indicator=True) for year in YEARS])
    turnover = (stayed["_merge"] == "left_only").groupby(stayed["municipality"]).mean()
    assert 0.2 < turnover.mean() < 0.4
    assert 12 < per_fte.mean() < 22
    assert turnover.corr(per_fte) > 0.1


def test_ratings_and_flexitime_rise_with_the_cases_held(equal, equal_loads):
    # Intake caseworkers hold reports awaiting assessment, not investigations or interventions.
    loads = equal_loads[equal_loads["unit"] != "Mottagning"]
    rated = equal["workload_ratings"].merge(loads, on=["municipality", "staff_id", "month"])
    per_fte = rated["cases"] / rated["fte"]
    band = pd.qcut(per_fte, 3, labels=["fewer", "middle", "more"])
    by_band = rated.groupby(band, observed=True)[["rating", "flex_hours"]].mean()
    assert by_band["rating"].is_monotonic_increasing
    assert by_band.loc["more", "rating"] > by_band.loc["fewer", "rating"] + 0.5
    assert by_band.loc["more", "flex_hours"] > by_band.loc["fewer", "flex_hours"] + 4
