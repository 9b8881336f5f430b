"""Who is asking, and the browser-side protections: the session cookie, CSRF tokens on every
form and the security headers of every response."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from insyn.errors import InputError
from insyn.web import accounts
from insyn.web.accounts import Session
from insyn.web.appstate import APP_STATE_FILE, connect

SESSION_COOKIE = "insyn_session"
LOGIN_CSRF_COOKIE = "insyn_login_csrf"  # the login form's token, before there is a session
LOGIN_PATH = "/logga-in"  # the one form read without a session
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The request-size limits (docs/web.md, "Security"): every request body at most MAX_FORM_BYTES
# (the upload's form has its own limit, insyn.web.routes_import.MAX_UPLOAD_BYTES; RequestBodies);
# a form's text field at most MAX_FIELD_BYTES and a form at most MAX_FORM_FIELDS fields.
MAX_FORM_BYTES = 1 << 20
MAX_FIELD_BYTES = 64 << 10
MAX_FORM_FIELDS = 1000

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


class RepeatedQueryParameter(InputError):
    """A query parameter given twice (`?kommun=0884&kommun=0860`): refused, so that no page is
    made from one of the values and kept under the other."""


def single_query_values(request: Request) -> None:
    """An app dependency: every query parameter at most once."""
    keys = [key for key, _ in request.query_params.multi_items()]
    if len(keys) != len(set(keys)):
        raise RepeatedQueryParameter("Adressen anger samma val flera gånger. Välj på sidan i stället.")


def login_redirect(path: str) -> RedirectResponse:
    return RedirectResponse(f"{LOGIN_PATH}?nasta={quote(path)}", status_code=303)


class BodyTooLarge(StarletteHTTPException):
    """A request body over its limit: 413, answered by the app's error page."""

    def __init__(self) -> None:
        super().__init__(413)


class RequestBodies:
    """Request bodies, before anything below has read them (a pure ASGI middleware):

    - none is read before login: a request without a valid session is sent to the login page
      before a byte of its body is read; only the login form is read without one;
    - each is bounded while it is read: refused (BodyTooLarge, 413) at the first read when its
      Content-Length is over the limit, else as soon as the bytes streamed pass it. The limit is
      MAX_FORM_BYTES but for the paths of `limits` (an upload's form, which is read whole before
      its route runs: the files, spooled to temporary files, are bounded together)."""

    def __init__(self, app: ASGIApp, data_dir: Path, limits: Mapping[str, int]):
        self.app = app
        self.data_dir = data_dir
        self.limits = limits

    def _signed_in(self, token: str | None) -> bool:
        con = connect(self.data_dir / APP_STATE_FILE)
        try:
            return accounts.find_session(con, token) is not None
        finally:
            con.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if (scope["method"] not in READ_ONLY_METHODS and scope["path"] != LOGIN_PATH
                and not await run_in_threadpool(self._signed_in, Request(scope).cookies.get(SESSION_COOKIE))):
            return await login_redirect(scope["path"])(scope, receive, send)
        limit = self.limits.get(scope["path"], MAX_FORM_BYTES)
        declared = Headers(scope=scope).get("content-length", "0")
        read = 0

        async def bounded() -> Message:
            nonlocal read
            if not declared.isdigit() or int(declared) > limit:
                raise BodyTooLarge
            message = await receive()
            read += len(message.get("body", b""))
            if read > limit:
                raise BodyTooLarge
            return message

        await self.app(scope, bounded, send)


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
