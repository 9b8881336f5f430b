"""Research extracts (`insyn extract`): chosen canonical tables and columns, row by row, with
every identifier re-keyed under a key made for the extract and the quasi-identifiers
generalised until k-anonymous (insyn.disclosure.kanonymity), written with a data dictionary
and a risk report to attach to an ethics application (docs/extract.md).

Nothing is written until the whole extract is ready: the files are made in a hidden folder
beside the target and moved into place at the end.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from insyn import __version__
from insyn.disclosure.kanonymity import (
    Generalisation,
    Hierarchy,
    PersonRows,
    group_sizes,
    hierarchy_for,
    persons_in,
    protect,
    search,
)
from insyn.errors import InputError
from insyn.ingest.pseudonymise import load_or_create_key, pseudonymise
from insyn.model.tables import TABLES
from insyn.spreadsheet import neutralised_frame
from insyn.store import Store
from insyn.store.schema import stored_columns
from insyn.swedish import format_number

Progress = Callable[[str], None] | None

PERSON, CASE, STAFF = "person", "case", "staff"
# Every identifier column of the canonical tables and what it names. Case and staff ids are
# the municipality's own, so they are re-keyed together with the municipality; person keys
# are national.
IDENTIFIERS: dict[str, dict[str, str]] = {
    "events": {"person_key": PERSON, "case_id": CASE, "caseworker_id": STAFF, "intervention_id": CASE},
    "staff": {"staff_id": STAFF},
    "trainings": {"staff_id": STAFF},
    "mentorships": {"mentor_id": STAFF, "mentee_id": STAFF},
    "workload_ratings": {"staff_id": STAFF},
    "care_costs": {"person_key": PERSON, "case_id": CASE},
}
# Whom a table's rows are about: the persons counted for k-anonymity. Tables not named here
# (courses, populations) hold no personal data and are written as stored.
SUBJECTS: dict[str, tuple[str, ...]] = {
    "events": ("person_key",),
    "staff": ("staff_id",),
    "trainings": ("staff_id",),
    "mentorships": ("mentor_id", "mentee_id"),
    "workload_ratings": ("staff_id",),
    "care_costs": ("person_key",),
}
ENTITY_NAMES = {PERSON: "person", CASE: "ärende", STAFF: "anställd"}

# Columns the store derives at import: (kind, meaning).
DERIVED = {
    "person_key": ("text", "pseudonym för den person (barn eller ung) som ärendet gäller"),
    "birth_year": ("int", "personens födelseår"),
    "birth_month": ("int", "personens födelsemånad"),
    "sex": ("code", "personens juridiska kön (från personnumret)"),
    "id_kind": ("code", "slags id: personnummer, samordningsnummer, reservnummer eller tillfalligt "
                        "(kommunens tillfälliga id)"),
}
# Written only when asked for by name: with the birth year the birth month narrows a person down
# a lot, and a salary is a person's pay, for a question about pay only.
ON_REQUEST = ("birth_month", "monthly_salary")
DEFAULT_QUASI_IDENTIFIERS = ("birth_year", "birth_month", "sex", "municipality")
KIND_NAMES = {"text": "text", "code": "kod", "codes": "koder (flera, åtskilda med ;)",
              "municipality": "kommunkod", "date": "datum",
              "month": "månad (ÅÅÅÅ-MM)", "int": "heltal", "float": "decimaltal"}
FORMATS = ("csv", "parquet")
KEY_BYTES = 32
KEY_SEPARATOR = "\x1f"
EXTRACT_STEPS = 5  # read, re-key, search, write the tables, write the dictionary and report

DICTIONARY_FILE = "datakatalog.csv"
REPORT_FILES = ("riskrapport.md", "riskrapport.json")


class ExtractError(InputError):
    """Bad input to an extract (the message is Swedish); nothing has been written."""


@dataclass(frozen=True)
class Plan:
    """What an extract writes: checked against the canonical tables before anything is read."""

    columns: dict[str, tuple[str, ...]]  # table -> columns to write, in the store's order
    quasi: tuple[str, ...]
    k: int
    max_suppressed_percent: float
    fmt: str

    def quasi_of(self, table: str) -> tuple[str, ...]:
        """The quasi-identifiers among a personal table's written columns."""
        return tuple(q for q in self.quasi if q in self.columns[table]) if table in SUBJECTS else ()


def extractable_columns(table: str) -> list[str]:
    """Every stored column but the import bookkeeping (the clear personal identity number is never stored)."""
    return [name for name, _ in stored_columns(TABLES[table]) if name != "import_id"]


def kind_of(table: str, column: str) -> str:
    names = {c.name for c in TABLES[table].columns}
    return TABLES[table].column(column).kind if column in names else DERIVED[column][0]


def plan_extract(tables: Sequence[str], columns: Sequence[str] | None, quasi: Sequence[str] | None, k: int,
                 max_suppressed_percent: float, fmt: str) -> Plan:
    """Check the user's choice; `columns` are "table.column" (a chosen table none of whose
    columns is named gets all but those written only on request), `quasi` column names
    (default: birth year and month, sex and municipality where written)."""
    tables = list(dict.fromkeys(tables))
    if not tables:
        raise ExtractError("Välj minst en tabell med --tabeller.")
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise ExtractError(f"Okänd tabell: {', '.join(unknown)}. Välj bland: {', '.join(TABLES)}.")
    if k < 2:
        raise ExtractError(f"k måste vara minst 2 (angivet: {k}).")
    if not 0 <= max_suppressed_percent <= 100:
        raise ExtractError(f"Högsta bortfall måste vara mellan 0 och 100 procent (angivet: {max_suppressed_percent}).")
    if fmt not in FORMATS:
        raise ExtractError(f"Okänt format {fmt}: välj {' eller '.join(FORMATS)}.")
    chosen = _chosen_columns(tables, columns or [])
    written = {t: tuple(c for c in extractable_columns(t) if c in chosen[t]) if chosen[t]
               else tuple(c for c in extractable_columns(t) if c not in ON_REQUEST) for t in tables}
    return Plan(written, _quasi_identifiers(written, quasi), k, max_suppressed_percent, fmt)


def _chosen_columns(tables: list[str], columns: Sequence[str]) -> dict[str, set[str]]:
    chosen: dict[str, set[str]] = {t: set() for t in tables}
    for spec in columns:
        table, _, column = spec.partition(".")
        if not column:
            raise ExtractError(f"Ange kolumnen {spec} som tabell.kolumn, t.ex. events.date.")
        if table not in chosen:
            raise ExtractError(f"Kolumnen {spec} hör till tabellen {table}, som inte är vald med --tabeller.")
        if column not in extractable_columns(table):
            raise ExtractError(f"Okänd kolumn {spec}. Kolumner i {table}: {', '.join(extractable_columns(table))}.")
        chosen[table].add(column)
    return chosen


def _quasi_identifiers(written: dict[str, tuple[str, ...]], quasi: Sequence[str] | None) -> tuple[str, ...]:
    personal = {c for t, cols in written.items() if t in SUBJECTS for c in cols}
    if quasi is None:
        return tuple(q for q in DEFAULT_QUASI_IDENTIFIERS if q in personal)
    identifiers = {c for t in written for c in IDENTIFIERS.get(t, {})}
    for q in quasi:
        if q in identifiers:
            raise ExtractError(f"{q} är en identifierare och kodas om; den kan inte vara kvasiidentifierare.")
        if q not in personal:
            raise ExtractError(f"Kvasiidentifieraren {q} finns inte bland de valda kolumnerna i tabeller med "
                               f"personuppgifter ({', '.join(sorted(personal)) or 'inga'}).")
    return tuple(dict.fromkeys(quasi))


def check_destination(out_dir: Path, key_file: Path | None) -> None:
    """The extract goes to a new (or empty) folder; a reused key file must hold a key made by Insyn."""
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ExtractError(f"{out_dir} finns redan och är inte en tom katalog: välj en ny katalog för uttaget.")
    if key_file and key_file.exists() and (not key_file.is_file() or key_file.stat().st_size != KEY_BYTES):
        raise ExtractError(f"{key_file} är ingen nyckelfil från insyn extract ({KEY_BYTES} byte väntas).")


@dataclass(frozen=True)
class ExtractResult:
    out_dir: Path
    report: dict  # the risk report, as in riskrapport.json


def write(store: Store, plan: Plan, out_dir: Path, key_file: Path | None = None,
          progress: Progress = None) -> ExtractResult:
    """Write the extract to out_dir. Without `key_file` the key lives only in memory while
    this runs; with it the key is read from the file, or created there (mode 0600) and kept."""
    check_destination(out_dir, key_file)
    notify = progress or (lambda _: None)
    notify("Läser tabellerna")
    frames = {t: _read(store, t, plan) for t in plan.columns}
    notify("Kodar om identifierarna med uttagets nyckel")
    key_existed = bool(key_file and key_file.exists())
    key = load_or_create_key(key_file) if key_file else secrets.token_bytes(KEY_BYTES)
    frames = {t: _rekey(t, frame, key) for t, frame in frames.items()}
    notify(f"Söker minsta generalisering för k = {plan.k}")
    hierarchies = _hierarchies(plan)
    personal = {t: PersonRows(frame, SUBJECTS[t], plan.quasi_of(t)) for t, frame in frames.items() if t in SUBJECTS}
    generalisation = search(list(personal.values()), hierarchies, plan.k, plan.max_suppressed_percent / 100)
    protected = {t: protect(rows, hierarchies, generalisation.levels, plan.k) for t, rows in personal.items()}
    notify("Skriver tabellerna")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        summaries = []
        for table, frame in frames.items():
            written = protected.get(table, frame)
            path = staging / f"{table}.{plan.fmt}"
            _write_table(_in_order(written[list(plan.columns[table])]), path)
            summaries.append(_table_summary(table, plan, frame, written, path.name))
        notify("Skriver datakatalog och riskrapport")
        dictionary = data_dictionary(plan, hierarchies, generalisation)
        _write_table(dictionary, staging / DICTIONARY_FILE)
        report = risk_report(plan, hierarchies, generalisation, summaries, dictionary,
                             _key_handling(key_file, key_existed))
        markdown, data = REPORT_FILES
        (staging / markdown).write_text(render_markdown(report), encoding="utf-8")
        (staging / data).write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        if out_dir.exists():
            out_dir.rmdir()
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExtractResult(out_dir, report)


def _read(store: Store, table: str, plan: Plan) -> pd.DataFrame:
    """The written columns, the persons and, for re-keying, the municipality; months as ÅÅÅÅ-MM."""
    needed = [*plan.columns[table], *SUBJECTS.get(table, ())]
    if table in IDENTIFIERS:
        needed.append("municipality")
    select = ", ".join(f"strftime({c}, '%Y-%m') AS {c}" if kind_of(table, c) == "month" else c
                       for c in dict.fromkeys(needed))
    return store.raw.execute(f"SELECT {select} FROM {table}").df()


def _rekey(table: str, frame: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """Every identifier replaced by HMAC-SHA-256-128 under the extract key over
    "entity, municipality, id": the same id of the same municipality gets the same new key in
    every table, equal ids of two municipalities stay apart."""
    rekeyed = {}
    for column, entity in IDENTIFIERS.get(table, {}).items():
        if column not in frame:
            continue
        scope = "" if entity == PERSON else frame["municipality"]
        message = entity + KEY_SEPARATOR + scope + KEY_SEPARATOR + frame[column]
        distinct = message.dropna().unique()
        pseudonyms = pseudonymise(pa.array(distinct, pa.string()), key).to_pylist()
        rekeyed[column] = message.map(dict(zip(distinct, pseudonyms, strict=True))).astype("string")
    return frame.assign(**rekeyed)


def _hierarchies(plan: Plan) -> dict[str, Hierarchy]:
    """One hierarchy per quasi-identifier, by its name and kind in the first table that writes it."""
    tables = {q: next(t for t in SUBJECTS if q in plan.columns.get(t, ())) for q in plan.quasi}
    return {q: hierarchy_for(q, kind_of(table, q)) for q, table in tables.items()}


def _in_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by their written values, so that the store's order (the order of the
    municipalities' exports) does not show through."""
    return frame.sort_values(list(frame.columns), na_position="last", ignore_index=True)


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    """CSV (UTF-8, missing values empty) or Parquet, by the file's suffix; dates as dates."""
    dates = {c: frame[c].dt.date for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])}
    frame = frame.assign(**dates)
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    else:  # text that a spreadsheet would run as a formula gets an apostrophe (insyn.spreadsheet)
        table = pa.Table.from_pandas(neutralised_frame(frame), preserve_index=False)
        pa_csv.write_csv(table, path, pa_csv.WriteOptions(quoting_style="needed"))


def _table_summary(table: str, plan: Plan, read: pd.DataFrame, written: pd.DataFrame, file: str) -> dict:
    """What the risk report says of one table; persons and group sizes only where rows name persons."""
    persons, quasi = SUBJECTS.get(table, ()), plan.quasi_of(table)
    dropped = len(read) - len(written)
    summary = {"table": table, "file": file, "columns": list(plan.columns[table]), "persons_counted": list(persons),
               "quasi_identifiers": list(quasi), "rows_read": len(read), "rows_written": len(written),
               "rows_dropped": dropped,
               "rows_dropped_percent": round(100 * dropped / len(read), 1) if len(read) else 0.0,
               "persons_read": None, "persons_written": None, "persons_dropped": None, "smallest_group": None}
    if persons:
        before, after = len(persons_in(read, persons)), len(persons_in(written, persons))
        summary |= {"persons_read": before, "persons_written": after, "persons_dropped": before - after}
        if len(written):
            summary["smallest_group"] = int(group_sizes(written, quasi, persons).min())
    return summary


def _transformation(table: str, column: str, plan: Plan, hierarchies: dict[str, Hierarchy],
                    levels: dict[str, int]) -> str:
    entity = IDENTIFIERS.get(table, {}).get(column)
    if entity:
        return (f"omkodad: HMAC-SHA-256 med uttagets nyckel; samma {ENTITY_NAMES[entity]} har samma "
                "värde i alla tabeller i uttaget")
    if column in plan.quasi_of(table):
        hierarchy, level = hierarchies[column], levels[column]
        done = "generaliserad till" if level else "ej generaliserad:"
        return f"kvasiidentifierare, {done} {hierarchy.levels[level].name} (nivå {level} av {hierarchy.top})"
    return "oförändrad"


def _type(table: str, column: str, plan: Plan, levels: dict[str, int]) -> str:
    if column in IDENTIFIERS.get(table, {}):
        return "pseudonym (32 hexadecimala tecken)"
    generalised = column in plan.quasi_of(table) and levels[column] > 0
    return "text" if generalised else KIND_NAMES[kind_of(table, column)]


def _meaning(table: str, column: str) -> str:
    if column in DERIVED:
        return DERIVED[column][1]
    definition = TABLES[table].column(column)
    return f"{definition.label} (kodlista {definition.codes})" if definition.codes else definition.label


def data_dictionary(plan: Plan, hierarchies: dict[str, Hierarchy], generalisation: Generalisation) -> pd.DataFrame:
    """Every written column: its table, meaning, type and what was done to it (Swedish)."""
    levels = generalisation.levels
    rows = [{"tabell": table, "kolumn": column, "betydelse": _meaning(table, column),
             "typ": _type(table, column, plan, levels),
             "bearbetning": _transformation(table, column, plan, hierarchies, levels)}
            for table, columns in plan.columns.items() for column in columns]
    return pd.DataFrame(rows, columns=["tabell", "kolumn", "betydelse", "typ", "bearbetning"])


def _key_handling(key_file: Path | None, existed: bool) -> dict:
    if key_file is None:
        text = ("Identifierarna kodades om med en slumpmässig nyckel som skapades för detta uttag och "
                "förstördes när filerna var skrivna. Uttaget kan inte länkas till andra uttag eller "
                "till Insyns datalager.")
    elif existed:
        text = (f"Identifierarna kodades om med nyckeln i {key_file.name}, som redan fanns. Uttaget kan "
                "länkas till andra uttag med samma nyckelfil.")
    else:
        text = (f"Identifierarna kodades om med en ny slumpmässig nyckel som sparades i {key_file.name} "
                "(läsbar bara för ägaren). Senare uttag med samma nyckelfil kan länkas till detta.")
    return {"linkable": key_file is not None, "key_file": key_file.name if key_file else None,
            "key_file_created": key_file is not None and not existed, "text": text}


SEARCH_METHOD = (
    "Generaliseringen är global: varje kvasiidentifierare har samma nivå i alla tabeller i uttaget, "
    "så att tabeller som kopplas ihop via de omkodade identifierarna aldrig visar ett värde "
    "noggrannare än någon enskild tabell. Alla kombinationer av nivåer prövades i ordning efter "
    "informationsförlust (andelen av varje hierarkis höjd som används, i medeltal), och den första "
    "som tar bort högst den tillåtna andelen rader valdes. Gruppstorleken är antalet olika personer "
    "(inte rader) med samma kombination av kvasiidentifierare; rader i grupper med färre än k "
    "personer togs bort.")
REMAINING_RISKS = (
    "Kolumner som inte är kvasiidentifierare skrivs oförändrade: exakta datum och fritext (t.ex. "
    "enhetsnamn) kan tillsammans med annan kunskap peka ut en person eller avslöja en generaliserad "
    "kommun. Gör dem till kvasiidentifierare (--kvasi) eller utelämna dem om det behövs.",
    "k-anonymiteten gäller varje rad för sig. En person med flera rader (flera ärenden, flera "
    "anställningar) kan ha en ovanlig kombination av rader, och kombinationer av kvasiidentifierare "
    "från olika tabeller för samma person prövas inte.",
    "Uttag som görs med samma nyckelfil kan länkas: att vart och ett är k-anonymt betyder inte att "
    "de är det tillsammans.",
)


def risk_report(plan: Plan, hierarchies: dict[str, Hierarchy], generalisation: Generalisation, tables: list[dict],
                dictionary: pd.DataFrame, key_handling: dict) -> dict:
    """The risk report's content; riskrapport.json is this, riskrapport.md renders it."""
    return {
        "title": "Riskrapport för forskningsuttag",
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "insyn_version": __version__,
        "k": plan.k,
        "max_suppressed_percent": plan.max_suppressed_percent,
        "format": plan.fmt,
        "within_limit": generalisation.within_limit,
        "rows": generalisation.rows,
        "rows_dropped": generalisation.suppressed_rows,
        "quasi_identifiers": [
            {"column": q, "level": generalisation.levels[q], "level_name": h.levels[generalisation.levels[q]].name,
             "hierarchy": [level.name for level in h.levels]}
            for q, h in hierarchies.items()],
        "tables": tables,
        "key": key_handling,
        "method": SEARCH_METHOD,
        "remaining_risks": list(REMAINING_RISKS),
        "data_dictionary": dictionary.to_dict(orient="records"),
    }


def _cell(value) -> str:
    return "–" if value is None else str(value).replace("|", "\\|")


def _percent(value: float) -> str:
    return format_number(value, 1, thousands="")


def _markdown_table(headers: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    return lines + ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]


def render_markdown(report: dict) -> str:
    """The risk report in Swedish, to attach to an ethics application."""
    share = 100 * report["rows_dropped"] / report["rows"] if report["rows"] else 0.0
    lines = [
        f"# {report['title']}", "",
        f"Skapad {report['created']} med Insyn {report['insyn_version']}.", "",
        "## Sammanfattning", "",
        f"- Varje kombination av kvasiidentifierare i uttaget gäller minst **k = {report['k']}** personer.",
        f"- Borttagna rader: {report['rows_dropped']} av {report['rows']} ({_percent(share)} %, tillåtet "
        f"högst {_percent(report['max_suppressed_percent'])} %).",
        f"- Nyckel: {report['key']['text']}", "",
    ]
    if not report["within_limit"]:
        lines += ["**Obs:** ingen generalisering höll bortfallet inom gränsen; den som tar bort minst valdes.", ""]
    lines += ["## Kvasiidentifierare och vald generalisering", ""]
    if report["quasi_identifiers"]:
        lines += _markdown_table(["Kolumn", "Vald nivå", "Hierarki (nivå 0 till högst)"],
                                 [[q["column"], f"{q['level_name']} (nivå {q['level']})", " → ".join(q["hierarchy"])]
                                  for q in report["quasi_identifiers"]])
    else:
        lines.append("Inga kvasiidentifierare bland de valda kolumnerna.")
    lines += ["", "## Tabeller", ""]
    lines += _markdown_table(
        ["Tabell", "Fil", "Rader lästa", "Rader skrivna", "Rader borttagna", "Andel borttagna",
         "Personer borttagna", "Minsta grupp (personer)", "Kvasiidentifierare"],
        [[t["table"], t["file"], t["rows_read"], t["rows_written"], t["rows_dropped"],
          f"{_percent(t['rows_dropped_percent'])} %", t["persons_dropped"], t["smallest_group"],
          ", ".join(t["quasi_identifiers"]) or "–"] for t in report["tables"]])
    lines += ["", "Tabeller utan personuppgifter (kurser, befolkning) skrivs som de är lagrade. "
              "En person räknas som borttagen när ingen av personens rader finns kvar i tabellen.", "",
              "## Metod", "", report["method"], "",
              "## Kvarstående risker", ""]
    lines += [f"- {risk}" for risk in report["remaining_risks"]]
    lines += ["", "## Datakatalog", ""]
    lines += _markdown_table(["Tabell", "Kolumn", "Betydelse", "Typ", "Bearbetning"],
                             [list(entry.values()) for entry in report["data_dictionary"]])
    return "\n".join(lines) + "\n"
