"""Import speed (issue 20, item 2): the DuckDB-native import against the Arrow reference path,
CSV and Parquet, their parity on the same national files, and `insyn import` + `insyn indicators
--csv` as whole processes against a hand-written DuckDB script that reads the CSV, hashes every
personnummer and computes the eight case-flow indicators of bench/baselines.py — all in one run.

Usage: python bench/import_speed.py [--municipalities 82] [--years 2023,2024,2025] [--out bench/out/import]
Writes bench/out/import/import_speed.json and prints a table; docs/performance.md records the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import platform
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
KEY = b"bench-key-bench-key-bench-key-12"

# The hand-written script: DuckDB reads the CSV, pseudonymises with HMAC-SHA-256 as Insyn does
# (inner and outer keyed SHA-256), derives birth year and month from 12-digit numbers and runs
# the baselines' SQL of the eight indicators. No validation and no quarantine.
HANDWRITTEN = """
import datetime, sys, duckdb
sys.path.insert(0, {bench!r})
import baselines
key = {key!r}.ljust(64, b"\\0")
inner, outer = bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)
con = duckdb.connect()
con.execute('''CREATE TABLE events AS SELECT municipality, case_id, event, date::DATE AS date, unit, caseworker_id,
    source, outcome, intervention, intervention_id,
    left(sha256($outer::BLOB || unhex(sha256($inner::BLOB || encode(replace(person_id, '-', ''))))), 32) AS person_key,
    TRY_CAST(substr(person_id, 1, 4) AS SMALLINT) AS birth_year,
    TRY_CAST(substr(person_id, 5, 2) AS TINYINT) AS birth_month
    FROM read_csv({events!r}, all_varchar = true)''', {{"inner": inner, "outer": outer}}).fetchall()
baselines.sql_indicators(con, baselines.reference_population(), {extract!r}).to_csv({out!r}, index=False)
"""


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_generate(out: str, count: int, years: list[int], seed: int) -> dict:
    from insyn.model.municipalities import municipalities
    from insyn.synth.generate import generate, write_tables

    tables = generate(municipalities().head(count), years, seed=seed)
    csv = write_tables(tables, Path(out) / "csv", fmt="csv")
    parquet = write_tables(tables, Path(out) / "parquet", fmt="parquet")
    return {"rows": {name: len(frame) for name, frame in tables.items()},
            "csv": [str(p) for p in csv], "parquet": [str(p) for p in parquet]}


def phase_import(out: str, files: list[str], name: str, native: bool, extract: str) -> dict:
    from insyn.ingest.load import import_files
    from insyn.store import open_store

    database = Path(out) / f"{name}.duckdb"
    database.unlink(missing_ok=True)
    store = open_store(database)
    start = time.perf_counter()
    result = import_files(store, [Path(f) for f in files], KEY, extract_date=dt.date.fromisoformat(extract),
                          native=native)
    seconds = time.perf_counter() - start
    store.close()
    events = next(f for f in result.files if f.validated.table.name == "events")
    rows = sum(f.validated.rows_read for f in result.files)
    return {"seconds": seconds, "peak_mb": _peak_mb(), "rows": rows, "rows_per_second": rows / seconds,
            "event_rows": events.validated.rows_read,
            "quarantined": sum(f.validated.rows_rejected for f in result.files),
            "messages": [m for f in result.files for m in f.validated.messages()]}


def phase_parity(out: str, native: str, reference: str) -> dict:
    """Rows of events and quarantine in one store and not the other (import ids and file paths apart)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"ATTACH '{Path(out) / native}.duckdb' AS n (READ_ONLY)").fetchall()
    con.execute(f"ATTACH '{Path(out) / reference}.duckdb' AS r (READ_ONLY)").fetchall()
    found = {}
    for table, columns in (("events", "* EXCLUDE (import_id)"),
                           ("quarantine", "table_name, row_number, column_name, reason, record")):
        found[table] = con.execute(
            f"SELECT count(*) FROM ((SELECT {columns} FROM n.{table} EXCEPT ALL SELECT {columns} FROM r.{table}) "
            f"UNION ALL (SELECT {columns} FROM r.{table} EXCEPT ALL SELECT {columns} FROM n.{table}))").fetchall()[0][0]
    return found


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def whole_processes(out: Path, files: list[str], extract: str) -> dict:
    """`insyn import` + `insyn indicators --csv` in a fresh data folder, and the hand-written script."""
    data = out / "insyn-data"
    subprocess.run(["rm", "-rf", str(data)], check=True)
    insyn = [sys.executable, "-c", "from insyn.cli import app; app()", "--data-dir", str(data)]
    imported = _timed([*insyn, "import", *files, "--uttagsdatum", extract])
    indicators = _timed([*insyn, "indicators", "--csv", str(out / "insyn.csv")])
    events = next(f for f in files if Path(f).stem == "events")
    script = HANDWRITTEN.format(bench=str(BENCH), key=KEY, events=events, extract=dt.date.fromisoformat(extract),
                                out=str(out / "handwritten.csv"))
    handwritten = _timed([sys.executable, "-c", script])
    return {"insyn_import": imported, "insyn_indicators": indicators, "handwritten": handwritten,
            "ratio": (imported + indicators) / handwritten}


def run(phase, *args) -> dict:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(phase, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--municipalities", type=int, default=82)
    parser.add_argument("--years", default="2023,2024,2025")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=str(BENCH / "out" / "import"))
    parser.add_argument("--skip-processes", action="store_true", help="only the import phases and parity")
    args = parser.parse_args()
    years = [int(y) for y in args.years.split(",")]
    extract = dt.date(max(years), 12, 31).isoformat()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    figures: dict = {"machine": {"platform": platform.platform(), "cpus": multiprocessing.cpu_count()},
                     "municipalities": args.municipalities, "years": years}
    figures["generate"] = run(phase_generate, str(out), args.municipalities, years, args.seed)
    print(f"generated {figures['generate']['rows']['events']:,} events", flush=True)
    for kind in ("csv", "parquet"):
        for native in (True, False):
            name = f"{kind}_{'native' if native else 'reference'}"
            figures[name] = run(phase_import, str(out), figures["generate"][kind], name, native, extract)
            print(f"{name}: {figures[name]['seconds']:.2f} s, {figures[name]['rows_per_second']:,.0f} rows/s",
                  flush=True)
        same = figures[f"{kind}_native"]["messages"] == figures[f"{kind}_reference"]["messages"]
        figures[f"{kind}_parity"] = {**run(phase_parity, str(out), f"{kind}_native", f"{kind}_reference"),
                                     "messages_equal": same}
        print(f"{kind} parity: {figures[f'{kind}_parity']}", flush=True)
    if not args.skip_processes:
        figures["processes"] = whole_processes(out, figures["generate"]["csv"], extract)
        p = figures["processes"]
        print(f"insyn import {p['insyn_import']:.1f} s + insyn indicators --csv {p['insyn_indicators']:.1f} s "
              f"vs hand-written script {p['handwritten']:.1f} s: {p['ratio']:.1f}×", flush=True)
    for name in ("csv_native", "csv_reference", "parquet_native", "parquet_reference"):
        figures[name].pop("messages")
    (out / "import_speed.json").write_text(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
