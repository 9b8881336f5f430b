"""The page registry: one record per page of the main menu — its address, its Swedish label and
the roles that may see it — which makes both the menu and the access check of the page's routes.

A page module (``routes_*.py``) has a ``PageRouter`` (an APIRouter) and declares its pages on it
with their records: ``router.page(record)`` for a page of its own, ``router.table_page(record,
build=…)`` for a page made of Tables (insyn.web.pages), which also downloads each table as Excel
and CSV. ``install(app, router)`` includes the router and adds its records, in order, to the
app's ``PageRegistry`` (``app.state.pages``); the menu of base.html.j2 is that registry filtered
by the viewer (``PageRegistry.menu``). A role not in a record gets 403 ("Ingen åtkomst", logged)
on the page and its downloads; a visitor without a session is sent to the login page. docs/web.md,
"Adding a page", has an example.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from insyn.publish.publication import SYNTHETIC_LABEL
from insyn.web import pages
from insyn.web.accounts import Role, User
from insyn.web.deps import Signed, Viewer, render
from insyn.web.tables import CSV_TYPE, XLSX_TYPE, csv_bytes, xlsx_bytes

PageBuilder = Callable[[Request, Viewer], pages.Page]


@dataclass(frozen=True)
class MenuPage:
    """A page of the main menu, and who may open it.

    - ``path``: its address, as the menu links to it (``/oversikt``);
    - ``label``: its Swedish label in the menu (``Översikt``);
    - ``roles``: the roles that see it in the menu and may open it and its downloads (the role
      sets of insyn.web.scope, such as ``STATISTICS_ROLES``, or any set of ``Role``);
    - ``what``: what a refusal says the role does not give access to ("Din roll (…) ger inte
      tillgång till {what}."); by default "sidan {label}";
    - ``route``: the route's path when one route serves several menu pages (``/omrade/{area}``
      for the page of every area); by default ``path``. The records of one route must agree on
      ``roles`` and ``what``.
    """

    path: str
    label: str
    roles: Collection[Role]
    what: str = ""
    route: str = ""

    def __post_init__(self):
        if not all(isinstance(role, Role) for role in self.roles):
            raise TypeError(f"{self.path}: roles are insyn.web.accounts.Role values, not {self.roles!r}")
        object.__setattr__(self, "roles", frozenset(self.roles))
        object.__setattr__(self, "what", self.what or f"sidan {self.label}")
        object.__setattr__(self, "route", self.route or self.path)

    def shown_to(self, user: User) -> bool:
        return user.role in self.roles

    def require(self, viewer: Viewer) -> None:
        """insyn.web.scope.Forbidden (403, logged as "denied") unless the viewer's role is one of the page's."""
        viewer.scope.require(self.shown_to(viewer.user), self.what)


class PageRegistry:
    """The menu pages of one app, in menu order (``app.state.pages``)."""

    def __init__(self, records: Collection[MenuPage] = ()):
        self.records: list[MenuPage] = []
        for record in records:
            self.add(record)

    def add(self, record: MenuPage) -> None:
        if any(r.path == record.path for r in self.records):
            raise ValueError(f"Two menu pages at {record.path}")
        self.records.append(record)

    def menu(self, user: User | None) -> list[MenuPage]:
        """The pages the user sees in the menu (none without a user)."""
        return [r for r in self.records if user is not None and r.shown_to(user)]


def _one_route(records: tuple[MenuPage, ...]) -> MenuPage:
    """The record whose roles guard the route of `records` (they agree on route, roles and refusal)."""
    if not records:
        raise ValueError("A page needs at least one MenuPage record")
    first = records[0]
    for record in records[1:]:
        if (record.route, record.roles, record.what) != (first.route, first.roles, first.what):
            raise ValueError(f"The menu pages of one route differ: {first} and {record}")
    return first


class PageRouter(APIRouter):
    """An APIRouter whose menu pages carry their MenuPage record: the route is guarded by the
    record, and ``install`` adds the records to the app's menu."""

    def __init__(self, **options):
        super().__init__(**options)
        self.pages: list[MenuPage] = []

    def page(self, *records: MenuPage, **options) -> Callable:
        """Decorates the endpoint of a GET page of its own (returning a response, e.g. ``render``)
        at ``records[0].route``, with the access check of the records run before it."""
        record = _one_route(records)
        self.pages += records

        def allowed(viewer: Signed) -> None:
            record.require(viewer)

        options.setdefault("response_class", HTMLResponse)
        return self.get(record.route, dependencies=[Depends(allowed), *options.pop("dependencies", ())], **options)

    def table_page(self, *records: MenuPage, build: PageBuilder, template: str = "page_body.html.j2",
                   shared: bool = False) -> None:
        """A page made of Tables at ``records[0].route`` (``build`` makes it for the request's
        viewer), and the download of each of its tables at ``…/tabell/{table_id}.{xlsx,csv}``.
        `template` renders the main part of the page. A `shared` page is the same for everyone who
        sees the statistics alike (scope, role, own municipality) at the same address, and reads
        no row-level data: it is made and rendered once per publication and kept, so its template
        may use nothing of the viewer."""
        record = _one_route(records)
        self.pages += records

        def made(request: Request, viewer: Viewer) -> tuple[pages.Page, Markup]:
            def make() -> tuple[pages.Page, Markup]:
                page = build(request, viewer)
                # The downloads repeat the page's own choices, never anything else from the URL.
                query = urlencode([(c.name, c.chosen) for c in page.choices if c.chosen])
                return page, Markup(request.app.state.templates.get_template(template).render(
                    page=page, path=request.url.path, query=query, viewer=viewer, scope=viewer.scope,
                    csrf=viewer.session.csrf_token))

            if not shared:
                return make()
            viewer.scope.require(viewer.scope.sees_statistics, "statistiksidorna")
            key = (viewer.user.role, viewer.user.municipality, request.url.path,
                   tuple(sorted(request.query_params.multi_items())))
            return request.app.state.statistics.kept(viewer.scope, key, make)

        def show(request: Request, viewer: Signed):
            record.require(viewer)
            page, body = made(request, viewer)
            return render(request, "page.html.j2", viewer, page=page, body=body)

        def download(request: Request, viewer: Signed, table_id: str, fmt: str):
            if fmt not in ("xlsx", "csv"):
                raise pages.NotFound("Okänt filformat (xlsx eller csv).")
            record.require(viewer)
            page, _ = made(request, viewer)
            table = page.table(table_id)
            if not table.downloadable:
                raise pages.NotFound("Tabellen finns inte på sidan.")
            viewer.log("download", target=f"{request.url.path}?{request.url.query}".rstrip("?"), detail=table.title)
            label = SYNTHETIC_LABEL if request.app.state.statistics.synthetic() else ""
            body = xlsx_bytes(table, page.title, label) if fmt == "xlsx" else csv_bytes(table, label)
            return Response(body, media_type=XLSX_TYPE if fmt == "xlsx" else CSV_TYPE, headers={
                "Content-Disposition": f"attachment; filename=\"{table_id}.{fmt}\""})

        self.add_api_route(record.route, show, methods=["GET"], response_class=HTMLResponse)
        self.add_api_route(record.route + "/tabell/{table_id}.{fmt}", download, methods=["GET"])


def install(app: FastAPI, router: APIRouter) -> None:
    """Includes the router's routes in the app and its menu pages (a PageRouter's) at the end of
    the app's menu."""
    app.include_router(router)
    for record in getattr(router, "pages", ()):
        app.state.pages.add(record)
