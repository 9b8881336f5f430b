"""The page registry (insyn.web.registry): a page added through its record and router alone gets
its menu entry for exactly its roles, opens for them and is refused (403, logged) for the rest;
and the app's own menu is its registry filtered by the viewer."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request
from markupsafe import Markup
from webapp import audit_since, client, last_audit_id, logged_in, nav_links, tables_of

from insyn.web.accounts import Role
from insyn.web.app import create_app
from insyn.web.deps import Signed, render
from insyn.web.pages import Page, Section
from insyn.web.registry import MenuPage, PageRegistry, PageRouter
from insyn.web.tables import Table

pytest_plugins = ["webapp"]

# A throwaway page of its own for the regional analyst, and a page of tables for the municipality.
TEST_PAGE = MenuPage("/testsida", "Testsida", {Role.ANALYST})
TABLE_PAGE = MenuPage("/testtabell", "Testtabell", {Role.MUNICIPALITY}, "testtabellen")
CONTENT = "Innehåll som bara analytikern ser."

router = PageRouter()


@router.page(TEST_PAGE)
def analyst_page(request: Request, viewer: Signed):
    return render(request, "page.html.j2", viewer, page=None, body=Markup("<h1>Testsida</h1><p>{}</p>").format(CONTENT))


def build_table(request: Request, viewer) -> Page:
    return Page("Testtabell", sections=[Section("Tal", "tal", tables=[Table("tal", "Tal", ["Namn", "Tal"],
                                                                             [["ett", 1]])])])


router.table_page(TABLE_PAGE, build=build_table)


@pytest.fixture(scope="module")
def extended_app(web_data, web_users) -> FastAPI:
    return create_app(web_data.settings, extra_pages=[router])


def test_a_page_added_through_the_registry_is_shown_and_opened_only_for_its_roles(extended_app, web_users,
                                                                                 web_data):
    analyst = logged_in(extended_app, web_users[Role.ANALYST].username)
    municipality = logged_in(extended_app, web_users[Role.MUNICIPALITY].username)
    try:
        allowed = analyst.get("/testsida")
        assert allowed.status_code == 200 and CONTENT in allowed.text
        assert nav_links(allowed.text)[-1] == "/testsida"  # extra pages come last in the menu
        assert 'href="/testsida" aria-current="page">Testsida</a>' in allowed.text
        assert "/testsida" not in nav_links(municipality.get("/kompetens").text)

        before = last_audit_id(web_data.data_dir)
        denied = municipality.get("/testsida")
        assert denied.status_code == 403
        assert "Ingen åtkomst" in denied.text and "ger inte tillgång till sidan Testsida" in denied.text
        assert CONTENT not in denied.text
        [entry] = audit_since(web_data.data_dir, before, action="denied")
        assert (entry.username, entry.target) == (web_users[Role.MUNICIPALITY].username, "/testsida")
    finally:
        analyst.close()
        municipality.close()


def test_a_page_of_tables_added_through_the_registry_guards_its_downloads(extended_app, web_users):
    analyst = logged_in(extended_app, web_users[Role.ANALYST].username)
    municipality = logged_in(extended_app, web_users[Role.MUNICIPALITY].username)
    try:
        page = municipality.get("/testtabell")
        assert page.status_code == 200 and tables_of(page.text)["tal"] == [["Namn", "Tal"], ["ett", "1"]]
        assert "/testtabell" in nav_links(page.text) and "/testsida" not in nav_links(page.text)
        assert municipality.get("/testtabell/tabell/tal.csv").status_code == 200
        assert "/testtabell" not in nav_links(analyst.get("/testsida").text)
        for url in ("/testtabell", "/testtabell/tabell/tal.csv", "/testtabell/tabell/tal.xlsx"):
            refused = analyst.get(url)
            assert refused.status_code == 403 and "ger inte tillgång till testtabellen" in refused.text, url
            assert "content-disposition" not in refused.headers
    finally:
        analyst.close()
        municipality.close()


def test_without_a_session_an_added_page_redirects_to_the_login_page(extended_app):
    for url in ("/testsida", "/testtabell", "/testtabell/tabell/tal.csv"):
        response = client(extended_app).get(url)
        assert response.status_code == 303 and response.headers["location"] == f"/logga-in?nasta={url}"


def test_an_app_without_the_extra_pages_has_neither_menu_entry_nor_route(web_app, role_clients):
    assert {r.path for r in web_app.state.pages.records}.isdisjoint({"/testsida", "/testtabell"})
    assert role_clients[Role.ANALYST].get("/testsida").status_code == 404


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_the_menu_is_the_registry_filtered_by_role(role, web_app, web_users, role_clients):
    expected = [r.path for r in web_app.state.pages.menu(web_users[role])]
    assert nav_links(role_clients[role].get("/kompetens").text) == expected
    assert all(r.shown_to(web_users[role]) == (role in r.roles) for r in web_app.state.pages.records)


def test_records_take_roles_not_strings_and_one_path_once():
    with pytest.raises(TypeError):
        MenuPage("/x", "X", {"administrator"})
    pages = PageRegistry([MenuPage("/x", "X", {Role.ADMINISTRATOR})])
    with pytest.raises(ValueError, match="/x"):
        pages.add(MenuPage("/x", "Annan", {Role.ANALYST}))
    with pytest.raises(ValueError):  # the menu pages of one route must agree on who sees them
        PageRouter().table_page(MenuPage("/a/1", "1", {Role.ANALYST}, route="/a/{n}"),
                                MenuPage("/a/2", "2", {Role.ADMINISTRATOR}, route="/a/{n}"), build=build_table)
