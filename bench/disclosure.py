"""Disclosure control benchmark: primary and secondary suppression over a region's results.

Generates the demo region (16 municipalities) for the given years, imports it into an in-memory
store and computes the whole library, then times, in one run, the baseline (primary suppression
alone, the rule Insyn published with before) against the full layer (primary + secondary, with
the LP audit), reports how much each hides and the peak memory, and attacks the result: the
narrowest range any hidden small count can be pinned to from what is shown. With --results, reads a
results Parquet file instead (e.g. bench/out/engine_all_full.parquet from bench/national.py).

    python bench/disclosure.py --years 2022,2023,2024,2025 [--kommuner 2506,2403,2425,1762]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def region_results(years: list[int], seed: int, codes: list[str] | None = None) -> pd.DataFrame:
    from insyn.indicators.engine import compute
    from insyn.ingest.load import import_files
    from insyn.model.municipalities import municipalities, region_municipalities
    from insyn.store import open_store
    from insyn.synth.generate import generate, write_tables

    with tempfile.TemporaryDirectory() as folder:
        chosen = (municipalities().set_index("municipality_code").loc[codes].reset_index() if codes
                  else region_municipalities("demo"))
        tables = generate(chosen, years, seed=seed)
        store = open_store(None)
        try:
            import_files(store, write_tables(tables, Path(folder), fmt="parquet"), b"k" * 32)
            return compute(store)
        finally:
            store.close()


def main() -> None:
    from insyn.disclosure import grid
    from insyn.disclosure.rules import load_rules
    from insyn.disclosure.status import PRIMARY, SECONDARY
    from insyn.disclosure.suppression import Linked, protect
    from insyn.indicators.definitions import by_id, library
    from insyn.indicators.pooled import with_pooled

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", default="2023,2024")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--results", type=Path, help="a results Parquet file instead of the demo region")
    parser.add_argument("--kommuner", help="municipality codes instead of the demo region, e.g. "
                        "2506,2403,2425,1762 (Arjeplog, Bjurholm, Dorotea, Munkfors)")
    args = parser.parse_args()
    results = (pd.read_parquet(args.results) if args.results
               else region_results([int(y) for y in args.years.split(",")], args.seed,
                                   args.kommuner.split(",") if args.kommuner else None))
    rules = load_rules()
    # What is published: every code's row, zeros included (insyn.disclosure.grid), and three years
    # pooled (insyn.indicators.pooled), as prepare does.
    results = with_pooled(grid.every_row(results.reset_index(drop=True), by_id(), strict=False), by_id())

    start = time.perf_counter()
    linked = Linked(results.reset_index(drop=True), {d.id: d for d in library()}, rules)
    primary = linked.primary()
    baseline = time.perf_counter() - start

    start = time.perf_counter()
    published = protect(results, rules)
    full = time.perf_counter() - start

    rows = len(results)
    print(f"{rows:,} result rows, {results.municipality.nunique()} municipalities, "
          f"{len(linked.cells):,} cells, {len(linked.tables.equations):,} equations")
    print(f"{'':<44}{'seconds':>9}{'hidden rows':>13}")
    print(f"{'baseline: primary suppression only':<44}{baseline:>9.2f}{int(np.sum(primary)):>13,}")
    print(f"{'primary + secondary (LP audit)':<44}{full:>9.2f}"
          f"{int(published.status.isin([PRIMARY, SECONDARY]).sum()):>13,}")
    print(f"  of which primary {int((published.status == PRIMARY).sum()):,}, "
          f"secondary {int((published.status == SECONDARY).sum()):,} "
          f"({100 * (published.status == SECONDARY).sum() / rows:.1f} % of rows)")
    # The attack, over the whole region: every hidden small count's range from what is shown.
    start = time.perf_counter()
    hidden = published.status.isin([PRIMARY, SECONDARY]).to_numpy()
    ranges = linked.ranges(hidden)
    sensitive = [c for c in ranges if linked.tables.required[c] > 0]
    short = [c for c in sensitive if ranges[c].width < linked.tables.required[c] - 1e-6]
    # What the public figures alone give away (a unit's headcount within its municipality's):
    # the same attack with the rows of public figures hidden as well widens those.
    without_public = linked.ranges(hidden | linked.public_rows) if short else {}
    by_public = [c for c in short if without_public[c].width >= linked.tables.required[c] - 1e-6]
    counts = [ranges[c].width for c in sensitive if not linked.cells["sum"].iloc[c] and c not in by_public]
    print(f"attack: {len(ranges):,} hidden cells, {len(sensitive):,} of them small counts or sums, "
          f"{len(short) - len(by_public)} narrower than required; narrowest range of a small count "
          f"{min(counts, default=0):.1f} (required {rules.width:.0f}), in {time.perf_counter() - start:.1f} s")
    if by_public:
        print(f"  {len(by_public)} more are bounded by public figures alone (a unit's count within its "
              "municipality's published one, the mentoring of new hires within the published number of new "
              "caseworkers: disclosure.yaml's `public`)")
    print(f"peak memory {_peak_mb():,.0f} MB")
    print()
    print(hidden_shares(published).to_string())


def hidden_shares(published: pd.DataFrame) -> pd.DataFrame:
    """Per cent of the publishable rows hidden, per area and level: the municipality's yearly
    totals (no breakdown, no category), and of them those hidden with no pooled figure shown for
    the three years ending that year either (of a share or rate: insyn.indicators.pooled),
    everything of the whole municipality, unit rows, all. Pooled rows count only in the second."""
    from insyn.disclosure.status import NEVER_PUBLISHED, is_hidden
    from insyn.indicators.definitions import library
    from insyn.indicators.pooled import POOLED, pooled_label

    area = {d.id: d.area for d in library()}
    rows = published[published.status != NEVER_PUBLISHED].assign(
        area=lambda f: f.indicator.map(area), hidden=lambda f: f.status.map(is_hidden))
    pooled = rows[rows.period_type == POOLED]
    pooled_shown = {(r.indicator, r.municipality, r.period) for r in pooled.itertuples() if not r.hidden}
    rows = rows[rows.period_type != POOLED]
    whole = rows.unit.isna()
    total = whole & rows[["sex", "age_group", "category"]].isna().all(axis=1)
    yearly = total & (rows.period_type == "year")
    rows = rows.assign(hidden_or_pooled=rows.hidden)
    rows.loc[yearly, "hidden_or_pooled"] = [
        hidden and (r.indicator, r.municipality, pooled_label(r.period)) not in pooled_shown
        for hidden, r in zip(rows.hidden[yearly], rows[yearly].itertuples(), strict=True)]
    levels = {"municipality, yearly totals": yearly, "municipality, all": whole, "unit": ~whole,
              "all": pd.Series(True, index=rows.index)}
    table = pd.DataFrame({name: rows[mask].groupby("area").hidden.mean() * 100 for name, mask in levels.items()})
    table.insert(1, "yearly totals, nor pooled", rows[yearly].groupby("area").hidden_or_pooled.mean() * 100)
    employment = rows.indicator.isin(EMPLOYMENT_FIGURES)
    columns = [("hidden", mask) for mask in levels.values()]
    columns.insert(1, ("hidden_or_pooled", yearly))
    table.loc["personal: employment figures"] = [rows[mask & employment][c].mean() * 100 for c, mask in columns]
    table.loc["all areas"] = [rows[mask][c].mean() * 100 for c, mask in columns]
    return table.round(1)


# What the goal calls workforce figures: headcount, FTE, turnover, consultants, experience.
EMPLOYMENT_FIGURES = ("antal_anstallda", "arsarbetare", "personalomsattning", "intern_rorlighet", "andel_konsulter",
                      "erfarenhet_under_1_ar", "erfarenhet_minst_3_ar", "erfarenhet_over_5_ar",
                      "i_kommunen_under_1_ar", "i_kommunen_minst_3_ar", "i_kommunen_over_5_ar")


if __name__ == "__main__":
    main()
