"""The `insyn` command end to end, in-process through Typer's runner, on real files and a
real DuckDB store in a temporary data directory."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from helpers import EVENT_COLUMNS, pnr, write_csv
from markupsafe import escape
from typer.testing import CliRunner

from insyn.cli import app
from insyn.model.municipalities import region_municipalities
from insyn.store import open_store
from insyn.swedish import swedish_sort_key

pytestmark = pytest.mark.slow  # docs/testing.md

runner = CliRunner()


def insyn(data_dir: Path, *args: str):
    return runner.invoke(app, ["--data-dir", str(data_dir), *args])


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("demo")
    result = insyn(data_dir, "demo", "--out", str(data_dir / "ut"))
    assert result.exit_code == 0, result.output
    return data_dir, result.output


def test_demo_writes_report_workbook_and_exports(demo):
    data_dir, output = demo
    out = data_dir / "ut"
    assert f"Allt finns i {out}" in output.replace("\n", "")
    assert "Ale" in output and "Demoregionen" in output
    html = (out / "rapport.html").read_text(encoding="utf-8")
    assert "Förhandsbedömningar inom 14 dagar" in html and "Vimmerby" in html
    assert "Personal och kompetens" in html and "Personalomsättning, socialsekreterare" in html
    assert "Arbetstyngd per enhet" in html
    assert "Personal och kompetens" in openpyxl.load_workbook(out / "insyn.xlsx").sheetnames
    assert openpyxl.load_workbook(out / "insyn.xlsx").sheetnames[0] == "Översikt"
    for table in ("events", "staff", "courses", "trainings", "mentorships"):
        assert (out / "data" / f"{table}.csv").exists()
    assert (data_dir / "insyn.duckdb").exists() and (data_dir / "pseudonymisation.key").exists()


def test_indicators_after_demo_exports_csv(demo, tmp_path):
    data_dir, _ = demo
    target = tmp_path / "resultat.csv"
    result = insyn(data_dir, "indicators", "--csv", str(target))
    assert result.exit_code == 0, result.output
    with target.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:6] == ["indicator", "municipality", "period", "numerator", "denominator", "value"]
    assert {"sex", "age_group"} <= set(rows[0])
    municipalities = {r["municipality"] for r in rows}
    assert municipalities == set(region_municipalities("demo").municipality_code)
    periods = {r["period"] for r in rows}
    assert {"2024", "2024-Q1", "2024-Q4"} <= periods
    totals = [r for r in rows if r["indicator"] == "forhandsbedomning_inom_14_dagar"
              and r["sex"] == "" and r["age_group"] == "" and r["unit"] == ""]
    assert totals and all(0 <= float(r["value"]) <= 100 for r in totals)


def test_indicators_for_more_municipalities_than_a_terminal_shows_say_so_and_protect_nothing(demo, tmp_path,
                                                                                         monkeypatch):
    import insyn.cli as cli
    import insyn.workflows as workflows

    def no_protection(*args, **kwargs):
        raise AssertionError("no disclosure protection for a summary that is not shown")

    data_dir, _ = demo
    monkeypatch.setattr(cli, "TERMINAL_MUNICIPALITIES", 3)
    monkeypatch.setattr(workflows, "published_view", no_protection)
    result = insyn(data_dir, "indicators", "--csv", str(tmp_path / "r.csv"))
    assert result.exit_code == 0, result.output
    assert "för många för en sammanfattning i terminalen" in result.output
    assert (tmp_path / "r.csv").exists()


def test_report_and_status_after_demo(demo, tmp_path):
    data_dir, _ = demo
    result = insyn(data_dir, "report", "--out", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r" / "rapport.html").exists() and (tmp_path / "r" / "insyn.xlsx").exists()
    status = insyn(data_dir, "status")
    assert status.exit_code == 0 and "indicator_results" in status.output


def test_import_errors_exit_non_zero_and_change_nothing(tmp_path):
    person = pnr("20120315", "123")
    good = write_csv(tmp_path / "ok.csv", EVENT_COLUMNS, [
        dict(municipality="1480", case_id="K1", person_id=person, event="report", date="2024-01-02",
             source="skola")])
    assert insyn(tmp_path, "import", str(good)).exit_code == 0
    bad = write_csv(tmp_path / "bad.csv", EVENT_COLUMNS, [
        dict(municipality="1480", case_id="K2", person_id=person, event="report", date="2024-01-02",
             source="grannen")])
    result = insyn(tmp_path, "import", "--strict", str(bad))
    assert result.exit_code == 1
    assert "bad.csv, rad 2, kolumn 'source': okänd kod 'grannen'" in result.output
    assert "Fel: Importen avbröts (--strict)" in result.output
    missing = write_csv(tmp_path / "saknar.csv", ["municipality", "case_id"], [dict(municipality="1480", case_id="x")])
    result = insyn(tmp_path, "import", str(missing))
    assert result.exit_code == 1 and "Inget har lästs in" in result.output
    status = insyn(tmp_path, "status")
    events_row = next(line for line in status.output.splitlines() if "│ events " in line)
    assert events_row.split("│")[2].strip() == "1"


def test_commands_without_data_say_so(tmp_path):
    result = insyn(tmp_path, "report")
    assert result.exit_code == 1 and "importera data först" in result.output


def test_problems_lists_and_exports_every_rejected_row_and_warning(tmp_path):
    person = pnr("20120315", "123")
    rows = [dict(municipality="1480", case_id=f"K{i}", person_id=person, event="report",
                 date="2024-01-02", source="grannen" if i % 2 else "skola") for i in range(30)]
    rows.append(dict(municipality="1480", case_id="K99", person_id=person, event="intervention_start",
                     date="2024-02-01", intervention="hvb"))
    path = write_csv(tmp_path / "export.csv", EVENT_COLUMNS, rows)
    assert insyn(tmp_path, "import", "--show", "3", str(path)).exit_code == 0
    result = insyn(tmp_path, "problems", "--excel", str(tmp_path / "fel.xlsx"))
    assert result.exit_code == 0, result.output
    assert "Karantän: 15 rader" in result.output and "Datakvalitet: 1 rad" in result.output
    workbook = openpyxl.load_workbook(tmp_path / "fel.xlsx")
    quarantine = list(workbook["Karantän"].iter_rows(values_only=True))
    assert quarantine[0][:5] == ("Fil", "Tabell", "Rad", "Kolumn", "Fel")
    assert sorted(r[2] for r in quarantine[1:]) == list(range(3, 32, 2))  # every rejected row
    warnings = list(workbook["Datakvalitet"].iter_rows(values_only=True))
    assert warnings[1][1] == "K99" and "utan beslut" in warnings[1][2]
    text = str(quarantine) + str(warnings)
    assert person not in text and person.replace("-", "") not in text


def test_demo_never_mixes_with_real_imports(tmp_path):
    real = write_csv(tmp_path / "riktig_export.csv", EVENT_COLUMNS, [
        dict(municipality="1480", case_id="1480-2024-000001", person_id=pnr("20120315", "123"),
             event="report", date="2024-01-02", source="skola")])
    assert insyn(tmp_path, "import", str(real)).exit_code == 0
    result = insyn(tmp_path, "demo")
    assert result.exit_code == 1 and "riktig_export.csv" in result.output
    assert "--data-dir" in result.output
    status = insyn(tmp_path, "status")
    events_row = next(line for line in status.output.splitlines() if "│ events " in line)
    assert events_row.split("│")[2].strip() == "1"


def test_demo_runs_again_in_its_own_store(demo):
    """Run again, the demo replaces its own data: nothing is duplicated, nothing lost."""
    data_dir, _ = demo

    def rows() -> dict[str, str]:
        status = insyn(data_dir, "status").output
        return {line.split("│")[1].strip(): line.split("│")[2].strip()
                for line in status.splitlines() if line.startswith("│") and line.count("│") > 3}

    before = rows()
    again = insyn(data_dir, "demo", "--out", str(data_dir / "ut2"))
    assert again.exit_code == 0, again.output
    after = rows()
    for table in ("events", "staff", "care_costs", "grants"):
        assert after[table] == before[table] and int(after[table].replace(" ", "")) > 0, table


def test_generate_writes_files_that_import_cleanly(tmp_path):
    result = insyn(tmp_path, "generate", "--municipalities", "0884,0860", "--years", "2024-2025",
                   "--seed", "3", "--out", str(tmp_path / "exporter"))
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "exporter").glob("*.csv"))
    assert [f.name for f in files] == ["care_costs.csv", "care_prices.csv", "courses.csv", "events.csv",
                                       "grants.csv", "mentorships.csv", "staff.csv", "trainings.csv",
                                       "workload_ratings.csv"]
    imported = insyn(tmp_path, "import", *map(str, files))
    assert imported.exit_code == 0, imported.output
    assert "rad " not in imported.output  # no row was rejected
    status = insyn(tmp_path, "status")
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip()
            for line in status.output.splitlines() if line.startswith("│")}
    assert int(rows["events"].replace(" ", "")) > 1000 and rows["quarantine"] == "0"
    assert int(rows["care_costs"].replace(" ", "")) > 0 and int(rows["care_prices"].replace(" ", "")) > 0
    assert int(rows["grants"].replace(" ", "")) > 0


def test_a_broken_profile_and_a_forced_table_say_what_is_wrong(tmp_path):
    export = write_csv(tmp_path / "e.csv", EVENT_COLUMNS, [
        dict(municipality="1480", case_id="K1", person_id=pnr("20120315", "123"), event="report",
             date="2024-01-02", source="skola")])
    profile = tmp_path / "min_profil.yaml"
    profile.write_text("name: min\ntables:\n  events:\n    columns:\n      Kommun: kommunkod\n")
    result = insyn(tmp_path, "import", "--profile", str(profile), str(export))
    assert result.exit_code == 1 and "ogiltig profil" in result.output and "kommunkod" in result.output
    result = insyn(tmp_path, "import", "--profile", "finns_inte", str(export))
    assert result.exit_code == 1 and "Profilen 'finns_inte' finns inte" in result.output
    result = insyn(tmp_path, "import", "--table", "staff", str(export))
    assert result.exit_code == 1 and "kolumner saknas för tabellen staff" in result.output


def test_prognos_shows_the_year_ahead_the_backtest_and_when_to_recruit(demo):
    data_dir, _ = demo
    result = insyn(data_dir, "prognos", "--kommun", "0884", "--enhet", "Utredning", "--ledtid", "2")
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())
    assert "Prognos Utredning, kommun 0884" in shown and "Pågående utredningar" in shown
    assert "Prövad i efterhand på egen historik" in shown and "samma månad förra året" in shown
    assert "Utredning: " in shown and ("Rekrytera" in shown or "personalen räcker" in shown)
    assert "ledtid 2 månader" in shown or "personalen räcker" in shown
    unknown = insyn(data_dir, "prognos", "--kommun", "0884", "--enhet", "Ingen sådan", "--utan-efterhand")
    assert unknown.exit_code == 1 and "Mottagning" in unknown.output


def test_the_report_has_each_municipalitys_year_ahead_as_its_brief_has_it(demo):
    """Each municipality's section of the report ends with the headline measures' forecast: the
    charts, and the same sentences (the same figures) as the municipality's own outlook gives
    its brief."""
    from insyn.publish.forecast import headline_forecast
    from insyn.settings import Settings
    from insyn.workflows import forecast_outlook

    data_dir, _ = demo
    html = (data_dir / "ut" / "rapport.html").read_text(encoding="utf-8")
    assert html.count("Prognos för det kommande året") == 16  # the demo region's municipalities
    start = html.index('<section id="kommun-0884"')
    section = html[start:html.index('<section id="kommun-', start + 1)]
    settings = Settings(data_dir=data_dir)
    own = headline_forecast(forecast_outlook(settings, "0884"), settings.forecast_config(),
                            settings.disclosure_rules())
    assert [item.label for item in own] == ["Anmälningar", "Pågående insatser"]
    for item in own:
        assert escape(item.text) in section
    for measure in ("reports", "open_interventions"):
        assert f'id="kommun-0884-prognos-{measure}-titel"' in section
    assert "Utfall (avrundat till 5-tal)" in section  # the months behind it, as published
    # Beside noisy figures (--brus), no forecast: its months would tell what the noise hides.
    from insyn.workflows import _report_forecasts
    assert _report_forecasts(settings, exact=False) == {}


def test_workload_shows_a_units_caseworkers_and_a_what_if(demo, tmp_path):
    data_dir, _ = demo
    ambiguous = insyn(data_dir, "workload")
    assert ambiguous.exit_code == 1 and "--kommun" in ambiguous.output
    result = insyn(data_dir, "workload", "--kommun", "0884", "--enhet", "Utredning",
                   "--extra-arsarbetare", "1", "--excel", str(tmp_path / "arbetstyngd.xlsx"))
    assert result.exit_code == 0, result.output
    shown = "".join(result.output.split())  # the terminal is narrow: cells wrap
    assert "HandläggarepåUtredning" in shown and "efterändringen" in shown
    workbook = openpyxl.load_workbook(tmp_path / "arbetstyngd.xlsx")
    staff_ids = [row[3] for row in workbook["Handläggare"].iter_rows(min_row=2, values_only=True)]
    assert staff_ids and all(s.startswith("0884-S") and s in shown for s in staff_ids)
    assert workbook.sheetnames == ["Handläggare", "Enheter", "Utan handläggare", "Förändring enhet",
                                   "Förändring handläggare"]
    headers = [cell.value for cell in workbook["Handläggare"][1]]
    assert {"Handläggare", "Poäng", "Norm", "Belastning", "Egen skattning"} <= set(headers)
    unknown = insyn(data_dir, "workload", "--kommun", "0884", "--enhet", "Ingen sådan")
    assert unknown.exit_code == 1 and "Ingen sådan" in unknown.output


def test_configure_copies_the_files_and_a_broken_one_changes_nothing(demo):
    data_dir, _ = demo
    result = insyn(data_dir, "configure")
    assert result.exit_code == 0, result.output
    workload_file = data_dir / "workload.yaml"
    assert workload_file.exists() and (data_dir / "workforce.yaml").exists()
    again = insyn(data_dir, "configure")
    assert "finns redan" in again.output and workload_file.read_text(encoding="utf-8")
    store = open_store(data_dir / "insyn.duckdb", read_only=True)
    before = store.count("workload_monthly"), store.count("indicator_results")
    store.close()
    original = workload_file.read_text(encoding="utf-8")
    try:
        workload_file.write_text(original.replace("utredning: 10", "utredning: tio"), encoding="utf-8")
        broken = insyn(data_dir, "indicators", "--recompute")
        assert broken.exit_code == 1
        assert "workload.yaml" in broken.output and "weights.utredning" in broken.output
        assert "Inget har räknats om" in broken.output
    finally:
        workload_file.write_text(original, encoding="utf-8")
    store = open_store(data_dir / "insyn.duckdb", read_only=True)
    assert (store.count("workload_monthly"), store.count("indicator_results")) == before
    store.close()


def test_the_terminal_help_is_swedish():
    for args in (["--help"], ["status", "--help"], ["report", "--help"], ["users", "--help"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, args
        assert "Användning:" in result.output and "Visa den här hjälpen och avsluta." in result.output
        assert "Show this message" not in result.output and "Usage:" not in result.output
    assert "finns inte" in CliRunner().invoke(app, ["finns-inte"]).output


@pytest.mark.parametrize(("args", "expected"), [
    (["report", "--bogus"], "Fel: Flaggan --bogus finns inte."),
    (["import"], "Fel: Argument saknas: 'files'."),
    (["demo", "--seed", "x"], "Fel: Ogiltigt värde för '--seed': ange ett heltal."),
    (["report", "--brus", "y"], "Fel: Ogiltigt värde för '--brus': 'y' är inte ett av 'cellnyckel', 'dp'."),
    (["report", "a", "b"], "Fel: Oväntade argument (a b)"),
    (["import", "--format"], "Fel: Flaggan '--format' kräver ett värde."),
])
def test_a_mistyped_command_is_answered_in_swedish_in_a_plain_terminal(args, expected):
    """As a user's terminal shows it (a process of its own, no colours): Click's own lines too."""
    shown = subprocess.run([sys.executable, "-c", "from insyn.cli import app; app(prog_name='insyn')", *args],
                           capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "TERM": "dumb"}, timeout=120)
    assert shown.returncode == 2
    assert expected in shown.stderr
    assert "Error" not in shown.stderr and "Try " not in shown.stderr and "Usage" not in shown.stderr


def test_users_add_refuses_a_unit_or_staff_id_that_is_not_in_the_data(demo):
    data_dir, _ = demo
    with (data_dir / "ut" / "data" / "staff.csv").open(encoding="utf-8") as f:
        vimmerby = [row for row in csv.DictReader(f) if row["municipality"] == "0884"]
    unit, staff_id = vimmerby[0]["unit"], vimmerby[0]["staff_id"]
    units = sorted({row["unit"] for row in vimmerby}, key=swedish_sort_key)
    password = {"INSYN_LOSENORD": "ett-långt-lösenord"}

    def add(*args: str):
        return runner.invoke(app, ["--data-dir", str(data_dir), "users", "add", *args], env=password)

    wrong_unit = add("eva", "--roll", "enhetschef", "--kommun", "0884", "--enhet", unit, "--enhet", "Mottagnig")
    assert wrong_unit.exit_code == 1
    assert (f"Fel: Enheten Mottagnig finns inte i underlaget för Vimmerby (enheter: {', '.join(units)})."
            in " ".join(wrong_unit.output.split()))
    wrong_id = add("hugo", "--roll", "handlaggare", "--kommun", "0884", "--personal-id", "0884-S9999")
    assert wrong_id.exit_code == 1
    assert "Fel: Personal-id 0884-S9999 finns inte i underlaget för Vimmerby." in " ".join(wrong_id.output.split())
    assert "eva" not in insyn(data_dir, "users", "list").output
    assert add("eva", "--roll", "enhetschef", "--kommun", "0884", "--enhet", unit).exit_code == 0
    assert add("hugo", "--roll", "handlaggare", "--kommun", "0884", "--personal-id", staff_id).exit_code == 0
