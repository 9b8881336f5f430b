"""Backend benchmark: the whole indicator library at national scale on DuckDB, PostgreSQL and
PySpark (local mode) on the same machine in one run, against the pandas baseline; and how the
DuckDB time grows with the number of years.

For the largest year span: generate all 290 municipalities, import into DuckDB (validated,
pseudonymised, one transaction), compute the library there; copy the canonical tables to a
throwaway PostgreSQL server (COPY, one transaction) and to Parquet for Spark, compute the
library on each; the pandas baseline of the core issue (bench/baselines.py: the case-flow
yearly totals, from the events in memory). Each phase runs in a fresh process, so its time and
peak memory (RSS; for Spark with its JVM, for PostgreSQL the server's processes sampled) are its
own. Every backend's results are compared with DuckDB's (rows, counts, values).

Usage: python bench/backends.py [--years 2021,2022,2023,2024,2025] [--growth] [--backends duckdb,postgres,spark]
       [--reuse] [--out bench/out/backends]
Writes <out>/backends.json and prints a table; docs/performance.md records the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import psutil

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from memory import PeakMemory, own_processes, postgres_processes  # noqa: E402
from national import phase_generate, phase_import, phase_pandas, run  # noqa: E402
from throwaway_postgres import throwaway_postgres  # noqa: E402

# Enough memory for sorts and hashes of a national query on a 24 GiB machine; no JIT (compiling
# a query of this size costs more than it saves).
POSTGRES_SETTINGS = {"shared_buffers": "2GB", "work_mem": "256MB", "jit": "off", "max_wal_size": "8GB",
                     "maintenance_work_mem": "1GB", "synchronous_commit": "off"}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_library(url: str, database: str, result_file: str) -> dict:
    """The whole library where `url` says (None: the DuckDB file): compiling it through Ibis
    to the backend's SQL (once per backend and version, then cached), then a run with the SQL
    cached, which is what every later computation costs."""
    from insyn.indicators.definitions import library
    from insyn.indicators.engine import _statements, bound_relations, compiled_sql, compute
    from insyn.indicators.periods import build_periods
    from insyn.model.workforce_config import load_workforce, load_workload
    from insyn.store import open_store
    from insyn.store.backends import open_backend

    # The extract dates the DuckDB store recorded at import, as compute_indicators_at passes them
    # to another backend: without them an ongoing placement ends at the data's last event.
    with open_store(Path(database), read_only=True) as recorded:
        extract_dates = recorded.extract_dates()
    with PeakMemory(own_processes) as sampled:  # with Spark's JVM, a child of this process
        store = open_backend(url) if url else open_store(Path(database), read_only=True)
        cache = Path(result_file).parent / f"compiled-{Path(result_file).stem}"
        workforce, workload = load_workforce(), load_workload()
        periods = build_periods(store.ibis, store.table("events"), store.table("staff"), workforce)
        with bound_relations(store, periods, workforce, workload):
            start = time.perf_counter()
            for part in _statements(store, list(library())):  # what compute() runs: per area on some
                compiled_sql(store, part, True, True, cache)
            compile_seconds = time.perf_counter() - start
        start = time.perf_counter()
        results = compute(store, cache_dir=cache, extract_dates=extract_dates)
        seconds = time.perf_counter() - start
        store.close()
    results.to_parquet(result_file)
    return {"seconds": seconds, "compile_seconds": compile_seconds,
            "peak_mb": max(_peak_mb(), sampled.peak_mb), "result_rows": len(results)}


def phase_copy(database: str, url: str) -> dict:
    from insyn.store import open_store
    from insyn.store.backends import copy_canonical_tables

    store = open_store(Path(database), read_only=True)
    start = time.perf_counter()
    rows = copy_canonical_tables(store, url)
    seconds = time.perf_counter() - start
    store.close()
    return {"seconds": seconds, "peak_mb": _peak_mb(), "rows": sum(rows.values())}


def differences(expected_file: Path, found_file: Path) -> dict:
    """Rows missing on either side and values differing (any difference at all)."""
    import numpy as np
    import pandas as pd

    from insyn.indicators.engine import DIMENSIONS, RESULT_COLUMNS

    keys = ["indicator", "municipality", "period", "period_type", *DIMENSIONS]
    expected = pd.read_parquet(expected_file)[RESULT_COLUMNS].set_index(keys).sort_index()
    found = pd.read_parquet(found_file)[RESULT_COLUMNS].set_index(keys).sort_index()
    common = expected.index.intersection(found.index)
    differing = 0
    for column in [c for c in expected.columns if c != "complete"]:
        a = expected.loc[common, column].astype(float).to_numpy()
        b = found.loc[common, column].astype(float).to_numpy()
        differing += int((~((np.isnan(a) & np.isnan(b)) | (a == b))).sum())
    return {"only_duckdb": len(expected.index.difference(found.index)),
            "only_backend": len(found.index.difference(expected.index)), "values_differing": differing}


def dataset(out: Path, years: list[int], seed: int, reuse: bool = False) -> dict:
    """Generate and import the years: the DuckDB file and the figures of both phases (those of
    an earlier run with `reuse`, when it made the same years)."""
    folder = out / f"{len(years)}y"
    described = folder / "dataset.json"
    if reuse and described.exists() and json.loads(described.read_text())["years"] == years:
        return json.loads(described.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    generated = run(phase_generate, str(folder), years, seed)
    imported = run(phase_import, str(folder), generated["files"], years)
    for f in generated["files"] + generated["parquet_files"]:
        Path(f).unlink()
    made = {"years": years, "folder": str(folder), "database": str(folder / "national.duckdb"),
            "generate": {k: generated[k] for k in ("seconds", "peak_mb", "rows", "reports")}, "import": imported}
    described.write_text(json.dumps(made, indent=2))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", default="2021,2022,2023,2024,2025")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backends", default="duckdb,postgres,spark")
    parser.add_argument("--growth", action="store_true", help="also the DuckDB library on 1, 2, … years")
    parser.add_argument("--reuse", action="store_true", help="the data sets of an earlier run, if it made them")
    parser.add_argument("--out", default=str(BENCH / "out" / "backends"))
    args = parser.parse_args()
    years = [int(y) for y in args.years.split(",")]
    backends = args.backends.split(",")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    figures: dict = {"machine": {"platform": platform.platform(), "python": platform.python_version(),
                                 "cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1)},
                     "years": years, "backends": {}}

    def save() -> None:  # after every phase: a run stopped midway keeps what it measured
        (out / "backends.json").write_text(json.dumps(figures, indent=2, default=str))

    data = dataset(out, years, args.seed, args.reuse)
    figures["data"] = data
    database, folder = data["database"], Path(data["folder"])
    print(f"{len(years)} years: {data['generate']['rows']['events']:,} events, {data['generate']['reports']:,} "
          f"reports; import {data['import']['seconds']:.1f} s", flush=True)
    duckdb_results = folder / "duckdb.parquet"
    figures["backends"]["duckdb"] = run(phase_library, None, database, str(duckdb_results))
    print(f"duckdb: {figures['backends']['duckdb']['seconds']:.1f} s", flush=True)
    save()
    figures["pandas"] = run(phase_pandas, str(folder), years)
    print(f"pandas baseline (case-flow yearly totals): {figures['pandas']['seconds']:.1f} s", flush=True)
    save()

    if args.growth:
        figures["growth"] = []
        for count in range(1, len(years)):
            part = dataset(out, years[-count:], args.seed, args.reuse)
            library = run(phase_library, None, part["database"], str(Path(part["folder"]) / "duckdb.parquet"))
            figures["growth"].append({"years": count, "events": part["generate"]["rows"]["events"],
                                      "import_seconds": part["import"]["seconds"], **library})
            print(f"growth: {count} years, library {library['seconds']:.1f} s", flush=True)
            save()
        figures["growth"].append({"years": len(years), "events": data["generate"]["rows"]["events"],
                                  "import_seconds": data["import"]["seconds"], **figures["backends"]["duckdb"]})
    if "postgres" in backends:
        with throwaway_postgres(POSTGRES_SETTINGS) as url, PeakMemory(postgres_processes) as server:
            copy = run(phase_copy, database, url)
            library = run(phase_library, url, database, str(folder / "postgres.parquet"))
        figures["backends"]["postgres"] = library | {"copy": copy, "server_peak_mb": server.peak_mb}
        print(f"postgres: copy {copy['seconds']:.1f} s, library {library['seconds']:.1f} s", flush=True)
        save()
    if "spark" in backends:
        url = f"spark+parquet://{folder / 'parquet-tables'}"
        copy = run(phase_copy, database, url)
        library = run(phase_library, url, database, str(folder / "spark.parquet"))
        figures["backends"]["spark"] = library | {"copy": copy}
        print(f"spark: copy {copy['seconds']:.1f} s, library {library['seconds']:.1f} s", flush=True)
        save()
    for name in backends:
        if name != "duckdb":
            figures["backends"][name]["parity"] = differences(duckdb_results, folder / f"{name}.parquet")

    save()

    print(f"\nBackends, {len(years)} years, {data['generate']['rows']['events']:,} events, "
          f"{data['generate']['reports']:,} reports, {figures['machine']['cpus']} cores")
    print(f"{'phase':<58}{'seconds':>10}{'peak MB':>10}")
    rows = [("import into DuckDB (CSV, validated, one transaction)", data["import"]["seconds"],
             data["import"]["peak_mb"])]
    for name, b in figures["backends"].items():
        if "copy" in b:
            rows.append((f"{name}: copy canonical tables", b["copy"]["seconds"], b["copy"]["peak_mb"]))
        rows.append((f"{name}: compiling the library to its SQL (once)", b["compile_seconds"], None))
        rows.append((f"{name}: library", b["seconds"], b["peak_mb"]))
        if "server_peak_mb" in b:
            rows.append((f"{name}: server processes", None, b["server_peak_mb"]))
    rows.append(("pandas baseline, case-flow yearly totals (compute only)", figures["pandas"]["seconds"],
                 figures["pandas"]["peak_mb"]))
    for label, seconds, peak in rows:
        shown_seconds = "" if seconds is None else f"{seconds:.1f}"
        print(f"{label:<58}{shown_seconds:>10}{'' if peak is None else f'{peak:>10.0f}'}")
    for name, b in figures["backends"].items():
        if "parity" in b:
            print(f"parity {name} against DuckDB: {b['parity']}")
    for g in figures.get("growth", []):
        print(f"growth: {g['years']} years, {g['events']:,} events: library {g['seconds']:.1f} s, "
              f"peak {g['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
