"""Synthetic collaboration around the child (docs/synthetic-data.md): SIP initiatives, meetings
where the plan is drawn up and followed up with the organisations taking part, and requests for
the police's assistance with their answers, drawn around the synthetic interventions. The
figures and what they rest on are in collaboration.yaml."""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
import yaml

from insyn.model.codes import codes
from insyn.synth.costs import placements

DAY = np.timedelta64(1, "D")
PLACEMENTS = ("familjehem", "jourhem", "hvb", "stodboende", "sis")


@cache
def collaboration_calibration() -> dict:
    with resources.files("insyn.synth").joinpath("collaboration.yaml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def with_collaboration(events: pd.DataFrame, staff: pd.DataFrame, years: list[int], seed: int) -> pd.DataFrame:
    """The events with SIP and police assistance rows added in the cases of the interventions
    they concern (each with its case's unit and caseworker), within the years."""
    rng = np.random.default_rng([seed, 23])
    first, last = np.datetime64(f"{min(years)}-01-01"), np.datetime64(f"{max(years)}-12-31")
    spans = placements(events, first, last)
    spans = spans.assign(end=spans["end"].clip(upper=pd.Timestamp(last)))
    added = pd.concat([_sip(rng, spans), _police_assistance(rng, spans)], ignore_index=True)
    added = added[(added["date"] >= pd.Timestamp(first)) & (added["date"] <= pd.Timestamp(last))]
    # Each with the unit and caseworker of its case's nearest event in time, as the case system
    # records them on every event; a caseworker no longer (or not yet) in the unit that day is
    # not named.
    known = events[["municipality", "case_id", "date", "unit", "caseworker_id", "temporary_number"]]
    added = added.astype({"municipality": known["municipality"].dtype, "case_id": known["case_id"].dtype})
    added = pd.merge_asof(added.sort_values("date"), known.sort_values("date"), on="date",
                          by=["municipality", "case_id"], direction="nearest").reset_index(drop=True)
    added.loc[~_on_duty(added, staff), "caseworker_id"] = None
    return pd.concat([events, added.reindex(columns=events.columns).astype(events.dtypes.to_dict())],
                     ignore_index=True)


def _on_duty(rows: pd.DataFrame, staff: pd.DataFrame) -> np.ndarray:
    """Whether each row's caseworker is employed in its unit on its day."""
    employed = rows.reset_index().merge(staff, left_on=["municipality", "caseworker_id", "unit"],
                                        right_on=["municipality", "staff_id", "unit"], suffixes=("", "_staff"))
    during = (employed["start_date"] <= employed["date"]) & (
        employed["end_date"].isna() | (employed["end_date"] >= employed["date"]))
    return np.isin(np.arange(len(rows)), employed.loc[during, "index"].to_numpy())


def _rows(spans: pd.DataFrame, chosen: np.ndarray, event: str, dates: np.ndarray, **columns) -> pd.DataFrame:
    picked = spans[chosen]
    return pd.DataFrame({"municipality": picked["municipality"].to_numpy(), "case_id": picked["case_id"].to_numpy(),
                         "person_id": picked["person_id"].to_numpy(), "event": event,
                         "date": pd.to_datetime(dates[chosen]), **{k: v[chosen] for k, v in columns.items()}})


def _days(rng: np.random.Generator, bounds: list[int], n: int) -> np.ndarray:
    return rng.integers(bounds[0], bounds[1] + 1, n) * DAY


def _sip(rng: np.random.Generator, spans: pd.DataFrame) -> pd.DataFrame:
    """An initiative after some interventions begin; the plan drawn up unless never; followed up
    every half year while the intervention lasts. Each meeting with its organisations."""
    cal = collaboration_calibration()["sip"]
    n = len(spans)
    start, end = spans["start"].to_numpy(), spans["end"].to_numpy()
    share = np.where(spans["intervention"].isin(PLACEMENTS), cal["share_placed"], cal["share_other"])
    initiated = rng.random(n) < share
    initiative = start + _days(rng, cal["initiative_after_start_days"], n)
    held = initiated & (rng.random(n) >= cal["share_never_held"])
    drawn_up = initiative + _days(rng, cal["held_after_initiative_days"], n)
    parts = [_rows(spans, initiated & (initiative <= end), "sip_initiated", initiative)]
    born = pd.to_numeric(spans["person_id"].str.slice(0, 4), errors="coerce").to_numpy()  # temporary ids: NaN
    for number in range(cal["most_follow_ups"] + 1):
        day = drawn_up + number * cal["follow_up_days"] * DAY
        meeting = held & (day <= end)
        age = day.astype("datetime64[Y]").astype(int) + 1970 - born
        parts.append(_rows(spans, meeting, "sip_followed_up" if number else "sip_held", day,
                           organisations=_organisations(rng, age, cal)))
    return pd.concat(parts, ignore_index=True)


def _organisations(rng: np.random.Generator, age: np.ndarray, cal: dict) -> np.ndarray:
    """Per meeting, the organisations taking part as an export writes them ("skola;bup"): each
    by its chance where the child is of the ages it serves, and the region where neither it nor
    BUP is drawn."""
    names = codes("organisations")
    taking_part = {}
    for code in names:
        low, high = cal["ages"].get(code, (0, 150))
        of_age = np.isnan(age) | ((age >= low) & (age <= high))
        taking_part[code] = of_age & (rng.random(age.size) < cal["organisations"][code])
    taking_part["region_halso_sjukvard"] |= ~taking_part["bup"]
    return np.array([";".join(code for code in names if taking_part[code][i]) for i in range(age.size)],
                    dtype=object)


def _police_assistance(rng: np.random.Generator, spans: pd.DataFrame) -> pd.DataFrame:
    """A request a few days before some placements begin, and the police's answer: help a day
    or so later, or now and then a refusal."""
    cal = collaboration_calibration()["police_assistance"]
    n = len(spans)
    share = spans["intervention"].map(cal["share_of_placements"]).fillna(0.0).to_numpy()
    requested = rng.random(n) < share
    request = spans["start"].to_numpy() - _days(rng, cal["request_before_start_days"], n)
    refused = rng.random(n) < cal["share_refused"]
    wait = (rng.geometric(1 / (1 + cal["days_to_help_mean"]), n) - 1) * DAY
    answer = np.minimum(request + wait, spans["start"].to_numpy())
    basis = np.where(rng.random(n) < cal["share_lvu"], "lvu", "annan").astype(object)
    outcome = np.where(refused, "refused", "granted").astype(object)
    return pd.concat([_rows(spans, requested, "police_assistance_requested", request, legal_basis=basis),
                      _rows(spans, requested, "police_assistance_answered", answer, outcome=outcome)],
                     ignore_index=True)
