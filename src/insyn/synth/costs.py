"""Synthetic cost data (docs/synthetic-data.md): a price list per municipality and a ledger of
monthly invoices per placement and öppenvård, made from the synthetic events so that the costs
follow the children the case data place. The prices and their sources are in costs.yaml."""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
import yaml

from insyn.model.tables import TABLES

DAY = np.timedelta64(1, "D")


@cache
def cost_calibration() -> dict:
    with resources.files("insyn.synth").joinpath("costs.yaml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def _columns(table: str) -> list[str]:
    return [c.name for c in TABLES[table].columns]


def with_providers(events: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The events with a provider on the interventions of the forms the price list prices by
    provider (HVB): each case's placements with one of the municipality's providers."""
    cal = cost_calibration()
    providers = cal["providers"]
    events = events.copy()
    chosen = np.full(len(events), None, dtype=object)
    for form, names in providers.items():
        rows = (events["intervention"] == form).to_numpy()
        # By the case, so a start and its end name the same provider.
        index = pd.util.hash_pandas_object(events.loc[rows, "case_id"], index=False).to_numpy() + seed
        chosen[rows] = np.asarray(names, dtype=object)[index % len(names)]
    events["provider"] = pd.array(chosen, dtype="str")  # None for the forms priced without provider
    return events


def placements(events: pd.DataFrame, window_first: np.datetime64, window_last: np.datetime64) -> pd.DataFrame:
    """Each intervention's first and last day, its start paired with its end per case and form
    (by decision id where given, else first in, first out); an end without a start began at the
    window's first day, a start without an end runs to its last."""
    kept = events[events["event"].isin(["intervention_start", "intervention_end"])].copy()
    kept["pair"] = kept.groupby(["municipality", "case_id", "intervention", "event"]).cumcount()
    key = ["municipality", "case_id", "person_id", "intervention", "provider", "pair"]
    starts = kept[kept["event"] == "intervention_start"].set_index(key)["date"].rename("start")
    ends = kept[kept["event"] == "intervention_end"].set_index(key)["date"].rename("end")
    spans = pd.concat([starts, ends], axis=1).reset_index()
    spans["start"] = spans["start"].fillna(pd.Timestamp(window_first))
    spans["end"] = spans["end"].fillna(pd.Timestamp(window_last))
    return spans[spans["end"] >= spans["start"]].reset_index(drop=True)


def care_prices(municipalities: list[str], years: list[int], seed: int) -> pd.DataFrame:
    """A price per form (and per provider where priced so) for each municipality and year, drawn
    around the calibrated price and raised by the yearly index."""
    cal = cost_calibration()
    rng = np.random.default_rng(seed)
    rows = []
    for municipality in municipalities:
        level = rng.lognormal(0.0, cal["municipality_sigma"])
        for form, price in cal["price_per_day"].items():
            for provider in [None, *cal["providers"].get(form, [])]:
                own = level * rng.lognormal(0.0, cal["provider_sigma"]) if provider else level
                for i, year in enumerate(years):
                    rows.append((municipality, form, provider,
                                 round(price * own * (1 + cal["yearly_increase"]) ** i),
                                 f"{year}-01-01", f"{year}-12-31"))
    frame = pd.DataFrame(rows, columns=["municipality", "intervention", "provider", "price_per_day",
                                        "start_date", "end_date"])
    for column in ("start_date", "end_date"):
        frame[column] = pd.to_datetime(frame[column])
    return frame[_columns("care_prices")]


def care_costs(spans: pd.DataFrame, prices: pd.DataFrame, seed: int) -> pd.DataFrame:
    """One invoice per placement and calendar month it covers: its days in the month at the price
    of the month's year for the form and provider (the form's own price without one), with a
    little noise for what invoices add (travel, extra staff)."""
    cal = cost_calibration()
    rng = np.random.default_rng(seed + 1)
    spans = spans[spans["intervention"].isin(list(cal["price_per_day"]))].reset_index(drop=True)
    first_month = spans["start"].dt.to_period("M")
    months = (spans["end"].dt.to_period("M") - first_month).map(lambda offset: offset.n).to_numpy() + 1
    row = np.repeat(np.arange(len(spans)), months)
    offset = np.arange(row.size) - np.repeat(np.cumsum(months) - months, months)
    month = (first_month.to_numpy()[row] + offset)
    month_start = pd.PeriodIndex(month).to_timestamp()
    month_end = pd.PeriodIndex(month).to_timestamp(how="end").normalize()
    start = np.maximum(spans["start"].to_numpy()[row], month_start.to_numpy())
    end = np.minimum(spans["end"].to_numpy()[row], month_end.to_numpy())
    invoices = pd.DataFrame({
        "municipality": spans["municipality"].to_numpy()[row],
        "person_id": spans["person_id"].to_numpy()[row],
        "case_id": spans["case_id"].to_numpy()[row],
        "intervention": spans["intervention"].to_numpy()[row],
        "provider": spans["provider"].to_numpy()[row],
        "start_date": start, "end_date": end, "year": month_start.year,
    })
    # Keyed with "" for no provider: a merge on missing values would depend on their dtype.
    priced = prices.assign(year=prices["start_date"].dt.year, by=prices["provider"].fillna(""))
    invoices = invoices.assign(by=pd.Series(invoices["provider"], dtype=object).fillna(""))
    invoices = invoices.merge(priced[["municipality", "intervention", "by", "year", "price_per_day"]],
                              on=["municipality", "intervention", "by", "year"], how="left")
    days = (invoices["end_date"] - invoices["start_date"]) / DAY + 1
    noise = rng.lognormal(0.0, cal["invoice_sigma"], len(invoices))
    invoices["amount"] = (days * invoices["price_per_day"] * noise).round(0)
    invoices["voucher"] = [f"V{seed}-{i}" for i in range(len(invoices))]
    return invoices.dropna(subset=["amount"])[_columns("care_costs")].reset_index(drop=True)


def cost_tables(events: pd.DataFrame, years: list[int], seed: int) -> dict[str, pd.DataFrame]:
    """The events with providers, the price list and the ledger."""
    events = with_providers(events, seed)
    window_first, window_last = np.datetime64(f"{min(years)}-01-01"), np.datetime64(f"{max(years)}-12-31")
    prices = care_prices(sorted(events["municipality"].unique()), years, seed)
    # A ledger books costs on a personnummer: a child known by a temporary id has none in it.
    numbered = events[events["temporary_number"].isna()]
    return {"events": events, "care_prices": prices,
            "care_costs": care_costs(placements(numbered, window_first, window_last), prices, seed)}
