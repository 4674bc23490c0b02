"""Every page: semantic layout, CSRF on every form, and who may see what."""

from __future__ import annotations

import re

import pytest

from makerspace.core.safety import safe_next_path

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
