"""Read SCB's population table as a municipality downloads it into canonical `populations` rows.

The table is Statistikdatabasen BE0101N1, "Folkmängden efter region, civilstånd, ålder och kön.
År" (PxWeb API v1 table BE0101A/BefolkningNy, ContentsCode BE0101N1; API v2 table TAB638). A
municipality gets it in one of three shapes, and each is read here to the same rows:

* CSV, as PxWeb writes it (PCAxis.Core ``CsvFileSerializer``): "med rubrik" puts the quoted table
  title and a blank line before the header; the header is the stub variables ("region",
  "civilstånd", "ålder", "kön") followed by the heading variables' values joined by a space
  (``"Folkmängd 2023"``, or ``"2023"`` when only the year is in the heading); values are
  unquoted. The long layout (``Csv2FileSerializer``: everything in the stub) has an "år" column
  and one value column; the code layout (``Csv3FileSerializer``) uses codes ("Region", "0884",
  "100+", "tot"). Comma, semicolon or tab; UTF-8 or Windows-1252 (PxWeb writes the PX file's
  CODEPAGE, iso-8859-1 at SCB).
* PX (PC-Axis): STUB/HEADING, VALUES and CODES per variable, DATA in row-major order.
* JSON-stat: version 1 from the PxWeb API v1 (``"format": "json-stat"``, a bundle
  ``{"dataset": {...}}``) and 2.0 from the v2 API (``outputFormat=json-stat2``); read with
  pyjstat. Dimensions Region, Civilstand, Alder, Kon, ContentsCode, Tid.

Whatever the shape: only four-digit municipality codes are kept (Riket "00" and the counties'
two-digit codes are dropped); sex and civil status are summed over their parts and a "totalt"
value of either is used only when its parts are absent, so nothing is counted twice; single ages
give age_from = age_to, "100+" gives 100–150, and a total-age row is dropped when there are ages
to sum (kept as 0–150 when it is all there is). Only the content "Folkmängd" is read
("Folkökning", the other content of the table, is skipped). SCB writes ".." for a missing value;
that is an error naming the cell, never a zero. So is a selection that would undercount or count
twice: one sex or some civil statuses only, the same cell twice, or overlapping ages (single
years and age groups in one file).

PX is parsed here, for the few keywords needed (STUB, HEADING, VALUES, CODES, VARIABLECODE,
CODEPAGE, DATA; other languages' ``[xx]`` variants are skipped). pyaxis 0.4.3 was weighed and
not used: it calls logging.basicConfig on import and prints to stdout for a multilingual file,
needs the caller to name the encoding rather than reading CODEPAGE, unpacks ``split("DATA=")`` into
two parts (a note that mentions "DATA=" breaks it), and turns "." into "" and ".." into NaN.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import warnings
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from insyn.errors import InputError
from insyn.scrub import scrub

COLUMNS = ("municipality", "year", "age_from", "age_to", "population")
OPEN_AGE_TO = 150  # "100+ år" is 100–150, as the canonical table's widest band
HEAD_BYTES = 65536  # what the sniffer reads

# Variable names and codes as SCB writes them in Swedish and English downloads.
_DIMENSION_NAMES = {
    "region": "region",
    "civilstånd": "civil", "civilstand": "civil", "marital status": "civil", "marital_status": "civil",
    "ålder": "age", "alder": "age", "age": "age",
    "kön": "sex", "kon": "sex", "sex": "sex",
    "tabellinnehåll": "contents", "contentscode": "contents", "table contents": "contents",
    "observations": "contents",
    "år": "year", "tid": "year", "year": "year",
}
_ROLE_WORDS = {"region": "region", "civil": "civilstånd", "age": "ålder", "sex": "kön",
               "contents": "tabellinnehåll", "year": "år"}

_POPULATION = "population"
_OTHER_CONTENT = "other"
# ContentsCode and labels: BE0101N1/Folkmängd (TAB638), 000007ME (TAB5557, 2025 on); the
# table's other content is Folkökning (BE0101N2, 000007MG).
_CONTENTS = {
    "be0101n1": _POPULATION, "000007me": _POPULATION, "folkmängd": _POPULATION,
    "folkmängden": _POPULATION, "population": _POPULATION,
    "be0101n2": _OTHER_CONTENT, "000007mg": _OTHER_CONTENT, "folkökning": _OTHER_CONTENT,
    "folkökningen": _OTHER_CONTENT, "population growth": _OTHER_CONTENT,
    "population increase": _OTHER_CONTENT,
}
_TOTAL = "total"
_SEXES = {"1": "men", "män": "men", "man": "men", "men": "men", "male": "men", "males": "men",
          "2": "women", "kvinnor": "women", "kvinna": "women", "women": "women",
          "female": "women", "females": "women"}
_SEX_LABEL = {"men": "män", "women": "kvinnor"}
_CIVIL = {"og": "og", "ogifta": "og", "ogift": "og", "single": "og", "unmarried": "og",
          "g": "g", "gifta": "g", "gift": "g", "married": "g",
          "sk": "sk", "skilda": "sk", "skild": "sk", "divorced": "sk",
          "änkl": "ankl", "änkor/änklingar": "ankl", "änka/änkling": "ankl", "änkor": "ankl",
          "widowers/widows": "ankl", "widows/widowers": "ankl", "widowed": "ankl"}
_CIVIL_LABEL = {"og": "ogifta", "g": "gifta", "sk": "skilda", "ankl": "änkor/änklingar"}

_AGE_UNIT = r"(?:år|years?|yrs?)?"
_AGE_SINGLE = re.compile(rf"^(\d{{1,3}})\s*{_AGE_UNIT}$")
_AGE_OPEN = re.compile(rf"^(\d{{1,3}})\s*\+\s*\d*\s*{_AGE_UNIT}$")  # "100+ år", "100+", TAB5557's "100+1"
_AGE_RANGE = re.compile(rf"^(\d{{1,3}})?\s*[-–]\s*(\d{{1,3}})\s*{_AGE_UNIT}$")  # "0-4 år", TAB5557's "-4"
_REGION = re.compile(r"^(\d+)(?:\s+(.*))?$")
_YEAR = re.compile(r"^(1[89]\d\d|20\d\d)$")
_HEADING_YEAR = re.compile(r"^(.*?)\s*\b(1[89]\d\d|20\d\d)$")
_MISSING = {".", "..", "...", "....", ".....", "......", "…"}


# Describes a cell for a message: its position among the cells and, for a problem with one
# dimension's value, that dimension (so a CSV message names the column that holds it).
_Where = Callable[..., str]


class ScbFileError(InputError):
    """A file that cannot be read as SCB's population table; the message is Swedish and names the
    file (by name only) and, where there is one, the cell."""


def is_scb_population(path: Path | str) -> bool:
    """Whether the file looks like a download of SCB's population table (reads its head only)."""
    try:
        with Path(path).open("rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError:
        return False
    return _sniff(head) is not None


def read_scb_population(path: Path | str) -> pd.DataFrame:
    """The file as canonical `populations` rows: municipality, year, age_from, age_to, population."""
    path = Path(path)
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScbFileError(f"{name}: filen kan inte läsas ({type(exc).__name__})") from None
    kind = _sniff(raw[:HEAD_BYTES])
    if kind is None:
        raise ScbFileError(
            f"{name}: filen ser inte ut som SCB:s tabell Folkmängden efter region, civilstånd, ålder "
            "och kön (BE0101N1). Hämta den från Statistikdatabasen som CSV, PX eller JSON-stat med "
            "variablerna region och ålder.")
    reader = {"csv": _read_csv, "px": _read_px, "json": _read_jsonstat}[kind]
    cells, where = reader(raw, name)
    return _populations(cells, name, where)


# --- sniffing ------------------------------------------------------------------------------------

def _sniff(head: bytes) -> str | None:
    text = _decode_head(head).lstrip("\ufeff \t\r\n")
    if not text:
        return None
    if text.startswith("{"):
        return "json" if _looks_like_jsonstat(text) else None
    if re.match(r"[A-Za-z][A-Za-z0-9-]*(\[[^\]]*\])?(\([^)]*\))?\s*=", text):
        return "px" if _looks_like_px(text) else None
    return "csv" if _csv_header(text.splitlines()) is not None else None


def _decode_head(head: bytes) -> str:
    try:  # an incremental decoder does not fail on a character cut at the head's end
        return codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        return head.decode("cp1252", errors="replace")


def _looks_like_jsonstat(text: str) -> bool:
    lowered = text.lower()
    has_age = any(k in lowered for k in ('"alder"', '"ålder"', '"\\u00e5lder"', '"age"'))
    return '"dimension"' in lowered and '"region"' in lowered and has_age


def _looks_like_px(text: str) -> bool:
    names: list[str] = []
    for m in re.finditer(r"(?m)^(?:STUB|HEADING)\s*=([^;]*);", text):
        names += re.findall(r'"([^"]*)"', m.group(1))
    roles = {_role(n) for n in names}
    return "region" in roles and "age" in roles


def _role(name: str) -> str | None:
    return _DIMENSION_NAMES.get(name.strip().lower())


# --- CSV -----------------------------------------------------------------------------------------

def _read_csv(raw: bytes, name: str):
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # PxWeb writes the PX file's code page (iso-8859-1 at SCB); Swedish Excel writes Windows-1252.
        text = raw.decode("cp1252", errors="replace")
    lines = text.splitlines()
    found = _csv_header(lines)
    if found is None:
        raise ScbFileError(f"{name}: hittar ingen rubrikrad med kolumnerna region och ålder")
    header_index, delimiter, header = found
    width = len(header)

    dimension_columns: dict[str, int] = {}
    value_columns: list[tuple[int, dict[str, str]]] = []
    untitled: list[int] = []  # Excel leaves an empty column after a trailing delimiter
    for j, title in enumerate(header):
        if not title:
            untitled.append(j)
            continue
        role = _role(title)
        if role is not None:
            if role in dimension_columns:
                raise ScbFileError(f'{name}: rad {header_index + 1}: kolumnen "{_role_word(role)}" '
                                   "förekommer två gånger")
            dimension_columns[role] = j
            continue
        fixed = _parse_heading(title)
        if fixed is None:
            raise ScbFileError(scrub(
                f'{name}: rad {header_index + 1}, kolumn {j + 1} ("{title}"): kolumnrubriken känns inte '
                'igen (väntat t.ex. "2023" eller "Folkmängd 2023")'))
        value_columns.append((j, fixed))
    if not value_columns:
        raise ScbFileError(f"{name}: rad {header_index + 1}: rubrikraden saknar kolumner med antal")
    for j, fixed in value_columns:
        both = set(fixed) & set(dimension_columns)
        if both:
            raise ScbFileError(f'{name}: rad {header_index + 1}, kolumn {j + 1} ("{header[j]}"): '
                               f'{_role_word(both.pop())} står både i en egen kolumn och i kolumnrubriken')
        if "year" not in fixed and "year" not in dimension_columns:
            raise ScbFileError(f'{name}: rad {header_index + 1}, kolumn {j + 1} ("{header[j]}"): '
                               "kolumnen säger inte vilket år den gäller")

    rows: list[list[str]] = []
    row_numbers: list[int] = []
    footer_from: int | None = None
    reader = csv.reader(lines[header_index + 1:], delimiter=delimiter)
    first_line = header_index + 2  # as a spreadsheet shows it: the file's first line is 1
    for k, fields in enumerate(reader):
        if not "".join(fields).strip():  # a blank line, or only delimiters
            continue
        if len(fields) == width and footer_from is None:
            rows.append(fields)
            row_numbers.append(first_line + k)
            continue
        if len(fields) == 1 and rows:
            # A note after the table (a source line, a footnote) ends it.
            footer_from = footer_from or first_line + k
            continue
        raise ScbFileError(f"{name}: rad {first_line + k}: raden har {len(fields)} fält men rubrikraden "
                           f"(rad {header_index + 1}) har {width}")
    if not rows:
        raise ScbFileError(f"{name}: filen har en rubrikrad men inga rader med antal")

    # Cells keep their spaces: every classifier and the count parser strip what they read.
    table = pd.DataFrame(rows, columns=range(width), dtype=object)
    for j in untitled:
        filled = table[j].str.strip() != ""
        if filled.any():
            raise ScbFileError(f"{name}: rad {row_numbers[int(np.argmax(filled))]}, kolumn {j + 1}: "
                               "kolumnen har värden men ingen rubrik")
    line = np.asarray(row_numbers, dtype=np.int64)
    parts = []
    for j, fixed in value_columns:
        part = pd.DataFrame({role: table[col] for role, col in dimension_columns.items()})
        for role, value in fixed.items():
            part[role] = value
        part["value"] = table[j]
        part["_row"] = line
        part["_col"] = j
        parts.append(part)
    cells = pd.concat(parts, ignore_index=True)
    row_of, col_of = cells.pop("_row").to_numpy(), cells.pop("_col").to_numpy()

    def where(pos: int, role: str | None = None) -> str:
        """The cell: a dimension's own column when the problem is its value, else the count's."""
        j = dimension_columns.get(role, int(col_of[pos])) if role else int(col_of[pos])
        return f'rad {int(row_of[pos])}, kolumn {j + 1} ("{header[j]}")'

    return cells, where


def _csv_header(lines: list[str]) -> tuple[int, str, list[str]] | None:
    """The header line (index, delimiter, stripped titles): the first of the first lines with a
    region and an age column; what comes before it is PxWeb's title and blank lines."""
    for i, line in enumerate(lines[:50]):
        if not line.strip():
            continue
        delimiter = _sniff_delimiter(line)
        try:
            fields = next(csv.reader([line], delimiter=delimiter))
        except (csv.Error, StopIteration):
            continue
        titles = [f.strip() for f in fields]
        roles = {_role(t) for t in titles}
        if len(titles) > 1 and "region" in roles and "age" in roles:
            return i, delimiter, titles
    return None


def _sniff_delimiter(line: str) -> str:
    outside = re.sub(r'"[^"]*"', "", line)  # a delimiter inside quotes does not count
    return max([",", ";", "\t"], key=outside.count)


def _parse_heading(title: str) -> dict[str, str] | None:
    """What a value column's title fixes: PxWeb joins the heading variables' values with a space,
    so "Folkmängd 2023" is content and year, "2023" the year alone, "Folkmängd" (long layout) the
    content; a sex or civil status in the heading ("män 2023") is taken too."""
    fixed: dict[str, str] = {}
    rest = title.strip()
    m = _HEADING_YEAR.match(rest)
    if m:
        rest, fixed["year"] = m.group(1).strip(), m.group(2)
    lowered = rest.lower()
    table_id = re.fullmatch(r"tab\d+", lowered) is not None  # the code layout names it by table id
    if table_id:
        rest = ""
    for label in sorted(_CONTENTS, key=len, reverse=True):
        if lowered == label or lowered.startswith(label + " "):
            fixed["contents"] = rest[:len(label)]
            rest = rest[len(label):].strip()
            break
    if rest:
        if _sex_class(rest) is not None:
            fixed["sex"] = rest
        elif _civil_class(rest) is not None:
            fixed["civil"] = rest
        else:
            return None
    return fixed if fixed or table_id else None


# --- PX ------------------------------------------------------------------------------------------

_PX_KEY = re.compile(r'([A-Za-z][A-Za-z0-9-]*)(?:\[([^\]]*)\])?\s*(?:\(((?:"[^"]*"|[^)"])*)\))?\s*=')


def _read_px(raw: bytes, name: str):
    text = _decode_px(raw, name)
    entries, data = _px_parse(text, name)
    meta: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for keyword, lang, sub, value in entries:
        if lang:  # another language's variant; the file's own language is the one without [..]
            continue
        meta.setdefault((keyword, sub), _px_values(value))
    if any(keyword == "KEYS" for keyword, _ in meta):
        raise ScbFileError(f"{name}: PX-filer med KEYS (glesa data) stöds inte; hämta tabellen utan KEYS")
    variables = meta.get(("STUB", ()), []) + meta.get(("HEADING", ()), [])
    if not variables:
        raise ScbFileError(f"{name}: PX-filen saknar STUB och HEADING")

    roles: list[str] = []
    codes: list[list[str]] = []
    labels: list[list[str]] = []
    for var in variables:
        role = _role(var) or _role(meta.get(("VARIABLECODE", (var,)), [""])[0])
        if role is None:
            raise ScbFileError(f'{name}: PX-filens variabel "{var}" känns inte igen (väntat region, '
                               "civilstånd, ålder, kön, tabellinnehåll och år)")
        if role in roles:
            raise ScbFileError(f'{name}: PX-filen har två variabler för {_role_word(role)}')
        values = meta.get(("VALUES", (var,)))
        if not values:
            raise ScbFileError(f'{name}: PX-filen saknar VALUES("{var}")')
        var_codes = meta.get(("CODES", (var,)))
        if var_codes is not None and len(var_codes) != len(values):
            raise ScbFileError(f'{name}: PX-filens CODES("{var}") och VALUES("{var}") är olika många')
        roles.append(role)
        labels.append(values)
        codes.append(var_codes or values)

    sizes = [len(v) for v in codes]
    expected = int(np.prod(sizes))
    if len(data) != expected:
        raise ScbFileError(f"{name}: PX-filens DATA har {len(data)} värden, men variablerna ger {expected}")
    strides = [int(np.prod(sizes[k + 1:])) for k in range(len(sizes))]
    positions = np.arange(expected)
    cells = pd.DataFrame({
        role: np.asarray(var_codes, dtype=object)[(positions // stride) % size]
        for role, var_codes, stride, size in zip(roles, codes, strides, sizes, strict=True)
    })
    cells["value"] = np.asarray(data, dtype=object)

    def where(pos: int, role: str | None = None) -> str:
        described = ", ".join(f"{var} {labels[k][(pos // strides[k]) % sizes[k]]}"
                              for k, var in enumerate(variables))
        return f"DATA-värde nr {pos + 1} ({described})"

    return cells, where


def _decode_px(raw: bytes, name: str) -> str:
    if raw.startswith(codecs.BOM_UTF8):
        return raw.decode("utf-8-sig", errors="replace")
    m = re.search(rb'CODEPAGE\s*=\s*"([^"]+)"', raw[:HEAD_BYTES])
    if m:
        declared = m.group(1).decode("ascii", errors="replace").strip()
        try:
            codec = codecs.lookup(declared)
        except LookupError:
            raise ScbFileError(f'{name}: PX-filens CODEPAGE "{declared}" är okänd') from None
        if codec.name in ("iso8859-1", "latin-1"):
            codec = codecs.lookup("cp1252")  # a superset for every printable character
        return raw.decode(codec.name, errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")  # CHARSET="ANSI" without a CODEPAGE


def _px_parse(text: str, name: str) -> tuple[list[tuple[str, str | None, tuple[str, ...], str]], list[str]]:
    """The keyword entries before DATA (keyword, language, subkeys, raw value) and DATA's values."""
    entries: list[tuple[str, str | None, tuple[str, ...], str]] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t\r\n\ufeff":
            i += 1
        if i >= n:
            raise ScbFileError(f"{name}: PX-filen saknar DATA")
        m = _PX_KEY.match(text, i)
        if not m:
            line = text.count("\n", 0, i) + 1
            raise ScbFileError(f"{name}: rad {line}: PX-filen kan inte tolkas (väntat NYCKELORD=värde;)")
        keyword = m.group(1).upper()
        end = _px_statement_end(text, m.end())
        if end is None:
            line = text.count("\n", 0, i) + 1
            raise ScbFileError(f"{name}: rad {line}: {keyword} saknar avslutande semikolon")
        value = text[m.end():end]
        if keyword == "DATA":
            data = [t[1:-1] if t.startswith('"') else t
                    for t in re.findall(r'"[^"]*"|[^\s,"]+', value)]
            return entries, data
        sub = tuple(re.findall(r'"([^"]*)"', m.group(3))) if m.group(3) else ()
        entries.append((keyword, m.group(2), sub, value))
        i = end + 1


def _px_statement_end(text: str, start: int) -> int | None:
    quoted = False
    for j in range(start, len(text)):
        c = text[j]
        if c == '"':
            quoted = not quoted
        elif c == ";" and not quoted:
            return j
    return None


def _px_values(value: str) -> list[str]:
    """A keyword's list: items split by commas outside quotes and parentheses; an item's adjacent
    quoted strings are one string (PX wraps long texts as "abc"<newline>"def")."""
    items, depth, quoted, start = [], 0, False, 0
    for j, c in enumerate(value):
        if c == '"':
            quoted = not quoted
        elif not quoted and c == "(":
            depth += 1
        elif not quoted and c == ")":
            depth -= 1
        elif not quoted and depth == 0 and c == ",":
            items.append(value[start:j])
            start = j + 1
    items.append(value[start:])
    out = []
    for item in items:
        item = item.strip()
        strings = re.findall(r'"([^"]*)"', item)
        out.append("".join(strings) if strings and item.startswith('"') else item)
    return out


# --- JSON-stat -----------------------------------------------------------------------------------

def _read_jsonstat(raw: bytes, name: str):
    from pyjstat import pyjstat

    try:
        document = json.loads(raw.decode("utf-8-sig"), object_pairs_hook=OrderedDict)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScbFileError(f"{name}: filen är inte giltig JSON ({type(exc).__name__})") from None
    if not isinstance(document, dict):
        raise ScbFileError(f"{name}: filen är inte JSON-stat")
    if document.get("class") == "dataset" and "id" in document:  # JSON-stat 2.0 (PxWeb API v2)
        dataset = document
        ids, sizes = list(dataset["id"]), list(dataset.get("size", []))
    elif isinstance(document.get("dataset"), dict) and "dimension" in document["dataset"]:
        dataset = document["dataset"]  # JSON-stat 1 bundle (PxWeb API v1, "format": "json-stat")
        ids, sizes = list(dataset["dimension"].get("id", [])), list(dataset["dimension"].get("size", []))
    elif document.get("class") == "collection":
        raise ScbFileError(f"{name}: en JSON-stat-samling stöds inte; hämta en enda tabell")
    else:
        raise ScbFileError(f"{name}: filen är inte JSON-stat (varken version 1 eller 2.0)")
    if not ids or len(ids) != len(sizes):
        raise ScbFileError(f"{name}: JSON-stat-filen saknar dimensionernas id och size")

    dimensions = dataset["dimension"]
    roles = []
    for dim in ids:
        label = dimensions.get(dim, {}).get("label", "") if isinstance(dimensions.get(dim), dict) else ""
        role = _role(dim) or _role(str(label))
        if role is None:
            raise ScbFileError(f'{name}: JSON-stat-dimensionen "{dim}" känns inte igen (väntat Region, '
                               "Civilstand, Alder, Kon, ContentsCode och Tid)")
        if role in roles:
            raise ScbFileError(f"{name}: JSON-stat-filen har två dimensioner för {_role_word(role)}")
        roles.append(role)

    with warnings.catch_warnings():
        # pyjstat's own Dataset.write() goes through its deprecated from_json_stat().
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            frame = pyjstat.Dataset.read(document).write("dataframe", naming="id")
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise ScbFileError(f"{name}: JSON-stat-filen kan inte läsas ({type(exc).__name__})") from None
    expected = int(np.prod(sizes))
    if len(frame) != expected:
        raise ScbFileError(f"{name}: JSON-stat-filen har {len(frame)} värden, men dimensionerna ger {expected}")
    cells = pd.DataFrame({role: frame[dim].astype(str).to_numpy(dtype=object)
                          for dim, role in zip(ids, roles, strict=True)})
    cells["value"] = frame["value"].to_numpy(dtype=object)
    status = dataset.get("status")
    described_dims = frame[ids].astype(str).to_numpy(dtype=object)

    def where(pos: int, role: str | None = None) -> str:
        described = ", ".join(f"{dim} {code}" for dim, code in zip(ids, described_dims[pos], strict=True))
        symbol = _status_at(status, pos)
        return f"värde nr {pos + 1} ({described})" + (f' med status "{symbol}"' if symbol else "")

    return cells, where


def _status_at(status, pos: int) -> str | None:
    if isinstance(status, dict):
        return status.get(str(pos))
    if isinstance(status, list):
        return status[pos] if len(status) > pos else (status[0] if len(status) == 1 else None)
    if isinstance(status, str):
        return status
    return None


# --- from cells to populations -------------------------------------------------------------------

def _populations(cells: pd.DataFrame, name: str, where: _Where) -> pd.DataFrame:
    """Cells (one column per dimension present, values as text or numbers, positions 0..n-1 that
    `where` describes) to the canonical rows."""
    cells = cells.reset_index(drop=True)
    if "region" not in cells:
        raise ScbFileError(f"{name}: filen saknar region (välj kommunerna när tabellen hämtas)")
    if "age" not in cells:
        raise ScbFileError(f"{name}: filen saknar ålder (välj åldrarna när tabellen hämtas)")
    if "year" not in cells:
        raise ScbFileError(f"{name}: filen saknar år")
    keep = pd.Series(True, index=cells.index)

    if "contents" in cells:
        contents = _classify(cells["contents"], _contents_class, name, where,
                             'tabellinnehållet "{v}" känns inte igen (väntat "Folkmängd")')
        keep &= contents == _POPULATION
        if not keep.any():
            raise ScbFileError(f"{name}: filen saknar tabellinnehållet Folkmängd")

    municipality = _classify(cells["region"], _region_code, name, where,
                             'regionen "{v}" är varken en kommun (fyrsiffrig kod), ett län eller riket')
    keep &= municipality.str.len() == 4
    if not keep.any():
        raise ScbFileError(f"{name}: filen har ingen kommun, bara riket eller län")

    ages = _classify(cells["age"], _age_band, name, where,
                     'åldern "{v}" känns inte igen (väntat t.ex. "17 år", "100+ år" eller "totalt ålder")')
    is_total_age = ages.map(lambda band: band == _TOTAL, na_action=None).astype(bool)
    if (keep & ~is_total_age).any():
        keep &= ~is_total_age  # the sum of the ages is the total; both would count everyone twice
    else:  # the total is all there is: everyone, 0–150
        ages = pd.Series([(0, OPEN_AGE_TO)] * len(ages), index=ages.index, dtype=object)

    sex_kept, sex = _parts_or_total(cells, "sex", _sex_class, keep, name, where, _SEX_LABEL,
                                    'könet "{v}" känns inte igen (väntat "män", "kvinnor" eller "totalt")')
    keep &= sex_kept
    civil_kept, civil = _parts_or_total(cells, "civil", _civil_class, keep, name, where, _CIVIL_LABEL,
                            'civilståndet "{v}" känns inte igen (väntat "ogifta", "gifta", "skilda", '
                            '"änkor/änklingar" eller "totalt")')
    keep &= civil_kept

    years = _classify(cells["year"], _year, name, where, 'året "{v}" är inte ett årtal')

    used = cells.index[keep]
    key = pd.DataFrame({
        "municipality": municipality[used],
        "year": years[used],
        "age": ages[used],
        "sex": sex[used],
        "civil": civil[used],
    })
    duplicated = key.duplicated(keep=False)
    if duplicated.any():
        first, second = key.index[duplicated][:2]
        raise ScbFileError(scrub(f"{name}: {where(int(second))}: samma kommun, år, ålder, kön och civilstånd "
                                 f"förekommer redan ({where(int(first))}); de skulle räknas två gånger"))

    population = _counts(cells["value"][used], name, where)
    bands = key["age"].tolist()
    out = pd.DataFrame({
        "municipality": key["municipality"].astype(str).to_numpy(),
        "year": key["year"].astype("int64").to_numpy(),
        "age_from": np.fromiter((b[0] for b in bands), dtype=np.int64, count=len(bands)),
        "age_to": np.fromiter((b[1] for b in bands), dtype=np.int64, count=len(bands)),
        "population": population,
    })
    out = (out.groupby(["municipality", "year", "age_from", "age_to"], as_index=False, sort=True)["population"]
           .sum())
    _check_no_overlap(out, name)
    out = out.astype({"year": "int64", "age_from": "int64", "age_to": "int64", "population": "int64"})
    return out[list(COLUMNS)].reset_index(drop=True)


def _classify(values: pd.Series, classify: Callable[[str], object], name: str,
              where: _Where, message: str) -> pd.Series:
    """Each distinct value of one dimension (the series' name) classified once; an unknown one is an
    error at its first cell."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    classes = np.empty(len(uniques), dtype=object)
    for k, v in enumerate(uniques):
        result = classify(str(v))
        if result is None:
            pos = int(values.index[int(np.argmax(codes == k))])
            raise ScbFileError(scrub(f"{name}: {where(pos, values.name)}: " + message.format(v=v)))
        classes[k] = result
    return pd.Series(classes[codes], index=values.index, dtype=object)


def _parts_or_total(cells: pd.DataFrame, role: str, classify, keep: pd.Series, name: str,
                    where: _Where, part_labels: dict[str, str],
                    message: str) -> tuple[pd.Series, pd.Series]:
    """Which rows to keep for sex or civil status, and each row's class: its parts when the file
    has them (all of them, or the sum would be a part of the population), else its total."""
    if role not in cells:
        return pd.Series(True, index=cells.index), pd.Series("", index=cells.index, dtype=object)
    classes = _classify(cells[role], classify, name, where, message)
    present = set(classes[keep].unique())
    parts = present - {_TOTAL}
    if not parts:
        return classes == _TOTAL, classes
    missing = [label for part, label in part_labels.items() if part not in parts]
    if missing:
        has = ", ".join(part_labels[p] for p in part_labels if p in parts)
        raise ScbFileError(
            f"{name}: filen har {_role_word(role)} {has} men saknar {', '.join(missing)}; välj alla "
            f"värden för {_role_word(role)} när tabellen hämtas (eller inget, så summerar SCB)")
    return classes != _TOTAL, classes


def _counts(values: pd.Series, name: str, where: _Where) -> np.ndarray:
    """Whole, non-negative counts; a missing value ("..") or anything else is an error at its cell."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        good = np.isfinite(numbers) & (numbers >= 0) & (np.mod(numbers, 1) == 0)
    out = np.zeros(len(values), dtype=np.int64)
    out[good] = numbers[good].astype(np.int64)
    for k in np.flatnonzero(~good):  # the slow path: "1 234", or an error to report
        pos, v = values.index[k], values.iloc[k]
        count = _count(v)
        if count is None:
            absent = v is None or (isinstance(v, float) and np.isnan(v))
            text = "" if absent else str(v).strip()
            if absent or text in _MISSING or text == "":
                shown = "null" if absent else (text or "tom")
                raise ScbFileError(scrub(
                    f'{name}: {where(int(pos))}: värdet saknas ("{shown}"). SCB skriver ".." när en uppgift '
                    "saknas; en folkmängd kan inte läsas in utan den. Hämta tabellen på nytt eller välj "
                    "bort cellen."))
            raise ScbFileError(scrub(f'{name}: {where(int(pos))}: "{text}" är inte ett antal personer'))
        out[k] = count
    return out


def _count(v) -> int | None:
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return None
    if isinstance(v, (int, np.integer)):
        return int(v) if v >= 0 else None
    if isinstance(v, (float, np.floating)):
        return int(v) if np.isfinite(v) and float(v).is_integer() and v >= 0 else None
    text = re.sub(r"[\s\u00a0\u202f]", "", str(v))  # a thousands space is not part of the number
    return int(text) if text.isascii() and text.isdigit() else None


def _check_no_overlap(out: pd.DataFrame, name: str) -> None:
    previous = out.groupby(["municipality", "year"])["age_to"].shift()
    overlap = out["age_from"] <= previous
    if overlap.any():
        row = out[overlap].iloc[0]
        raise ScbFileError(
            f"{name}: åldrarna överlappar för kommun {row['municipality']} år {row['year']} (vid "
            f"{row['age_from']} år); filen har både ettårsklasser och grupper eller totaler som täcker "
            "samma ålder")


# --- value classes -------------------------------------------------------------------------------

def _is_total(text: str) -> bool:
    t = text.strip().lower()
    return t.startswith(("tot", "samtliga", "summa")) or t in ("sc", "1+2", "män och kvinnor")


def _contents_class(text: str) -> str | None:
    return _CONTENTS.get(text.strip().lower())


def _region_code(text: str) -> str | None:
    """The region's code: "0884 Vimmerby" and "0884" give "0884", "00 Riket" gives "00"; a label
    without a code is looked up among the municipalities' names."""
    t = text.strip()
    m = _REGION.match(t)
    if m:
        code = m.group(1)
        return code if len(code) in (2, 4) else None
    lowered = t.lower()
    if lowered in ("riket", "sverige", "sweden", "hela riket") or lowered.endswith((" län", " county")):
        return "00"
    return _municipality_by_name().get(lowered)


def _municipality_by_name() -> dict[str, str]:
    from insyn.model.municipalities import municipalities

    df = municipalities()
    return {str(n).lower(): str(c) for n, c in zip(df["municipality"], df["municipality_code"], strict=True)}


def _age_band(text: str) -> tuple[int, int] | str | None:
    t = text.strip().lower()
    if _is_total(t):
        return _TOTAL
    if m := _AGE_SINGLE.match(t):
        age = int(m.group(1))
        return (age, age) if age <= OPEN_AGE_TO else None
    if m := _AGE_OPEN.match(t):
        age = int(m.group(1))
        return (age, OPEN_AGE_TO) if age <= OPEN_AGE_TO else None
    if m := _AGE_RANGE.match(t):
        low, high = int(m.group(1) or 0), int(m.group(2))
        return (low, high) if low <= high <= OPEN_AGE_TO else None
    return None


def _sex_class(text: str) -> str | None:
    t = text.strip().lower()
    return _SEXES.get(t) or (_TOTAL if _is_total(t) else None)


def _civil_class(text: str) -> str | None:
    t = text.strip().lower()
    return _CIVIL.get(t) or (_TOTAL if _is_total(t) else None)


def _year(text: str) -> str | None:
    t = text.strip()
    return t if _YEAR.match(t) else None


def _role_word(role: str) -> str:
    return _ROLE_WORDS.get(role, role)

