"""Protection with the import at national scale: how the import, its disclosure protection and the
first statistics page after it grow from 1 to 10 national years, and the peak memory, in one run.

For each count of years (ending with 2025), every phase in a fresh process so that its time and
peak memory are its own:

- generate the 290 municipalities' exports (Parquet);
- `insyn.workflows.run_import` into a data folder (the store within the settings' memory limit,
  spilling to the data folder): the import's time and, of it, the published view's protection
  ("Röjandekontroll för webben", in pieces on a pool of processes) with the commit;
- the web's first statistics publication after the import (`Statistics.publication`);
- with --serial, the same protection again in one process (the statuses' cache emptied), for the
  ratio of the pool to one process.

Peak memory is the phase process's peak resident set (`ru_maxrss`); for the import also the
peak of the process and its children summed (the protection's pool, sampled five times a second)
and that sum's peak in each of the import's progress steps. (A spawned child's `ru_maxrss` starts
from its parent's at the fork, so it says nothing of its own.)

    python bench/protection_scale.py [--years 1,4,10] [--serial 1] [--memory-limit 4GB] [--out DIR]

Writes bench/out/protection_scale.json (updated after each phase) and prints a table;
docs/performance.md records the figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from memory import PeakMemory, own_processes  # noqa: E402

LAST_YEAR = 2025


def _peaks() -> dict[str, float]:
    """Peak resident memory of this process, in MB."""
    return {"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def phase_generate(folder: str, years: list[int], seed: int) -> dict:
    from insyn.model.municipalities import municipalities
    from insyn.synth.generate import generate, write_tables

    started = time.perf_counter()
    tables = generate(municipalities(), years, seed=seed)
    files = _per_county(write_tables(tables, Path(folder) / "export", fmt="parquet"))
    return {"seconds": time.perf_counter() - started, "events": len(tables["events"]),
            "files": [str(f) for f in files], **_peaks()}


# The tables whose rows name a child by personnummer (checked in memory, never spilled), and the
# date that gives a row's year.
PERSON_TABLES = {"events": "date", "care_costs": "start_date"}


def _per_county(files: list[Path]) -> list[Path]:
    """The tables that name children in a file per county (the first two digits of the
    municipality code) and year, as a county's FoU unit would pass on each year's exports. One
    national file of ten years, or Stockholm county's (4.3 million events), is more than the
    import may check in memory without spilling (docs/performance.md, "Memory")."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    split = []
    for national in [f for f in files if f.stem in PERSON_TABLES]:
        rows = pq.read_table(national)
        county = pc.utf8_slice_codeunits(rows["municipality"], 0, 2)
        year = pc.year(rows[PERSON_TABLES[national.stem]])
        for code in sorted(pc.unique(county).to_pylist()):
            in_county = rows.filter(pc.equal(county, code))
            of_county = year.filter(pc.equal(county, code))
            for one in sorted(pc.unique(of_county).to_pylist()):
                split.append(national.with_name(f"{national.stem}-{code}-{one}.parquet"))
                pq.write_table(in_county.filter(pc.equal(of_county, one)), split[-1])
        national.unlink()
    return [f for f in files if f.stem not in PERSON_TABLES] + split


def _settings(folder: str, memory_limit: str):
    from insyn.settings import Settings

    return Settings(data_dir=Path(folder) / "data", memory_limit=memory_limit)


def phase_import(folder: str, files: list[str], years: list[int], memory_limit: str) -> dict:
    import datetime as dt

    from insyn.indicators.engine import stored_results
    from insyn.workflows import WEB_PROTECTION_STEP, run_import, store_for

    settings = _settings(folder, memory_limit)
    steps: dict[str, float] = {}

    def progress(step: str) -> None:
        steps.setdefault(step, time.perf_counter())
        sampled.step(step)

    with PeakMemory(own_processes) as sampled:  # the protection's pool included
        sampled.step("start")
        started = time.perf_counter()
        run_import(settings, [Path(f) for f in files], extract_date=dt.date(max(years), 12, 31), progress=progress)
        ended = time.perf_counter()
    store = store_for(settings, read_only=True)
    try:
        results = len(stored_results(store))
    finally:
        store.close()
    return {"seconds": ended - started, "protection_seconds": ended - steps[WEB_PROTECTION_STEP],
            "result_rows": results, "with_pool_peak_mb": sampled.peak_mb,
            "step_peaks_mb": sampled.step_peaks_mb, **_peaks()}


def phase_first_page(folder: str, memory_limit: str) -> dict:
    from insyn.web.accounts import Role, User
    from insyn.web.data import Statistics
    from insyn.web.scope import Scope

    started = time.perf_counter()
    publication = Statistics(_settings(folder, memory_limit)).publication(
        Scope(User("bench", "Bench", Role.ANALYST, None, (), None)))
    return {"seconds": time.perf_counter() - started, "published_rows": len(publication.rows), **_peaks()}


def phase_serial_protection(folder: str, memory_limit: str) -> dict:
    """The import's protection step again, in this process alone (the kept statuses removed)."""
    from insyn.disclosure import suppression
    from insyn.workflows import protect_for_web, store_for

    settings = _settings(folder, memory_limit)
    for kept in settings.cache_dir.glob("disclosure-*.npy"):
        kept.unlink()
    suppression.os.sched_getaffinity = lambda pid: {0}  # one core: no pool
    store = store_for(settings)
    try:
        started = time.perf_counter()
        protect_for_web(store, settings)
        return {"seconds": time.perf_counter() - started, **_peaks()}
    finally:
        store.close()


def run(phase, *args) -> dict:
    """The phase in a fresh process (not a daemonic Pool worker: the protection starts a pool)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(phase, *args).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", default="1,4,10", help="counts of national years, each ending with 2025")
    parser.add_argument("--serial", default="1", help="the counts of years to protect again in one process")
    parser.add_argument("--memory-limit", default="4GB", help="the store's memory limit (DuckDB's syntax)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=str(BENCH / "out"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = out / "protection_scale.json"
    serial = {int(n) for n in args.serial.split(",") if n}
    figures: dict = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                 "load_average_at_start": os.getloadavg()},
                     "memory_limit": args.memory_limit, "runs": {}}
    for count in (int(n) for n in args.years.split(",")):
        years = list(range(LAST_YEAR - count + 1, LAST_YEAR + 1))
        folder = out / f"protection_{count}y"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        run_figures = figures["runs"][str(count)] = {"years": [years[0], years[-1]]}
        run_figures["generate"] = run(phase_generate, str(folder), years, args.seed)
        files = run_figures["generate"].pop("files")
        phases = [("import", phase_import, (str(folder), files, years, args.memory_limit)),
                  ("first_page", phase_first_page, (str(folder), args.memory_limit))]
        if count in serial:
            phases.append(("serial_protection", phase_serial_protection, (str(folder), args.memory_limit)))
        for name, phase, phase_args in [("generate", None, ()), *phases]:
            if phase is not None:
                run_figures[name] = run(phase, *phase_args)
            run_figures[name]["load_average_after"] = os.getloadavg()
            report.write_text(json.dumps(figures, indent=2))
            print(f"{count} year(s), {name}: {run_figures[name]['seconds']:.1f} s", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
    for count, found in figures["runs"].items():
        imported = found["import"]
        print(f"{count:>3} years: {found['generate']['events']:>11,} events, {imported['result_rows']:>9,} results; "
              f"import {imported['seconds']:7.1f} s, of it protection {imported['protection_seconds']:7.1f} s; "
              f"first page {found['first_page']['seconds']:5.2f} s; peak {imported['peak_mb']:,.0f} MB"
              + (f"; protection in one process {found['serial_protection']['seconds']:.1f} s"
                 if "serial_protection" in found else ""))


if __name__ == "__main__":
    main()
