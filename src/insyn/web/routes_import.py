"""The Import page: upload exports, pick a mapping profile, read the validation report (errors by
row and column, what goes to quarantine) before anything is loaded, then load and read it again.

Uploaded files hold personal identity numbers in clear, so they live only in the data folder's
upload area until they are loaded or discarded, and an upload older than a day is removed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Annotated

import anyio
import pyarrow.compute as pc
from fastapi import Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from insyn.errors import InputError, InsynError, bug_id, bug_message, user_message
from insyn.files import write_atomically
from insyn.ingest.load import ExtractDateError, extract_date_of
from insyn.ingest.profiles import PROFILE_FOLDER, ProfileError, available_profiles, load_profile
from insyn.ingest.validate import SchemaError, Validated
from insyn.model.tables import TABLES
from insyn.settings import Settings
from insyn.web import audit, pages
from insyn.web.accounts import User
from insyn.web.appstate import APP_STATE_FILE, connect
from insyn.web.data import Statistics
from insyn.web.deps import Signed, render
from insyn.web.registry import MenuPage, PageRouter
from insyn.web.scope import IMPORT_ROLES
from insyn.web.tables import CSV_TYPE, XLSX_TYPE, Row, Table, csv_bytes, xlsx_bytes

UPLOAD_FOLDER = "uppladdningar"
UPLOAD_LIFETIME_SECONDS = 24 * 3600
UPLOAD_SWEEP_SECONDS = 3600  # how often old uploads are looked for
MAX_UPLOAD_BYTES = 1 << 30  # one upload's whole request, all its files together (security.RequestBodies)
ERRORS_SHOWN = 200
SUMMARY_COLUMNS = ["Fil", "Tabell", "Rader", "Godkända", "Med fel (till karantän)"]
ERROR_COLUMNS = ["Fil", "Rad", "Kolumn", "Fel"]
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
PROGRESS = "progress.json"
# Where an upload is: checked (may be loaded), of other municipalities than the user's, unreadable,
# being loaded (in a background thread), loaded, or failed while loading (may be tried again).
CHECKED, FOREIGN, UNREADABLE = "checked", "foreign", "unreadable"
LOADING, LOADED, FAILED = "loading", "loaded", "failed"
log = logging.getLogger(__name__)


class UploadError(InputError):
    """An upload that cannot be checked (the message names the file and what is wrong)."""


def _safe_name(name: str | None) -> str:
    stem = Path(name or "fil").name
    cleaned = re.sub(r"[^\w.\- ]", "_", stem).strip(". ") or "fil"
    return cleaned[:120]


def _uploads(settings: Settings) -> Path:
    return settings.data_dir / UPLOAD_FOLDER


def remove_old_uploads(settings: Settings, now: float | None = None) -> None:
    folder = _uploads(settings)
    now = now or time.time()
    for upload in folder.iterdir() if folder.exists() else ():
        with contextlib.suppress(FileNotFoundError):  # removed meanwhile (another server process)
            if now - upload.stat().st_mtime > UPLOAD_LIFETIME_SECONDS:
                shutil.rmtree(upload, ignore_errors=True)


async def sweep_uploads(settings: Settings, every: float = UPLOAD_SWEEP_SECONDS) -> None:
    """Removes old uploads now and every `every` seconds, for the app's lifetime (app.lifespan):
    an upload nobody loads or discards is gone after a day, whether or not anyone opens Import."""
    while True:
        try:
            await run_in_threadpool(remove_old_uploads, settings)
        except Exception as error:  # the next round tries again; the app goes on
            log.error("Could not remove old uploads", exc_info=error)
        await anyio.sleep(every)


def _upload_dir(settings: Settings, token: str, username: str) -> Path:
    """The user's own upload, never another user's (the token alone is not enough)."""
    folder = _uploads(settings) / token
    if not TOKEN.match(token) or not (folder / "upload.json").exists():
        raise pages.NotFound("Uppladdningen finns inte längre: ladda upp filerna igen.")
    if json.loads((folder / "upload.json").read_text(encoding="utf-8"))["username"] != username:
        raise pages.NotFound("Uppladdningen finns inte längre: ladda upp filerna igen.")
    return folder


def _report_tables(validated: list[Validated], loaded: dict[str, tuple[int, int]] | None = None) -> list[Table]:
    summary: list[Row] = [[v.file.name, v.table.label, v.rows_read, v.rows_read - v.rows_rejected, v.rows_rejected]
                          for v in validated]
    errors: list[Row] = [list(e) for e in sorted(
        (v.file.name, int(row), problem.column, problem.reason)
        for v in validated for problem in v.problems for row in problem.row_numbers)]
    tables = [Table("sammanfattning", "Filerna", SUMMARY_COLUMNS, summary)]
    if loaded is not None:
        tables.append(Table("inlast", "Inläst", ["Fil", "Inlästa rader", "Ersatta rader (samma nyckel)"],
                            [[name, rows, replaced] for name, (rows, replaced) in loaded.items()]))
    tables.append(Table("fel", "Fel per rad och kolumn", ERROR_COLUMNS, errors,
                        caption=f"{len(errors)} fel." + (f" De första {ERRORS_SHOWN} visas här; hämta alla som "
                                                          "Excel eller CSV." if len(errors) > ERRORS_SHOWN else "")))
    return tables


def _municipalities(validated: list[Validated]) -> set[str]:
    found = set()
    for v in validated:
        if "municipality" in v.clean.column_names:
            found |= {m for m in pc.unique(v.clean["municipality"]).to_pylist() if m}
    return found


def _save_report(folder: Path, tables: list[Table], notices: list[str], stage: str) -> None:
    write_atomically(folder / "report.json", json.dumps({
        "stage": stage, "notices": notices,
        "tables": [{"id": t.id, "title": t.title, "columns": list(t.columns), "rows": [list(r) for r in t.rows],
                    "caption": t.caption} for t in tables]}, ensure_ascii=False))


def _load_report(folder: Path) -> tuple[str, list[str], list[Table]]:
    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    tables = [Table(t["id"], t["title"], t["columns"], t["rows"], t["caption"]) for t in data["tables"]]
    return data["stage"], data["notices"], tables


def _extract_date(meta: dict) -> dt.date | None:
    """The extract date the uploader gave (uploads from before the field have none)."""
    given = meta.get("extract_date")
    return dt.date.fromisoformat(given) if given else None


def _save_progress(folder: Path, done: int, total: int, message: str) -> None:
    write_atomically(folder / PROGRESS, json.dumps({"done": done, "total": total, "message": message},
                                                   ensure_ascii=False))


def _load_in_background(settings: Settings, folder: Path, meta: dict, user: User, client: str,
                        statistics: Statistics) -> None:
    """Load a checked upload (in one transaction, as `insyn import`), writing progress for the
    report page; then keep the report, delete the files and log what was done."""
    from insyn.workflows import import_steps, run_import

    _, notices, before = _load_report(folder)
    total, done = import_steps(len(meta["files"])), 0

    def progress(message: str) -> None:
        nonlocal done
        done += 1
        _save_progress(folder, done, total, message)

    con = connect(settings.data_dir / APP_STATE_FILE)
    try:
        try:
            profile = load_profile(meta["profile"], settings.data_dir) if meta["profile"] else None
            result = run_import(settings, [folder / n for n in meta["files"]], profile,
                                meta["table"] or None, progress=progress, extract_date=_extract_date(meta))
        except Exception as error:  # the user reads why, and nothing was loaded (one transaction)
            if isinstance(error, InsynError | ProfileError | SchemaError):  # the last two: until they are InsynErrors
                message = user_message(error)
            else:  # a bug: the traceback goes to the log under an id to quote, never to the page
                error_id = bug_id()
                log.error("Unexpected error %s in the import of upload %s", error_id, folder.name, exc_info=error)
                message = bug_message(error_id)
            _save_report(folder, before, [f"Importen misslyckades: {message} Inget har lästs in.", *notices], FAILED)
            audit.record(con, "import_load", user=user, client=client, target=", ".join(meta["files"]),
                         detail=f"misslyckades: {message}")
            return
        statistics.refresh()  # the new publications made before the report says loaded; readers get the old meanwhile
        validated = [f.validated for f in result.files]
        loaded = {f.validated.file.name: (f.rows_loaded, f.rows_replaced) for f in result.files}
        _save_report(folder, _report_tables(validated, loaded), [n for v in validated for n in v.notices], LOADED)
        for name in meta["files"]:  # the clear identity numbers go at once; the report stays a day
            (folder / name).unlink(missing_ok=True)
        audit.record(con, "import_load", user=user, client=client, target=", ".join(meta["files"]),
                     detail=f"import {result.import_id}: {sum(r for r, _ in loaded.values())} rader inlästa")
    finally:
        con.close()


IMPORT = MenuPage("/import", "Import", IMPORT_ROLES, "importen")

router = PageRouter()


def choices(settings: Settings) -> dict:
    own = settings.data_dir / PROFILE_FOLDER
    return {"profiles": [(name, f"{name} (egen, {PROFILE_FOLDER}/{path.name})" if path.parent == own else name)
                         for name, path in sorted(available_profiles(settings.data_dir).items())],
            "tables": [(name, table.label) for name, table in TABLES.items()],
            "today": dt.date.today().isoformat()}


def require(viewer) -> None:
    IMPORT.require(viewer)


def validate(settings: Settings, folder: Path, meta: dict):
    from insyn.ingest.load import validate_files
    from insyn.ingest.pseudonymise import load_or_create_key

    profile = load_profile(meta["profile"], settings.data_dir) if meta["profile"] else None
    paths = [folder / name for name in meta["files"]]
    return validate_files(paths, load_or_create_key(settings.key_path), profile, meta["table"] or None,
                          extract_date=extract_date_of(profile, _extract_date(meta)))


@router.page(IMPORT)
def import_form(request: Request, viewer: Signed):
    return render(request, "import.html.j2", viewer, **choices(request.app.state.settings))


@router.post("/import", response_class=HTMLResponse)
def upload(request: Request, viewer: Signed, filer: list[UploadFile], csrf: Annotated[str, Form()],
           profil: Annotated[str, Form()] = "", tabell: Annotated[str, Form()] = "",
           uttagsdatum: Annotated[str, Form()] = ""):
    """A plain function, so that FastAPI runs it in a worker thread: validating a large file takes
    seconds (or minutes) that the server goes on answering others in."""
    viewer.check_csrf(csrf)
    require(viewer)
    settings = request.app.state.settings
    try:
        extract_date = dt.date.fromisoformat(uttagsdatum) if uttagsdatum else None
        extract_date_of(None, extract_date)
    except ValueError as error:
        message = str(error) if isinstance(error, ExtractDateError) else "Uttagsdatum ska skrivas ÅÅÅÅ-MM-DD."
        return render(request, "import.html.j2", viewer, 400, error=message.removesuffix(" Inget har lästs in."),
                      **choices(settings))
    if profil and profil not in available_profiles(settings.data_dir):
        raise pages.NotFound("Profilen finns inte.")
    try:  # a profile of the data folder that does not load is refused here, with why
        if profil:
            load_profile(profil, settings.data_dir)
    except ProfileError as error:
        shown = str(error).replace(f"{settings.data_dir}{os.sep}", "")
        return render(request, "import.html.j2", viewer, 400, **choices(settings),
                      error=f"{shown}. Rätta profilen och försök igen.")
    if tabell and tabell not in TABLES:
        raise pages.NotFound("Tabellen finns inte.")
    files = [f for f in filer if f.filename]
    if not files:
        return render(request, "import.html.j2", viewer, 400, error="Välj minst en fil.", **choices(settings))
    token = secrets.token_urlsafe(24)
    folder = _uploads(settings) / token
    try:
        folder.mkdir(parents=True)
        names: list[str] = []
        for upload_file in files:
            name = _safe_name(upload_file.filename)
            while name in names:
                name = f"_{name}"
            with (folder / name).open("wb") as out:
                shutil.copyfileobj(upload_file.file, out)
            names.append(name)
        meta = {"username": viewer.user.username, "files": names, "profile": profil, "table": tabell,
                "extract_date": extract_date.isoformat() if extract_date else None}
        write_atomically(folder / "upload.json", json.dumps(meta))
        check(settings, folder, meta, viewer)
    except Exception as error:
        # A bug (or a full disk): the files, with clear personnummer, go at once; the owner never
        # learns this upload's token to discard it.
        shutil.rmtree(folder, ignore_errors=True)
        error_id = bug_id()
        log.error("Unexpected error %s while checking an upload", error_id, exc_info=error)
        viewer.log("import_validate", target=", ".join(_safe_name(f.filename) for f in files),
                   detail=f"fel-id {error_id}: filerna togs bort")
        return render(request, "import.html.j2", viewer, 400, **choices(settings),
                      error=f"Filerna kunde inte kontrolleras: {bug_message(error_id)} De uppladdade filerna har "
                            "tagits bort; inget har lästs in.")
    return RedirectResponse(f"/import/{token}", status_code=303)


def check(settings: Settings, folder: Path, meta: dict, viewer) -> None:
    """Validate the upload and keep its report (an unreadable file's report is its error)."""
    try:
        validated = validate(settings, folder, meta)
    except (InsynError, ProfileError, SchemaError) as error:  # the last two: until they are InsynErrors
        message = user_message(error)
        _save_report(folder, [], [message], UNREADABLE)
        viewer.log("import_validate", target=", ".join(meta["files"]), detail=message)
        return
    notices = [n for v in validated for n in v.notices]
    foreign = _municipalities(validated) - ({viewer.user.municipality} if viewer.user.municipality else set())
    shared = [v for v in validated if "municipality" not in v.clean.column_names]
    stage = CHECKED
    if not viewer.scope.imports_municipalities(_municipalities(validated)):
        notices.insert(0, f"Filerna innehåller andra kommuner än din egen ({', '.join(sorted(foreign))}): "
                          "de kan inte läsas in med din roll.")
        stage = FOREIGN
    elif shared and not viewer.scope.imports_shared_tables:
        notices.insert(0, f"{', '.join(v.file.name for v in shared)} ({shared[0].table.label}) gäller alla "
                          "kommuner: bara en administratör eller regional analytiker kan läsa in den.")
        stage = FOREIGN
    _save_report(folder, _report_tables(validated), notices, stage)
    errors = sum(len(p.row_numbers) for v in validated for p in v.problems)
    viewer.log("import_validate", target=", ".join(meta["files"]), detail=f"{errors} fel")


@router.get("/import/{token}", response_class=HTMLResponse)
def report(request: Request, viewer: Signed, token: str):
    require(viewer)
    folder = _upload_dir(request.app.state.settings, token, viewer.user.username)
    stage, notices, tables = _load_report(folder)
    viewer.log("read_import_report", target=token)
    meta = json.loads((folder / "upload.json").read_text(encoding="utf-8"))
    progress = json.loads((folder / PROGRESS).read_text(encoding="utf-8")) if stage == LOADING else None
    return render(request, "import_report.html.j2", viewer, token=token, stage=stage, notices=notices,
                  tables=tables, meta=meta, shown=ERRORS_SHOWN, progress=progress)


@router.get("/import/{token}/tabell/{table_id}.{fmt}")
def report_download(request: Request, viewer: Signed, token: str, table_id: str, fmt: str):
    require(viewer)
    folder = _upload_dir(request.app.state.settings, token, viewer.user.username)
    table = pages.Page("Import", sections=[pages.Section("", "", tables=_load_report(folder)[2])]).table(table_id)
    if fmt not in ("xlsx", "csv"):
        raise pages.NotFound("Okänt filformat (xlsx eller csv).")
    viewer.log("download", target=f"/import/{token}/{table_id}", detail=table.title)
    body = xlsx_bytes(table, "Import") if fmt == "xlsx" else csv_bytes(table)
    return Response(body, media_type=XLSX_TYPE if fmt == "xlsx" else CSV_TYPE,
                    headers={"Content-Disposition": f"attachment; filename=\"{table_id}.{fmt}\""})


@router.post("/import/{token}/las-in")
def load(request: Request, viewer: Signed, token: str, csrf: Annotated[str, Form()]):
    from insyn.workflows import import_steps

    viewer.check_csrf(csrf)
    require(viewer)
    folder = _upload_dir(request.app.state.settings, token, viewer.user.username)
    stage, notices, tables = _load_report(folder)
    if stage not in (CHECKED, FAILED):
        raise pages.NotFound("Uppladdningen kan inte läsas in: se valideringsrapporten.")
    meta = json.loads((folder / "upload.json").read_text(encoding="utf-8"))
    _save_report(folder, tables, notices, LOADING)
    _save_progress(folder, 0, import_steps(len(meta["files"])), "Startar importen")
    state = request.app.state
    threading.Thread(target=_load_in_background, name=f"import-{token[:8]}", daemon=True,
                     args=(state.settings, folder, meta, viewer.user, viewer.client, state.statistics)).start()
    return RedirectResponse(f"/import/{token}", status_code=303)


@router.post("/import/{token}/avbryt")
def discard(request: Request, viewer: Signed, token: str, csrf: Annotated[str, Form()]):
    viewer.check_csrf(csrf)
    require(viewer)
    shutil.rmtree(_upload_dir(request.app.state.settings, token, viewer.user.username), ignore_errors=True)
    return RedirectResponse("/import", status_code=303)
