"""What every route depends on: the app state connection, the signed-in Viewer, and rendering."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from insyn.publish.publication import SYNTHETIC_LABEL
from insyn.web import audit, security
from insyn.web.accounts import Session, User
from insyn.web.appstate import APP_STATE_FILE, connect
from insyn.web.scope import Scope


@dataclass(frozen=True)
class Viewer:
    """The signed-in user of one request, with what they may see and the app state to log to."""

    session: Session
    scope: Scope
    con: sqlite3.Connection
    client: str

    @property
    def user(self) -> User:
        return self.session.user

    def log(self, action: str, target: str = "", detail: str = "") -> None:
        audit.record(self.con, action, user=self.user, client=self.client, target=target, detail=detail)

    def check_csrf(self, given: str | None) -> None:
        security.check_csrf(self.session.csrf_token, given)


def app_state(request: Request) -> Iterator[sqlite3.Connection]:
    con = connect(request.app.state.settings.data_dir / APP_STATE_FILE)
    try:
        yield con
    finally:
        con.close()


State = Annotated[sqlite3.Connection, Depends(app_state)]


def current_viewer(request: Request, con: State) -> Viewer:
    session = security.session_of(request, con)
    return Viewer(session, Scope(session.user), con, security.client(request))


Signed = Annotated[Viewer, Depends(current_viewer)]


def render(request: Request, template: str, viewer: Viewer | None, status_code: int = 200, **context):
    """The template as a response; base.html.j2's menu is the app's page registry
    (insyn.web.registry) filtered by the viewer."""
    state = request.app.state
    return state.templates.TemplateResponse(request, template, {
        "viewer": viewer, "scope": viewer.scope if viewer else None,
        "csrf": viewer.session.csrf_token if viewer else None, "path": request.url.path,
        "menu": state.pages.menu(viewer.user if viewer else None),
        "synthetic": SYNTHETIC_LABEL if state.statistics.synthetic() else "", **context},
        status_code=status_code)
