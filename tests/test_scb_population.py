"""SCB's population table (BE0101N1 / TAB638) as a municipality downloads it: CSV in PxWeb's
variants, PX and JSON-stat 1 and 2.0 all read to the same canonical `populations` rows.

The fixtures and where their shapes and numbers come from: tests/data/scb/README.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import EVENT_COLUMNS, pnr, write_csv

from insyn.ingest.scb import ScbFileError, is_scb_population, read_scb_population

DATA = Path(__file__).parent / "data" / "scb"
FIXTURES = [
    "be0101n1_comma_title.csv",
    "be0101n1_semicolon_cp1252.csv",
    "be0101n1_long.csv",
    "be0101n1.px",
    "tab638_jsonstat2.json",
    "be0101n1_jsonstat1.json",
]

# Men + women, every civil status. 2019 ages 0, 1, 17: SCB's figures (population_2019_by_age.csv):
# Vimmerby 85+67, 77+84, 90+75; Göteborg 3774+3514, 3650+3507, 2742+2748. The rest illustrative:
# 100+ 2019 1+4 and 18+97; 2020 80+70, 86+68, 88+79, 0+5 and 3690+3452, 3761+3499, 2811+2760, 20+101.
EXPECTED = [
    ("0884", 2019, 0, 0, 152), ("0884", 2019, 1, 1, 161), ("0884", 2019, 17, 17, 165),
    ("0884", 2019, 100, 150, 5),
    ("0884", 2020, 0, 0, 150), ("0884", 2020, 1, 1, 154), ("0884", 2020, 17, 17, 167),
    ("0884", 2020, 100, 150, 5),
    ("1480", 2019, 0, 0, 7288), ("1480", 2019, 1, 1, 7157), ("1480", 2019, 17, 17, 5490),
    ("1480", 2019, 100, 150, 115),
    ("1480", 2020, 0, 0, 7142), ("1480", 2020, 1, 1, 7260), ("1480", 2020, 17, 17, 5571),
    ("1480", 2020, 100, 150, 121),
]


def rows(df) -> list[tuple]:
    return [(m, int(y), int(a), int(b), int(p)) for m, y, a, b, p in df.itertuples(index=False)]


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("name", FIXTURES)
def test_every_shape_reads_to_the_same_rows(name):
    df = read_scb_population(DATA / name)
    assert list(df.columns) == ["municipality", "year", "age_from", "age_to", "population"]
    assert rows(df) == EXPECTED
    assert {str(t) for t in df.dtypes[1:]} == {"int64"}
    assert df["municipality"].map(type).eq(str).all()


def test_the_2019_figures_are_scbs(tmp_path):
    """The fixtures' 2019 single ages are the shared reference's, men + women."""
    reference = Path(__file__).parents[1] / ".." / "shared" / "reference" / "population_2019_by_age.csv"
    if not reference.exists():
        pytest.skip("shared/reference is not beside this checkout")
    import pandas as pd

    ref = pd.read_csv(reference, dtype={"municipality_code": str})
    ref = ref[(ref["sex"] == "total") & ref["municipality_code"].isin(["0884", "1480"])
              & ref["age_from"].isin([0, 1, 17])]
    real = {(r.municipality_code, 2019, r.age_from, r.age_to, r.population) for r in ref.itertuples()}
    assert real == {r for r in EXPECTED if r[1] == 2019 and r[2] < 100}


def test_riket_and_counties_are_dropped():
    for name in FIXTURES:
        df = read_scb_population(DATA / name)
        assert set(df["municipality"]) == {"0884", "1480"}


def test_100_plus_is_100_to_150():
    df = read_scb_population(DATA / "be0101n1_comma_title.csv")
    oldest = df[df["age_from"] == 100]
    assert set(oldest["age_to"]) == {150}
    # Göteborg 2019: men 2 ogifta + 5 gifta + 1 skild + 10 änklingar, women 10 + 4 + 8 + 75.
    assert rows(oldest[(oldest["municipality"] == "1480") & (oldest["year"] == 2019)]) == [
        ("1480", 2019, 100, 150, 18 + 97)]


def test_sex_and_civil_status_are_summed_and_total_age_is_dropped():
    """The comma fixture has four civil statuses, two sexes and a "totalt ålder" row for each:
    the rows are the parts' sums, and the total-age rows (7801 + 7673 … for Vimmerby) are not
    added on top."""
    df = read_scb_population(DATA / "be0101n1_comma_title.csv")
    assert df["population"].sum() == sum(r[4] for r in EXPECTED)
    assert (df["age_to"] - df["age_from"] <= 50).all()


def test_totalt_rows_are_never_counted_twice(tmp_path):
    path = write(tmp_path, "totalt.csv", (
        '"region","civilstånd","ålder","kön","2019"\n'
        '"0884 Vimmerby","ogifta","0 år","män",85\n'
        '"0884 Vimmerby","ogifta","0 år","kvinnor",67\n'
        '"0884 Vimmerby","ogifta","0 år","totalt",152\n'
        '"0884 Vimmerby","totalt","0 år","män",85\n'
        '"0884 Vimmerby","totalt","0 år","kvinnor",67\n'
        '"0884 Vimmerby","totalt","0 år","totalt",152\n'
        '"0884 Vimmerby","gifta","0 år","män",0\n'
        '"0884 Vimmerby","gifta","0 år","kvinnor",0\n'
        '"0884 Vimmerby","gifta","0 år","totalt",0\n'
        '"0884 Vimmerby","skilda","0 år","män",0\n'
        '"0884 Vimmerby","skilda","0 år","kvinnor",0\n'
        '"0884 Vimmerby","skilda","0 år","totalt",0\n'
        '"0884 Vimmerby","änkor/änklingar","0 år","män",0\n'
        '"0884 Vimmerby","änkor/änklingar","0 år","kvinnor",0\n'
        '"0884 Vimmerby","änkor/änklingar","0 år","totalt",0\n'
        '"0884 Vimmerby","ogifta","totalt ålder","män",7801\n'
        '"0884 Vimmerby","ogifta","totalt ålder","kvinnor",7673\n'))
    assert rows(read_scb_population(path)) == [("0884", 2019, 0, 0, 152)]


def test_a_total_is_used_when_its_parts_are_absent(tmp_path):
    path = write(tmp_path, "bara_totalt.csv", (
        '"region","ålder","kön","2019"\n'
        '"0884 Vimmerby","0 år","totalt",152\n'
        '"1480 Göteborg","0 år","totalt",7288\n'))
    assert rows(read_scb_population(path)) == [("0884", 2019, 0, 0, 152), ("1480", 2019, 0, 0, 7288)]


def test_total_age_alone_is_everyone(tmp_path):
    path = write(tmp_path, "tot.csv", '"region","ålder","2019"\n"0884 Vimmerby","totalt ålder",15474\n')
    assert rows(read_scb_population(path)) == [("0884", 2019, 0, 150, 15474)]


def test_windows_1252_csv(tmp_path):
    raw = (DATA / "be0101n1_semicolon_cp1252.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the fixture really is Windows-1252
    assert rows(read_scb_population(DATA / "be0101n1_semicolon_cp1252.csv")) == EXPECTED
    # A region given by its name alone is decoded right ("Göteborg") and found among the municipalities.
    path = write(tmp_path, "namn.csv", '"region";"ålder";"2019"\n"Göteborg";"0 år";7288\n"Kalmar län";"0 år";2350\n',
                 encoding="cp1252")
    assert rows(read_scb_population(path)) == [("1480", 2019, 0, 0, 7288)]


def test_title_line_csv():
    lines = (DATA / "be0101n1_comma_title.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith('"Folkmängden efter region') and lines[1] == ""
    assert rows(read_scb_population(DATA / "be0101n1_comma_title.csv")) == EXPECTED


def test_folkmangd_is_read_and_folkokning_skipped(tmp_path):
    path = write(tmp_path, "innehall.csv", (
        '"Folkmängden efter region, ålder, kön, tabellinnehåll och år"\n\n'
        '"region","ålder","kön","Folkmängd 2019","Folkökning 2019"\n'
        '"0884 Vimmerby","0 år","män",85,..\n'
        '"0884 Vimmerby","0 år","kvinnor",67,..\n'))
    assert rows(read_scb_population(path)) == [("0884", 2019, 0, 0, 152)]


def test_missing_value_names_row_and_column(tmp_path):
    path = write(tmp_path, "befolkning.csv", (
        '"Folkmängden efter region, ålder, kön och år"\n'
        "\n"
        '"region";"ålder";"kön";"2019";"2020"\n'
        '"0884 Vimmerby";"0 år";"män";85;80\n'
        '"0884 Vimmerby";"0 år";"kvinnor";..;70\n'))
    with pytest.raises(ScbFileError) as caught:
        read_scb_population(path)
    message = str(caught.value)
    assert message.startswith("befolkning.csv: rad 5, kolumn 4")
    assert '"2019"' in message and "saknas" in message and '".."' in message
    assert str(tmp_path) not in message  # the file by name only


def test_unparseable_number_names_row_and_column(tmp_path):
    path = write(tmp_path, "b.csv", '"region","ålder","2019","2020"\n"0884 Vimmerby","0 år",152,15x\n')
    with pytest.raises(ScbFileError, match=r'^b\.csv: rad 2, kolumn 4 \("2020"\): "15x" är inte ett antal'):
        read_scb_population(path)


def test_missing_value_in_px_and_jsonstat_names_the_cell(tmp_path):
    px = (DATA / "be0101n1.px").read_bytes().replace(b"DATA=\r\n59000 58000", b'DATA=\r\n".." 58000')
    # Riket's cells are not read, so a gap there is no error; Vimmerby's first cell is.
    assert rows(read_scb_population(write_bytes(tmp_path / "riket.px", px))) == EXPECTED
    lines = (DATA / "be0101n1.px").read_bytes().split(b"\r\n")
    first = lines.index(b"DATA=") + 1 + 40  # 40 Riket rows (4 civil × 5 ages × 2 sexes), then Vimmerby
    lines[first] = b'".." ' + lines[first].split(b" ", 1)[1]
    with pytest.raises(ScbFileError, match=r"^kommun\.px: DATA-värde nr 81 \(region 0884 Vimmerby, "
                                           r"civilstånd ogifta, ålder 0 år, kön män, tabellinnehåll "
                                           r"Folkmängd, år 2019\): värdet saknas"):
        read_scb_population(write_bytes(tmp_path / "kommun.px", b"\r\n".join(lines)))

    document = json.loads((DATA / "tab638_jsonstat2.json").read_text(encoding="utf-8"))
    document["value"][80] = None  # Vimmerby, ogifta, 0 år, män, 2019
    document["status"] = {"80": ".."}
    path = write(tmp_path, "tab638.json", json.dumps(document, ensure_ascii=False))
    with pytest.raises(ScbFileError, match=r'^tab638\.json: värde nr 81 \(Region 0884, Civilstand OG, Alder 0, '
                                           r'Kon 1, ContentsCode BE0101N1, Tid 2019\) med status "\.\.": '
                                           r"värdet saknas"):
        read_scb_population(path)


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_only_one_sex_is_refused(tmp_path):
    path = write(tmp_path, "man.csv", '"region","ålder","kön","2019"\n"0884 Vimmerby","0 år","män",85\n')
    with pytest.raises(ScbFileError, match="man.csv: filen har kön män men saknar kvinnor"):
        read_scb_population(path)


def test_some_civil_statuses_only_is_refused(tmp_path):
    path = write(tmp_path, "ogift.csv", '"region","civilstånd","ålder","2019"\n"0884 Vimmerby","ogifta","0 år",152\n')
    with pytest.raises(ScbFileError, match="saknar gifta, skilda, änkor/änklingar"):
        read_scb_population(path)


def test_overlapping_ages_are_refused(tmp_path):
    path = write(tmp_path, "band.csv", '"region","ålder","2019"\n"0884 Vimmerby","0 år",152\n'
                                       '"0884 Vimmerby","0-4 år",800\n')
    with pytest.raises(ScbFileError, match="åldrarna överlappar för kommun 0884 år 2019"):
        read_scb_population(path)


def test_the_same_cell_twice_is_refused(tmp_path):
    path = write(tmp_path, "dubbel.csv", '"region","ålder","2019"\n"0884 Vimmerby","0 år",152\n'
                                         '"0884","0 år",152\n')
    with pytest.raises(ScbFileError, match=r"^dubbel\.csv: rad 3, kolumn 3 .*förekommer redan \(rad 2, kolumn 3"):
        read_scb_population(path)


def test_unknown_age_names_its_cell(tmp_path):
    path = write(tmp_path, "alder.csv", '"region","ålder","2019"\n"0884 Vimmerby","äldre",152\n')
    with pytest.raises(ScbFileError, match=r'^alder\.csv: rad 2, kolumn 2 \("ålder"\): åldern "äldre" känns inte igen'):
        read_scb_population(path)


def test_excel_leftovers_are_ignored(tmp_path):
    """Re-saved in Swedish Excel: a trailing delimiter (an empty, untitled column) and rows of
    delimiters only."""
    path = write(tmp_path, "excel.csv", ('region;ålder;kön;2019;\r\n0884 Vimmerby;0 år;män;85;\r\n'
                                         '0884 Vimmerby;0 år;kvinnor;67;\r\n;;;;\r\n;;;;\r\n'), encoding="cp1252")
    assert rows(read_scb_population(path)) == [("0884", 2019, 0, 0, 152)]
    path = write(tmp_path, "utan_rubrik.csv", 'region;ålder;2019;\n0884 Vimmerby;0 år;152;\n0884 Vimmerby;1 år;161;9\n')
    with pytest.raises(ScbFileError, match=r"^utan_rubrik\.csv: rad 3, kolumn 4: kolumnen har värden men ingen rubrik"):
        read_scb_population(path)


def test_code_layout_csv(tmp_path):
    """The code layout (PCAxis Csv3FileSerializer): variable and value codes, value column named by
    the table."""
    path = write(tmp_path, "koder.csv", (
        '"Region","Alder","Kon","Tid","TAB638"\n'
        '"00","0","1","2019",59000\n'
        '"0884","0","1","2019",85\n"0884","0","2","2019",67\n'
        '"0884","100+","1","2019",1\n"0884","100+","2","2019",4\n'
        '"0884","tot","1","2019",7801\n"0884","tot","2","2019",7673\n'))
    assert rows(read_scb_population(path)) == [("0884", 2019, 0, 0, 152), ("0884", 2019, 100, 150, 5)]


def test_not_scb_population_is_an_error_naming_the_file(tmp_path):
    path = write_csv(tmp_path / "handelser.csv", EVENT_COLUMNS,
                     [dict(municipality="0884", case_id="K1", person_id=pnr("20120315"), event="report",
                           date="2024-01-02")])
    with pytest.raises(ScbFileError) as caught:
        read_scb_population(path)
    assert str(caught.value).startswith("handelser.csv: filen ser inte ut som SCB:s tabell")
    assert pnr("20120315") not in str(caught.value)


@pytest.mark.parametrize("name", FIXTURES)
def test_sniffing_recognises_every_fixture(name):
    assert is_scb_population(DATA / name)


def test_sniffing_refuses_other_files(tmp_path):
    events = write_csv(tmp_path / "events.csv", EVENT_COLUMNS,
                       [dict(municipality="1480", case_id="K1", person_id=pnr("20120315"), event="report",
                             date="2024-01-02", source="skola")])
    assert events.read_text(encoding="utf-8").startswith("municipality,case_id,person_id,event,date")
    assert not is_scb_population(events)
    assert not is_scb_population(write(tmp_path, "other.json", '{"class": "dataset", "id": [], "dimension": {}}'))
    assert not is_scb_population(write(tmp_path, "empty.csv", ""))
    assert not is_scb_population(tmp_path / "missing.csv")


def test_sniffing_reads_only_the_head(tmp_path):
    """A large download is recognised from its first 64 KiB, whatever follows."""
    head = (DATA / "be0101n1_comma_title.csv").read_bytes()
    path = write_bytes(tmp_path / "stor.csv", head + b"x" * 5_000_000)
    assert is_scb_population(path)


@pytest.mark.parametrize("name", ["be0101n1_semicolon_cp1252.csv", "be0101n1.px", "tab638_jsonstat2.json"])
def test_insyn_import_stores_scbs_file_as_populations(tmp_path, name):
    """`insyn import` routes a download to the populations table, and importing it again adds
    nothing; the populations are what the reader gives."""
    from typer.testing import CliRunner

    from insyn.cli import app
    from insyn.store import open_store

    data_dir = tmp_path / "data"
    for _ in range(2):
        output = CliRunner().invoke(app, ["--data-dir", str(data_dir), "import", str(DATA / name)])
        assert output.exit_code == 0, output.output
        assert "Uttagsdatum saknas" not in output.output  # populations are not dated rows
    store = open_store(data_dir / "insyn.duckdb", read_only=True)
    stored = store.raw.execute("SELECT municipality, year, age_from, age_to, population FROM populations "
                               "ORDER BY ALL").fetchall()
    store.close()
    assert stored == sorted(rows(read_scb_population(DATA / name)))


def test_a_bad_download_is_refused_by_the_import_naming_the_file(tmp_path):
    from insyn.ingest.readers import ReadError, read_export

    lines = (DATA / "be0101n1_long.csv").read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if "Vimmerby" in line)
    lines[at] = lines[at].rsplit(",", 1)[0] + ',".."'
    bad = write(tmp_path, "befolkning.csv", "\n".join(lines) + "\n")
    with pytest.raises(ReadError, match="befolkning.csv"):
        read_export(bad)
