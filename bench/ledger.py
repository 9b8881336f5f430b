"""The releases ledger's keys: each result row's key and shown figures, made row by row (the
baseline: how Insyn made them before December 2026) and column-wise (now), timed in one run on
a data folder's stored results, and checked to be the same texts.

    insyn --data-dir /tmp/insyn-demo demo
    python bench/ledger.py --data-dir /tmp/insyn-demo
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from insyn.disclosure.releases import shown_values
from insyn.disclosure.suppression import _key_text, row_keys
from insyn.settings import Settings
from insyn.workflows import stored_indicators


def keys_row_by_row(results: pd.DataFrame) -> pd.Series:
    return _key_text(results).agg("|".join, axis=1)


def shown_row_by_row(rows: pd.DataFrame) -> pd.Series:
    return rows[["numerator", "denominator", "value"]].astype(float).apply(
        lambda column: column.map(lambda v: "" if pd.isna(v) else f"{v:.6f}")).agg("|".join, axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    results = stored_indicators(Settings(data_dir=parser.parse_args().data_dir))
    for what, before, now in (("row keys", keys_row_by_row, row_keys), ("shown figures", shown_row_by_row,
                                                                      shown_values)):
        started = time.perf_counter()
        old = before(results)
        middle = time.perf_counter()
        new = now(results)
        ended = time.perf_counter()
        assert list(old) == list(new), what
        print(f"{what}: row by row {middle - started:.2f} s, column-wise {ended - middle:.2f} s "
              f"({(middle - started) / (ended - middle):.0f}×, {len(results):,} rows, same texts)")


if __name__ == "__main__":
    main()
