"""The `insyn` command: a thin Typer face over insyn.workflows. Messages are in Swedish."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from insyn import cli_swedish
from insyn.errors import InsynError, bug_id, bug_message, user_message
from insyn.files import owner_only
from insyn.logs import TOLD_USER, configure_cli, reset_cli
from insyn.progress import console, steps
from insyn.settings import Settings
from insyn.swedish import count_of, format_count, format_number

try:
    from typer import TyperException as _UsageError  # recent Typer, with its own copy of click
except ImportError:  # pragma: no cover (Typer on click)
    from click import ClickException as _UsageError  # type: ignore[assignment]

log = logging.getLogger(__name__)
_TYPERS_OWN = (typer.Exit, typer.Abort, _UsageError)  # exit codes, Ctrl+C, bad options: Typer handles them


cli_swedish.install()


class _Face(TyperGroup):
    """Every command's errors in one place: an InsynError is its Swedish message and exit code 1;
    anything else is a bug, logged with its traceback under an id the user can quote."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except _TYPERS_OWN:
            raise
        except InsynError as error:
            raise _fail(str(error)) from error
        except Exception as error:
            error_id = bug_id()
            log.error("Unexpected error %s in insyn %s", error_id, ctx.invoked_subcommand or "", exc_info=error,
                      extra=TOLD_USER)
            raise _fail(bug_message(error_id)) from error


# The store's own tables besides the canonical ones, as `insyn status` names them.
STORE_TABLE_LABELS = {"quarantine": "karantän (rader med fel)", "quality_warnings": "datakvalitetsvarningar",
                      "indicator_results": "beräknade indikatorer", "workload_monthly": "arbetstyngd per månad",
                      "workload_unassigned": "ärenden utan handläggare"}

app = typer.Typer(
    cls=_Face,
    help="Insyn – systematisk uppföljning för socialtjänsten.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
state: dict[str, Settings] = {}


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", help="Datakatalog (standard: $INSYN_DATA_DIR eller ~/.local/share/insyn).",
    )] = None,
) -> None:
    state["settings"] = settings = Settings(data_dir=data_dir) if data_dir else Settings()
    owner_only(settings.data_dir)
    configure_cli(settings.data_dir)
    ctx.call_on_close(reset_cli)


def _settings() -> Settings:
    return state["settings"]


def _fail(message: str) -> typer.Exit:
    """Print an error message (scrubbed of personnummer) and end with exit code 1."""
    console.print(_styled("Fel:", "bold red", f" {user_message(message)}"))
    return typer.Exit(code=1)


def _styled(label: str, style: str, rest: str = "") -> Text:
    """`label` in `style`, then `rest` plain (the console reads no markup: insyn.progress)."""
    return Text.assemble((label, style), rest)


def _notice(text: str) -> Text:
    return _styled("Obs:", "yellow", f" {text}")


# More municipalities than this make a summary no terminal shows: `insyn indicators` then says so
# and computes no disclosure protection for it.
TERMINAL_MUNICIPALITIES = 40


def _summary_tables(publication, title: str) -> list[Table]:
    """The report's summary (Sammanfattning) in the terminal, one table per area with data and
    its headline indicators: the latest year, one line per municipality, through the
    disclosure layer as everything shown."""
    from insyn.indicators.definitions import area_headlines, area_names
    from insyn.publish.views import overview

    tables = []
    headlines = area_headlines()
    for area, area_name in area_names().items():
        summary = overview(publication, area, headlines[area])
        if not summary.columns:
            continue
        table = Table(title=f"{title}: {area_name.lower()} {summary.year or ''}".strip(),
                      caption=".. = visas inte (röjandekontroll, se rapportens teckenförklaring)")
        table.add_column("Kommun")
        for column in summary.columns:
            table.add_column(column.header, justify="right", max_width=18)
        for row in summary.rows:
            table.add_row(row.name, *[cell.text for cell in row.cells])
        tables.append(table)
    return tables


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="Slumpfrö för de syntetiska data.")] = 1,
    out: Annotated[Path | None, typer.Option("--out", help="Katalog för rapport och data.")] = None,
) -> None:
    """Skapa en syntetisk demoregion, importera, beräkna och skriv rapport och Excelfil."""
    from insyn.workflows import DEMO_STEPS, run_demo

    settings = _settings()
    with steps(DEMO_STEPS) as advance:  # StoreInUse, an InsynError, ends the command with its message
        result = run_demo(settings, seed=seed, out_dir=out, progress=advance)
    imported = sum(f.rows_loaded for f in result.import_result.files)
    console.print(*_summary_tables(result.publication, "Demoregionen"))
    console.print(f"{count_of(imported, 'rad', 'rader', ' ')} importerade till {settings.database_path}", markup=False)
    console.print(f"Rapport: {result.published['html']}")
    console.print(f"Excel:   {result.published['excel']}")
    console.print(f"Allt finns i {result.out_dir}", style="bold")


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Katalog att skriva filerna i.")],
    region: Annotated[str, typer.Option(help="Region (demo, goteborgsregionen) eller länskod.")] = "demo",
    municipalities: Annotated[str | None, typer.Option(
        help="Kommunkoder, kommaseparerade (ersätter --region); 'alla' för hela landet.")] = None,
    years: Annotated[str, typer.Option(help="År, t.ex. 2022-2025.")] = "",
    seed: Annotated[int, typer.Option(help="Slumpfrö.")] = 1,
    fmt: Annotated[Literal["csv", "parquet"], typer.Option("--format", help="csv eller parquet.")] = "csv",
) -> None:
    """Skapa syntetiska exportfiler i importformatet (deterministiskt givet slumpfrö)."""
    from insyn.model.municipalities import municipalities as all_municipalities
    from insyn.model.municipalities import region_municipalities
    from insyn.synth.generate import generate as generate_tables
    from insyn.synth.generate import write_tables
    from insyn.workflows import demo_years

    if municipalities == "alla":
        selected = all_municipalities()
    elif municipalities:
        codes = [c.strip() for c in municipalities.split(",")]
        frame = all_municipalities()
        unknown = sorted(set(codes) - set(frame.municipality_code))
        if unknown:
            raise _fail(f"okända kommunkoder: {', '.join(unknown)}")
        selected = frame[frame.municipality_code.isin(codes)].reset_index(drop=True)
    else:
        selected = region_municipalities(region)  # NotFound for an unknown region
    year_list = _parse_years(years) if years else demo_years()
    with steps(2) as advance:
        advance(f"Skapar data för {len(selected)} kommuner, {year_list[0]}–{year_list[-1]}")
        tables = generate_tables(selected, year_list, seed=seed)
        advance("Skriver filer")
        files = write_tables(tables, out, fmt=fmt)
    for path in files:
        console.print(f"  {path}")


def _parse_years(text: str) -> list[int]:
    try:
        if "-" in text:
            first, last = (int(p) for p in text.split("-", 1))
            return list(range(first, last + 1))
        return [int(y) for y in text.split(",")]
    except ValueError as exc:
        raise _fail(f"ogiltiga år '{text}' (t.ex. 2022-2025)") from exc


@app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(
        help="Filer att importera (CSV, XLSX, Parquet; JSON med --format kolada).")],
    profile: Annotated[str | None, typer.Option(
        "--profile", "--profil", help="Mappningsprofil: namn (t.ex. svenska) eller YAML-fil.")] = None,
    table: Annotated[str | None, typer.Option(help="Tabell, om den inte kan avgöras av kolumnerna.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Avvisa allt vid minsta fel.")] = False,
    show: Annotated[int, typer.Option(help="Antal felrader att visa per fil.")] = 20,
    fmt: Annotated[Literal["kolada"] | None, typer.Option(
        "--format", help="kolada: publicerade jämförelsevärden (riket, regioner, liknande kommuner) "
                         "som JSON i Koladas format, i stället för exportfiler.")] = None,
    extract_date: Annotated[dt.datetime | None, typer.Option(
        "--uttagsdatum", formats=["%Y-%m-%d"],
        help="Dagen exporten togs ut (ÅÅÅÅ-MM-DD): avgör vilka perioder som är hela.")] = None,
) -> None:
    """Importera exportfiler: kontroll, pseudonymisering och inläsning i en transaktion."""
    if fmt == "kolada":
        _import_published(files)
        return
    from insyn.ingest.load import MISSING_EXTRACT_DATE, ExtractDateError, ImportRejected
    from insyn.ingest.profiles import load_profile
    from insyn.workflows import import_steps, run_import

    try:
        with steps(import_steps(len(files))) as advance:
            mapping = load_profile(profile, _settings().data_dir) if profile else None  # also <data dir>/profiler
            result = run_import(_settings(), files, mapping, table, strict, progress=advance,
                                extract_date=extract_date.date() if extract_date else None)
    except ImportRejected as exc:
        for validated in exc.results:
            _print_problems(validated, show)
        raise _fail(str(exc)) from exc
    except ExtractDateError as exc:  # says itself that nothing was read
        raise _fail(str(exc)) from exc
    except InsynError as exc:
        raise _fail(f"{exc}\nInget har lästs in.") from exc
    summary = Table(title="Import")
    for column in ("Fil", "Tabell", "Lästa", "Inlästa", "Ersatta", "I karantän", "Dubbletter"):
        summary.add_column(column, justify="left" if column in ("Fil", "Tabell") else "right")
    for loaded in result.files:
        v = loaded.validated
        summary.add_row(v.file.name, v.table.name, str(v.rows_read), str(loaded.rows_loaded),
                        str(loaded.rows_replaced), str(v.rows_rejected), str(loaded.duplicates_dropped))
        _print_problems(v, show)
    console.print(summary)
    if result.extract_date is None and any(f.validated.table.name != "populations" for f in result.files):
        console.print(_notice(f"{MISSING_EXTRACT_DATE[0].upper()}{MISSING_EXTRACT_DATE[1:]}"))
    if result.quality_warnings:
        console.print(_styled(f"{result.quality_warnings} datakvalitetsvarningar", "yellow",
                              " för de importerade ärendena (se insyn status)."))


def _print_problems(validated, show: int) -> None:
    for notice in validated.notices:
        console.print(_notice(notice))
    messages = validated.messages()
    for line in messages[:show]:
        console.print(line, style="red", highlight=False)
    if len(messages) > show:
        console.print(f"… och {len(messages) - show} fel till i {validated.file.name}")


@app.command()
def indicators(
    csv: Annotated[Path | None, typer.Option(
        "--csv", help="Skriv alla resultat (utan röjandekontroll) till en CSV-fil.")] = None,
    recompute: Annotated[bool, typer.Option("--recompute", "--berakna", help="Beräkna om först.")] = False,
    store_url: Annotated[str | None, typer.Option(
        "--lager", help="Beräkna i PostgreSQL eller Spark där grundtabellerna finns (postgresql://…, "
                        "spark+parquet:///mapp, spark+catalog://databas); resultaten sparas i datakatalogen.")] = None,
) -> None:
    """Visa de beräknade indikatorerna; --csv exporterar alla rader för behörig analytiker."""
    from insyn.spreadsheet import neutralised_frame
    from insyn.store.backends import without_credentials
    from insyn.workflows import compute_indicators, compute_indicators_at, published_view, stored_indicators

    settings = _settings()
    try:
        if store_url:
            with console.status(f"Beräknar indikatorerna i {without_credentials(store_url)} …"):
                results = compute_indicators_at(settings, store_url)
        else:
            results = compute_indicators(settings) if recompute else stored_indicators(settings)
    except InsynError as exc:
        raise _fail(f"{exc}\nInget har räknats om.") from exc
    if results.empty:
        raise _fail("inga data ännu: importera med insyn import eller kör insyn demo")
    shown = results["municipality"].nunique()
    if shown <= TERMINAL_MUNICIPALITIES:
        console.print(*_summary_tables(published_view(settings, results, release=False), "Indikatorer"))
    else:  # no disclosure protection computed for a table no terminal can show
        console.print(f"{count_of(shown, 'kommun', 'kommuner')}: för många för en sammanfattning i terminalen. "
                      "Se insyn report, webbappen (insyn serve) eller --csv.")
    if csv:
        order = ["indicator", "municipality", "period", "numerator", "denominator", "value",
                 "period_type", "unit", "sex", "age_group", "category", "complete"]
        neutralised_frame(results[order].sort_values(["indicator", "municipality", "period"])).to_csv(csv, index=False)
        console.print(f"{count_of(len(results), 'rad', 'rader')} skrivna till {csv} "
                      "(ej röjandekontrollerade: lämna inte ut filen)")


@app.command()
def report(
    out: Annotated[Path | None, typer.Option("--out", help="Katalog för rapporten.")] = None,
    noise: Annotated[Literal["cellnyckel", "dp"] | None, typer.Option(
        "--brus", help="Brus i stället för dolda tal: cellnyckel eller dp (differentiell integritet).")] = None,
    epsilon: Annotated[float, typer.Option(help="Med --brus dp: rapportens ε.")] = 1.0,
    release: Annotated[str | None, typer.Option(
        "--utgava", help="Med --brus dp: utgåvans namn (i loggen över budgeten).")] = None,
    budget: Annotated[float | None, typer.Option(
        help="Med --brus dp: årets totala ε, som alla utgåvor av samma år delar.")] = None,
    indicators: Annotated[list[str] | None, typer.Option(
        "--indikator", help="Med --brus dp: indikator (id) i tabellen, årstal per kommun; upprepa för fler.")] = None,
    municipality: Annotated[str | None, typer.Option(
        "--kommun", help="Kommunkod: skriv kommunbladet (en till två A4-sidor, HTML och PDF) för nämnden i stället.")
    ] = None,
) -> None:
    """Skriv HTML-rapporten och Excelfilen (med röjandekontroll) från de beräknade indikatorerna,
    eller med --kommun kommunbladet för en kommun."""
    from insyn.workflows import BRIEF_STEPS, REPORT_STEPS, NoiseChoice, write_report

    choice = NoiseChoice(noise, epsilon, release, budget, tuple(indicators or ())) if noise else None
    try:
        with steps(BRIEF_STEPS if municipality else REPORT_STEPS) as advance:
            paths = write_report(_settings(), out, choice, municipality, progress=advance)
    except InsynError as exc:  # no data, a bad noise choice, an overspent privacy budget
        raise _fail(f"{exc}\nIngen rapport har skrivits.") from exc
    if municipality:
        console.print(f"Kommunblad (HTML): {paths['html']}")
        console.print(f"Kommunblad (PDF):  {paths['pdf']}")
        return
    console.print(f"Rapport: {paths['html']}")
    console.print(f"Excel:   {paths['excel']}")


@app.command()
def status() -> None:
    """Visa vad datalagret innehåller: tabeller, importer, karantän och varningar."""
    from insyn.model.tables import TABLES
    from insyn.workflows import store_for

    settings = _settings()
    if not settings.database_path.exists():
        raise _fail(f"inget datalager i {settings.data_dir} ännu")
    store = store_for(settings, read_only=True)
    try:
        table = Table(title=f"Datalager {settings.database_path}")
        table.add_column("Tabell")
        table.add_column("Rader", justify="right")
        table.add_column("Innehåll")
        labels = {name: t.label for name, t in TABLES.items()} | STORE_TABLE_LABELS
        for name, label in labels.items():
            table.add_row(name, format_count(store.count(name), thousands=" "), label)
        console.print(table)
        extracts = store.extract_dates()
        for name in sorted({t for _, t in extracts}):
            days = [day for (_, t), day in extracts.items() if t == name]
            console.print(f"Uttagsdatum för {name}: {len(days)} kommuner, senast {max(days).isoformat()}"
                          + (f", tidigast {min(days).isoformat()}" if min(days) != max(days) else ""))
        warnings = store.raw.execute(
            "SELECT message, count(*) AS n FROM quality_warnings GROUP BY message ORDER BY n DESC"
        ).fetchall()
        for message, n in warnings:
            console.print(_styled(str(n), "yellow", f" ärenden: {message}"))
    finally:
        store.close()


@app.command()
def problems(
    excel: Annotated[Path | None, typer.Option(
        "--excel", help="Skriv alla fel och varningar till en Excelfil.")] = None,
) -> None:
    """Visa vad som var fel i de importerade filerna: rader i karantän och datakvalitetsvarningar."""
    from insyn.ingest.problems import QUARANTINE_SHEET, problem_tables, summary, write_problems_workbook
    from insyn.workflows import store_for

    settings = _settings()
    if not settings.database_path.exists():
        raise _fail(f"inget datalager i {settings.data_dir} ännu")
    store = store_for(settings, read_only=True)
    try:
        tables = problem_tables(store)
    finally:
        store.close()
    for name, counts in summary(tables).items():
        if counts.empty:
            console.print(f"{name}: inga rader")
            continue
        table = Table(title=f"{name}: {count_of(len(tables[name]), 'rad', 'rader')}")
        table.add_column("Antal", justify="right")
        table.add_column("Fel" if name == QUARANTINE_SHEET else "Varning")
        for reason, n in counts.items():
            table.add_row(str(n), reason)
        console.print(table)
    if excel:
        console.print(f"Excel: {write_problems_workbook(tables, excel)}")


WORKLOAD_HEADERS = {"municipality": "Kommun", "scenario": "Läge", "points_before": "Poäng nu",
                    "points_after": "Poäng efter", "load_before": "Belastning nu", "load_after": "Belastning efter",
                    "staff_id": "Handläggare", "unit": "Enhet", "period": "Månad", "role": "Roll",
                    "employment": "Anställning", "level": "Erfarenhet", "fte": "Årsarbetare",
                    "cases": "Ärenden", "points": "Poäng", "norm_points": "Norm", "load_ratio": "Belastning",
                    "months_over_norm": "Månader över norm", "rating": "Egen skattning",
                    "flex_hours": "Flexsaldo (h)", "caseworkers": "Handläggare (antal)",
                    "over_norm": "Över norm", "mean_rating": "Skattning (medel)",
                    "mean_flex_hours": "Flex (medel, h)", "unassigned_cases": "Ärenden utan handläggare i tjänst",
                    "unassigned_points": "Poäng utan handläggare i tjänst", "reason": "Orsak"}


def _frame_table(title: str, frame, columns: list[str]) -> Table:
    table = Table(title=title)
    for column in columns:
        if column in ("staff_id", "unit", "level", "reason", "scenario"):
            table.add_column(WORKLOAD_HEADERS.get(column, column), no_wrap=True)
        else:
            table.add_column(WORKLOAD_HEADERS.get(column, column), justify="right")
    for row in frame[columns].itertuples(index=False):
        table.add_row(*[_shown(column, value) for column, value in zip(columns, row, strict=True)])
    return table


def _shown(column: str, value) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if column in ("load_ratio", "load_before", "load_after"):
        return f"{100 * value:.0f} %"
    if isinstance(value, float):
        return format_number(value, 1, thousands="", min_decimals=0)
    return str(value)


@app.command()
def workload(
    municipality: Annotated[str | None, typer.Option("--kommun", help="Kommunkod (krävs om flera finns).")] = None,
    unit: Annotated[str | None, typer.Option("--enhet", help="Enhet: visa dess handläggare.")] = None,
    month: Annotated[str | None, typer.Option("--manad", help="Månad ÅÅÅÅ-MM (standard: den senaste).")] = None,
    extra_fte: Annotated[float, typer.Option(
        "--extra-arsarbetare", help="Vad händer med en till handläggare (årsarbetare)?")] = 0.0,
    level: Annotated[str | None, typer.Option("--niva", help="Den tillkommandes erfarenhetsnivå.")] = None,
    move_case: Annotated[str | None, typer.Option("--flytta-arende", help="Ärende-id att flytta.")] = None,
    to_staff: Annotated[str | None, typer.Option("--till", help="Handläggare som tar över ärendet.")] = None,
    excel: Annotated[Path | None, typer.Option("--excel", help="Skriv tabellerna till en Excelfil.")] = None,
) -> None:
    """Arbetstyngd per handläggare och enhet en månad, med egen skattning och flexsaldo, och vad
    som händer med en till handläggare eller ett flyttat ärende. Visar personuppgifter om
    anställda: endast för deras chefer."""
    from insyn.workflows import workload_view, workload_what_if
    from insyn.workforce.export import write_workload_workbook

    settings = _settings()
    view = workload_view(settings, municipality, unit, month)
    units = ["unit", "caseworkers", "fte", "cases", "points", "norm_points", "load_ratio", "over_norm",
             "mean_rating", "mean_flex_hours", "unassigned_cases", "unassigned_points"]
    console.print(_frame_table(f"Enheter, kommun {view.municipality}, {view.month}", view.units, units))
    if unit:
        columns = ["staff_id", "level", "fte", "cases", "points", "norm_points", "load_ratio",
                   "months_over_norm", "rating", "flex_hours"]
        console.print(_frame_table(f"Handläggare på {unit}, {view.month}", view.caseworkers, columns))
    tables = {"Handläggare": view.caseworkers, "Enheter": view.units, "Utan handläggare": view.unassigned}
    if extra_fte or move_case:
        if not unit:
            raise _fail("välj enhet med --enhet för att pröva en förändring")
        change = workload_what_if(settings, view.municipality, unit, view.month, extra_fte, level,
                                  move_case, to_staff)
        console.print(_frame_table(f"Om {unit} {view.month}", change.unit, list(change.unit.columns)))
        if not change.caseworkers.empty:
            console.print(_frame_table("Berörda handläggare", change.caseworkers, list(change.caseworkers.columns)))
        tables |= {"Förändring enhet": change.unit, "Förändring handläggare": change.caseworkers}
    if excel:
        console.print(f"Excel: {write_workload_workbook(tables, WORKLOAD_HEADERS, excel)}")


@app.command()
def prognos(
    municipality: Annotated[str, typer.Option("--kommun", help="Kommunkod.")],
    unit: Annotated[str | None, typer.Option("--enhet", help="Enhet (standard: hela kommunen).")] = None,
    lead_months: Annotated[int | None, typer.Option(
        "--ledtid", min=0, max=24, help="Månader från beslut om rekrytering till ny handläggare i tjänst "
        "(standard: forecast.yaml, 3).")] = None,
    backtest: Annotated[bool, typer.Option(
        "--efterhand/--utan-efterhand", help="Pröva prognosen i efterhand på egen historik.")] = True,
) -> None:
    """Prognos för de kommande tolv månaderna: anmälningar, förhandsbedömningar, inledda
    utredningar, pågående utredningar och insatser, med 80- och 95-procentsintervall; hur väl
    prognosen gått i efterhand mot samma månad förra året; och bemanningsbehovet per enhet med
    månaden att rekrytera senast."""
    from insyn.publish.forecast import (
        count_text,
        error_sentence,
        interval_text,
        month_name,
        series_view,
        staffing_sentence,
    )
    from insyn.workflows import forecast_outlook

    settings = _settings()
    config, rules = settings.forecast_config(), settings.disclosure_rules()
    result = forecast_outlook(settings, municipality, lead_months, backtest)
    shown_unit = unit or ""
    if unit and unit not in result.units():
        raise _fail(f"kommun {municipality} har ingen enhet {unit} (finns: {', '.join(result.units())})")
    views = [series_view(result, shown_unit, m.id, m.label) for m in config.shown]
    views = [v for v in views if len(v.forecast)]
    where = f"{unit}, kommun {municipality}" if unit else f"kommun {municipality}"
    table = Table(title=f"Prognos {where}: median (95 % intervall)",
                  caption=f"Senaste kända månad {month_name(result.origin)}. Färre än "
                          f"{rules.count_threshold} visas inte (röjandekontroll).")
    table.add_column("Månad", no_wrap=True)
    for view in views:
        table.add_column(view.label, justify="right")
    for h in range(config.horizon_months):
        month = month_name(result.origin + h + 1)
        ahead = [v.forecast.iloc[h] for v in views]
        table.add_row(month, *[f"{count_text(r['median'], rules)} "
                               f"({interval_text(r['lower_95'], r['upper_95'], rules)})" for r in ahead])
    console.print(table)
    if backtest:
        for view in views:
            console.print(f"{view.label}: {error_sentence(view)}", markup=False)
    plans = [result.staffing[unit]] if unit and unit in result.staffing else list(result.staffing.values())
    if plans:
        console.print(Text("Bemanning", style="bold"))
    for plan in plans:
        console.print(staffing_sentence(plan, result.lead_months, result.smallest_recruitment_fte), markup=False)


@app.command()
def extract(
    tables: Annotated[str, typer.Option("--tabeller", help="Tabeller, kommaseparerade (t.ex. events,staff).")],
    out: Annotated[Path, typer.Option("--ut", help="Ny (eller tom) katalog för uttaget.")],
    columns: Annotated[str | None, typer.Option(
        "--kolumner", help="Kolumner som tabell.kolumn, kommaseparerade (standard: alla lagrade kolumner "
                           "utom födelsemånad i de tabeller som inte nämns).")] = None,
    quasi: Annotated[str | None, typer.Option(
        "--kvasi", help="Kvasiidentifierare (standard: birth_year, sex, municipality där de skrivs).")] = None,
    k: Annotated[int, typer.Option("--k", help="Minsta antal personer per kombination av "
                                               "kvasiidentifierare.")] = 5,
    max_suppressed: Annotated[float, typer.Option(
        "--max-bortfall", help="Högsta andel rader (procent) som får tas bort för att nå k.")] = 5.0,
    key_file: Annotated[Path | None, typer.Option(
        "--nyckel", help="Nyckelfil som gör uttaget länkbart till senare uttag med samma fil (skapas om "
                         "den saknas). Utan den kastas nyckeln när uttaget är skrivet.")] = None,
    fmt: Annotated[Literal["csv", "parquet"], typer.Option("--format", help="csv eller parquet.")] = "csv",
) -> None:
    """Skriv ett pseudonymiserat, k-anonymt uttag på radnivå för forskning, med datakatalog och
    riskrapport att bifoga en etikprövningsansökan."""
    from insyn.publish.extract import EXTRACT_STEPS
    from insyn.workflows import write_extract

    def names(text: str | None) -> list[str] | None:
        return [name.strip() for name in text.split(",") if name.strip()] if text is not None else None

    try:
        with steps(EXTRACT_STEPS) as advance:
            result = write_extract(_settings(), out, names(tables) or [], names(columns), names(quasi), k,
                                   max_suppressed, fmt, key_file, progress=advance)
    except InsynError as exc:
        raise _fail(f"{exc}\nInget uttag har skrivits.") from exc
    report = result.report
    summary = Table(title=f"Uttag, k = {report['k']}")
    for column in ("Tabell", "Rader skrivna", "Rader borttagna", "Personer borttagna", "Minsta grupp"):
        summary.add_column(column, justify="left" if column == "Tabell" else "right")
    for table in report["tables"]:
        summary.add_row(table["table"], *[_shown(c, table[c]) for c in
                                          ("rows_written", "rows_dropped", "persons_dropped", "smallest_group")])
    console.print(summary)
    levels = ", ".join(f"{q['column']} ({q['level_name']})" for q in report["quasi_identifiers"])
    console.print(f"Kvasiidentifierare: {levels or 'inga'}")
    if not report["within_limit"]:
        console.print(_notice(f"mer än {_shown('', report['max_suppressed_percent'])} % av raderna togs bort "
                              "(se riskrapporten)."))
    for table in report["tables"]:
        if table["rows_dropped_percent"] > report["max_suppressed_percent"]:
            console.print(_notice(f"{_shown('', table['rows_dropped_percent'])} % av raderna i {table['table']} "
                                  "togs bort. Ett eget uttag av tabellen kan behålla fler rader på en grövre nivå."))
    console.print(report["key"]["text"])
    console.print(f"Uttag, datakatalog och riskrapport i {result.out_dir}", style="bold")


@app.command()
def export(
    fmt: Annotated[Literal["kolada", "tabell"], typer.Option(
        "--format", help="kolada: JSON som Koladas API; tabell: allt publicerat som en lång tabell "
                         "(.csv eller .xlsx).")],
    out: Annotated[Path | None, typer.Option("--ut", help="Fil att skriva (annars till terminalen).")] = None,
    municipalities: Annotated[list[str] | None, typer.Option(
        "--kommun", help="Kommunkod; kan anges flera gånger (standard: alla).")] = None,
    years: Annotated[str, typer.Option("--ar", help="År, t.ex. 2024 eller 2022-2024 (standard: alla).")] = "",
) -> None:
    """Exportera de publicerade årsvärdena per kommun (totalt, flickor, pojkar) som JSON i Koladas
    format, eller (--format tabell) allt publicerat som en lång tabell för analys: en rad per
    värde, kommunkod som text, tal som tal. Allt har passerat röjandekontrollen: ett dolt värde
    har inget värde och status dold."""
    from insyn.publish.kolada import to_json
    from insyn.workflows import export_kolada, export_table

    if fmt == "tabell":
        if out is None or municipalities or years:
            raise _fail("--format tabell skriver allt publicerat till en fil: ange --ut publicerat.xlsx eller .csv "
                        "(utan --kommun och --ar; filtrera i tabellen).")
        try:
            written = export_table(_settings(), out)
        except InsynError as exc:
            raise _fail(str(exc)) from exc
        console.print(f"Tabellen skriven till {written}", markup=False)
        return

    document = export_kolada(_settings(), municipalities, _parse_years(years) if years else None)
    if out is None:
        typer.echo(to_json(document), nl=False)
        return
    out.write_text(to_json(document), encoding="utf-8")
    console.print(f"{len(document['values'])} värden (nyckeltal, kommun och år) skrivna till {out}")


def _import_published(files: list[Path]) -> None:
    """insyn import --format kolada: published values in Kolada's shape, all files or none."""
    from insyn.workflows import import_published

    try:
        imported = import_published(_settings(), files)
    except InsynError as exc:
        raise _fail(f"{exc}\nInget har lästs in.") from exc
    for result in imported:
        for line in result.lines():
            console.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command("copy-tables")
def copy_tables(
    url: Annotated[str, typer.Argument(help="postgresql://… eller spark+parquet:///mapp")],
) -> None:
    """Kopiera grundtabellerna (pseudonymiserade) från datakatalogens lager till PostgreSQL eller
    till Parquet för Spark, och beräkna sedan där med insyn indicators --lager."""
    from insyn.store.backends import copy_canonical_tables, without_credentials
    from insyn.workflows import store_for

    store = store_for(_settings(), read_only=True)
    try:
        with console.status(f"Kopierar till {without_credentials(url)} …"):
            counts = copy_canonical_tables(store, url)
    except InsynError as exc:
        raise _fail(f"{exc}\nInget har kopierats.") from exc
    finally:
        store.close()
    for name, rows in counts.items():
        console.print(f"{name}: {count_of(rows, 'rad', 'rader', ' ')}")


@app.command()
def configure() -> None:
    """Kopiera workforce.yaml (mätdag, utbildningsmål, PO-pålägg), workload.yaml (vikter och normer för
    arbetstyngd), disclosure.yaml (röjandekontroll) och forecast.yaml (prognos, ledtid för
    rekrytering) till datakatalogen, för att redigera. Kör sedan insyn indicators --recompute."""
    from insyn.workflows import copy_editable_files

    settings = _settings()
    written = copy_editable_files(settings)
    for path in written:
        console.print(f"Skrev {path}")
    if not written:
        console.print(f"Filerna finns redan i {settings.data_dir}: de används som de är.")
    console.print("Redigera filerna och räkna om med: insyn indicators --recompute")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Adress att lyssna på (standard: bara den här datorn).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Antal serverprocesser.")] = 1,
    insecure_cookies: Annotated[bool, typer.Option(
        "--utan-https", help="Kakor utan Secure-flaggan: bara för vanlig HTTP på en annan adress än "
                             "127.0.0.1/localhost, t.ex. bakom en proxy som sköter HTTPS.")] = False,
    proxy: Annotated[str | None, typer.Option(
        "--proxy", help="Adresserna (kommaseparerade) till de omvända proxyer som får ange klientens adress i "
                        "X-Forwarded-For; bara deras ord tas. Utan: ingen proxys ord tas.")] = None,
) -> None:
    """Starta webbappen (Översikt, Ärendeflöde, Personal, Jämförelse, Kompetens och bokning, Import, Logg)."""
    import os

    import uvicorn

    from insyn.logs import uvicorn_log_config
    from insyn.web.accounts import list_users
    from insyn.web.appstate import open_app_state

    settings = _settings()
    con = open_app_state(settings.data_dir)
    try:
        if not list_users(con):
            console.print(_styled("Det finns inga användare ännu.", "yellow", " Skapa en administratör först:\n"
                                  "  insyn users add admin --roll administrator"))
    finally:
        con.close()
    os.environ["INSYN_DATA_DIR"] = str(settings.data_dir)
    os.environ["INSYN_SECURE_COOKIES"] = "0" if insecure_cookies else "1"
    console.print(f"Insyn på http://{host}:{port}/ – datakatalog {settings.data_dir}. Avsluta med Ctrl+C.")
    # The client's address (for the login limits and the audit log) from X-Forwarded-For only when
    # the connection comes from a trusted proxy (uvicorn's ProxyHeadersMiddleware).
    proxies = [p.strip() for p in (proxy or "").split(",") if p.strip()]
    uvicorn.run("insyn.web.server:app", host=host, port=port, workers=workers, log_level="warning",
                log_config=uvicorn_log_config(settings.data_dir), proxy_headers=bool(proxies),
                forwarded_allow_ips=proxies or None, server_header=False)


users_app = typer.Typer(help="Användare i webbappen: skapa, lista, ta bort.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Användarnamn, t.ex. anna.berg")],
    role: Annotated[str, typer.Option(
        "--roll", help="administrator, analytiker, kommun, enhetschef eller handlaggare.")],
    password: Annotated[str, typer.Option(
        "--losenord", prompt="Lösenord", hide_input=True, confirmation_prompt="Upprepa lösenordet",
        envvar="INSYN_LOSENORD", help="Frågas efter om det inte anges (eller finns i $INSYN_LOSENORD).")],
    name: Annotated[str | None, typer.Option("--namn", help="Namn som visas.")] = None,
    municipality: Annotated[str | None, typer.Option("--kommun", help="Kommunkod (fyra siffror).")] = None,
    units: Annotated[list[str] | None, typer.Option("--enhet", help="Enhet (enhetschef; kan upprepas).")] = None,
    staff_id: Annotated[str | None, typer.Option("--personal-id", help="Handläggarens personal-id.")] = None,
) -> None:
    """Skapa en användare (lösenordet sparas som Argon2-hash). Enheter och personal-id måste finnas
    bland de importerade uppgifterna för kommunen."""
    from insyn.web.accounts import Role, add_user
    from insyn.web.appstate import open_app_state
    from insyn.workflows import organisation

    if role not in {r.value for r in Role}:
        raise _fail(f"Okänd roll {role} (välj {', '.join(r.value for r in Role)}).")
    settings = _settings()
    known = organisation(settings, municipality) if municipality and (units or staff_id) else None
    con = open_app_state(settings.data_dir)
    try:
        user = add_user(con, username, password, role, display_name=name, municipality=municipality,
                        units=tuple(units or ()), staff_id=staff_id, known=known)  # AccountError: an InsynError
    finally:
        con.close()
    console.print(f"Skapade {user.username} ({user.role_label}).")


@users_app.command("list")
def users_list() -> None:
    """Lista användarna."""
    from insyn.web.accounts import list_users
    from insyn.web.appstate import open_app_state

    con = open_app_state(_settings().data_dir)
    try:
        table = Table(title="Användare")
        for column in ("Användarnamn", "Namn", "Roll", "Kommun", "Enheter", "Personal-id"):
            table.add_column(column)
        for u in list_users(con):
            table.add_row(u.username, u.display_name, u.role_label, u.municipality or "", ", ".join(u.units),
                          u.staff_id or "")
        console.print(table)
    finally:
        con.close()


@users_app.command("remove")
def users_remove(username: Annotated[str, typer.Argument(help="Användarnamn")]) -> None:
    """Inaktivera en användare (namnet finns kvar i loggen; alla sessioner avslutas)."""
    from insyn.web.accounts import deactivate_user
    from insyn.web.appstate import open_app_state

    con = open_app_state(_settings().data_dir)
    try:
        deactivate_user(con, username)  # AccountError: an InsynError
    finally:
        con.close()
    console.print(f"{username} kan inte längre logga in.")


names_app = typer.Typer(help="Den lokala namnlistan (personal-id → namn) som chefer bokar sin personal med.",
                        no_args_is_help=True)
users_app.add_typer(names_app, name="names")


@names_app.command("import")
def names_import(
    file: Annotated[Path, typer.Argument(help="CSV- eller Excelfil med kolumnerna personal-id och namn.")],
    municipality: Annotated[str, typer.Option("--kommun", help="Kommunkod (fyra siffror) för personalen.")],
) -> None:
    """Läs in kommunens namnlista (ersätter den som fanns). Namnen sparas bara i webbappens tillstånd,
    aldrig i datalagret, en export eller ett uttag."""
    from insyn.web.appstate import open_app_state
    from insyn.web.data import current_staff
    from insyn.web.names import read_name_list, replace_names
    from insyn.workflows import store_for

    settings = _settings()
    rows = read_name_list(file)  # NameListError: an InsynError
    store = store_for(settings, read_only=True)
    try:
        staff = current_staff(store)
    finally:
        store.close()
    staff = staff[staff.municipality == municipality]
    if staff.empty:
        raise _fail(f"Kommun {municipality} har ingen personal i underlaget.")
    con = open_app_state(settings.data_dir)
    try:
        count = replace_names(con, municipality, rows, staff.groupby("staff_id").unit.agg(set).to_dict(), None,
                              "terminalen", file.name)
    finally:
        con.close()
    console.print(f"Namnlistan för {municipality} är inläst: {count_of(count, 'namn', 'namn')}.")
