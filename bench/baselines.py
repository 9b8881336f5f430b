"""The case-flow indicators written twice by hand, to measure Insyn's engine against:
once as hand-written DuckDB SQL and once as straightforward pandas. Yearly totals per
municipality only (the engine's `breakdowns=False, quarters=False` run does the same work), of
the eight indicators in BASELINE; they follow the rules docs/indicators.md states:

- an initial assessment answers the earliest report of its case since the previous assessment,
  leaving out reports that came in during an ongoing investigation (SoL 20 kap. 2 §);
- interventions pair by decision id where there is one, else first in, first out per case and
  kind (starts before ends on one day); an end with nothing open began before the data and runs
  from the municipality's first report; investigations pair first in, first out likewise;
- a child leaves (a closing) on a day after which no intervention and no investigation of the
  child in the municipality is still open;
- reports per 1 000 children count reports about children 0–17 on the day (unknown age counts;
  an unknown birth month counts as July);
- the data end at the extract date when one is given (else at the last event).

Population: the shipped reference (one year, used for every year, as the engine does when no
other year is imported).

The baselines compare only what they implement: BASELINE and WORKFORCE_BASELINE list those
indicators, `definitions` picks them from a library and `engine_as_baseline` keeps only their
rows of the engine's results, so an indicator added to the library as YAML needs no edit here
(tests/test_new_indicator.py adds one and checks it).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

OUT_OF_HOME = ("familjehem", "hvb", "stodboende", "sis")
COLUMNS = ["indicator", "municipality", "period", "numerator", "denominator", "value"]
UNKNOWN_BIRTH_MONTH = 7


def _spells_sql(name: str, start: str, end: str, same: str = "", decision_id: bool = False) -> str:
    """CTEs ending in `name` (municipality, case_id, person_key[, same], start_date, end_date):
    first in, first out by running counts; an end with nothing open began before the data; with
    `decision_id`, an id with a start and an end on or after it is one spell, the other rows pair
    first in, first out."""
    by = f", {same}" if same else ""
    order = f"PARTITION BY municipality, case_id{by} ORDER BY date, e, person_key"
    sound_ids = f"""
{name}_ids AS (
    SELECT municipality, case_id{by}, intervention_id, min(date) FILTER (WHERE event = '{start}') AS first_start,
           max(date) FILTER (WHERE event = '{end}') AS last_end
    FROM events WHERE event IN ('{start}', '{end}') AND intervention_id IS NOT NULL GROUP BY ALL
    HAVING last_end >= first_start
),""" if decision_id else ""
    pool = f"""AND NOT EXISTS (SELECT 1 FROM {name}_ids i WHERE i.municipality = events.municipality
                      AND i.case_id = events.case_id AND i.{same} = events.{same}
                      AND i.intervention_id = events.intervention_id)""" if decision_id else ""
    by_id = f"""
    UNION ALL
    SELECT i.municipality, i.case_id, any_value(e.person_key){by.replace(", ", ", i.")}, i.first_start, i.last_end
    FROM {name}_ids i JOIN events e ON e.municipality = i.municipality AND e.case_id = i.case_id
     AND e.intervention_id = i.intervention_id
    GROUP BY i.municipality, i.case_id{by.replace(", ", ", i.")}, i.intervention_id, i.first_start, i.last_end""" \
        if decision_id else ""
    return f"""{sound_ids}
{name}_rows AS (
    SELECT municipality, case_id, person_key{by}, date,
           CASE WHEN event = '{start}' THEN 1 ELSE 0 END AS s, CASE WHEN event = '{start}' THEN 0 ELSE 1 END AS e
    FROM events WHERE event IN ('{start}', '{end}') {pool}
), {name}_run AS (
    SELECT *, sum(s) OVER (ROWS_ORDER) AS started, sum(e) OVER (ROWS_ORDER) AS ended FROM {name}_rows
), {name}_numbered AS (
    SELECT *, greatest(max(ended - started) OVER (ROWS_ORDER), 0) AS unmatched,
           greatest(coalesce(max(ended - started) OVER (EARLIER_ORDER), 0), 0) AS unmatched_before
    FROM {name}_run
), {name} AS (
    SELECT s.municipality, s.case_id, s.person_key{by.replace(", ", ", s.")}, s.date AS start_date, e.date AS end_date
    FROM {name}_numbered s LEFT JOIN {name}_numbered e
      ON e.e = 1 AND e.unmatched = e.unmatched_before AND e.municipality = s.municipality
     AND e.case_id = s.case_id {f"AND e.{same} = s.{same}" if same else ""} AND e.ended - e.unmatched = s.started
    WHERE s.s = 1
    UNION ALL
    SELECT o.municipality, o.case_id, o.person_key{by.replace(", ", ", o.")},
           least(coalesce(c.first_report, o.date), o.date), o.date
    FROM {name}_numbered o JOIN coverage c USING (municipality)
    WHERE o.e = 1 AND o.unmatched > o.unmatched_before{by_id}
)""".replace("ROWS_ORDER", f"{order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW").replace(
        "EARLIER_ORDER", f"{order} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING")


SQL = """
WITH coverage AS (
    SELECT municipality, min(date) FILTER (WHERE event = 'report') AS first_report,
           greatest(max(date), coalesce($extract_date, max(date))) AS last_date
    FROM events GROUP BY municipality
), years AS (
    SELECT municipality, y::INTEGER AS year, last_date
    FROM coverage, range(year(first_report), year(last_date) + 1) AS r(y)
    WHERE first_report IS NOT NULL
),""" + _spells_sql("investigations", "investigation_start", "investigation_end") + "," + _spells_sql(
    "interventions", "intervention_start", "intervention_end", "intervention", decision_id=True) + """,
undecided AS (
    SELECT r.municipality, r.case_id, r.date FROM events r
    WHERE r.event = 'report' AND NOT EXISTS (
        SELECT 1 FROM investigations i WHERE i.municipality = r.municipality AND i.person_key = r.person_key
          AND i.start_date < r.date AND (i.end_date IS NULL OR i.end_date >= r.date))
), decisions AS (
    SELECT DISTINCT municipality, case_id, date FROM events WHERE event IN ('initial_assessment', 'investigation_start')
), answered AS (
    SELECT u.municipality, u.case_id, u.date AS report_date, d.date AS assessed,
           row_number() OVER (PARTITION BY u.municipality, u.case_id, d.date ORDER BY u.date) AS turn
    FROM undecided u ASOF JOIN decisions d
      ON u.municipality = d.municipality AND u.case_id = d.case_id AND d.date >= u.date
), assessments AS (
    SELECT a.municipality, a.date, a.outcome, t.report_date
    FROM (SELECT *, row_number() OVER (PARTITION BY municipality, case_id, date
                                       ORDER BY outcome, unit NULLS LAST, caseworker_id NULLS LAST) AS turn
          FROM events WHERE event = 'initial_assessment') a
    JOIN answered t ON a.municipality = t.municipality AND a.case_id = t.case_id AND a.date = t.assessed
     AND a.turn = t.turn
), ended_investigations AS (
    SELECT * FROM (
        SELECT municipality, event, date,
               max(CASE WHEN event = 'investigation_start' THEN date END) OVER (
                   PARTITION BY municipality, case_id ORDER BY date, event = 'investigation_end'
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS start_date
        FROM events WHERE event IN ('investigation_start', 'investigation_end'))
    WHERE event = 'investigation_end' AND start_date IS NOT NULL
), open_spells AS (
    SELECT municipality, person_key, start_date, end_date FROM interventions
    UNION ALL
    SELECT municipality, person_key, start_date, end_date FROM investigations
), candidates AS (
    SELECT municipality, person_key, date FROM events WHERE event = 'investigation_end' AND outcome = 'no_intervention'
    UNION ALL
    SELECT municipality, person_key, end_date FROM interventions WHERE end_date IS NOT NULL
), closings AS (
    SELECT c.* FROM candidates c WHERE NOT EXISTS (
        SELECT 1 FROM open_spells o WHERE o.municipality = c.municipality AND o.person_key = c.person_key
          AND o.start_date <= c.date AND (o.end_date IS NULL OR o.end_date > c.date))
), first_closings AS (
    SELECT municipality, person_key, year(date) AS year, min(date) AS date
    FROM closings GROUP BY ALL
), followed AS (
    SELECT f.municipality, f.year, EXISTS (
        SELECT 1 FROM events r WHERE r.event = 'report' AND r.municipality = f.municipality
          AND r.person_key = f.person_key AND r.date > f.date AND r.date <= f.date + INTERVAL 12 MONTH
    ) AS hit
    FROM first_closings f
), reports AS (
    SELECT municipality, year(date) AS year, source,
           year(date) - birth_year - CASE WHEN month(date) < coalesce(birth_month, 7) THEN 1 ELSE 0 END AS age
    FROM events WHERE event = 'report'
)
SELECT u.* FROM (
SELECT 'forhandsbedomning_inom_14_dagar' AS indicator, municipality, year(date) AS year,
       count(*) FILTER (WHERE date - report_date <= 14) AS numerator, count(*) AS denominator
FROM assessments GROUP BY ALL
UNION ALL
SELECT 'andel_forhandsbedomningar_till_utredning', municipality, year(date),
       count(*) FILTER (WHERE outcome = 'investigate'), count(*)
FROM assessments GROUP BY ALL
UNION ALL
SELECT 'utredning_inom_4_manader', municipality, year(date),
       count(*) FILTER (WHERE date <= start_date + INTERVAL 4 MONTH), count(*)
FROM ended_investigations GROUP BY ALL
UNION ALL
SELECT 'utredningstid_median', municipality, year(date), quantile_cont(date - start_date, 0.5), count(*)
FROM ended_investigations GROUP BY ALL
UNION ALL
SELECT 'anmalningar_per_1000_barn', r.municipality, r.year, count(*) FILTER (WHERE age IS NULL OR age BETWEEN 0 AND 17),
       any_value(p.population_0_17)
FROM reports r JOIN pop p USING (municipality) GROUP BY ALL
UNION ALL
SELECT 'barn_med_heldygnsinsats_per_1000', y.municipality, y.year, count(DISTINCT s.person_key),
       any_value(p.population_0_20)
FROM interventions s JOIN years y ON s.municipality = y.municipality
     AND s.start_date <= make_date(y.year, 12, 31)
     AND coalesce(s.end_date, DATE '9999-12-31') >= make_date(y.year, 1, 1)
     JOIN pop p ON p.municipality = y.municipality
WHERE s.intervention IN ('familjehem', 'hvb', 'stodboende', 'sis')
GROUP BY ALL
UNION ALL
SELECT 'aterkommande_inom_12_manader', f.municipality, f.year, count(*) FILTER (WHERE hit), count(*)
FROM followed f JOIN years y USING (municipality, year)
WHERE make_date(f.year, 12, 31) + INTERVAL 12 MONTH <= y.last_date
GROUP BY ALL
UNION ALL
SELECT 'anmalningar_per_kalla:' || source, municipality, year, count(*),
       sum(count(*)) OVER (PARTITION BY municipality, year)
FROM reports GROUP BY municipality, year, source
) AS u JOIN years y ON u.municipality = y.municipality AND u.year = y.year  -- covered years only
"""


def reference_population() -> pd.DataFrame:
    """municipality, population_0_17, population_0_20 from the shipped reference."""
    from insyn.model.municipalities import municipalities

    frame = municipalities()
    return pd.DataFrame({"municipality": frame["municipality_code"],
                         "population_0_17": frame["population_0_17"],
                         "population_0_20": frame["population_0_20"]})


def _finish(frame: pd.DataFrame, factors: dict[str, float]) -> pd.DataFrame:
    frame = frame.rename(columns={"year": "period"})
    frame["period"] = frame["period"].astype(str)
    base = frame["indicator"].str.split(":").str[0]
    factor = base.map(factors)
    frame["value"] = np.where(base == "utredningstid_median", frame["numerator"],
                              frame["numerator"] / frame["denominator"] * factor)
    frame.loc[base == "utredningstid_median", "numerator"] = np.nan
    return frame[COLUMNS]


# The indicators the baselines implement, with their factors: the only ones they are compared on.
BASELINE = {"forhandsbedomning_inom_14_dagar": 100, "andel_forhandsbedomningar_till_utredning": 100,
            "utredning_inom_4_manader": 100, "utredningstid_median": 1,
            "anmalningar_per_1000_barn": 1000, "barn_med_heldygnsinsats_per_1000": 1000,
            "aterkommande_inom_12_manader": 100, "anmalningar_per_kalla": 100}


def definitions(indicators=BASELINE, library=None) -> list:
    """The definitions of `indicators` (those a baseline implements) in `library` (default: the
    shipped one), to compute only what the baseline is compared on; every one must be there."""
    if library is None:
        from insyn.indicators.definitions import library as shipped

        library = shipped()
    found = [d for d in library if d.id in indicators]
    missing = set(indicators) - {d.id for d in found}
    if missing:
        raise ValueError(f"the baseline implements indicators the library lacks: {sorted(missing)}")
    return found


def sql_indicators(connection, population: pd.DataFrame, extract_date: dt.date | None = None) -> pd.DataFrame:
    connection.register("pop", population)
    try:
        frame = connection.execute(SQL, {"extract_date": extract_date}).df()
    finally:
        connection.unregister("pop")
    return _finish(frame, BASELINE)


def _latest_before(df: pd.DataFrame, target: str, before: str, name: str) -> pd.DataFrame:
    """Each `target` row with the latest `before` date of its case on or before it."""
    rows = df[df.event.isin([target, before])].copy()
    rows["is_target"] = rows.event == target
    rows = rows.sort_values(["municipality", "case_id", "date", "is_target"])
    rows[name] = rows["date"].where(rows.event == before)
    rows[name] = rows.groupby(["municipality", "case_id"])[name].ffill()
    return rows[rows.is_target & rows[name].notna()]


def _add_months(dates: pd.Series, months: int) -> pd.Series:
    return dates + pd.DateOffset(months=months)  # clamps to the month's last day


def _spells(events: pd.DataFrame, start: str, end: str, same: list[str], first_report: pd.Series,
            decision_id: bool = False) -> pd.DataFrame:
    """(municipality, case_id, person_key, *same, start_date, end_date): first in, first out by
    running counts per case (and `same`), starts before ends on one day; an end with nothing
    open began before the data (from the municipality's first report); with `decision_id`, an id
    with a start and an end on or after it is one spell, the other rows pair first in, first out."""
    rows = events[events.event.isin([start, end])]
    group = ["municipality", "case_id", *same]
    columns = [*group, "person_key", "start_date", "end_date"]
    parts = []
    if decision_id:
        with_id = rows[rows.intervention_id.notna()]
        dated = with_id.assign(s=with_id.date.where(with_id.event == start), e=with_id.date.where(with_id.event == end))
        ids = dated.groupby([*group, "intervention_id"], as_index=False).agg(
            person_key=("person_key", "first"), start_date=("s", "min"), end_date=("e", "max"))
        sound = ids[ids.end_date >= ids.start_date]
        parts.append(sound[columns])
        in_sound = with_id.merge(sound[[*group, "intervention_id"]], how="left", indicator=True)["_merge"] == "both"
        rows = pd.concat([rows[rows.intervention_id.isna()], with_id[~in_sound.to_numpy()]])
    rows = rows.assign(is_end=(rows.event == end).astype(int)).sort_values([*group, "date", "is_end", "person_key"],
                                                                           kind="stable")
    rows["is_start"] = 1 - rows.is_end
    by_group = rows.groupby(group, sort=False)
    rows["started"] = by_group.is_start.cumsum()
    rows["ended"] = by_group.is_end.cumsum()
    rows["unmatched"] = (rows.ended - rows.started).groupby([rows[g] for g in group], sort=False).cummax().clip(lower=0)
    rows["before"] = rows.groupby(group, sort=False).unmatched.shift(1).fillna(0)
    orphan = (rows.is_end == 1) & (rows.unmatched > rows.before)
    closing = rows[(rows.is_end == 1) & ~orphan]
    closing = closing.assign(number=closing.ended - closing.unmatched)[[*group, "number", "date"]]
    starts = rows[rows.is_start == 1].assign(number=lambda f: f.started)
    paired = starts.merge(closing.rename(columns={"date": "end_date"}), on=[*group, "number"], how="left")
    parts.append(paired.rename(columns={"date": "start_date"})[columns])
    orphans = rows[orphan].rename(columns={"date": "end_date"})
    first = orphans.municipality.map(first_report)
    parts.append(orphans.assign(start_date=first.where(first < orphans.end_date, orphans.end_date))[columns])
    return pd.concat(parts, ignore_index=True)


def pandas_indicators(events: pd.DataFrame, population: pd.DataFrame,
                      extract_date: dt.date | None = None) -> pd.DataFrame:
    events = events.assign(date=pd.to_datetime(events["date"]), year=pd.to_datetime(events["date"]).dt.year)
    coverage = events.groupby("municipality").agg(
        first=("date", lambda d: d[events.loc[d.index, "event"] == "report"].min()),
        last=("date", "max"))
    if extract_date is not None:
        coverage["last"] = coverage["last"].clip(lower=pd.Timestamp(extract_date))
    pop = population.set_index("municipality")
    out = []

    def emit(name, frame):
        frame = frame.reset_index()
        frame.insert(0, "indicator", name)
        out.append(frame[["indicator", "municipality", "year", "numerator", "denominator"]])

    key = ["municipality", "case_id"]
    investigations = _spells(events, "investigation_start", "investigation_end", [], coverage["first"])
    reports = events[events.event == "report"]
    during = reports.reset_index().merge(investigations[["municipality", "person_key", "start_date", "end_date"]],
                                         on=["municipality", "person_key"])
    during = during[(during.start_date < during.date) & (during.end_date.isna() | (during.end_date >= during.date))]
    undecided = reports[~reports.index.isin(during["index"])].sort_values("date")
    decisions = events[events.event == "initial_assessment"]
    decided = events.loc[events.event.isin(["initial_assessment", "investigation_start"]), [*key, "date"]] \
        .drop_duplicates().rename(columns={"date": "assessed"}).sort_values("assessed")
    answered = pd.merge_asof(undecided[[*key, "date"]], decided, left_on="date", right_on="assessed", by=key,
                             direction="forward").dropna(subset=["assessed"]).sort_values([*key, "assessed", "date"])
    answered["turn"] = answered.groupby([*key, "assessed"]).cumcount()
    decisions = decisions.sort_values([*key, "date", "outcome", "unit", "caseworker_id"], na_position="last")
    decisions = decisions.assign(turn=decisions.groupby([*key, "date"]).cumcount())
    answered = answered.rename(columns={"date": "report_date", "assessed": "date"})
    assessments = decisions.merge(answered, on=[*key, "date", "turn"])
    assessments["in_time"] = (assessments.date - assessments.report_date).dt.days <= 14
    assessments["investigate"] = assessments.outcome == "investigate"
    grouped = assessments.groupby(["municipality", "year"])
    emit("forhandsbedomning_inom_14_dagar", grouped.agg(numerator=("in_time", "sum"), denominator=("in_time", "size")))
    emit("andel_forhandsbedomningar_till_utredning",
         grouped.agg(numerator=("investigate", "sum"), denominator=("investigate", "size")))

    ended = _latest_before(events, "investigation_end", "investigation_start", "start_date")
    ended["in_time"] = ended.date <= _add_months(ended.start_date, 4)
    ended["days"] = (ended.date - ended.start_date).dt.days
    grouped = ended.groupby(["municipality", "year"])
    emit("utredning_inom_4_manader", grouped.agg(numerator=("in_time", "sum"), denominator=("in_time", "size")))
    emit("utredningstid_median", grouped.agg(numerator=("days", "median"), denominator=("days", "size")))

    age = (reports.date.dt.year - reports.birth_year
           - (reports.date.dt.month < reports.birth_month.fillna(UNKNOWN_BIRTH_MONTH)).astype(int))
    children = reports[age.isna() | age.between(0, 17)]
    counted = children.groupby(["municipality", "year"]).size().rename("numerator").to_frame()
    counted = counted.reindex(reports.groupby(["municipality", "year"]).size().index, fill_value=0)
    counted["denominator"] = pop.loc[counted.index.get_level_values(0), "population_0_17"].to_numpy()
    emit("anmalningar_per_1000_barn", counted)
    by_source = reports.groupby(["municipality", "year", "source"]).size().rename("numerator").reset_index()
    by_source["denominator"] = by_source.groupby(["municipality", "year"]).numerator.transform("sum")
    by_source["indicator"] = "anmalningar_per_kalla:" + by_source.source
    out.append(by_source[["indicator", "municipality", "year", "numerator", "denominator"]])

    spells = _spells(events, "intervention_start", "intervention_end", ["intervention"], coverage["first"],
                     decision_id=True)
    placed = spells[spells.intervention.isin(OUT_OF_HOME)]
    per_year = []
    for municipality, span in coverage.dropna().iterrows():
        mine = placed[placed.municipality == municipality]
        for year in range(span["first"].year, span["last"].year + 1):
            overlap = (mine.start_date <= pd.Timestamp(year, 12, 31)) & (
                mine.end_date.isna() | (mine.end_date >= pd.Timestamp(year, 1, 1)))
            per_year.append((municipality, year, mine.loc[overlap, "person_key"].nunique(),
                             pop.loc[municipality, "population_0_20"]))
    emit("barn_med_heldygnsinsats_per_1000",
         pd.DataFrame(per_year, columns=["municipality", "year", "numerator", "denominator"]).set_index(
             ["municipality", "year"]))

    person = ["municipality", "person_key"]
    candidates = pd.concat([
        events.loc[(events.event == "investigation_end") & (events.outcome == "no_intervention"), [*person, "date"]],
        spells.loc[spells.end_date.notna(), [*person, "end_date"]].rename(columns={"end_date": "date"}),
    ]).drop_duplicates()
    open_spells = pd.concat([spells[[*person, "start_date", "end_date"]],
                             investigations[[*person, "start_date", "end_date"]]])
    blocked = candidates.merge(open_spells, on=person)
    still_open = blocked.end_date.isna() | (blocked.end_date > blocked.date)
    blocked = blocked[(blocked.start_date <= blocked.date) & still_open]
    blocked_days = set(zip(blocked.municipality, blocked.person_key, blocked.date, strict=True))
    # An array, not a list: an empty list would select no columns rather than no rows.
    kept = [k not in blocked_days for k in zip(candidates.municipality, candidates.person_key, candidates.date,
                                               strict=True)]
    closings = candidates[np.array(kept, dtype=bool)].copy()
    closings["year"] = closings.date.dt.year
    first = closings.groupby([*person, "year"]).date.min().reset_index()
    later = first.merge(reports[[*person, "date"]], on=person, suffixes=("", "_report"))
    later = later[(later.date_report > later.date) & (later.date_report <= _add_months(later.date, 12))]
    hits = set(zip(later.municipality, later.person_key, later.year, strict=False))
    first["hit"] = [k in hits for k in zip(first.municipality, first.person_key, first.year, strict=False)]
    first = first.merge(coverage["last"].reset_index(), on="municipality")
    first = first[_add_months(pd.to_datetime(first.year.astype(str) + "-12-31"), 12) <= first["last"]]
    emit("aterkommande_inom_12_manader",
         first.groupby(["municipality", "year"]).agg(numerator=("hit", "sum"), denominator=("hit", "size")))

    combined = pd.concat(out, ignore_index=True).merge(
        coverage.reset_index(), on="municipality")
    covered = (combined.year >= combined["first"].dt.year) & (combined.year <= combined["last"].dt.year)
    return _finish(combined[covered], BASELINE)


def engine_as_baseline(results: pd.DataFrame, indicators=BASELINE) -> pd.DataFrame:
    """The engine's yearly totals of the `indicators` a baseline implements, in the baselines'
    shape (source shares keyed by source); the rows of every other indicator are left out."""
    totals = results[(results.period_type == "year") & results.unit.isna() & results.sex.isna()
                     & results.age_group.isna() & results.indicator.isin(list(indicators))].copy()
    has_category = totals.category.notna()
    totals.loc[has_category, "indicator"] = totals.indicator + ":" + totals.category
    return totals[COLUMNS]


def compare(left: pd.DataFrame, right: pd.DataFrame, names=("engine", "baseline")) -> list[str]:
    """Differences between two result sets; rows only one side has must count nothing."""
    keys = ["indicator", "municipality", "period"]
    merged = left.merge(right, on=keys, how="outer", suffixes=("_a", "_b"), indicator=True)
    problems = []
    for _, row in merged.iterrows():
        if row["_merge"] != "both":
            side = row["numerator_a"] if row["_merge"] == "left_only" else row["numerator_b"]
            if side and side == side:
                problems.append(f"only in {names[0] if row['_merge'] == 'left_only' else names[1]}: {dict(row)}")
            continue
        for column in ("numerator", "denominator", "value"):
            a, b = row[f"{column}_a"], row[f"{column}_b"]
            if not ((a != a and b != b) or abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))):
                problems.append(f"{column} differs for {row['indicator']} {row['municipality']} "
                                f"{row['period']}: {names[0]}={a} {names[1]}={b}")
    return problems


# --- workforce: a few indicators by hand in pandas, for time and parity --------------------------

CASEWORKER_ROLES = ("socialsekreterare", "forste_socialsekreterare")
WORKFORCE_BASELINE = ("antal_anstallda", "arsarbetare", "andel_konsulter", "personalomsattning")


def pandas_workforce(staff: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """Headcount, FTE and consultant share on 1 November, and caseworker turnover over the
    year, as an analyst would write them in pandas (docs/workforce.md states the rules)."""
    staff = staff.assign(fte=staff["fte"].fillna(1.0), start=pd.to_datetime(staff["start_date"]),
                         end=pd.to_datetime(staff["end_date"]))
    employed = staff[staff["role"].isin(CASEWORKER_ROLES) & staff["employment"].isin(["tillsvidare", "visstid"])]
    following = staff[["municipality", "staff_id", "unit", "start", "end"]].rename(
        columns={"unit": "next_unit", "start": "next_start", "end": "next_end"})
    ends = employed[employed["end"].notna()].merge(following, on=["municipality", "staff_id"])
    next_day = ends["end"] + pd.Timedelta(days=1)
    same_row = ((ends["next_start"] == ends["start"]) & (ends["next_unit"] == ends["unit"])
                & ((ends["next_end"] == ends["end"]) | (ends["next_end"].isna() & ends["end"].isna())))
    continuing = ends[~same_row & (ends["next_start"] <= next_day)
                      & (ends["next_end"].isna() | (ends["next_end"] >= next_day))]
    continued = set(zip(continuing["municipality"], continuing["staff_id"], continuing["start"], strict=True))
    leavers = employed[employed["end"].notna()]
    leavers = leavers[np.array([key not in continued for key in zip(leavers["municipality"], leavers["staff_id"],
                                                                     leavers["start"], strict=True)], dtype=bool)]
    parts = []
    for year in years:
        reference, first, last = (pd.Timestamp(year, 11, 1), pd.Timestamp(year, 1, 1), pd.Timestamp(year, 12, 31))
        in_post = staff[(staff["start"] <= reference) & (staff["end"].isna() | (staff["end"] >= reference))]
        by_municipality = in_post.groupby("municipality")
        caseworkers = in_post[in_post["role"].isin(CASEWORKER_ROLES)]
        consultant_fte = caseworkers[caseworkers["employment"] == "konsult"].groupby("municipality")["fte"].sum()
        caseworker_fte = caseworkers.groupby("municipality")["fte"].sum()
        days = (employed["end"].fillna(last).clip(upper=last) - employed["start"].clip(lower=first)).dt.days + 1
        fte_years = (employed["fte"] * days.clip(lower=0) / ((last - first).days + 1)).groupby(
            employed["municipality"]).sum()
        left = leavers[(leavers["end"] >= first) & (leavers["end"] <= last)].groupby("municipality")["fte"].sum()
        frames = {
            "antal_anstallda": pd.DataFrame({"numerator": by_municipality["staff_id"].nunique()}),
            "arsarbetare": pd.DataFrame({"numerator": by_municipality["fte"].sum()}),
            "andel_konsulter": pd.DataFrame({"numerator": consultant_fte.reindex(caseworker_fte.index, fill_value=0),
                                             "denominator": caseworker_fte}),
            "personalomsattning": pd.DataFrame({"numerator": left.reindex(fte_years.index, fill_value=0),
                                                "denominator": fte_years}),
        }
        for indicator, frame in frames.items():
            parts.append(frame.reset_index().assign(indicator=indicator, period=str(year)))
    result = pd.concat(parts, ignore_index=True)
    shares = result["indicator"].isin(["andel_konsulter", "personalomsattning"])
    result["value"] = result["numerator"].where(~shares, 100 * result["numerator"] / result["denominator"])
    result.loc[result["denominator"] == 0, "value"] = float("nan")
    return result[COLUMNS].astype({"numerator": float, "denominator": float})
