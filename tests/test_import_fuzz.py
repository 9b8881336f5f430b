"""Fuzzing the importer (issue 18): random bytes and mutated real exports, run through the
function `insyn import` runs (insyn.workflows.run_import). Every input either loads or is refused
with an InsynError whose Swedish message names the file and holds no personnummer; after a
refusal the store is as it was. A bounded number of inputs per run (MAX_EXAMPLES), each new in
every run. The recomputation after a load (run_import's `compute`) is left out: it is the same
after every load and tested on its own, and with it a run took 80 s in place of 25."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insyn.errors import InsynError
from insyn.model.municipalities import municipalities
from insyn.scrub import scrub
from insyn.settings import Settings
from insyn.synth.generate import generate, write_tables
from insyn.workflows import run_import, store_for

MAX_EXAMPLES = 60
SEED_ROWS = 40  # rows of each real export the mutations start from
EXTRACT_DATE = dt.date(2024, 12, 31)
SUFFIXES = (".csv", ".txt", ".xlsx", ".parquet")


def _workbook(csv_text: str) -> bytes:
    workbook = openpyxl.Workbook()
    for line in csv_text.splitlines():
        workbook.active.append(line.split(","))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A data folder whose store holds a small synthetic municipality, and the first rows of its
    exports (CSV, one as XLSX, one as Parquet) as (suffix, bytes) seeds."""
    folder = tmp_path_factory.mktemp("fuzz")
    one = municipalities()
    tables = generate(one[one.municipality_code == "0884"].reset_index(drop=True), [2024], seed=3)
    files = write_tables(tables, folder / "exports") + write_tables(tables, folder / "parquet", fmt="parquet")
    seeds = []
    for path in files:
        if path.suffix == ".csv":
            text = "\n".join(path.read_text(encoding="utf-8").splitlines()[:SEED_ROWS + 1]) + "\n"
            seeds.append((".csv", text.encode()))
            if path.stem == "staff":
                seeds.append((".xlsx", _workbook(text)))
        elif path.stem in ("staff", "courses"):
            seeds.append((".parquet", path.read_bytes()))
    app = Settings(data_dir=folder / "data")
    run_import(app, [p for p in files if p.suffix == ".csv"], extract_date=EXTRACT_DATE, compute=False)
    return app, seeds, folder / "inputs"


def _mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """Each edit at a position (taken modulo the length): 0 flips bits of a byte, 1 inserts a
    byte, 2 deletes a stretch, 3 repeats a stretch, 4 cuts the file there."""
    out = bytearray(data)
    for kind, where, value in edits:
        if not out:
            break
        at = where % len(out)
        if kind == 0:
            out[at] ^= value or 1
        elif kind == 1:
            out.insert(at, value)
        elif kind == 2:
            del out[at:at + value]
        elif kind == 3:
            out[at:at] = out[at:at + value]
        else:
            del out[at:]
    return bytes(out)


edits = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1, max_size=6)


def _store_content(app: Settings) -> dict[str, list]:
    store = store_for(app, read_only=True)
    try:
        tables = [row[0] for row in store.raw.execute("SHOW TABLES").fetchall()]
        return {t: sorted(map(str, store.raw.execute(f"SELECT * FROM {t}").fetchall())) for t in tables}
    finally:
        store.close()


@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.tuples(st.sampled_from(SUFFIXES), st.binary(max_size=4096)),
    st.tuples(st.integers(0, 100), edits),
))
def test_every_input_loads_or_is_refused_in_swedish_and_a_refusal_changes_nothing(data, made):
    app, seeds, inputs = data
    if isinstance(made[1], bytes):
        suffix, content = made
    else:
        suffix, seed = seeds[made[0] % len(seeds)]
        content = _mutate(seed, made[1])
    inputs.mkdir(exist_ok=True)
    path = inputs / f"export{suffix}"
    path.write_bytes(content)
    before = _store_content(app)
    try:
        run_import(app, [path], extract_date=EXTRACT_DATE, compute=False)
    except InsynError as error:
        message = str(error)
        assert path.name in message, message
        assert scrub(message) == message, message
        assert _store_content(app) == before
