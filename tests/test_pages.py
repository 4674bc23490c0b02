"""Every page: semantic layout, CSRF on every form, and who may see what."""

from __future__ import annotations

import re

import pytest

from makerspace.accounts.models import User
from makerspace.core.safety import safe_next_path
from makerspace.extensions import db
from tests.helpers import html_lang

PUBLIC_PAGES = ["/", "/branches/", "/login", "/register"]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_have_the_accessible_layout(client, make_branch, path):
    make_branch("steinkjer")
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<a class="skip-link" href="#main">' in html
    assert '<main id="main"' in html
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert re.search(r"<h1[ >]", html)
    assert "<nav aria-label=" in html
    assert 'name="lang" value="nn"' in html  # the language picker


def test_branch_page_and_unknown_branch(client, make_branch):
    make_branch("roros", name="Røros bibliotek")
    assert "Røros bibliotek" in client.get("/branches/roros").get_data(as_text=True)
    assert client.get("/branches/atlantis").status_code == 404


def test_security_headers(client):
    headers = client.get("/").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/profile", "/profile"), ("/branches/?x=1", "/branches/?x=1"), (None, "/"), ("", "/"),
     ("//evil.example", "/"), ("/\\evil.example", "/"), ("https://evil.example", "/"),
     ("evil", "/"), ("/ok\r\nSet-Cookie: x", "/")],
)
def test_safe_next_path(target, expected):
    assert safe_next_path(target) == expected


class TestWithCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_a_post_without_token_is_refused(self, client, make_user):
        make_user("ola@example.no")
        response = client.post("/login", data={"email": "ola@example.no",
                                               "password": "correct horse battery"})
        assert response.status_code in (400, 422)
        assert client.get("/profile").status_code == 302  # not logged in
        assert client.post("/language", data={"lang": "en"}).status_code == 400

    def test_a_visitors_page_makes_no_session_and_the_picker_still_works(self, client, app):
        """Someone not logged in gets no cookie for reading a page: their language picker is
        a GET form that only sets the language cookie (nothing on the server changes)."""
        page = client.get("/branches/")
        assert page.status_code == 200
        assert "Set-Cookie" not in page.headers
        html = page.get_data(as_text=True)
        picker = re.search(r'<form method="(\w+)" action="/language"[^>]*>(.*?)</form>', html, re.S)
        assert picker is not None and picker.group(1) == "get"
        assert 'name="csrf_token"' not in picker.group(2)
        chosen = client.get("/language", query_string={"lang": "nn", "next": "/branches/"})
        assert chosen.status_code == 302 and chosen.headers["Location"] == "/branches/"
        assert chosen.headers.getlist("Set-Cookie") == [
            c for c in chosen.headers.getlist("Set-Cookie") if c.startswith("lang=nn;")]
        assert html_lang(client.get("/branches/").data) == "nn"
        assert client.get("/language", query_string={"lang": "sv"}).status_code == 400

    def test_a_logged_in_persons_picker_posts_with_a_token(self, client, login, make_user,
                                                           app):
        user = make_user(locale=None)
        login(user)
        html = client.get("/branches/").get_data(as_text=True)
        picker = re.search(r'<form method="(\w+)" action="/language"[^>]*>(.*?)</form>', html, re.S)
        assert picker is not None and picker.group(1) == "post"
        assert 'name="csrf_token"' in picker.group(2)
        # A followed link (GET) sets the cookie only: the profile's choice is a posted form.
        client.get("/language", query_string={"lang": "en", "next": "/"})
        with app.app_context():
            assert db.session.get(User, user.id).locale is None

    def test_every_form_carries_a_token(self, client, login, make_user):
        login(make_user())
        for path in ["/", "/profile"]:
            html = client.get(path).get_data(as_text=True)
            forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", html, re.S)
            assert forms
            for form in forms:
                assert 'name="csrf_token"' in form
        for path in ["/login", "/register"]:
            client.post("/logout")
            html = client.get(path).get_data(as_text=True)
            for form in re.findall(r"<form[^>]*method=\"post\".*?</form>", html, re.S):
                assert 'name="csrf_token"' in form


def _ids_and_headings(html: str) -> tuple[list[str], list[int]]:
    from html.parser import HTMLParser

    class Collect(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.ids: list[str] = []
            self.levels: list[int] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.ids += [value or "" for name, value in attrs if name == "id"]
            if re.fullmatch(r"h[1-6]", tag):
                self.levels.append(int(tag[1]))

    collect = Collect()
    collect.feed(html)
    return collect.ids, collect.levels


def test_every_id_on_a_page_with_many_forms_is_unique(client, login, make_user, make_equipment,
                                                      make_booking, frozen_clock):
    """WCAG 4.1.1/1.3.1: the profile (four forms) and a list of bookings, each with its cancel
    form, repeat no id (not even the CSRF token's); every field keeps its one label."""
    from datetime import UTC, datetime, timedelta

    frozen_clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    user = make_user()
    machine = make_equipment()
    for day in range(3):
        make_booking(machine, user, datetime(2026, 12, 8, 10, 0, tzinfo=UTC) + timedelta(days=day))
    login(user)
    for path in ("/profile", "/me/bookings"):
        html = client.get(path).get_data(as_text=True)
        ids, _ = _ids_and_headings(html)
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        assert repeated == [], f"{path}: {repeated}"
        assert 'id="csrf_token"' not in html and 'name="csrf_token"' in html
        labelled = re.findall(r'<label[^>]* for="([^"]+)"', html)
        assert sorted({i for i in labelled if labelled.count(i) > 1}) == [], path
        assert set(labelled) <= set(ids), path  # every label belongs to a field here


@pytest.mark.parametrize("path", ["/", "/branches/"])
def test_headings_never_skip_a_level(client, make_branch, path):
    make_branch("steinkjer")
    _, levels = _ids_and_headings(client.get(path).get_data(as_text=True))
    assert levels[0] == 1
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), levels
