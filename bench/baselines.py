"""The case-flow indicators written twice by hand, to measure Insyn's engine against:
once as hand-written DuckDB SQL and once as straightforward pandas. Yearly totals per
municipality only (the engine's `breakdowns=False, quarters=False` run does the same work).
Population: the shipped reference (one year, used for every year, as the engine does when
no other year is imported).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

OUT_OF_HOME = ("familjehem", "hvb", "stodboende", "sis")
COLUMNS = ["indicator", "municipality", "period", "numerator", "denominator", "value"]

SQL = """
WITH coverage AS (
    SELECT municipality, min(date) FILTER (WHERE event = 'report') AS first_report, max(date) AS last_date
    FROM events GROUP BY municipality
), years AS (
    SELECT municipality, y::INTEGER AS year, last_date
    FROM coverage, range(year(first_report), year(last_date) + 1) AS r(y)
    WHERE first_report IS NOT NULL
), assessments AS (
    SELECT * FROM (
        SELECT municipality, event, date, outcome,
               max(CASE WHEN event = 'report' THEN date END) OVER (
                   PARTITION BY municipality, case_id ORDER BY date, event = 'initial_assessment'
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS report_date
        FROM events WHERE event IN ('report', 'initial_assessment'))
    WHERE event = 'initial_assessment' AND report_date IS NOT NULL
), investigations AS (
    SELECT * FROM (
        SELECT municipality, event, date,
               max(CASE WHEN event = 'investigation_start' THEN date END) OVER (
                   PARTITION BY municipality, case_id ORDER BY date, event = 'investigation_end'
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS start_date
        FROM events WHERE event IN ('investigation_start', 'investigation_end'))
    WHERE event = 'investigation_end' AND start_date IS NOT NULL
), spell_days AS (
    SELECT municipality, case_id, intervention, date,
           count(*) FILTER (WHERE event = 'intervention_start') AS starts,
           count(*) FILTER (WHERE event = 'intervention_end') AS ends
    FROM events WHERE event IN ('intervention_start', 'intervention_end')
    GROUP BY ALL
), spell_ends AS (
    SELECT *, CASE WHEN ends > greatest(coalesce(sum(starts - ends) OVER (
                   PARTITION BY municipality, case_id, intervention ORDER BY date
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0), 0) THEN date
              ELSE min(CASE WHEN ends > 0 THEN date END) OVER (
                   PARTITION BY municipality, case_id, intervention ORDER BY date
                   ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) END AS end_date
    FROM spell_days
), spells AS (
    SELECT e.municipality, e.person_key, e.intervention, e.date AS start_date, d.end_date
    FROM events e JOIN spell_ends d USING (municipality, case_id, intervention, date)
    WHERE e.event = 'intervention_start'
), closings AS (
    SELECT municipality, person_key, date FROM events
    WHERE event = 'investigation_end' AND outcome = 'no_intervention'
    UNION ALL
    SELECT s.municipality, s.person_key, s.end_date FROM spells s
    WHERE s.end_date IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM spells o WHERE o.municipality = s.municipality AND o.person_key = s.person_key
          AND o.start_date <= s.end_date AND (o.end_date IS NULL OR o.end_date > s.end_date))
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
    SELECT municipality, year(date) AS year, source FROM events WHERE event = 'report'
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
FROM investigations GROUP BY ALL
UNION ALL
SELECT 'utredningstid_median', municipality, year(date), quantile_cont(date - start_date, 0.5), count(*)
FROM investigations GROUP BY ALL
UNION ALL
SELECT 'anmalningar_per_1000_barn', r.municipality, r.year, count(*), any_value(p.population_0_17)
FROM reports r JOIN pop p USING (municipality) GROUP BY ALL
UNION ALL
SELECT 'barn_med_heldygnsinsats_per_1000', y.municipality, y.year, count(DISTINCT s.person_key),
       any_value(p.population_0_20)
FROM spells s JOIN years y ON s.municipality = y.municipality
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


FACTORS = {"forhandsbedomning_inom_14_dagar": 100, "andel_forhandsbedomningar_till_utredning": 100,
           "utredning_inom_4_manader": 100, "utredningstid_median": 1,
           "anmalningar_per_1000_barn": 1000, "barn_med_heldygnsinsats_per_1000": 1000,
           "aterkommande_inom_12_manader": 100, "anmalningar_per_kalla": 100}


def sql_indicators(connection, population: pd.DataFrame) -> pd.DataFrame:
    connection.register("pop", population)
    try:
        frame = connection.execute(SQL).df()
    finally:
        connection.unregister("pop")
    return _finish(frame, FACTORS)


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


def pandas_indicators(events: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    events = events.assign(date=pd.to_datetime(events["date"]), year=pd.to_datetime(events["date"]).dt.year)
    coverage = events.groupby("municipality").agg(
        first=("date", lambda d: d[events.loc[d.index, "event"] == "report"].min()),
        last=("date", "max"))
    pop = population.set_index("municipality")
    out = []

    def emit(name, frame):
        frame = frame.reset_index()
        frame.insert(0, "indicator", name)
        out.append(frame[["indicator", "municipality", "year", "numerator", "denominator"]])

    assessments = _latest_before(events, "initial_assessment", "report", "report_date")
    assessments["in_time"] = (assessments.date - assessments.report_date).dt.days <= 14
    assessments["investigate"] = assessments.outcome == "investigate"
    grouped = assessments.groupby(["municipality", "year"])
    emit("forhandsbedomning_inom_14_dagar", grouped.agg(numerator=("in_time", "sum"), denominator=("in_time", "size")))
    emit("andel_forhandsbedomningar_till_utredning",
         grouped.agg(numerator=("investigate", "sum"), denominator=("investigate", "size")))

    investigations = _latest_before(events, "investigation_end", "investigation_start", "start_date")
    investigations["in_time"] = investigations.date <= _add_months(investigations.start_date, 4)
    investigations["days"] = (investigations.date - investigations.start_date).dt.days
    grouped = investigations.groupby(["municipality", "year"])
    emit("utredning_inom_4_manader", grouped.agg(numerator=("in_time", "sum"), denominator=("in_time", "size")))
    emit("utredningstid_median", grouped.agg(numerator=("days", "median"), denominator=("days", "size")))

    reports = events[events.event == "report"]
    counted = reports.groupby(["municipality", "year"]).size().rename("numerator").to_frame()
    counted["denominator"] = pop.loc[counted.index.get_level_values(0), "population_0_17"].to_numpy()
    emit("anmalningar_per_1000_barn", counted)
    by_source = reports.groupby(["municipality", "year", "source"]).size().rename("numerator").reset_index()
    by_source["denominator"] = by_source.groupby(["municipality", "year"]).numerator.transform("sum")
    by_source["indicator"] = "anmalningar_per_kalla:" + by_source.source
    out.append(by_source[["indicator", "municipality", "year", "numerator", "denominator"]])

    rows = events[events.event.isin(["intervention_start", "intervention_end"])]
    group = ["municipality", "case_id", "intervention"]
    days = rows.assign(start=rows.event == "intervention_start", end=rows.event == "intervention_end") \
        .groupby([*group, "date"], as_index=False)[["start", "end"]].sum().sort_values([*group, "date"])
    running = (days.start - days.end).groupby([days[g] for g in group]).cumsum()
    days["open_before"] = (running - (days.start - days.end)).clip(lower=0)
    days["end_date"] = days["date"].where(days.end > 0)
    days["next_end"] = days.groupby(group)["end_date"].shift(-1)
    days["next_end"] = days.groupby(group)["next_end"].bfill()
    days["end_date"] = days["date"].where(days.end > days.open_before, days["next_end"])
    starts = rows[rows.event == "intervention_start"]
    spells = starts.merge(days[[*group, "date", "end_date"]], on=[*group, "date"]).rename(
        columns={"date": "start_date"})
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

    ended = spells[spells.end_date.notna()]
    candidates = ended.merge(spells[["municipality", "person_key", "start_date", "end_date"]],
                             on=["municipality", "person_key"], suffixes=("", "_other"))
    ongoing = candidates[(candidates.start_date_other <= candidates.end_date)
                         & (candidates.end_date_other.isna() | (candidates.end_date_other > candidates.end_date))]
    ongoing_keys = set(zip(ongoing.municipality, ongoing.person_key, ongoing.start_date, ongoing.end_date,
                           ongoing.intervention, strict=False))
    last = ended.loc[[k not in ongoing_keys for k in zip(ended.municipality, ended.person_key,
                                                         ended.start_date, ended.end_date,
                                                         ended.intervention, strict=False)]]
    closings = pd.concat([
        events.loc[(events.event == "investigation_end") & (events.outcome == "no_intervention"),
                   ["municipality", "person_key", "date"]],
        last[["municipality", "person_key", "end_date"]].rename(columns={"end_date": "date"}),
    ])
    closings["year"] = closings.date.dt.year
    first = closings.groupby(["municipality", "person_key", "year"]).date.min().reset_index()
    later = first.merge(reports[["municipality", "person_key", "date"]], on=["municipality", "person_key"],
                        suffixes=("", "_report"))
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
    return _finish(combined[covered], FACTORS)


def engine_as_baseline(results: pd.DataFrame) -> pd.DataFrame:
    """The engine's yearly totals in the baselines' shape (source shares keyed by source)."""
    totals = results[(results.period_type == "year") & results.unit.isna() & results.sex.isna()
                     & results.age_group.isna()].copy()
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
    leavers = leavers[[key not in continued for key in zip(leavers["municipality"], leavers["staff_id"],
                                                            leavers["start"], strict=True)]]
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
