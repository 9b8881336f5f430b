"""Kolada-shaped JSON (docs/kolada.md): the published figures out, other published figures in.

The shape is that of Kolada's API data (v2, kept by v3):
``{"values": [{"kpi", "municipality", "period", "values": [{"gender", "count", "status",
"value"}]}]}``. The export is made from a Publication (only ``formatting.prepare`` makes one),
never from raw results: a figure the disclosure rule hides leaves its status and no value.
Imported values (Riket, regions, peers, or another Insyn's export) are stored as published and
shown beside the municipalities' own figures.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from insyn.disclosure.status import SUPPRESSED, is_hidden
from insyn.indicators.definitions import Definition, library
from insyn.model.municipalities import municipalities
from insyn.publish.formatting import YEAR, Cell, Publication, swedish_sort_key, value_cell
from insyn.store import Store

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


def export_document(pub: Publication, municipality_codes: Collection[str] | None = None,
                    years: Collection[int] | None = None) -> dict:
    """The publication's yearly figures per municipality (total T, girls K, boys M) in Kolada's
    shape, of the given municipalities and years (all when None). A hidden figure is written with
    status ".." and value null."""
    kpis = {d.id: kolada_kpi(d) for d in pub.definitions}
    order = {d.id: i for i, d in enumerate(pub.definitions)}
    genders = list(GENDERS.values())
    grouped: dict[tuple[str, str, str], list[dict]] = {}
    for row in pub.rows.to_dict("records"):
        if _exported(row, municipality_codes, years):
            grouped.setdefault((row["indicator"], row["municipality"], row["period"]), []).append(_gender_value(row))
    keys = sorted(grouped, key=lambda key: (order[key[0]], key[1], key[2]))
    return {"values": [{"kpi": kpis[indicator], "municipality": code, "period": int(period),
                        "values": sorted(grouped[indicator, code, period], key=lambda c: genders.index(c["gender"]))}
                       for indicator, code, period in keys]}


def to_json(document: dict) -> str:
    """The document as UTF-8 JSON text; a NaN would fail rather than be written."""
    return json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


# --- import ------------------------------------------------------------------------------------

class KoladaFileError(ValueError):
    """A file that is not Kolada-shaped data. The message (Swedish) names the file and the JSON
    path of the first problem."""


_MISSING = object()  # a key the object does not have


def _described(found: object) -> str:
    """What was found instead, as the message says it: saknas, "X", 1.5, null, ett objekt."""
    if found is _MISSING:
        return "saknas"
    if isinstance(found, dict | list):
        return "är ett objekt" if isinstance(found, dict) else "är en lista"
    return f"är {json.dumps(found, ensure_ascii=False)}"


def _check(ok: bool, file: str, place: str, expected: str, found: object) -> None:
    if not ok:
        raise KoladaFileError(f"{file}: {place}: {expected} väntas, men {_described(found)}.")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _year(value: object) -> int | None:
    """Kolada's yearly period: 2024 (as the API writes it) or "2024"."""
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    return int(text) if len(text) == 4 and text.isdigit() else None


def _values(document: object, file: str) -> Iterator[dict]:
    """Every gender value of the document with its place, checked against Kolada's shape."""
    _check(isinstance(document, dict), file, "$", "ett objekt (Koladas format)", document)
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
            yield {"place": at, "kpi": entry["kpi"].strip(), "municipality": entry["municipality"].strip(),
                   "period": _year(period), "gender": gender, "value": value,
                   "count": None if count is None else int(count), "status": status or SHOWN}


def read_published_values(path: Path) -> pd.DataFrame:
    """The file's values as rows (kpi, municipality, period, gender, value, count, status).
    KoladaFileError when it cannot be read, is not JSON, is not in Kolada's shape or holds the
    same KPI, area, year and gender twice."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KoladaFileError(f"{path.name}: filen kan inte läsas ({exc.strerror}).") from exc
    except UnicodeDecodeError as exc:
        raise KoladaFileError(f"{path.name}: filen är inte UTF-8 (byte {exc.start}).") from exc
    except json.JSONDecodeError as exc:
        raise KoladaFileError(f"{path.name}: ogiltig JSON på rad {exc.lineno}, kolumn {exc.colno} "
                              f"({exc.msg}).") from exc
    rows, first_at = [], {}
    for row in _values(document, path.name):
        key = tuple(row[k] for k in KEY)
        if key in first_at:
            raise KoladaFileError(f"{path.name}: {row['place']}: samma nyckeltal, område, år och kön "
                                  f"som {first_at[key]}.")
        first_at[key] = row.pop("place")
        rows.append(row)
    return pd.DataFrame(rows, columns=VALUE_COLUMNS).astype(
        {"period": "int64", "value": "float64", "count": "Int64"})


@dataclass(frozen=True)
class ImportedFile:
    file: Path
    values: int    # gender values in the file
    replaced: int  # of them, values already stored (the same KPI, area, year and gender)


def import_published_values(store: Store, paths: Sequence[Path]) -> list[ImportedFile]:
    """Read and check every file, then store their values in one transaction, each replacing the
    stored value of the same KPI, area, year and gender: importing a file again adds nothing, and
    a later download replaces what Kolada has revised. A bad file stores nothing at all."""
    read = [(path, read_published_values(path)) for path in paths]
    imported_at = dt.datetime.now()
    imported = []
    with store.transaction() as con:
        for path, frame in read:
            con.register("incoming", frame.assign(source_file=path.name, imported_at=imported_at)[COLUMNS])
            replaced = con.execute(f"SELECT count(*) FROM published_values JOIN incoming USING ({', '.join(KEY)})"
                                   ).fetchone()[0]
            con.execute(f"DELETE FROM published_values WHERE ({', '.join(KEY)}) IN "
                        f"(SELECT {', '.join(KEY)} FROM incoming)")
            con.execute(f"INSERT INTO published_values ({', '.join(COLUMNS)}) SELECT * FROM incoming")
            con.unregister("incoming")
            imported.append(ImportedFile(path, len(frame), replaced))
    return imported


def stored_published_values(store: Store) -> pd.DataFrame:
    """Every imported value."""
    return store.raw.execute(f"SELECT {', '.join(COLUMNS)} FROM published_values").df()


# --- comparison --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ComparedFigure:
    code: str
    name: str
    cell: Cell
    source: str  # OWN_SOURCE, or the file the value was imported from


@dataclass(frozen=True)
class Comparison:
    """One indicator and year: the municipalities' own published figures, then Riket, then the
    other imported areas (regions, peers) by name."""

    definition: Definition
    year: str
    figures: list[ComparedFigure]


def kolada_names() -> dict[str, str]:
    """Kolada's municipality id -> name: municipalities, Riket and the regions (one per county)."""
    shipped = municipalities()
    counties = shipped[["county_code", "county"]].drop_duplicates()
    return {NATIONAL: "Riket", **{f"00{r.county_code}": r.county for r in counties.itertuples()},
            **dict(zip(shipped.municipality_code, shipped.municipality, strict=True))}


def _imported_figure(row: dict, unit: str, names: dict[str, str]) -> ComparedFigure:
    value = None if pd.isna(row["value"]) else float(row["value"])
    cell = Cell(value, unit, suppressed=value is None and row["status"] == HIDDEN)
    code = row["municipality"]
    return ComparedFigure(code, names.get(code, code), cell, f"Importerad: {row['source_file']}")


def comparisons(pub: Publication, imported: pd.DataFrame | None) -> list[Comparison]:
    """For each published indicator and each year with both its own published figures and
    imported totals (gender T) of its KPI, newest year first; none without imported values."""
    if imported is None or imported.empty:
        return []
    definitions = kpi_definitions()
    names = kolada_names()
    totals: dict[tuple[str, str], list[dict]] = {}
    for row in imported[imported.gender == GENDERS[None]].to_dict("records"):
        definition = definitions.get(row["kpi"])
        if definition is not None:
            totals.setdefault((definition.id, str(row["period"])), []).append(row)
    found = []
    for definition in pub.definitions:
        for year in sorted((y for i, y in totals if i == definition.id), reverse=True):
            own = [ComparedFigure(code, pub.name(code), value_cell(definition, row, against_target=False),
                                  OWN_SOURCE)
                   for code in pub.municipalities if (row := pub.row(definition, code, year))]
            if not own:
                continue
            others = sorted((_imported_figure(r, definition.unit, names) for r in totals[definition.id, year]),
                            key=lambda f: (f.code != NATIONAL, swedish_sort_key(f.name), f.source))
            found.append(Comparison(definition, year, own + others))
    return found
