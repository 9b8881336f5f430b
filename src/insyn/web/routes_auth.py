"""Signing in and out, the start page (which sends each role to its first page) and the report's
style sheet the pages share."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from insyn.errors import user_message
from insyn.web import accounts, audit, security
from insyn.web.accounts import TooManyAttempts
from insyn.web.deps import Signed, State, render

# The report's stylesheet, with the charts' colours and marks it shares with the municipal brief.
REPORT_CSS = [Path(str(resources.files("insyn.publish").joinpath("templates", name)))
              for name in ("charts.css", "report.css")]

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/logga-in", response_class=HTMLResponse)
def login_form(request: Request, nasta: str = "/"):
    token = security.secrets.token_urlsafe(32)
    response = render(request, "login.html.j2", None, next=_local(nasta), login_csrf=token)
    response.set_cookie(security.LOGIN_CSRF_COOKIE, token, **security.cookie_options(request.app.state.secure_cookies))
    return response


@router.post("/logga-in", response_class=HTMLResponse)
def login(request: Request, con: State, anvandarnamn: Annotated[str, Form()],
          losenord: Annotated[str, Form()], csrf: Annotated[str, Form()], nasta: Annotated[str, Form()] = "/"):
    security.check_csrf(request.cookies.get(security.LOGIN_CSRF_COOKIE), csrf)
    where = security.client(request)
    typed = anvandarnamn.strip().lower()[:accounts.MAX_USERNAME_LENGTH]
    try:
        user = accounts.authenticate(con, anvandarnamn, losenord, where)
    except TooManyAttempts as error:
        # Once per address and user name while the limit lasts: blocked tries cannot flood the log.
        if not audit.recorded_since(con, "login_blocked", typed, where, accounts.FAILURE_WINDOW):
            audit.record(con, "login_blocked", username=typed, client=where)
            log.warning("Login blocked after too many failed attempts: user name %r from %s, %d more second(s)",
                        typed, where, error.seconds)
        return render(request, "login.html.j2", None, 429, next=_local(nasta), login_csrf=csrf,
                      error=user_message(error))
    if user is None:
        audit.record(con, "login_failed", username=typed, client=where)
        return render(request, "login.html.j2", None, 401, next=_local(nasta), login_csrf=csrf,
                      error="Fel användarnamn eller lösenord.")
    token = accounts.start_session(con, user, where)
    audit.record(con, "login", user=user, client=where)
    response = RedirectResponse(_local(nasta), status_code=303)
    response.set_cookie(security.SESSION_COOKIE, token, max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
                        **security.cookie_options(request.app.state.secure_cookies))
    response.delete_cookie(security.LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logga-ut")
def logout(request: Request, viewer: Signed, csrf: Annotated[str, Form()]):
    viewer.check_csrf(csrf)
    accounts.end_session(viewer.con, request.cookies.get(security.SESSION_COOKIE))
    viewer.log("logout")
    response = RedirectResponse("/logga-in", status_code=303)
    response.delete_cookie(security.SESSION_COOKIE, path="/")
    return response


@router.get("/")
def start(viewer: Signed):
    return RedirectResponse("/oversikt" if viewer.scope.sees_statistics else "/mitt-arbete", status_code=303)


@router.get("/stil/rapport.css", include_in_schema=False)
def report_css():
    return Response("\n".join(path.read_text(encoding="utf-8") for path in REPORT_CSS), media_type="text/css")


def _local(path: str) -> str:
    """Only a path on this site after login, never another host."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"
