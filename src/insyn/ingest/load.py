"""Import files into the store: validate everything first, then load in one transaction.

A re-import replaces rows by the table's key (for events: whole cases), so importing the
same file twice adds nothing and a corrected re-export replaces what it corrects. Rejected
rows go to the quarantine table with their reasons; with ``strict`` any error rejects all.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import shutil
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from insyn.errors import InputError
from insyn.ingest.native import Staged, clear_values_in_memory, drop_staged, settle, stage
from insyn.ingest.profiles import Profile
from insyn.ingest.quality import refresh_warnings
from insyn.ingest.readers import read_export
from insyn.ingest.validate import Validated, validate
from insyn.scrub import shorten
from insyn.store import Store
from insyn.store.schema import stored_columns
from insyn.swedish import count_of, format_count

Progress = Callable[[str], None]
# Said once by every import that has no extract date.
MISSING_EXTRACT_DATE = ("uttagsdatum saknas, så en period räknas som hel när kommunens senaste datum i data ligger "
                        "högst 7 dagar före periodens slut. Ange dagen exporten togs ut med --uttagsdatum ÅÅÅÅ-MM-DD.")


class ExtractDateError(InputError):
    """An extract date that cannot be right (after today)."""


class ImportRejected(InputError):
    """A strict import found errors; nothing was loaded."""

    def __init__(self, results: list[Validated]):
        self.results = results
        errors = sum(len(p.row_numbers) for r in results for p in r.problems)
        super().__init__(f"Importen avbröts (--strict): {errors} fel, inget har lästs in")


@dataclass
class FileResult:
    validated: Validated
    rows_loaded: int
    rows_replaced: int
    rows_valid: int  # the rows that passed validation

    @property
    def duplicates_dropped(self) -> int:
        """Identical rows in one file of a keyed table (not events) are one fact and load once."""
        return self.rows_valid - self.rows_loaded


@dataclass
class ImportResult:
    import_id: str
    files: list[FileResult]
    quality_warnings: int
    extract_date: dt.date | None = None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def validate_files(paths: Sequence[Path], key: bytes, profile: Profile | None = None,
                   table: str | None = None, progress: Progress | None = None,
                   extract_date: dt.date | None = None) -> list[Validated]:
    """Read and validate every file; touches no store (the web's preview uses this too)."""
    results = []
    for path in paths:
        if progress:
            progress(f"Läser och kontrollerar {path.name}")
        raw = read_export(path, profile.encoding if profile else None)
        results.append(validate(raw, path, profile, table, key, extract_date=extract_date))
    return results


def extract_date_of(profile: Profile | None, given: dt.date | None,
                    today: dt.date | None = None) -> dt.date | None:
    """The day the export was taken: as given for this import, else as the profile says."""
    chosen = given or (profile.extract_date if profile else None)
    if chosen and chosen > (today or dt.date.today()):
        raise ExtractDateError(f"Uttagsdatum {chosen.isoformat()} ligger i framtiden. Inget har lästs in.")
    return chosen


# One import at a time in a process (the web runs imports on threads): while one checks a file
# nothing may spill, a setting of the database shared by every connection to it
# (ingest.native.clear_values_in_memory), so another's load must not run meanwhile.
IMPORTS = threading.Lock()


def _one_at_a_time(function):
    @functools.wraps(function)
    def locked(*args, **kwargs):
        with IMPORTS:
            return function(*args, **kwargs)
    return locked


@_one_at_a_time
def import_files(store: Store, paths: Sequence[Path], key: bytes, profile: Profile | None = None,
                 table: str | None = None, strict: bool = False,
                 progress: Progress | None = None,
                 before_commit: Callable[[], None] | None = None,
                 extract_date: dt.date | None = None, native: bool = True) -> ImportResult:
    """Validate every file, then load them all in one transaction. `before_commit` runs inside
    that transaction after the load (the workflow recomputes the indicators there), so a
    failure anywhere leaves the store, results included, as it was. `extract_date` is the day
    the export was taken (else the profile's): no row may be dated after it, and it tells
    which periods the export covers in full. `native`: DuckDB reads and checks the files
    (ingest.native); without it they pass through Arrow in Python (`validate_files`), the
    reference the native path is tested against."""
    paths = [Path(p) for p in paths]
    extract_date = extract_date_of(profile, extract_date)
    import_id = uuid.uuid4().hex
    staged: list[Staged] = []
    arrow: dict[str, pa.Table] = {}
    staging = store.staging_dir
    try:
        if native:
            if staging:
                staging.mkdir(parents=True, exist_ok=True)
            for i, path in enumerate(paths):
                if progress:
                    progress(f"Läser och kontrollerar {path.name}")
                with clear_values_in_memory(store.raw, path):
                    checked = stage(store.raw, path, key, import_id, f"incoming_{i}", profile, table, extract_date)
                    staged.append(settle(store.raw, checked, staging))
        else:
            for i, result in enumerate(validate_files(paths, key, profile, table, progress, extract_date)):
                arrow[f"incoming_{i}"] = _stored_rows(result, import_id)
                staged.append(Staged(result, f"incoming_{i}", f"incoming_{i}", result.clean.num_rows))
        results = [s.validated for s in staged]
        if strict and any(r.problems for r in results):
            raise ImportRejected(results)
        # Arrow tables are registered outside the transaction: a failed statement aborts it, and
        # DuckDB then refuses everything but ROLLBACK, unregistering included.
        for i, result in enumerate(results):
            arrow[f"rejected_{i}"] = result.quarantine
        for name, data in arrow.items():
            store.raw.register(name, data)
        loaded: list[FileResult] = []
        with store.transaction() as connection:
            connection.execute(
                "CREATE OR REPLACE TEMP TABLE imported_cases (municipality VARCHAR, case_id VARCHAR)")
            for i, one in enumerate(staged):
                if progress:
                    progress(f"Läser in {one.validated.file.name} i {one.validated.table.name}")
                loaded.append(_load_one(connection, one, f"rejected_{i}", import_id, profile, extract_date))
            warnings = _refresh_quality(connection)
            _funding_notices(connection, loaded)
            if before_commit:
                before_commit()
    finally:
        try:
            for name in arrow:
                store.raw.unregister(name)
            if native:
                for i in range(len(paths)):
                    drop_staged(store.raw, f"incoming_{i}")
        finally:  # the checked rows never outlive the import, whatever failed
            if staging:
                shutil.rmtree(staging, ignore_errors=True)
    return ImportResult(import_id=import_id, files=loaded, quality_warnings=warnings,
                        extract_date=extract_date)


def _stored_rows(result: Validated, import_id: str) -> pa.Table:
    """The validated rows as the store keeps them, tagged with the import."""
    columns = [name for name, _ in stored_columns(result.table) if name != "import_id"]
    return result.clean.select(columns).append_column(
        "import_id", pa.array([import_id] * result.clean.num_rows, pa.string()))


def _load_one(connection, staged: Staged, rejected: str, import_id: str,
              profile: Profile | None, extract_date: dt.date | None) -> FileResult:
    result, incoming, keys = staged.validated, staged.incoming, staged.keys
    table = result.table
    # A key column may be empty (a price without a provider): empty matches empty.
    key_match = " AND ".join(f"t.{k} IS NOT DISTINCT FROM i.{k}" for k in table.key)
    # Rows of earlier imports are replaced; rows another file of this import just loaded are
    # not (two files of one import together are the export).
    replaced = connection.execute(
        f"DELETE FROM {table.name} t USING (SELECT DISTINCT {', '.join(table.key)} FROM {keys}) i "
        f"WHERE {key_match} AND t.import_id <> ?", [import_id]
    ).fetchall()[0][0]
    names = ", ".join(name for name, _ in stored_columns(table))
    # Events have no id of their own: two identical rows can be two reports made the same
    # day by the same kind of reporter, so they stay two. Other tables are keyed facts.
    distinct = "" if table.name == "events" else "DISTINCT"
    loaded = connection.execute(
        f"INSERT INTO {table.name} ({names}) SELECT {distinct} {names} FROM {incoming}").fetchall()[0][0]
    if table.name == "events":
        connection.execute(
            f"INSERT INTO imported_cases SELECT DISTINCT municipality, case_id FROM {keys}")
    # A file's quarantine (by its full path) is replaced by its latest import, so rows that
    # were fixed leave it.
    file = str(result.file.resolve())
    connection.execute("DELETE FROM quarantine WHERE file = ? AND table_name = ?", [file, table.name])
    connection.execute(
        "INSERT INTO quarantine SELECT ?, ?, ?, row_number, column_name, reason, record "
        f"FROM {rejected}", [import_id, file, table.name])
    connection.execute(
        "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [f"{import_id}:{incoming}", dt.datetime.now(), file, _sha256(result.file), table.name,
         profile.name if profile else None, result.rows_read, loaded, result.rows_rejected, replaced,
         extract_date],
    )
    if extract_date and "municipality" in {c.name for c in table.columns}:
        connection.execute(
            "INSERT INTO extracts (municipality, table_name, extract_date, import_id, recorded_at) "
            f"SELECT DISTINCT municipality, ?, ?::DATE, ?, ?::TIMESTAMP FROM {keys}",
            [table.name, extract_date, import_id, dt.datetime.now()])
    return FileResult(validated=result, rows_loaded=loaded, rows_replaced=replaced, rows_valid=staged.rows_valid)


# A full-time monthly salary outside these bounds (kronor) is more likely a year's or an hour's
# pay: SCB's lönestrukturstatistik for the municipalities 2020 has a lower quartile of 26,700 kr
# over all occupations, and no municipal occupation's mean above 100,000 kr.
PLAUSIBLE_MONTHLY_SALARY = (15_000, 150_000)


def _funding_notices(connection, loaded: list[FileResult]) -> None:
    """Notices on the imported staff (or grants) file: each grant that employments name as
    their funding and the municipality's grants do not know (a misspelt or missing grant, whose
    posts count as grant-funded without an end or an amount: docs/grants.md); each municipality
    whose export gives some grant-funded employments a monthly salary but not all (those are
    left out of the personnel cost); and each whose salaries look like a year's or an hour's pay."""
    touched = [f for f in loaded if f.validated.table.name in ("staff", "grants")]
    if not touched:
        return
    unknown = connection.execute(
        'SELECT municipality, funding, count(*) FROM staff s WHERE funding IS NOT NULL AND NOT EXISTS '
        '(SELECT 1 FROM grants g WHERE g.municipality = s.municipality AND g."grant" = s.funding) '
        "GROUP BY ALL ORDER BY ALL LIMIT 20").fetchall()
    for municipality, funding, employments in unknown:
        posts = count_of(employments, "anställning", "anställningar")
        touched[0].validated.notices.append(
            f"Finansieringen '{shorten(funding)}' ({posts} i kommun {municipality}) finns inte bland kommunens "
            "statsbidrag: de räknas som bidragsfinansierade, men utan bidragets slutdatum och belopp")
    unpaid = connection.execute(
        "SELECT municipality, count(*) FILTER (WHERE monthly_salary IS NULL) FROM staff s WHERE EXISTS "
        '(SELECT 1 FROM grants g WHERE g.municipality = s.municipality AND g."grant" = s.funding) '
        "GROUP BY ALL HAVING count(monthly_salary) > 0 AND count(*) > count(monthly_salary) ORDER BY ALL").fetchall()
    for municipality, employments in unpaid:
        posts = count_of(employments, "bidragsfinansierad anställning", "bidragsfinansierade anställningar")
        them = "den" if employments == 1 else "de"
        touched[0].validated.notices.append(
            f"{posts} i kommun {municipality} saknar månadslön (konsulter har ingen): {them} räknas inte in "
            "i personalkostnaden, och bidragens täckning av den blir för hög")
    low, high = PLAUSIBLE_MONTHLY_SALARY
    odd = connection.execute(
        "SELECT municipality, count(*) FROM staff WHERE monthly_salary < ? OR monthly_salary > ? "
        "GROUP BY ALL ORDER BY ALL", [low, high]).fetchall()
    for municipality, employments in odd:
        posts = count_of(employments, "anställning", "anställningar")
        touched[0].validated.notices.append(
            f"{posts} i kommun {municipality} har en månadslön under {format_count(low)} eller över "
            f"{format_count(high)} kr: är det årslön eller timlön? Personalkostnaden räknar med månadslön "
            "för heltid")


def _refresh_quality(connection) -> int:
    refresh_warnings(connection, "imported_cases")
    count = connection.execute(
        "SELECT count(*) FROM quality_warnings w JOIN imported_cases c USING (municipality, case_id)"
    ).fetchall()[0][0]
    connection.execute("DROP TABLE imported_cases")
    return count
