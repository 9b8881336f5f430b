"""The FastAPI app: server-rendered Swedish pages over the same functions as the CLI.

Every route finds the user's session, their Scope (insyn.web.scope) decides what they may see,
and the pages are built as Tables (insyn.web.pages) so that each downloads as Excel and CSV
with the same scope. Row-level reads and every change go to the audit log.

The routes are in APIRouter modules (routes_auth, routes_pages, routes_people, routes_bookings,
routes_import, routes_users); the menu pages among them carry their record of the page registry
(insyn.web.registry), which makes both the menu and their access check. create_app wires the
middleware, the error pages, the static files and the routers, in menu order.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from starlette.exceptions import HTTPException as StarletteHTTPException

from insyn.errors import InsynError, bug_id, bug_message, user_message
from insyn.files import owner_only
from insyn.settings import Settings
from insyn.web import (
    accounts,
    registry,
    routes_auth,
    routes_bookings,
    routes_forecast,
    routes_import,
    routes_pages,
    routes_people,
    routes_team,
    routes_users,
    security,
)
from insyn.web.appstate import APP_STATE_FILE, connect, open_app_state
from insyn.web.data import Statistics
from insyn.web.deps import Viewer, render
from insyn.web.scope import Scope

PACKAGE_DIR = Path(str(resources.files("insyn.web")))
# The app's routers; the menu shows their pages in this order.
ROUTERS: tuple[APIRouter, ...] = (
    routes_auth.router,
    routes_pages.router,            # Översikt, the areas, Jämförelse
    routes_forecast.router,         # Prognos
    routes_team.router,             # Handläggare
    routes_people.caseload_router,  # Mitt arbete
    routes_bookings.router,         # Kompetens och bokning
    routes_import.router,           # Import
    routes_people.admin_router,     # Logg
    routes_users.router,            # Användare
)

log = logging.getLogger(__name__)


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


# What Starlette's and FastAPI's own refusals say (the request-size limits: security.MAX_FORM_BYTES,
# routes_import.MAX_UPLOAD_BYTES).
HTTP_ERRORS = {
    400: ("Felaktig begäran", "Begäran kunde inte läsas. Gå tillbaka och försök igen."),
    404: ("Finns inte", "Sidan finns inte."),
    405: ("Går inte", "Sidan kan inte användas så."),
    413: ("För stor", "Det som skickades är större än vad sidan tar emot. Skicka mindre filer eller "
                      "färre åt gången."),
}


def create_app(settings: Settings, secure_cookies: bool = True,
               extra_pages: Sequence[APIRouter] = ()) -> FastAPI:
    """The app over the data folder of `settings`. `secure_cookies` False only for plain HTTP
    on another host than localhost (browsers accept secure cookies from http://127.0.0.1).
    `extra_pages`: more routers (insyn.web.registry.PageRouter), included after the app's own,
    their menu pages at the end of the menu."""
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        """While the app runs, old uploads are swept every hour (routes_import.sweep_uploads)."""
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(routes_import.sweep_uploads, settings)
            yield
            tasks.cancel_scope.cancel()

    app = FastAPI(title="Insyn", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan,
                  form_limits={"max_part_size": security.MAX_FIELD_BYTES, "max_fields": security.MAX_FORM_FIELDS},
                  dependencies=[Depends(security.single_query_values)])
    # No body read before login, and every body bounded while it is read.
    app.add_middleware(security.RequestBodies, data_dir=settings.data_dir,
                       limits={routes_import.IMPORT.path: routes_import.MAX_UPLOAD_BYTES})
    app.add_middleware(CatchBugs)  # inside the security headers, so that a 500 page has them too
    app.add_middleware(security.SecurityHeaders, https=secure_cookies)
    owner_only(settings.data_dir)
    open_app_state(settings.data_dir).close()
    app.state.settings = settings
    app.state.statistics = Statistics(settings)
    app.state.secure_cookies = secure_cookies
    # Every value is escaped (the file names end in .j2, which Starlette's default would not escape);
    # the charts are Markup already.
    templates = Jinja2Templates(env=Environment(loader=FileSystemLoader(PACKAGE_DIR / "templates"), autoescape=True))
    app.state.templates = templates
    app.state.pages = registry.PageRegistry()
    app.mount("/static", StaticFiles(directory=str(PACKAGE_DIR / "static")), name="static")

    def error_page(request: Request, status: int, heading: str, message: str):
        message = user_message(message)  # shown and logged: scrubbed of personnummer, once, here
        con = connect(settings.data_dir / APP_STATE_FILE)
        try:
            session = accounts.find_session(con, request.cookies.get(security.SESSION_COOKIE))
            shown = Viewer(session, Scope(session.user), con, security.client(request)) if session else None
            if status == 403 and shown:  # the log (not the page) says what was asked, query included
                shown.log("denied", target=f"{request.url.path}?{request.url.query}".rstrip("?"), detail=message)
            return render(request, "error.html.j2", shown, status, heading=heading, message=message)
        finally:
            con.close()

    @app.exception_handler(security.LoginRequired)
    def login_required(request: Request, _):
        return security.login_redirect(request.url.path)

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
        """Starlette's and FastAPI's own refusals, in Swedish; never their detail, which may
        repeat the request."""
        heading, message = HTTP_ERRORS.get(error.status_code, HTTP_ERRORS[400])
        return error_page(request, error.status_code, heading, message)

    for router in (*ROUTERS, *extra_pages):
        registry.install(app, router)
    return app
