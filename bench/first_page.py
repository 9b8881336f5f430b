"""The first statistics page after an import, before and after the import protected the
published view, in one run.

Generates synthetic exports (the demo region by default, or every municipality with
--national), imports them with `insyn.workflows.run_import` (which now ends with the published
view's disclosure protection, "Röjandekontroll för webben"), then times:

- the import (which includes the protection);
- the web's first publication of the published scope as it is now (the statuses kept by the
  import: `prepare` reads them), and a municipality's own view (its own audit, not made ahead);
- the same published view as it was before (the cache emptied: the first reader paid the LP);
- a change of the statistics as an import makes it (a result row fewer): the protection step
  alone, a reader's wait right after it (the previous publication is served), and how long
  until the new publication is served (`Statistics.refresh`).

    python bench/first_page.py [--years 2022,2023,2024,2025] [--national] [--no-before]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import tempfile
import time
from pathlib import Path


def _seconds(action) -> tuple[float, object]:
    started = time.perf_counter()
    made = action()
    return time.perf_counter() - started, made


def _empty_cache(settings) -> None:
    for kept in settings.cache_dir.glob("disclosure-*.npy"):
        kept.unlink()


def _a_change(settings, web, reader) -> dict[str, float]:
    """An import that changes the statistics (one result row fewer, then the import's last step on
    them, whose statuses no cache holds yet); meanwhile and then, the app serves the previous
    publication, and makes the new one in the background."""
    from insyn.workflows import protect_for_web, store_for

    figures = {}
    store = store_for(settings)
    try:
        with store.transaction():
            store.raw.execute("DELETE FROM indicator_results WHERE rowid = (SELECT min(rowid) FROM indicator_results)")
            figures["protection_step_s"], _ = _seconds(lambda: protect_for_web(store, settings))
    finally:
        store.close()
    figures["reader_after_the_change_s"], _ = _seconds(lambda: web.publication(reader))
    figures["new_publication_ready_after_s"], _ = _seconds(web.refresh)
    return figures


def main() -> None:
    import datetime as dt

    from insyn.model.municipalities import municipalities, region_municipalities
    from insyn.settings import Settings
    from insyn.synth.generate import generate, write_tables
    from insyn.web.accounts import Role, User
    from insyn.web.data import Statistics
    from insyn.web.scope import Scope
    from insyn.workflows import WEB_PROTECTION_STEP, demo_years, run_import

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", default=",".join(map(str, demo_years())))
    parser.add_argument("--national", action="store_true", help="all 290 municipalities, not the demo region")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="the import and the first pages after it only, "
                        "not the page as before nor a change (each the LP once more: minutes at national scale)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    years = [int(y) for y in args.years.split(",")]
    chosen = municipalities() if args.national else region_municipalities("demo")
    figures: dict[str, object] = {"municipalities": len(chosen), "years": years, "cores": os.cpu_count(),
                                  "machine": platform.platform()}

    def analyst() -> Scope:
        return Scope(User("bench", "Bench", Role.ANALYST, None, (), None))

    with tempfile.TemporaryDirectory() as folder:
        files = write_tables(generate(chosen, years, seed=args.seed), Path(folder) / "export", fmt="parquet")
        settings = Settings(data_dir=Path(folder) / "data")
        steps: dict[str, float] = {}
        figures["import_with_protection_s"], _ = _seconds(lambda: run_import(
            settings, files, extract_date=dt.date(max(years), 12, 31),
            progress=lambda step: steps.setdefault(step, time.perf_counter())))
        figures["protection_in_the_import_s"] = time.perf_counter() - steps[WEB_PROTECTION_STEP]  # and the commit

        web = Statistics(settings)
        figures["snapshot_s"], snapshot = _seconds(web.snapshot)
        figures["result_rows"] = len(snapshot.results)
        figures["first_page_now_s"], _ = _seconds(lambda: web.publication(analyst()))
        own = Scope(User("bench", "Bench", Role.MUNICIPALITY, str(chosen.municipality_code.iloc[0]), (), None))
        figures["municipality_own_view_s"], _ = _seconds(lambda: web.publication(own))

        if not args.quick:
            _empty_cache(settings)
            figures["first_page_before_s"], _ = _seconds(lambda: Statistics(settings).publication(analyst()))
            figures.update(_a_change(settings, web, analyst()))
    out = Path(__file__).parent / "out" / f"first_page{'_national' if args.national else ''}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))
    for name, value in figures.items():
        print(f"{name:28} {value:.2f}" if isinstance(value, float) else f"{name:28} {value}")


if __name__ == "__main__":
    main()
