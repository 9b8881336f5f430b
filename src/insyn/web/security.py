"""Who is asking, and the browser-side protections: the session cookie, CSRF tokens on every
form and the security headers of every response."""

from __future__ import annotations

import secrets
import sqlite3

from fastapi import Request
from starlette.middleware.base import BaseHTTPMiddleware

from insyn.web import accounts
from insyn.web.accounts import Session

SESSION_COOKIE = "insyn_session"
LOGIN_CSRF_COOKIE = "insyn_login_csrf"  # the login form's token, before there is a session

# Scripts, styles, fonts and images only from the app itself; no inline script; no framing.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                           "base-uri 'none'; object-src 'none'")
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class LoginRequired(Exception):
    """No valid session: the page sends the browser to the login page."""


class BadCsrfToken(Exception):
    """A form without the session's CSRF token (another site's form, or an expired page)."""


class SecurityHeaders(BaseHTTPMiddleware):
    def __init__(self, app, https: bool):
        super().__init__(app)
        self.https = https

    async def dispatch(self, request: Request, call_next):
        response = await call_next(request)
        response.headers.update(HEADERS)
        if self.https:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        if request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "public, max-age=3600")
        else:
            response.headers["Cache-Control"] = "no-store"
        return response


def client(request: Request) -> str:
    return request.client.host if request.client else "okänd"


def session_of(request: Request, con: sqlite3.Connection) -> Session:
    session = accounts.find_session(con, request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise LoginRequired
    return session


def check_csrf(expected: str | None, given: str | None) -> None:
    if not expected or not given or not secrets.compare_digest(expected, given):
        raise BadCsrfToken


def cookie_options(secure: bool) -> dict:
    return {"httponly": True, "secure": secure, "samesite": "strict", "path": "/"}
