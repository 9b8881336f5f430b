"""National-scale benchmark: generate, import and compute one year for all 290
municipalities, and the same indicators by hand-written DuckDB SQL and by pandas, in one run;
each area of the library (case flow, workforce, collaboration, cost of care, state grants) timed apart.

Each phase runs in a fresh process so its time and peak memory (RSS) are its own.
Usage: python bench/national.py [--years 2025] [--seed 1] [--out bench/out]
Writes bench/out/national.json and prints a table; docs/performance.md records the figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import resource
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_generate(out: str, years: list[int], seed: int) -> dict:
    from insyn.model.municipalities import municipalities
    from insyn.synth.generate import generate, write_tables

    start = time.perf_counter()
    tables = generate(municipalities(), years, seed=seed)
    generated = time.perf_counter() - start
    start = time.perf_counter()
    files = write_tables(tables, Path(out) / "data", fmt="csv")
    written = time.perf_counter() - start
    parquet = write_tables(tables, Path(out) / "parquet", fmt="parquet")
    return {"seconds": generated, "write_csv_seconds": written, "peak_mb": _peak_mb(),
            "rows": {name: len(frame) for name, frame in tables.items()},
            "files": [str(f) for f in files], "parquet_files": [str(f) for f in parquet],
            "reports": int((tables["events"]["event"] == "report").sum())}


def _extract_date(years: list[int]):
    """The synthetic exports are taken on the last day of the last year."""
    import datetime as dt

    return dt.date(max(years), 12, 31)


def phase_import(out: str, files: list[str], years: list[int], name: str = "national") -> dict:
    from insyn.ingest.load import import_files
    from insyn.store import open_store

    database = Path(out) / f"{name}.duckdb"
    database.unlink(missing_ok=True)
    store = open_store(database)
    start = time.perf_counter()
    result = import_files(store, [Path(f) for f in files], b"bench-key-bench-key-bench-key-12",
                          extract_date=_extract_date(years))
    seconds = time.perf_counter() - start
    events = next(f for f in result.files if f.validated.table.name == "events")
    store.close()
    rows = sum(f.validated.rows_read for f in result.files)
    return {"seconds": seconds, "peak_mb": _peak_mb(), "rows_read": rows,
            "event_rows": events.validated.rows_read, "rows_per_second": rows / seconds,
            "rejected": sum(f.validated.rows_rejected for f in result.files)}


def phase_engine(out: str, full: bool, area: str | None, only: list[str] | None = None) -> dict:
    """The library's definitions of one area (None: all, as every import computes them), or
    `only` the named ones (those the baselines implement: the same work)."""
    from insyn.indicators.definitions import library
    from insyn.indicators.engine import compute
    from insyn.store import open_store

    definitions = [d for d in library() if (area is None or d.area == area) and (only is None or d.id in only)]
    store = open_store(Path(out) / "national.duckdb", read_only=True)
    start = time.perf_counter()
    results = compute(store, definitions, quarters=full, breakdowns=full)
    cold = time.perf_counter() - start  # includes compiling the library through Ibis
    start = time.perf_counter()
    results = compute(store, definitions, quarters=full, breakdowns=full)
    warm = time.perf_counter() - start  # compiled SQL cached, as on every later run
    store.close()
    name = "baseline" if only else area or "all"
    results.to_parquet(Path(out) / f"engine_{name}_{'full' if full else 'totals'}.parquet")
    return {"seconds": warm, "cold_seconds": cold, "peak_mb": _peak_mb(), "result_rows": len(results)}


def phase_workload(out: str) -> dict:
    """Every caseworker's load on the first of every month (compiles on the first run)."""
    from insyn.model.workforce_config import load_workforce, load_workload
    from insyn.store import open_store
    from insyn.workforce.workload import compute_workload

    store = open_store(Path(out) / "national.duckdb", read_only=True)
    start = time.perf_counter()
    compute_workload(store, load_workforce(), load_workload())
    cold = time.perf_counter() - start
    start = time.perf_counter()
    result = compute_workload(store, load_workforce(), load_workload())
    warm = time.perf_counter() - start
    store.close()
    return {"seconds": warm, "cold_seconds": cold, "peak_mb": _peak_mb(),
            "caseworker_months": len(result.caseworkers)}


def phase_pandas_workforce(out: str, years: list[int]) -> dict:
    import baselines

    from insyn.store import open_store

    store = open_store(Path(out) / "national.duckdb", read_only=True)
    staff = store.raw.execute("SELECT * FROM staff").df()
    store.close()
    start = time.perf_counter()
    results = baselines.pandas_workforce(staff, years)
    seconds = time.perf_counter() - start
    results.to_parquet(Path(out) / "pandas_workforce.parquet")
    return {"seconds": seconds, "peak_mb": _peak_mb(), "result_rows": len(results)}


def phase_sql(out: str, years: list[int]) -> dict:
    import baselines

    from insyn.store import open_store

    store = open_store(Path(out) / "national.duckdb", read_only=True)
    population = baselines.reference_population()
    start = time.perf_counter()
    results = baselines.sql_indicators(store.raw, population, _extract_date(years))
    seconds = time.perf_counter() - start
    store.close()
    results.to_parquet(Path(out) / "sql.parquet")
    return {"seconds": seconds, "peak_mb": _peak_mb(), "result_rows": len(results)}


def phase_pandas(out: str, years: list[int]) -> dict:
    import baselines

    from insyn.store import open_store

    store = open_store(Path(out) / "national.duckdb", read_only=True)
    start = time.perf_counter()
    events = store.raw.execute("SELECT * FROM events").df()
    read = time.perf_counter() - start
    store.close()
    start = time.perf_counter()
    results = baselines.pandas_indicators(events, baselines.reference_population(), _extract_date(years))
    seconds = time.perf_counter() - start
    results.to_parquet(Path(out) / "pandas.parquet")
    return {"seconds": seconds, "read_seconds": read, "peak_mb": _peak_mb(), "result_rows": len(results)}


def run(phase, *args) -> dict:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(phase, args)


def main() -> None:
    import baselines
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", default="2025")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=str(BENCH / "out"))
    args = parser.parse_args()
    years = [int(y) for y in args.years.split(",")]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    figures = {"machine": {"platform": platform.platform(), "python": platform.python_version(),
                           "cpus": multiprocessing.cpu_count()}, "years": years}
    figures["generate"] = run(phase_generate, str(out), years, args.seed)
    print(f"generate: {figures['generate']['seconds']:.1f} s, rows {figures['generate']['rows']}", flush=True)
    figures["import"] = run(phase_import, str(out), figures["generate"]["files"], years)
    print(f"import: {figures['import']['seconds']:.1f} s", flush=True)
    figures["import_parquet"] = run(phase_import, str(out), figures["generate"]["parquet_files"], years, "parquet")
    figures["engine_totals"] = run(phase_engine, str(out), False, "arendeflode", list(baselines.BASELINE))
    figures["case_flow_totals"] = run(phase_engine, str(out), False, "arendeflode")
    figures["engine_full"] = run(phase_engine, str(out), True, "arendeflode")
    figures["workforce_totals"] = run(phase_engine, str(out), False, "personal")
    figures["workforce_full"] = run(phase_engine, str(out), True, "personal")
    figures["costs_full"] = run(phase_engine, str(out), True, "vardkostnader")
    figures["grants_full"] = run(phase_engine, str(out), True, "statsbidrag")
    figures["collaboration_full"] = run(phase_engine, str(out), True, "samverkan")
    figures["library_full"] = run(phase_engine, str(out), True, None)
    figures["workload"] = run(phase_workload, str(out))
    figures["sql"] = run(phase_sql, str(out), years)
    figures["pandas"] = run(phase_pandas, str(out), years)
    figures["pandas_workforce"] = run(phase_pandas_workforce, str(out), years)

    engine = baselines.engine_as_baseline(pd.read_parquet(out / "engine_baseline_totals.parquet"))
    # The baseline takes whole years: compare the results the engine marks complete.
    personal = pd.read_parquet(out / "engine_personal_totals.parquet")
    keys = ["indicator", "municipality", "period"]
    complete = personal.loc[personal.complete.astype(bool), keys].drop_duplicates()
    workforce = baselines.engine_as_baseline(personal, baselines.WORKFORCE_BASELINE).merge(complete, on=keys)
    pandas_workforce = pd.read_parquet(out / "pandas_workforce.parquet").merge(complete, on=keys)
    figures["parity"] = {
        "engine_vs_sql": baselines.compare(engine, pd.read_parquet(out / "sql.parquet"))[:5],
        "engine_vs_pandas": baselines.compare(engine, pd.read_parquet(out / "pandas.parquet"))[:5],
        "workforce_vs_pandas": baselines.compare(workforce, pandas_workforce)[:5],
    }
    (out / "national.json").write_text(json.dumps(figures, indent=2, default=str))

    g, i, iq = figures["generate"], figures["import"], figures["import_parquet"]
    e, f, s, p = figures["engine_totals"], figures["engine_full"], figures["sql"], figures["pandas"]
    c = figures["case_flow_totals"]
    wt, wf, lf, wl, pw = (figures[k] for k in ("workforce_totals", "workforce_full", "library_full", "workload",
                                               "pandas_workforce"))
    cf, gf, sf = figures["costs_full"], figures["grants_full"], figures["collaboration_full"]
    print(f"\nNational benchmark, {len(years)} year(s), {g['rows']['events']:,} events, "
          f"{g['reports']:,} reports, {platform.processor() or platform.machine()}, {figures['machine']['cpus']} cores")
    print(f"{'phase':<52}{'seconds':>10}{'peak MB':>10}")
    rows = [
        ("generate (synthetic, in memory)", g["seconds"], g["peak_mb"]),
        ("write CSV exports", g["write_csv_seconds"], None),
        (f"import CSV, all tables ({i['rows_per_second']:,.0f} rows/s)", i["seconds"], i["peak_mb"]),
        (f"import Parquet, all tables ({iq['rows_per_second']:,.0f} rows/s)", iq["seconds"], iq["peak_mb"]),
        ("engine, yearly totals, first run (compiles)", e["cold_seconds"], None),
        ("engine, yearly totals (same work as baselines)", e["seconds"], e["peak_mb"]),
        ("engine, every case-flow indicator, yearly totals", c["seconds"], c["peak_mb"]),
        ("engine, every case-flow indicator, full, first run", f["cold_seconds"], None),
        ("engine, every case-flow indicator, full", f["seconds"], f["peak_mb"]),
        ("hand-written DuckDB SQL, yearly totals", s["seconds"], s["peak_mb"]),
        ("pandas, yearly totals (compute only)", p["seconds"], p["peak_mb"]),
        ("pandas, reading events from DuckDB", p["read_seconds"], None),
        ("workforce indicators, yearly totals", wt["seconds"], wt["peak_mb"]),
        ("workforce indicators, full (unit breakdowns)", wf["seconds"], wf["peak_mb"]),
        ("pandas, 4 workforce indicators (compute only)", pw["seconds"], pw["peak_mb"]),
        (f"cost of care, full ({g['rows']['care_costs']:,} ledger rows)", cf["seconds"], cf["peak_mb"]),
        (f"state grants, full ({g['rows']['grants']:,} decisions)", gf["seconds"], gf["peak_mb"]),
        ("collaboration (SIP, police assistance, school), full", sf["seconds"], sf["peak_mb"]),
        ("whole library, full, first run (compiles)", lf["cold_seconds"], None),
        ("whole library, full (what an import computes)", lf["seconds"], lf["peak_mb"]),
        (f"workload, {wl['caseworker_months']:,} caseworker-months, first run", wl["cold_seconds"], None),
        ("workload per caseworker and month", wl["seconds"], wl["peak_mb"]),
    ]
    for name, seconds, peak in rows:
        print(f"{name:<52}{seconds:>10.2f}{'' if peak is None else f'{peak:>10.0f}'}")
    print(f"engine ÷ SQL: {e['seconds'] / s['seconds']:.2f}× (first run {e['cold_seconds'] / s['seconds']:.2f}×)   "
          f"pandas ÷ engine: {p['seconds'] / e['seconds']:.1f}× (with reading events: "
          f"{(p['seconds'] + p['read_seconds']) / e['seconds']:.1f}×)")
    print(f"parity: engine vs SQL {len(figures['parity']['engine_vs_sql'])} differences, "
          f"engine vs pandas {len(figures['parity']['engine_vs_pandas'])} differences, "
          f"workforce vs pandas {len(figures['parity']['workforce_vs_pandas'])} differences")
    for problems in figures["parity"].values():
        for problem in problems:
            print("  ", problem)


if __name__ == "__main__":
    main()
