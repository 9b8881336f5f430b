"""The FastAPI app: server-rendered Swedish pages over the same functions as the CLI.

Every route finds the user's session, their Scope (insyn.web.scope) decides what they may see,
and the pages are built as Tables (insyn.web.pages) so that each downloads as Excel and CSV
with the same scope. Row-level reads and every change go to the audit log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup
from starlette.exceptions import HTTPException as StarletteHTTPException

from insyn.errors import InsynError, bug_id, bug_message, user_message
from insyn.indicators.definitions import area_names
from insyn.settings import Settings
from insyn.web import accounts, audit, pages, security
from insyn.web.accounts import Role, TooManyAttempts
from insyn.web.appstate import APP_STATE_FILE, connect, open_app_state
from insyn.web.data import Statistics
from insyn.web.deps import Signed, State, Viewer, render
from insyn.web.scope import Scope
from insyn.web.tables import CSV_TYPE, XLSX_TYPE, csv_bytes, xlsx_bytes

PACKAGE_DIR = Path(str(resources.files("insyn.web")))
REPORT_CSS = Path(str(resources.files("insyn.publish").joinpath("templates", "report.css")))
IN_FULL_NOTE = {
    Role.MUNICIPALITY: "Den egna kommunen visas i sin helhet, utan dolda tal, för intern uppföljning: "
                       "sprid inte de egna små talen vidare. Andra kommuner visas som de publiceras.",
    Role.UNIT_MANAGER: "De egna enheterna visas utan dolda tal, för intern uppföljning: sprid inte de små "
                       "talen vidare. Allt annat visas som det publiceras.",
}

log = logging.getLogger(__name__)
PageBuilder = Callable[[Request, Viewer], pages.Page]


class CatchBugs:
    """Any exception no handler took is a bug: its traceback goes to the log under an id, and
    the user gets a plain 500 page with that id to quote, never the traceback. Plain HTML, no
    template or session, so that it works whatever broke."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def sending(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as error:
            error_id = bug_id()
            log.error("Unexpected error %s on %s %s", error_id, scope.get("method", ""), scope.get("path", ""),
                      exc_info=error)
            if started:  # too late for an error page
                raise
            await HTMLResponse(_BUG_PAGE.format(message=bug_message(error_id)), status_code=500)(scope, receive, send)


_BUG_PAGE = """<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>Ett oväntat fel – Insyn</title>
<link rel="stylesheet" href="/static/insyn.css"></head>
<body><main><h1>Ett oväntat fel</h1><p class="error" role="alert">{message}</p>
<p><a href="/">Till startsidan</a></p></main></body></html>
"""


def create_app(settings: Settings, secure_cookies: bool = True) -> FastAPI:
    """The app over the data folder of `settings`. `secure_cookies` False only for plain HTTP
    on another host than localhost (browsers accept secure cookies from http://127.0.0.1)."""
    app = FastAPI(title="Insyn", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(CatchBugs)  # inside the security headers, so that a 500 page has them too
    app.add_middleware(security.SecurityHeaders, https=secure_cookies)
    open_app_state(settings.data_dir).close()
    app.state.settings = settings
    app.state.statistics = Statistics(settings)
    app.state.secure_cookies = secure_cookies
    # Every value is escaped (the file names end in .j2, which Starlette's default would not escape);
    # the charts are Markup already.
    templates = Jinja2Templates(env=Environment(loader=FileSystemLoader(PACKAGE_DIR / "templates"), autoescape=True))
    templates.env.globals["areas"] = area_names()
    app.state.templates = templates
    app.mount("/static", StaticFiles(directory=str(PACKAGE_DIR / "static")), name="static")

    def error_page(request: Request, status: int, heading: str, message: str):
        message = user_message(message)  # shown and logged: scrubbed of personnummer, once, here
        con = connect(settings.data_dir / APP_STATE_FILE)
        try:
            session = accounts.find_session(con, request.cookies.get(security.SESSION_COOKIE))
            shown = Viewer(session, Scope(session.user), con, security.client(request)) if session else None
            if status == 403 and shown:
                shown.log("denied", target=request.url.path, detail=message)
            return render(request, "error.html.j2", shown, status, heading=heading, message=message)
        finally:
            con.close()

    @app.exception_handler(security.LoginRequired)
    def login_required(request: Request, _):
        return RedirectResponse(f"/logga-in?nasta={quote(request.url.path)}", status_code=303)

    @app.exception_handler(InsynError)
    def expected_error(request: Request, error: InsynError):
        """Not found, forbidden, bad input, busy: the error's own status, heading and message."""
        return error_page(request, error.status, error.heading, str(error))

    @app.exception_handler(security.BadCsrfToken)
    def bad_csrf(request: Request, _):
        return error_page(request, 403, "Formuläret kunde inte skickas",
                          "Sidan var för gammal eller kom från en annan webbplats. Ladda om sidan och försök igen.")

    @app.exception_handler(RequestValidationError)
    def bad_request(request: Request, error: RequestValidationError):
        if any(e.get("loc", ())[-1:] == ("csrf",) for e in error.errors()):
            return bad_csrf(request, error)
        return error_page(request, 400, "Felaktig begäran",
                          "Formuläret eller adressen saknar uppgifter eller har fel format. "
                          "Gå tillbaka och försök igen.")

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, error: StarletteHTTPException):
        if error.status_code == 404:
            return error_page(request, 404, "Finns inte", "Sidan finns inte.")
        if error.status_code == 405:
            return error_page(request, 405, "Går inte", "Sidan kan inte användas så.")
        return error_page(request, error.status_code, "Fel", str(error.detail))

    # --- signing in and out ------------------------------------------------------------------

    @app.get("/logga-in", response_class=HTMLResponse)
    def login_form(request: Request, nasta: str = "/"):
        token = security.secrets.token_urlsafe(32)
        response = render(request, "login.html.j2", None, next=_local(nasta), login_csrf=token)
        response.set_cookie(security.LOGIN_CSRF_COOKIE, token, **security.cookie_options(secure_cookies))
        return response

    @app.post("/logga-in", response_class=HTMLResponse)
    def login(request: Request, con: State, anvandarnamn: Annotated[str, Form()],
              losenord: Annotated[str, Form()], csrf: Annotated[str, Form()], nasta: Annotated[str, Form()] = "/"):
        security.check_csrf(request.cookies.get(security.LOGIN_CSRF_COOKIE), csrf)
        where = security.client(request)
        try:
            user = accounts.authenticate(con, anvandarnamn, losenord, where)
        except TooManyAttempts as error:
            audit.record(con, "login_blocked", username=anvandarnamn.strip().lower(), client=where)
            log.warning("Login blocked after too many failed attempts: user name %r from %s, %d more minute(s)",
                        anvandarnamn.strip().lower(), where, error.minutes)
            return render(request, "login.html.j2", None, 429, next=_local(nasta), login_csrf=csrf,
                          error=user_message(error))
        if user is None:
            audit.record(con, "login_failed", username=anvandarnamn.strip().lower(), client=where)
            return render(request, "login.html.j2", None, 401, next=_local(nasta), login_csrf=csrf,
                          error="Fel användarnamn eller lösenord.")
        token = accounts.start_session(con, user, where)
        audit.record(con, "login", user=user, client=where)
        response = RedirectResponse(_local(nasta), status_code=303)
        response.set_cookie(security.SESSION_COOKIE, token, max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
                            **security.cookie_options(secure_cookies))
        response.delete_cookie(security.LOGIN_CSRF_COOKIE, path="/")
        return response

    @app.post("/logga-ut")
    def logout(request: Request, viewer: Signed, csrf: Annotated[str, Form()]):
        viewer.check_csrf(csrf)
        accounts.end_session(viewer.con, request.cookies.get(security.SESSION_COOKIE))
        viewer.log("logout")
        response = RedirectResponse("/logga-in", status_code=303)
        response.delete_cookie(security.SESSION_COOKIE, path="/")
        return response

    @app.get("/")
    def start(viewer: Signed):
        return RedirectResponse("/oversikt" if viewer.scope.sees_statistics else "/mitt-arbete", status_code=303)

    @app.get("/stil/rapport.css", include_in_schema=False)
    def report_css():
        return FileResponse(REPORT_CSS, media_type="text/css")

    # --- pages made of tables, each downloadable -----------------------------------------------

    def register(path: str, build: PageBuilder, template: str = "page_body.html.j2", shared: bool = False) -> None:
        """A page made of Tables at `path`, and the download of each of its tables. `template`
        renders the main part of the page. A `shared` page is the same for everyone who sees the
        statistics alike (scope, role, own municipality) at the same address, and reads no
        row-level data: it is made and rendered once per publication and kept, so its template
        may use nothing of the viewer."""

        def made(request: Request, viewer: Viewer) -> tuple[pages.Page, Markup]:
            def make() -> tuple[pages.Page, Markup]:
                page = build(request, viewer)
                # The downloads repeat the page's own choices, never anything else from the URL.
                query = urlencode([(c.name, c.chosen) for c in page.choices if c.chosen])
                return page, Markup(templates.get_template(template).render(
                    page=page, path=request.url.path, query=query, viewer=viewer, scope=viewer.scope,
                    csrf=viewer.session.csrf_token))

            if not shared:
                return make()
            viewer.scope.require(viewer.scope.sees_statistics, "statistiksidorna")
            key = (viewer.user.role, viewer.user.municipality, request.url.path,
                   tuple(sorted(request.query_params.multi_items())))
            return app.state.statistics.kept(viewer.scope, key, make)

        def show(request: Request, viewer: Signed):
            page, body = made(request, viewer)
            return render(request, "page.html.j2", viewer, page=page, body=body)

        def download(request: Request, viewer: Signed, table_id: str, fmt: str):
            if fmt not in ("xlsx", "csv"):
                raise pages.NotFound(f"Okänt filformat {fmt} (xlsx eller csv).")
            page, _ = made(request, viewer)
            table = page.table(table_id)
            viewer.log("download", target=f"{request.url.path}?{request.url.query}".rstrip("?"), detail=table.title)
            body = xlsx_bytes(table, page.title) if fmt == "xlsx" else csv_bytes(table)
            return Response(body, media_type=XLSX_TYPE if fmt == "xlsx" else CSV_TYPE, headers={
                "Content-Disposition": f"attachment; filename=\"{table_id}.{fmt}\""})

        app.add_api_route(path, show, methods=["GET"], response_class=HTMLResponse)
        app.add_api_route(path + "/tabell/{table_id}.{fmt}", download, methods=["GET"])

    def statistics_for(viewer: Viewer):
        viewer.scope.require(viewer.scope.sees_statistics, "statistiksidorna")
        publication = app.state.statistics.publication(viewer.scope)
        return publication, pages.legend_lines(publication, IN_FULL_NOTE.get(viewer.user.role, ""))

    def imported_values():
        """The published values imported in Kolada's shape: public, the same for every reader."""
        return app.state.statistics.snapshot().imported

    def overview(request: Request, viewer: Viewer) -> pages.Page:
        pub, notes = statistics_for(viewer)
        municipality = pages.chosen_municipality(pub, request.query_params.get("kommun"), viewer.user.municipality)
        return pages.overview_page(pub, municipality, request.query_params.get("grupp"), notes,
                                   imported_values(), viewer.scope.own_figures_beside_kolada)

    def area(request: Request, viewer: Viewer) -> pages.Page:
        pub, notes = statistics_for(viewer)
        municipality = pages.chosen_municipality(pub, request.query_params.get("kommun"), viewer.user.municipality)
        return pages.area_page(pub, request.path_params["area"], municipality, notes)

    def comparison(request: Request, viewer: Viewer) -> pages.Page:
        pub, notes = statistics_for(viewer)
        asked = request.query_params
        return pages.comparison_page(pub, asked.get("indikator"), asked.get("grupp"), notes,
                                     imported_values(), viewer.scope.own_figures_beside_kolada)

    register("/oversikt", overview, shared=True)
    register("/omrade/{area}", area, shared=True)
    register("/jamforelse", comparison, shared=True)

    from insyn.web import routes_bookings, routes_import, routes_people

    routes_people.add_routes(register)
    routes_bookings.add_routes(app, register, settings)
    routes_import.add_routes(app, settings)
    return app


def _local(path: str) -> str:
    """Only a path on this site after login, never another host."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"
