"""The published view's protection, this tree against a baseline revision, on the same results in
one run: seconds, peak memory, what is hidden, and how many rows the two patterns differ in.

Each side runs `protected_results` (what the import runs ahead of the web app: every code's row,
three years pooled, primary and secondary suppression in pieces on a pool of processes) in a
fresh process, with nothing cached, the baseline first, from a `git worktree` of the revision
(each side records which tree it imported).

    python bench/protection_speed.py --results RESULTS.parquet --baseline REVISION [--out DIR]

RESULTS.parquet holds indicator results as the engine returns them: `bench/backends.py` writes
one per backend and count of years (`<out>/5y/duckdb.parquet`: five national years). Writes
`<out>/protection_speed.json` and prints a table; docs/performance.md records the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

# Run in the side's own process, with its tree first on the path.
SIDE = """
import json, resource, sys, time
import numpy as np, pandas as pd
import insyn
from insyn.indicators.engine import RESULT_COLUMNS
from insyn.publish.publication import protected_results
from insyn.settings import Settings

if __name__ == "__main__":
    results = pd.read_parquet(sys.argv[1])[RESULT_COLUMNS]
    started = time.perf_counter()
    protected = protected_results(results, Settings().disclosure_rules(), None, release=False)
    seconds = time.perf_counter() - started
    np.save(sys.argv[2], protected.status.to_numpy(dtype=str))
    print(json.dumps({"seconds": seconds, "rows": len(protected), "imported": insyn.__file__,
                      "statuses": protected.status.value_counts().to_dict(),
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_side(source: Path, results: Path, statuses: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(source / "src")}
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "side.py"
        script.write_text(SIDE)
        done = subprocess.run([sys.executable, str(script), str(results), str(statuses)], env=env,
                              capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"{source}: the protection failed\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--baseline", required=True, help="the revision to compare with")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    revision = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.baseline],
                              capture_output=True, text=True, check=True).stdout.strip()
    report: dict = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
                    "results": str(args.results), "baseline": revision, "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as scratch:
        baseline = Path(scratch) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline), revision],
                       capture_output=True, check=True)
        try:
            for name, source in (("baseline", baseline), ("this tree", ROOT)):
                report[name] = run_side(source, args.results.resolve(), Path(scratch) / f"{name}.npy")
                report[name]["load_after"] = os.getloadavg()
                print(name, report[name], flush=True)
            before, after = (np.load(Path(scratch) / f"{name}.npy") for name in ("baseline", "this tree"))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)],
                           capture_output=True, check=False)
    report["rows_differing"] = int((before != after).sum())
    report["speedup"] = report["baseline"]["seconds"] / report["this tree"]["seconds"]
    (args.out / "protection_speed.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))

    print(f"\n| {len(after):,} result rows | baseline {revision} | this tree |\n| --- | ---: | ---: |")
    for label, key in (("protection, s", "seconds"), ("peak RSS of the process, MB", "peak_mb")):
        print(f"| {label} | {report['baseline'][key]:,.1f} | {report['this tree'][key]:,.1f} |")
    for status in ("u", "x"):
        print(f"| rows with status {status} | {report['baseline']['statuses'].get(status, 0):,} "
              f"| {report['this tree']['statuses'].get(status, 0):,} |")
    print(f"\nspeed-up {report['speedup']:.2f}×; rows whose status differs: {report['rows_differing']:,}")


if __name__ == "__main__":
    main()
