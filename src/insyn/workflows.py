"""The jobs a user runs, as plain functions: import, compute, publish, demo.

The CLI (and later the web app) are thin faces over these; each takes Settings and an
optional progress callback, and returns what it did.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from insyn.disclosure.releases import (
    DIFFERENTIAL_PRIVACY,
    SUPPRESSION,
    check_release,
    earlier_releases,
    published_years,
    record_release,
)
from insyn.errors import Conflict, InputError, NoData, NotFound
from insyn.ingest.load import ImportResult, extract_date_of, import_files
from insyn.ingest.profiles import Profile, load_profile
from insyn.ingest.pseudonymise import load_or_create_key
from insyn.publish.publication import Publication
from insyn.settings import Settings
from insyn.store import Store, open_store
from insyn.workforce.organisation import Organisation, organisations

Progress = Callable[[str], None] | None
log = logging.getLogger(__name__)


def store_for(settings: Settings, read_only: bool = False) -> Store:
    return open_store(settings.database_path, read_only=read_only, memory_limit=settings.memory_limit,
                      spill_dir=settings.spill_dir)


def import_steps(files: int) -> int:
    """How many progress steps `run_import` reports: reading and loading each file, the
    recompute and the web's protection."""
    return 2 * files + 2


def run_import(settings: Settings, paths: Sequence[Path], profile: str | Profile | None = None,
               table: str | None = None, strict: bool = False, compute: bool = True,
               progress: Progress = None, extract_date: dt.date | None = None) -> ImportResult:
    """Import files and recompute the indicators and workload, all in one transaction.
    `profile` is a mapping profile, or the name or path of one; `extract_date` the day the
    export was taken (docs/import-format.md)."""

    def recompute() -> None:
        if progress:
            progress("Beräknar indikatorer och arbetstyngd")
        replace_derived(store, settings)
        if progress:
            progress(WEB_PROTECTION_STEP)
        protect_for_web(store, settings)

    # A bad profile or workforce file fails before the store opens.
    mapping = load_profile(profile) if isinstance(profile, str | Path) else profile
    extract_date_of(mapping, extract_date)
    settings.workforce_config()
    settings.workload_config()
    key = load_or_create_key(settings.key_path)
    store = store_for(settings)
    started = time.perf_counter()
    log.info("Import started: %d file(s), table %s, profile %s", len(paths), table or "by columns",
             mapping.name if mapping else "none")
    try:
        result = import_files(store, paths, key, mapping, table, strict, progress,
                              before_commit=recompute if compute else None, extract_date=extract_date)
    finally:
        store.close()
    log.info("Import %s finished in %.1f s: %d row(s) loaded, %d quarantined, %d quality warning(s)",
             result.import_id, time.perf_counter() - started, sum(f.rows_loaded for f in result.files),
             sum(f.validated.rows_rejected for f in result.files), result.quality_warnings)
    return result


def replace_derived(store: Store, settings: Settings) -> None:
    """Recompute everything derived from the canonical tables (indicator results, workload),
    in the caller's transaction, with the data folder's workforce and workload files."""
    from insyn.indicators.engine import replace_results
    from insyn.workforce.workload import replace_workload

    workforce, workload = settings.workforce_config(), settings.workload_config()
    started = time.perf_counter()
    rows = replace_results(store, settings.cache_dir, workforce, workload)
    computed = time.perf_counter()
    replace_workload(store, workforce, workload, settings.cache_dir)
    log.info("Recomputed %d indicator result(s) in %.1f s and the workload in %.1f s", rows,
             computed - started, time.perf_counter() - computed)


WEB_PROTECTION_STEP = "Röjandekontroll för webben"


def protect_for_web(store: Store, settings: Settings) -> None:
    """Compute, in the caller's transaction, the disclosure statuses of the stored results as
    published, which the web app's views and the terminal's summary start from. They are kept in
    the cache folder under the key their `prepare` reads (the same results, rules and earlier
    releases), so that no reader waits for the LP after an import. A municipality's own view
    (its figures in full) audits only its own rows again, about a second at first request."""
    from insyn.indicators.engine import stored_results
    from insyn.publish.publication import protected_results

    started = time.perf_counter()
    periods = [period for (period,) in store.raw.execute("SELECT DISTINCT period FROM indicator_results").fetchall()]
    if not periods:
        return
    earlier = earlier_releases(store, published_years(periods))
    # Read in the call, so that no copy of every result outlives its first step (national scale).
    rows = len(protected_results(stored_results(store), settings.disclosure_rules(), settings.cache_dir,
                                 earlier=earlier, release=False))
    log.info("Protected the published view of %d row(s) in %.1f s", rows, time.perf_counter() - started)


def compute_indicators(settings: Settings) -> pd.DataFrame:
    """Recompute the indicators and workload (after editing workforce.yaml or workload.yaml, say)."""
    from insyn.indicators.engine import stored_results

    store = store_for(settings)
    try:
        with store.transaction():
            replace_derived(store, settings)
            protect_for_web(store, settings)
            return stored_results(store)
    finally:
        store.close()


def compute_indicators_at(settings: Settings, url: str) -> pd.DataFrame:
    """Compute the indicator library where the canonical tables are — PostgreSQL or Spark at
    `url` (insyn.store.backends) — and keep the results in the data folder's store, where the
    reports, the disclosure layer and the web app read them. Only the results leave the
    backend; the monthly workload per caseworker is computed on DuckDB only and is left as it was."""
    from insyn.indicators.engine import compute, write_results
    from insyn.store.backends import open_backend

    store = store_for(settings, read_only=True)
    try:
        extract_dates = store.extract_dates()
    finally:
        store.close()
    backend = open_backend(url)
    try:
        results = compute(backend, cache_dir=settings.cache_dir, workforce=settings.workforce_config(),
                          workload=settings.workload_config(), extract_dates=extract_dates)
    finally:
        backend.close()
    store = store_for(settings)
    try:
        with store.transaction():
            write_results(store, results)
    finally:
        store.close()
    return results


def stored_indicators(settings: Settings) -> pd.DataFrame:
    """The precomputed results (computed first if the store has data but no results yet)."""
    from insyn.indicators.engine import stored_results

    store = store_for(settings)
    try:
        results = stored_results(store)
        if results.empty and (store.count("events") or store.count("staff")):
            with store.transaction():
                replace_derived(store, settings)
                results = stored_results(store)
        return results
    finally:
        store.close()


@dataclass(frozen=True)
class NoiseChoice:
    """Noise in place of holes for one publication (docs/noise.md): the cell-key method, or
    differential privacy spending `epsilon` of release `release`'s total `budget` on the yearly
    municipality totals of a few `indicators` (ε is shared by every count in the table, so a
    whole report's thousands of counts would each get noise in the thousands)."""

    method: Literal["cellnyckel", "dp"]
    epsilon: float = 1.0
    release: str | None = None
    budget: float | None = None
    indicators: tuple[str, ...] = ()


REPORT_STEPS = 5  # read, protect, the forecast, the report, the workbook
BRIEF_STEPS = 3  # read, protect, the brief


def write_report(settings: Settings, out_dir: Path | None = None, noise: NoiseChoice | None = None,
                 municipality: str | None = None, progress: Progress = None) -> dict[str, Path]:
    """The report and the workbook, or with `municipality` its brief (insyn.publish.brief), written
    to out_dir (by default the output folder's folder of the day); `progress` is told each of
    REPORT_STEPS (BRIEF_STEPS) as it starts."""
    notify = progress or (lambda _: None)
    notify("Läser de beräknade indikatorerna")
    results = stored_indicators(settings)
    if results.empty:
        raise NoData("Det finns inga indikatorer att rapportera: importera data först "
                          "(insyn import) eller kör insyn demo.")
    out_dir = out_dir or settings.output_dir / dt.date.today().isoformat()
    if municipality is None:
        return _publish_stored(settings, out_dir, noise, progress=notify)[1]
    from insyn.publish.brief import write_brief

    if municipality not in set(results.municipality):
        raise NotFound(f"Kommunen {municipality} finns inte i underlaget.")

    def brief(pub: Publication, folder: Path, imported: pd.DataFrame) -> dict[str, Path]:
        notify("Skriver kommunbladet (HTML och PDF)")
        return write_brief(pub, municipality, folder, imported, _brief_forecast(settings, municipality))

    return _publish_stored(settings, out_dir, noise, write=brief, progress=notify)[1]


def _brief_forecast(settings: Settings, municipality: str) -> list:
    """The brief's forecast of the headline measures; none where the history is too short."""
    from insyn.publish.forecast import headline_forecast

    try:
        result = forecast_outlook(settings, municipality)
    except NotFound:
        return []
    return headline_forecast(result, settings.forecast_config(), settings.disclosure_rules())


def only_synthetic(store: Store) -> bool:
    """Whether everything in the store came from the demo's invented data."""
    imports, others = store.raw.execute(
        "SELECT count(*), count(*) FILTER (WHERE profile IS DISTINCT FROM ?) FROM imports", [DEMO_PROFILE]).fetchone()
    return imports > 0 and others == 0


def _noise_function(choice: NoiseChoice | None, store: Store, table: str):
    """The function giving the results their noise; a DP table spends its ε in the store."""
    from insyn.disclosure.noise import Release, cell_key_noise, dp_noise

    if choice is None:
        return None
    if choice.method == "cellnyckel":
        return cell_key_noise
    if not choice.release or choice.budget is None:
        raise InputError("Differentiell integritet kräver en utgåva (--utgava) och dess totala budget (--budget).")
    if not choice.indicators:
        raise InputError("Välj de indikatorer tabellen ska ha med --indikator (en till några få): ε delas "
                         "mellan alla tal i tabellen.")
    release = Release(choice.release, choice.budget)

    def yearly_totals_with_noise(results: pd.DataFrame) -> pd.DataFrame:
        chosen = results[results.indicator.isin(choice.indicators) & (results.period_type == "year")
                         & results[["unit", "sex", "age_group", "category"]].isna().all(axis=1)]
        # Refused before any ε is spent when a year was published with holes.
        check_release(store, published_years(chosen.period), DIFFERENTIAL_PRIVACY)
        return dp_noise(chosen.reset_index(drop=True), store, release, table, choice.epsilon)

    return yearly_totals_with_noise


def _publish_stored(settings: Settings, out_dir: Path, noise: NoiseChoice | None = None,
                    released: bool = True, write: Writer | None = None,
                    progress: Progress = None) -> tuple[Publication, dict[str, Path]]:
    """The stored results and workload, published to out_dir by `write` (by default the report
    and the workbook): (publication, written paths). A release (`released`, not the demo's
    invented data) is recorded in the store's ledger with its years and method before anything
    is written; differential privacy spends its ε there."""
    from insyn.indicators.engine import stored_results
    from insyn.publish import prepare, publish
    from insyn.publish.kolada import stored_published_values
    from insyn.workforce.workload import stored_workload

    name = f"rapport {out_dir.name}"
    if progress:
        progress("Röjandekontroll: döljer tal som kan röja enskilda")
    spends = noise is not None and noise.method == "dp"
    store = store_for(settings, read_only=not spends)
    try:
        results, workload = stored_results(store), stored_workload(store)
        imported = stored_published_values(store)
        publication = prepare(results, settings.disclosure_rules(), workload=workload,
                              reference=settings.workforce_config().reference_date, cache_dir=settings.cache_dir,
                              noise=_noise_function(noise, store, name),
                              earlier=earlier_releases(store, published_years(results.period)),
                              synthetic=only_synthetic(store))
    finally:
        store.close()
    if released:
        _record(settings, publication.rows, published_years(publication.rows.period),
                noise.method if noise else SUPPRESSION, name)
    if write is None:
        return publication, publish(publication, out_dir, imported=imported, progress=progress,
                                    forecasts=_report_forecasts(settings, noise is None, progress))
    return publication, write(publication, out_dir, imported)


def _report_forecasts(settings: Settings, exact: bool, progress: Progress = None) -> dict[str, list]:
    """Each municipality's year ahead of the headline measures, for the report
    (insyn.publish.forecast.headline_forecast). None beside noisy figures (`exact` false): the
    months behind a forecast, even rounded, would tell what the noise hides."""
    from insyn.forecast.history import store_history
    from insyn.forecast.outlook import municipal_outlooks
    from insyn.publish.forecast import HEADLINE_MEASURES, headline_forecast

    if progress:
        progress("Prognos för det kommande året")
    if not exact:
        return {}
    config, rules = settings.forecast_config(), settings.disclosure_rules()
    store = store_for(settings, read_only=True)
    try:
        stored = store_history(store, config, settings.workforce_config(), settings.workload_config(),
                               settings.cache_dir)
    finally:
        store.close()
    return {municipality: headline_forecast(result, config, rules, f"kommun-{municipality}")
            for municipality, result in municipal_outlooks(stored, config, list(HEADLINE_MEASURES)).items()}


Writer = Callable[[Publication, Path, pd.DataFrame], dict[str, Path]]


def published_view(settings: Settings, results: pd.DataFrame, release: bool = True) -> Publication:
    """The results as a publication with holes would show them, beside what earlier ones of the
    same years hid and showed (the store's ledger, insyn.disclosure.releases). Not for a release
    (the terminal's summary), a view that could not be released is made hiding what was hidden."""
    from insyn.disclosure.releases import Earlier
    from insyn.publish.publication import prepare

    earlier, synthetic = Earlier(), False
    if settings.database_path.exists():
        store = store_for(settings, read_only=True)
        try:
            earlier = earlier_releases(store, published_years(results.period))
            synthetic = only_synthetic(store)
        finally:
            store.close()
    return prepare(results, settings.disclosure_rules(), cache_dir=settings.cache_dir, earlier=earlier,
                   release=release, synthetic=synthetic)


def _record(settings: Settings, rows: pd.DataFrame, years: Sequence[str], method: str, name: str) -> None:
    """A publication's years and method, and what it showed and hid of them (`rows`, with their
    status), in the store's ledger (the store open for writing only for that), or MixedMethods."""
    store = store_for(settings)
    try:
        record_release(store, years, method, name, rows)
    finally:
        store.close()


def demo_years(today: dt.date | None = None) -> list[int]:
    """The last four full calendar years."""
    year = (today or dt.date.today()).year
    return list(range(year - 4, year))


@dataclass
class DemoResult:
    out_dir: Path
    data_files: list[Path]
    import_result: ImportResult
    publication: Publication
    published: dict[str, Path]


DEMO_STEPS = 4  # generate, write, import and compute, publish


class StoreInUse(Conflict):
    """The store already holds data that did not come from the demo."""


DEMO_PROFILE = "demo"  # how the imports log marks the demo's own imports


def _other_imports(settings: Settings) -> list[str]:
    """Files in the store's import log that the demo did not import."""
    if not settings.database_path.exists():
        return []
    store = store_for(settings, read_only=True)
    try:
        return [row[0] for row in store.raw.execute(
            "SELECT DISTINCT file FROM imports WHERE profile IS DISTINCT FROM ?", [DEMO_PROFILE]
        ).fetchall()]
    finally:
        store.close()


def run_demo(settings: Settings, seed: int = 1, out_dir: Path | None = None,
             progress: Progress = None) -> DemoResult:
    """Generate the demo region, import it into the default store, compute and publish.
    Refuses a store that holds other imports: synthetic cases must never mix with real ones."""
    from insyn.model.municipalities import region_municipalities
    from insyn.synth.generate import generate, write_tables

    others = _other_imports(settings)
    if others:
        raise StoreInUse(
            f"Datalagret i {settings.data_dir} innehåller redan importerade filer "
            f"({len(others)} st, t.ex. {Path(others[0]).name}). Demot blandar aldrig syntetiska "
            "data med riktiga: kör det med en egen katalog, t.ex. insyn --data-dir /tmp/insyn-demo demo.")
    out_dir = out_dir or settings.data_dir / "demo"
    notify = progress or (lambda _: None)
    notify("Skapar syntetiska data för demoregionen")
    tables = generate(region_municipalities("demo"), demo_years(), seed=seed)
    notify("Skriver exportfiler (CSV)")
    files = write_tables(tables, out_dir / "data", fmt="csv")
    notify("Importerar, pseudonymiserar och beräknar indikatorer")
    # The synthetic exports are taken on the last day of the last year.
    imported = run_import(settings, files, Profile(name=DEMO_PROFILE), extract_date=dt.date(max(demo_years()), 12, 31))
    notify("Skriver rapport och Excelfil")
    publication, published = _publish_stored(settings, out_dir, released=False)  # invented data
    return DemoResult(out_dir, files, imported, publication, published)


@dataclass
class WorkloadView:
    """The manager's view of one municipality and month: each caseworker (with their own
    rating and flexitime), the units, and the work nobody in post holds."""

    municipality: str
    month: str
    caseworkers: pd.DataFrame
    units: pd.DataFrame
    unassigned: pd.DataFrame


def workload_view(settings: Settings, municipality: str | None = None, unit: str | None = None,
                  month: str | None = None) -> WorkloadView:
    """Rows name employees: for the caseworkers' own managers (docs/privacy.md)."""
    from insyn.workforce.workload import stored_workload, unit_months

    store = store_for(settings, read_only=True)
    try:
        workload = stored_workload(store)
    finally:
        store.close()
    frame = workload.caseworkers
    if frame.empty:
        raise NoData("Ingen arbetstyngd beräknad: importera personal (staff) och ärenden först.")
    codes = sorted(frame["municipality"].unique())
    if municipality is None and len(codes) > 1:
        raise InputError(f"Välj kommun med --kommun ({', '.join(codes)}).")
    municipality = municipality or codes[0]
    frame = frame[frame["municipality"] == municipality]
    if frame.empty:
        raise NotFound(f"Ingen arbetstyngd för kommun {municipality} (finns: {', '.join(codes)}).")
    month = month or frame["period"].max()
    units = unit_months(workload)
    units = units[(units["municipality"] == municipality) & (units["period"] == month)]
    unassigned = workload.unassigned
    unassigned = unassigned[(unassigned["municipality"] == municipality) & (unassigned["period"] == month)]
    frame = frame[frame["period"] == month]
    if unit:
        if unit not in set(units["unit"]):
            raise NotFound(f"Enheten {unit} finns inte i {month} "
                              f"(enheter: {', '.join(sorted(units['unit'].dropna().unique()))}).")
        frame, units = frame[frame["unit"] == unit], units[units["unit"] == unit]
        unassigned = unassigned[unassigned["unit"] == unit]
    return WorkloadView(municipality, month, frame.sort_values("load_ratio", ascending=False),
                        units, unassigned)


def workload_what_if(settings: Settings, municipality: str, unit: str, month: str, extra_fte: float = 0.0,
                     extra_level: str | None = None, move_case: str | None = None, to_staff: str | None = None):
    from insyn.workforce.workload import what_if

    try:
        first_day = dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        raise InputError(f"Ogiltig månad {month} (ÅÅÅÅ-MM väntas).") from None
    workforce, workload = settings.workforce_config(), settings.workload_config()
    store = store_for(settings, read_only=True)
    try:  # what_if raises NotFound for a missing unit, case or caseworker
        return what_if(store, workforce, workload, municipality, unit, first_day, extra_fte, extra_level,
                       move_case, to_staff, settings.cache_dir)
    finally:
        store.close()


def team_workload(settings: Settings, municipality: str, unit: str, months: int = 12):
    """A unit manager's view of one unit (insyn.workforce.team.TeamView, None without workload)
    and its latest month's caseworkers and case points, for the what-if (workload.unit_month):
    read from the store now, so the latest ratings are in it. Rows name employees."""
    from insyn.workforce.team import team_view
    from insyn.workforce.workload import unit_month

    workload = settings.workload_config()
    store = store_for(settings, read_only=True)  # StoreBusy while an import writes
    try:
        team = team_view(store, workload, municipality, unit, months)
        if team is None:
            return None, None
        month = dt.date.fromisoformat(f"{team.latest}-01")
        return team, unit_month(store, settings.workforce_config(), workload, municipality, unit, month,
                                settings.cache_dir)
    finally:
        store.close()


def unit_funding_ending(settings: Settings, municipality: str, unit: str, on: dt.date):
    """The unit's posts whose grant ends within the published count's months of `on`, or has
    ended (insyn.workforce.funding), and those months. Rows name employees."""
    from insyn.workforce.funding import funding_ending, notice_months

    months = notice_months()
    store = store_for(settings, read_only=True)  # StoreBusy while an import writes
    try:
        return funding_ending(store, municipality, unit, on, months), months
    finally:
        store.close()


def forecast_outlook(settings: Settings, municipality: str, lead_months: int | None = None,
                     with_backtest: bool = True):
    """A municipality's forecast, backtest and staffing need (insyn.forecast.outlook.Outlook),
    with forecast.yaml's recruitment lead time or `lead_months`. StoreBusy while an import writes."""
    from insyn.forecast.outlook import outlook

    config = settings.forecast_config()
    if lead_months is not None:
        config = config.model_copy(update={"recruitment_lead_months": lead_months})
    store = store_for(settings, read_only=True)
    try:
        return outlook(store, config, settings.workforce_config(), settings.workload_config(), municipality,
                       settings.cache_dir, with_backtest)
    finally:
        store.close()


def rate_month(settings: Settings, municipality: str, staff_id: str, month: dt.date, rating: int | str | None,
               flex_hours: float | str | None, today: dt.date | None = None) -> dict:
    """A caseworker's own rating of a month, stored (insyn.workforce.ratings.record_rating).
    StoreBusy while another process writes the store."""
    from insyn.workforce.ratings import record_rating

    config = settings.workload_config()
    store = store_for(settings)
    try:
        return record_rating(store, config, municipality, staff_id, month, rating, flex_hours,
                             today or dt.date.today())
    finally:
        store.close()


def own_cases(settings: Settings, municipality: str, staff_id: str, month: dt.date) -> pd.DataFrame:
    """The work in one caseworker's cases on the first of a month (workload.caseworker_cases)."""
    from insyn.workforce.workload import caseworker_cases

    workforce, workload = settings.workforce_config(), settings.workload_config()
    store = store_for(settings, read_only=True)
    try:
        return caseworker_cases(store, workforce, workload, municipality, staff_id, month, settings.cache_dir)
    finally:
        store.close()


def organisation(settings: Settings, municipality: str) -> Organisation:
    """The municipality's units and staff ids in the store (none without a store): what a user
    made on the command line may be given. The web app reads the same from its snapshot."""
    if not settings.database_path.exists():
        return Organisation(municipality)
    store = store_for(settings, read_only=True)
    try:
        return organisations(store).get(municipality, Organisation(municipality))
    finally:
        store.close()


def copy_editable_files(settings: Settings) -> list[Path]:
    """Copy workforce.yaml, workload.yaml, disclosure.yaml and forecast.yaml into the data folder
    for the municipality to edit (existing copies are kept)."""
    from insyn.config_files import copy_defaults
    from insyn.disclosure.rules import PACKAGE as DISCLOSURE
    from insyn.disclosure.rules import RULES_FILE
    from insyn.forecast.config import FORECAST_FILE
    from insyn.forecast.config import PACKAGE as FORECAST
    from insyn.model.workforce_config import PACKAGE as WORKFORCE
    from insyn.model.workforce_config import WORKFORCE_FILE, WORKLOAD_FILE

    return copy_defaults(settings.data_dir, {WORKFORCE_FILE: WORKFORCE, WORKLOAD_FILE: WORKFORCE,
                                             RULES_FILE: DISCLOSURE, FORECAST_FILE: FORECAST})


def write_extract(settings: Settings, out_dir: Path, tables: Sequence[str], columns: Sequence[str] | None,
                  quasi: Sequence[str] | None, k: int, max_suppressed_percent: float, fmt: str = "csv",
                  key_file: Path | None = None, progress: Progress = None):
    """A pseudonymised, k-anonymous row-level extract for research, with its data dictionary
    and risk report (docs/extract.md). Bad input raises ExtractError before anything is written."""
    from insyn.publish import extract

    plan = extract.plan_extract(tables, columns, quasi, k, max_suppressed_percent, fmt)
    if key_file and key_file.resolve() == settings.key_path.resolve():
        raise extract.ExtractError("Använd inte installationens pseudonymiseringsnyckel som nyckelfil för uttag: "
                                   "ange en egen fil med --nyckel.")
    if not settings.database_path.exists():
        raise extract.ExtractError(f"Inget datalager i {settings.data_dir} ännu: importera data först.")
    store = store_for(settings, read_only=True)
    try:
        return extract.write(store, plan, out_dir, key_file, progress)
    finally:
        store.close()


def export_kolada(settings: Settings, municipalities: Sequence[str] | None = None,
                  years: Sequence[int] | None = None) -> dict:
    """The published yearly figures per municipality as Kolada-shaped data (docs/kolada.md),
    made from the disclosure-protected publication, of the given municipalities and years."""
    from insyn.publish.kolada import export_document, exported_rows

    results = stored_indicators(settings)
    if results.empty:
        raise NoData("Det finns inga indikatorer att exportera: importera data först "
                          "(insyn import) eller kör insyn demo.")
    publication = published_view(settings, results)
    for asked, published, what in ((municipalities, publication.municipalities, "kommun"),
                                   ([str(y) for y in years or ()], publication.years, "år")):
        missing = sorted(set(asked or ()) - set(published))
        if missing:
            raise NotFound(f"Inga publicerade värden för {what} {', '.join(missing)} "
                              f"(finns: {', '.join(published)}).")
    _record(settings, exported_rows(publication, municipalities, years),
            [str(y) for y in years] if years else list(publication.years), SUPPRESSION,
            f"Kolada-export {dt.date.today().isoformat()}")
    return export_document(publication, municipalities, years)


def export_table(settings: Settings, path: Path) -> Path:
    """Everything published as one long table for an analyst (insyn.publish.analyst), CSV or
    Excel by the path's suffix: a release, recorded in the store's ledger."""
    from insyn.publish.analyst import write_analyst_table

    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise InputError(f"{path.name}: tabellen skrivs som .csv eller .xlsx.")
    results = stored_indicators(settings)
    if results.empty:
        raise NoData("Det finns inga indikatorer att exportera: importera data först "
                     "(insyn import) eller kör insyn demo.")
    publication = published_view(settings, results)
    _record(settings, publication.rows, list(publication.years), SUPPRESSION,
            f"tabell {path.name} {dt.date.today().isoformat()}")
    return write_analyst_table(publication, path)


def import_published(settings: Settings, paths: Sequence[Path]) -> list:
    """Import published values in Kolada's shape (Riket, regions, peers) in one transaction;
    KoladaFileError names the file and place of a problem, and nothing is stored then."""
    from insyn.publish.kolada import import_published_values

    store = store_for(settings)
    try:
        return import_published_values(store, paths)
    finally:
        store.close()


def comparison_values(settings: Settings) -> list:
    """Per indicator and year, the municipalities' own published figures beside the imported
    published values of the same KPI (Riket, regions, peers); empty when none are imported."""
    from insyn.publish.kolada import comparisons, stored_published_values

    results = stored_indicators(settings)
    store = store_for(settings, read_only=True)
    try:
        imported = stored_published_values(store)
    finally:
        store.close()
    return comparisons(published_view(settings, results), imported)
