"""Kolada-shaped JSON (docs/kolada.md): the published figures out, other published figures in.

The shape is that of Kolada's API data (v2, kept by v3):
``{"values": [{"kpi", "municipality", "period", "values": [{"gender", "count", "status",
"value"}]}]}``. The export is made from a Publication (only ``publication.prepare`` makes one),
never from raw results: a figure the disclosure rule hides leaves its status and no value.
Imported values (Kolada's own figures for Riket, regions and municipalities, or another Insyn's
export) are stored as published, with their status and their file, and shown beside the
municipalities' own figures: by the indicator's KPI id, and by each of its `related_kpis`.
Kolada's statuses are read as Kolada means them (`Privacy` hidden, `Missing` and `Not applicable`
missing); values Kolada marks deleted are not stored.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pandas as pd

from insyn.disclosure.status import SUPPRESSED, is_hidden
from insyn.errors import InputError
from insyn.indicators.definitions import Definition, library
from insyn.model.codes import label
from insyn.model.municipalities import municipalities
from insyn.publish.cells import Cell, value_cell
from insyn.publish.publication import YEAR, Publication
from insyn.publish.views import name_with_unit
from insyn.store import Store
from insyn.swedish import COUNT, format_number, swedish_sort_key

GENDERS = {None: "T", "female": "K", "male": "M"}  # our sex breakdown -> Kolada's gender
SHOWN = ""  # Kolada's status beside a value
HIDDEN = SUPPRESSED  # "..": Kolada's and SCB's mark for a figure withheld (sekretess)
# Kolada's count: how many municipalities a value stands for (more for a group's average);
# never a number of cases.
ONE_MUNICIPALITY = 1
NATIONAL = "0000"  # Riket in Kolada; a region is "00" + its county code
OWN_SOURCE = "Insyn (egna uppgifter)"
KEY = ["kpi", "municipality", "period", "gender"]
VALUE_COLUMNS = [*KEY, "value", "count", "status"]  # of a file
COLUMNS = [*VALUE_COLUMNS, "source_file", "imported_at"]  # of the store


def kolada_kpi(definition: Definition) -> str:
    """The KPI id an indicator has in Kolada-shaped files: the official one, else its own id."""
    return definition.kolada or definition.id


def kpi_definitions() -> dict[str, Definition]:
    """KPI id -> indicator, by the official Kolada id and by the indicator's own id."""
    return {key: d for d in library() for key in {d.id, kolada_kpi(d)}}


# --- export ------------------------------------------------------------------------------------

def _in_kolada_shape(row: dict) -> bool:
    """A complete yearly figure of a whole municipality, in total or for girls or boys: Kolada's
    municipality data have no units, age groups, categories or quarters."""
    return (row["period_type"] == YEAR and row.get("complete") is not False
            and row["sex"] in GENDERS
            and row["unit"] is None and row["age_group"] is None and row["category"] is None)


def _exported(row: dict, municipality_codes: Collection[str] | None, years: Collection[int] | None) -> bool:
    """In Kolada's shape, of the chosen municipalities and years, with something to show: a value
    or a hidden figure's status (Kolada leaves out what it has no value for)."""
    return (_in_kolada_shape(row) and (row["value"] is not None or is_hidden(row["status"]))
            and (not municipality_codes or row["municipality"] in municipality_codes)
            and (not years or int(row["period"]) in years))


def _gender_value(row: dict) -> dict:
    hidden = is_hidden(row["status"])
    return {"gender": GENDERS[row["sex"]], "count": ONE_MUNICIPALITY,
            "status": HIDDEN if hidden else SHOWN, "value": None if hidden else row["value"]}


def exported_rows(pub: Publication, municipality_codes: Collection[str] | None = None,
                  years: Collection[int] | None = None) -> pd.DataFrame:
    """The publication's rows the export shows, of the given municipalities and years."""
    keep = [_exported(row, municipality_codes, years) for row in pub.rows.to_dict("records")]
    return pub.rows[keep]


def export_document(pub: Publication, municipality_codes: Collection[str] | None = None,
                    years: Collection[int] | None = None) -> dict:
    """The publication's yearly figures per municipality (total T, girls K, boys M) in Kolada's
    shape, of the given municipalities and years (all when None). A hidden figure is written with
    status ".." and value null."""
    kpis = {d.id: kolada_kpi(d) for d in pub.definitions}
    order = {d.id: i for i, d in enumerate(pub.definitions)}
    genders = list(GENDERS.values())
    grouped: dict[tuple[str, str, str], list[dict]] = {}
    for row in exported_rows(pub, municipality_codes, years).to_dict("records"):
        grouped.setdefault((row["indicator"], row["municipality"], row["period"]), []).append(_gender_value(row))
    keys = sorted(grouped, key=lambda key: (order[key[0]], key[1], key[2]))
    return {"values": [{"kpi": kpis[indicator], "municipality": code, "period": int(period),
                        "values": sorted(grouped[indicator, code, period], key=lambda c: genders.index(c["gender"]))}
                       for indicator, code, period in keys]}


def to_json(document: dict) -> str:
    """The document as UTF-8 JSON text; a NaN would fail rather than be written."""
    return json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


# --- what Kolada's statuses mean ---------------------------------------------------------------

@dataclass(frozen=True)
class Reading:
    """A published value as Kolada means it: shown, hidden (`..`) or missing (`–`), and why, in
    the words users read ("" beside a shown value)."""

    kind: str  # SHOWN_VALUE, HIDDEN_VALUE or MISSING_VALUE
    reason: str = ""


SHOWN_VALUE, HIDDEN_VALUE, MISSING_VALUE = "visas", "dold", "saknas"
# Kolada's statuses (casefolded) -> how they read (docs/kolada.md has the sources). Kolada's own
# tables mark a hidden figure "..", a drop-out "-" and "not applicable" "."; its API writes
# "Privacy", "Missing" and "Not applicable" in `status`, and "" beside a value. Another Insyn's
# export writes ".." for a hidden figure.
STATUS_READINGS = {
    "": Reading(SHOWN_VALUE),
    "privacy": Reading(HIDDEN_VALUE, "sekretess hos Kolada"),
    HIDDEN: Reading(HIDDEN_VALUE, "dold uppgift"),
    "missing": Reading(MISSING_VALUE, "saknas hos Kolada"),
    "-": Reading(MISSING_VALUE, "bortfall hos Kolada"),
    "not applicable": Reading(MISSING_VALUE, "ej tillämpligt"),
    ".": Reading(MISSING_VALUE, "ej tillämpligt"),
}


def reading(status: str | None, value: float | None) -> Reading:
    """How a value with Kolada's `status` is shown. A hidden status hides the value even if the
    file has one; a missing one is missing whatever the value. A status Kolada has not been seen
    to use keeps its value and is named."""
    text = (status or "").strip()
    known = STATUS_READINGS.get(text.casefold())
    if known is not None:
        if known.kind == SHOWN_VALUE and value is None:
            return Reading(MISSING_VALUE, "saknas")
        return known
    if value is None:
        return Reading(MISSING_VALUE, f"saknas (status hos Kolada: {text})")
    return Reading(SHOWN_VALUE, f"status hos Kolada: {text}")


def published_cell(value: float | None, status: str | None, unit: str) -> tuple[Cell, str]:
    """The imported value as a Cell (".." when hidden, "–" when missing) and the reason."""
    read = reading(status, value)
    if read.kind == HIDDEN_VALUE:
        return Cell(None, unit, suppressed=True), read.reason
    if read.kind == MISSING_VALUE:
        return Cell(None, unit), read.reason
    return Cell(value, unit), read.reason


# --- import ------------------------------------------------------------------------------------

class KoladaFileError(InputError):
    """A file that is not Kolada-shaped data. The message (Swedish) names the file and the JSON
    path of the first problem."""


_MISSING = object()  # a key the object does not have
# Where a row says it was deleted: v2 writes "is_deleted": 0|1 in each gender value (with
# from_date), v3 "isdeleted": true|false there; either is also read on the data object.
DELETED_KEYS = ("is_deleted", "isdeleted")
# Where a file says it is one page of several: v3's next_url, v2's next_page.
NEXT_PAGE_KEYS = ("next_url", "next_page")


def _described(found: object) -> str:
    """What was found instead, as the message says it: saknas, "X", 1.5, null, ett objekt."""
    if found is _MISSING:
        return "saknas"
    if isinstance(found, dict | list):
        return "är ett objekt" if isinstance(found, dict) else "är en lista"
    return f"är {json.dumps(found, ensure_ascii=False)}"


def _check(ok: bool, file: str, place: str, expected: str, found: object) -> None:
    if not ok:
        _fail(file, place, expected, found)


def _fail(file: str, place: str, expected: str, found: object) -> NoReturn:
    raise KoladaFileError(f"{file}: {place}: {expected} väntas, men {_described(found)}.")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _year(value: object) -> int | None:
    """Kolada's yearly period: 2024 (as the API writes it) or "2024"."""
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    return int(text) if len(text) == 4 and text.isdigit() else None


def _deleted(holder: dict, file: str, place: str) -> bool:
    """Whether the object is marked deleted: true or 1 (v2 writes 0|1, v3 true|false)."""
    marked = False
    for key in DELETED_KEYS:
        found = holder.get(key, _MISSING)
        if found is _MISSING or found is None:
            continue
        _check(isinstance(found, bool) or (isinstance(found, int) and found in (0, 1)), file,
               f"{place}.{key}", "true, false, 1 eller 0", found)
        marked = marked or bool(found)
    return marked


def _values(document: object, file: str) -> Iterator[dict]:
    """Every gender value of the document with its place, checked against Kolada's shape."""
    if not isinstance(document, dict):
        _fail(file, "$", "ett objekt (Koladas format)", document)
    _check(isinstance(document.get("values"), list), file, "$.values", "en lista",
           document.get("values", _MISSING))
    for i, entry in enumerate(document["values"]):
        place = f"$.values[{i}]"
        _check(isinstance(entry, dict), file, place, "ett objekt", entry)
        for key in ("kpi", "municipality"):
            found = entry.get(key, _MISSING)
            _check(isinstance(found, str) and found.strip() != "", file, f"{place}.{key}", "en text", found)
        period = entry.get("period", _MISSING)
        _check(_year(period) is not None, file, f"{place}.period", "ett årtal (t.ex. 2024)", period)
        entry_deleted = _deleted(entry, file, place)
        cells = entry.get("values", _MISSING)
        _check(isinstance(cells, list), file, f"{place}.values", "en lista", cells)
        for j, cell in enumerate(cells):
            at = f"{place}.values[{j}]"
            _check(isinstance(cell, dict), file, at, "ett objekt", cell)
            gender, value = cell.get("gender", _MISSING), cell.get("value")
            status, count = cell.get("status"), cell.get("count")
            _check(gender in GENDERS.values(), file, f"{at}.gender", "kön T, K eller M", gender)
            _check(value is None or _is_number(value), file, f"{at}.value", "ett tal eller null", value)
            _check(status is None or isinstance(status, str), file, f"{at}.status", "en text", status)
            _check(count is None or (_is_number(count) and count == int(count) and count >= 0), file,
                   f"{at}.count", "ett heltal", count)
            deleted = _deleted(cell, file, at) or entry_deleted
            yield {"place": at, "kpi": entry["kpi"].strip(), "municipality": entry["municipality"].strip(),
                   "period": _year(period), "gender": gender, "value": value,
                   "count": None if count is None else int(count), "status": status or SHOWN,
                   "deleted": deleted}


@dataclass(frozen=True)
class PublishedFile:
    """A checked file: its gender values (with `deleted`), and the next page it names, if any."""

    path: Path
    values: pd.DataFrame  # VALUE_COLUMNS and deleted
    next_page: str | None


def read_published_file(path: Path) -> PublishedFile:
    """The file's values as rows (kpi, municipality, period, gender, value, count, status,
    deleted). KoladaFileError when it cannot be read, is not JSON, is not in Kolada's shape or
    holds the same KPI, area, year and gender twice."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KoladaFileError(f"{path.name}: filen kan inte läsas ({exc.strerror}).") from exc
    except UnicodeDecodeError as exc:
        raise KoladaFileError(f"{path.name}: filen är inte UTF-8 (byte {exc.start}).") from exc
    except json.JSONDecodeError as exc:
        raise KoladaFileError(f"{path.name}: ogiltig JSON på rad {exc.lineno}, kolumn {exc.colno} "
                              f"({exc.msg}).") from exc
    rows: list[dict] = []
    first_at: dict[tuple, str] = {}
    for row in _values(document, path.name):
        key = tuple(row[k] for k in KEY)
        if key in first_at:
            raise KoladaFileError(f"{path.name}: {row['place']}: samma nyckeltal, område, år och kön "
                                  f"som {first_at[key]}.")
        first_at[key] = row.pop("place")
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[*VALUE_COLUMNS, "deleted"]).astype(
        {"period": "int64", "value": "float64", "count": "Int64", "deleted": "bool"})
    pages = [document.get(k) for k in NEXT_PAGE_KEYS]
    return PublishedFile(path, frame, next((p for p in pages if isinstance(p, str) and p.strip()), None))


def read_published_values(path: Path) -> pd.DataFrame:
    """The file's values that are not marked deleted (VALUE_COLUMNS)."""
    frame = read_published_file(path).values
    return frame[~frame.deleted][VALUE_COLUMNS].reset_index(drop=True)


GENDER_WORDS = {"T": "totalt", "K": "kvinnor/flickor", "M": "män/pojkar"}


def _number_text(value: float) -> str:
    """A value as imported, in Swedish writing: 10587710 -> "10 587 710", 81.25 -> "81,25"."""
    return format_number(value, 4, min_decimals=0)


def _as_given(value: float | None, status: str) -> str:
    """A stored value as the file gave it: the number and any status, or null and the status."""
    number = "null" if value is None or pd.isna(value) else _number_text(float(value))
    return f"{number} ({status})" if status else number


@dataclass(frozen=True)
class StoredValue:
    """One imported value named for a message: its KPI, area, year and gender."""

    kpi: str
    municipality: str
    period: int
    gender: str

    def text(self, names: dict[str, str]) -> str:
        name = names.get(self.municipality)
        area = f"{name} ({self.municipality})" if name else self.municipality
        return f"{self.kpi} {area} {self.period} {GENDER_WORDS[self.gender]}"


@dataclass(frozen=True)
class ChangedValue:
    value: StoredValue
    before: str  # as the earlier file gave it
    after: str
    earlier_file: str


@dataclass(frozen=True)
class DeletedValue:
    value: StoredValue
    earlier_file: str


MAX_LISTED = 10  # changes and deletions named per file in the summary


@dataclass(frozen=True)
class ImportedFile:
    """What importing one file did."""

    file: Path
    values: int        # gender values read from the file, those marked deleted included
    new: int           # stored where nothing was stored
    unchanged: int     # replaced a stored value by the same value and status
    changed: tuple[ChangedValue, ...] = ()   # replaced a stored value by another one
    deleted: tuple[DeletedValue, ...] = ()   # stored values the file marks deleted: removed
    skipped: int = 0   # marked deleted in the file, but nothing was stored: nothing done
    next_page: str | None = None  # the file is one page of several

    @property
    def replaced(self) -> int:
        return self.unchanged + len(self.changed)

    @property
    def stored(self) -> int:
        return self.new + self.replaced

    def lines(self, names: dict[str, str] | None = None) -> list[str]:
        """The summary in Swedish: the counts, then the values changed and deleted (naming the file
        that gave them), then a note when the file is one page of several."""
        names = kolada_names() if names is None else names
        lines = [f"{self.file.name}: {self.values} värden lästa: {self.stored} lagrade ({self.new} nya, "
                 f"{self.unchanged} oförändrade, {len(self.changed)} ändrade), {len(self.deleted)} raderade, "
                 f"{self.skipped} överhoppade."]
        for change in self.changed[:MAX_LISTED]:
            lines.append(f"  Ändrat: {change.value.text(names)}: {change.before} → {change.after} "
                         f"(tidigare från {change.earlier_file}).")
        if len(self.changed) > MAX_LISTED:
            lines.append(f"  … och {len(self.changed) - MAX_LISTED} ändrade värden till.")
        for gone in self.deleted[:MAX_LISTED]:
            lines.append(f"  Raderat (borttaget hos Kolada): {gone.value.text(names)} "
                         f"(tidigare från {gone.earlier_file}).")
        if len(self.deleted) > MAX_LISTED:
            lines.append(f"  … och {len(self.deleted) - MAX_LISTED} raderade värden till.")
        if self.skipped:
            lines.append(f"  Överhoppade: {self.skipped} värden är markerade som raderade i filen men "
                         "fanns inte inlästa.")
        if self.next_page:
            lines.append(f"  Filen är en sida av flera: hämta och läs in också nästa sida ({self.next_page}).")
        return lines


def _same(before_value: float, before_status: str, after_value: float, after_status: str) -> bool:
    if (before_status or "") != (after_status or ""):
        return False
    if pd.isna(before_value) or pd.isna(after_value):
        return bool(pd.isna(before_value) and pd.isna(after_value))
    return math.isclose(before_value, after_value, rel_tol=1e-12, abs_tol=1e-12)


def _key_of(row) -> StoredValue:
    return StoredValue(row.kpi, row.municipality, int(row.period), row.gender)


def _import_one(con, read: PublishedFile, imported_at: dt.datetime) -> ImportedFile:
    """Store one checked file's values in the open transaction and say what that did."""
    frame = read.values
    keys = ", ".join(KEY)
    con.register("incoming_keys", frame[KEY])
    earlier = con.execute(f"SELECT {keys}, value, status, source_file FROM published_values "
                          f"WHERE ({keys}) IN (SELECT {keys} FROM incoming_keys)").df()
    con.unregister("incoming_keys")
    merged = frame.merge(earlier.astype({"period": "int64"}), on=KEY, how="left", suffixes=("", "_before"),
                         indicator="stored_as")
    had = merged["stored_as"] == "both"
    new = unchanged = skipped = 0
    changed, deleted = [], []
    for row in merged.itertuples(index=False):
        was_stored = row.stored_as == "both"
        if row.deleted:
            if was_stored:
                deleted.append(DeletedValue(_key_of(row), row.source_file))
            else:
                skipped += 1
        elif not was_stored:
            new += 1
        elif _same(row.value_before, row.status_before, row.value, row.status):
            unchanged += 1
        else:
            changed.append(ChangedValue(_key_of(row), _as_given(row.value_before, row.status_before),
                                        _as_given(row.value, row.status), row.source_file))
    kept = frame[~frame.deleted][VALUE_COLUMNS]
    con.register("incoming", kept.assign(source_file=read.path.name, imported_at=imported_at)[COLUMNS])
    if had.any():
        gone = merged[had][KEY]
        con.register("replaced_keys", gone)
        con.execute(f"DELETE FROM published_values WHERE ({keys}) IN (SELECT {keys} FROM replaced_keys)")
        con.unregister("replaced_keys")
    con.execute(f"INSERT INTO published_values ({', '.join(COLUMNS)}) SELECT * FROM incoming")
    con.unregister("incoming")
    return ImportedFile(read.path, len(frame), new, unchanged, tuple(changed), tuple(deleted), skipped,
                        read.next_page)


def import_published_values(store: Store, paths: Sequence[Path]) -> list[ImportedFile]:
    """Read and check every file, then store their values in one transaction, each replacing the
    stored value of the same KPI, area, year and gender: importing a file again adds nothing, and
    a later download replaces what Kolada has revised. A value the file marks deleted is not
    stored, and removes the stored one. A bad file stores nothing at all."""
    read = [read_published_file(path) for path in paths]
    imported_at = dt.datetime.now()
    with store.transaction() as con:
        return [_import_one(con, file, imported_at) for file in read]


def stored_published_values(store: Store) -> pd.DataFrame:
    """Every imported value."""
    return store.raw.execute(f"SELECT {', '.join(COLUMNS)} FROM published_values").df()


# --- comparison --------------------------------------------------------------------------------

def kolada_names() -> dict[str, str]:
    """Kolada's municipality id -> name: municipalities, Riket and the regions (one per county)."""
    shipped = municipalities()
    counties = shipped[["county_code", "county"]].drop_duplicates()
    return {NATIONAL: "Riket", **{f"00{r.county_code}": r.county for r in counties.itertuples()},
            **dict(zip(shipped.municipality_code, shipped.municipality, strict=True))}


def is_region(code: str) -> bool:
    """A region (county) in Kolada: "00" and the county code; Riket is "0000"."""
    return len(code) == 4 and code.startswith("00") and code != NATIONAL


def county_of(municipality: str) -> str | None:
    """The Kolada id of the municipality's region ("00" + county code), if it is known."""
    shipped = municipalities()
    found = shipped.loc[shipped.municipality_code == municipality, "county_code"]
    return f"00{found.iloc[0]}" if len(found) else None


def kpi_unit(title: str) -> str:
    """The unit a related KPI's title states: "%" for a share, antal for a count, else none (the
    value is shown as a plain number: Kolada's unit is not Insyn's)."""
    lowered = title.lower()
    if "%" in lowered:
        return "%"
    if "antal" in [part.strip() for part in lowered.split(",")]:
        return COUNT
    return ""


@dataclass(frozen=True)
class ComparedRow:
    """One area of a comparison: Insyn's own published figure (None when the area is not one of
    the municipalities whose own figures are shown), and the imported value with its file, Kolada's
    status as imported and what it means."""

    code: str
    name: str
    own: Cell | None
    value: Cell | None  # None: nothing imported for the area
    source: str = ""
    status: str = ""
    note: str = ""


@dataclass(frozen=True)
class Comparison:
    """One indicator, one imported KPI and one year: the municipalities' own figures, each with
    the imported value of the same area beside it, then Riket, the regions and the other imported
    areas by name. `related` when the KPI is one of the indicator's related_kpis (a measure close
    to it, not the same: `difference` says how), else the indicator's own KPI id."""

    definition: Definition
    year: str
    kpi: str
    title: str
    difference: str
    related: bool
    unit: str  # of the imported values: the indicator's for its own KPI, the title's for a related one
    rows: list[ComparedRow]
    category: str | None = None  # of an indicator by category, the one whose figures are the own ones

    @property
    def indicator_name(self) -> str:
        """The indicator's name, and for one by category the category compared: "Kostnad per
        vårddygn enligt prislistan, HVB"."""
        return self.definition.name + self._of_category

    @property
    def indicator_with_unit(self) -> str:
        return name_with_unit(self.definition) + self._of_category

    @property
    def _of_category(self) -> str:
        return f", {label(self.definition.category_code_list(), self.category)}" if self.category else ""

    @property
    def label(self) -> str:
        if self.related or self.kpi == self.definition.kolada:
            return f"Kolada {self.kpi}: {self.title}"
        return f"Publicerade värden för {self.kpi}"

    @property
    def value_header(self) -> str:
        """What the imported values are, as a column header: "Kolada U33402", or the KPI id."""
        return f"Kolada {self.kpi}" if self.related or self.kpi == self.definition.kolada else self.kpi

    def row(self, code: str) -> ComparedRow | None:
        return next((r for r in self.rows if r.code == code), None)

    @property
    def sources(self) -> list[str]:
        return list(dict.fromkeys(r.source for r in self.rows if r.source))


@dataclass(frozen=True)
class _Target:
    kpi: str
    title: str
    difference: str
    related: bool
    unit: str
    category: str | None = None  # of the indicator's figures, the one the KPI is set beside


def _targets(definition: Definition) -> list[_Target]:
    """The KPIs whose imported values are shown beside the indicator: its own (official id or
    Insyn id), then its related KPIs."""
    own = [_Target(kpi, definition.name, "", False, definition.unit)
           for kpi in dict.fromkeys((kolada_kpi(definition), definition.id))]
    return own + [_Target(r.id, r.title, " ".join(r.difference.split()), True, kpi_unit(r.title), r.category)
                  for r in definition.related_kpis if r.id not in {t.kpi for t in own}]


def _imported_row(row: dict, unit: str, names: dict[str, str], own: Cell | None = None,
                  name: str | None = None) -> ComparedRow:
    value = None if pd.isna(row["value"]) else float(row["value"])
    status = row["status"] or ""
    cell, note = published_cell(value, status, unit)
    code = row["municipality"]
    return ComparedRow(code, name or names.get(code, code), own, cell, f"Importerad: {row['source_file']}",
                       status, note)


def _area_order(row: ComparedRow) -> tuple:
    return (row.code != NATIONAL, not is_region(row.code), swedish_sort_key(row.name), row.source)


def comparisons(pub: Publication, imported: pd.DataFrame | None, own: Collection[str] | None = None,
                areas: Collection[str] | None = None) -> list[Comparison]:
    """For each published indicator, each KPI of it with imported totals (gender T) and each of
    the publication's years they cover, newest year first: the own figures of the municipalities
    `own` (all of the publication's when None) beside the imported values of the same areas, then
    Riket, the regions and the other imported areas (those in `areas` only, when given). None
    without imported values."""
    if imported is None or imported.empty:
        return []
    names = kolada_names()
    shown = [c for c in pub.municipalities if own is None or c in own]
    totals: dict[tuple[str, str], list[dict]] = {}
    for row in imported[imported.gender == GENDERS[None]].to_dict("records"):
        totals.setdefault((row["kpi"], str(row["period"])), []).append(row)
    found = []
    for definition in pub.definitions:
        for target in _targets(definition):
            years = sorted((y for k, y in totals if k == target.kpi and y in pub.years), reverse=True)
            for year in years:
                by_code = {r["municipality"]: r for r in totals[target.kpi, year]}
                rows = []
                for code in shown:
                    published = pub.row(definition, code, year, category=target.category)
                    own_cell = value_cell(definition, published, against_target=False)
                    if code in by_code:
                        rows.append(_imported_row(by_code.pop(code), target.unit, names, own_cell, pub.name(code)))
                    elif published is not None:
                        rows.append(ComparedRow(code, pub.name(code), own_cell, None))
                others = sorted((_imported_row(r, target.unit, names) for code, r in by_code.items()
                                 if areas is None or code == NATIONAL or is_region(code) or code in areas),
                                key=_area_order)
                found.append(Comparison(definition, year, target.kpi, target.title, target.difference,
                                        target.related, target.unit, rows + others, target.category))
    return found


def newest(found: list[Comparison]) -> list[Comparison]:
    """Each indicator's and KPI's newest compared year (comparisons come newest year first)."""
    kept: dict[tuple[str, str], Comparison] = {}
    for comparison in found:
        kept.setdefault((comparison.definition.id, comparison.kpi), comparison)
    return list(kept.values())


STATUS_LEGEND = (
    f"Koladas värden visas som Kolada publicerar dem: {HIDDEN} = sekretess hos Kolada (status Privacy: "
    "underlaget är för litet) eller en dold uppgift i en annan Insyns export; – = värdet saknas, med "
    "skälet i kolumnen Anmärkning (Missing: saknas hos Kolada; Not applicable: ej tillämpligt). "
    "Värden som Kolada har tagit bort (raderade) läses inte in.")
