"""Registration, login, logout, profile and API tokens: services and pages."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from makerspace.accounts import services
from makerspace.accounts.models import ApiToken, Role, User
from makerspace.branches.models import Branch
from makerspace.branches.services import UnknownBranch
from makerspace.extensions import db
from makerspace.mail.models import OutboxMessage
from tests.helpers import PASSWORD, without_csrf

# -- services -----------------------------------------------------------------------------


def test_register_citizen_hashes_password_and_normalises_email(app_ctx):
    user = services.register_citizen(email="  Kari@Example.NO ", name=" Kari ", password=PASSWORD,
                                     birth_year=1990)
    db.session.commit()
    assert user.email == "kari@example.no"
    assert user.name == "Kari"
    assert user.role == Role.CITIZEN
    assert PASSWORD not in user.password_hash
    assert services.authenticate(email="KARI@example.no", password=PASSWORD) == user
    assert services.authenticate(email="kari@example.no", password="wrong password") is None
    assert services.authenticate(email="nobody@example.no", password=PASSWORD) is None


def test_register_refuses_weak_password_and_odd_birth_year(app_ctx):
    with pytest.raises(services.WeakPassword):
        services.register_citizen(email="new@example.no", name="X", password="short",
                                  birth_year=1990)
    with pytest.raises(services.WeakPassword):  # long enough, but a common password
        services.register_citizen(email="new@example.no", name="X", password="password123",
                                  birth_year=1990)
    with pytest.raises(services.InvalidBirthYear):
        services.register_citizen(email="new@example.no", name="X", password=PASSWORD,
                                  birth_year=1850)


def test_registering_a_taken_address_creates_nothing_and_tells_its_owner(app_ctx, make_user):
    owner = make_user("taken@example.no", name="Kari Eier")
    assert services.register_citizen(email="TAKEN@example.no", name="Someone", password=PASSWORD,
                                     birth_year=1990) is None
    db.session.commit()
    assert db.session.scalar(select(func.count(User.id))) == 1
    [message] = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "registration_attempt")).all()
    assert message.user_id == owner.id and message.to_email == "taken@example.no"
    # a second try right after does not send a second e-mail
    services.register_citizen(email="taken@example.no", name="S", password=PASSWORD,
                              birth_year=1990)
    assert db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.kind == "registration_attempt")) == 1


def test_create_librarian_for_branches(app_ctx, make_branch):
    make_branch("steinkjer")
    make_branch("levanger")
    user, generated = services.create_user(email="lib@example.no", name="Lib",
                                           role=Role.LIBRARIAN,
                                           branch_slugs=["steinkjer", "levanger"])
    db.session.commit()
    assert generated and services.authenticate(email="lib@example.no", password=generated)
    assert sorted(b.slug for b in user.branches) == ["levanger", "steinkjer"]
    with pytest.raises(UnknownBranch):
        services.create_user(email="x@example.no", name="X", role=Role.LIBRARIAN,
                             branch_slugs=["atlantis"])


def test_api_tokens_are_stored_hashed_and_revocable(app_ctx, make_user):
    user = make_user()
    token, raw = services.issue_api_token(user, name="Nettside")
    db.session.commit()
    assert raw.startswith("fv_") and len(raw) > 40
    stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert raw not in stored and token.hint == raw[:8]
    assert services.user_for_api_token(raw) == user
    assert services.user_for_api_token(raw + "x") is None
    other = make_user()
    with pytest.raises(services.NotFound):
        services.revoke_api_token(other, token.id)
    services.revoke_api_token(user, token.id)
    db.session.commit()
    assert services.user_for_api_token(raw) is None


def test_a_tokens_librarian_knows_their_branches_without_loading_them(app_ctx, make_user,
                                                                      make_branch):
    """The token's lookup reads the ids of the librarian's branches in the same row, so
    asking where they work loads no Branch objects; a change shows in the next lookup."""
    here, there, elsewhere = make_branch("her"), make_branch("der"), make_branch("borte")
    librarian = make_user(role=Role.LIBRARIAN, branches=[here, there])
    newcomer = make_user(role=Role.LIBRARIAN)
    _token, raw = services.issue_api_token(librarian, name="Skanner")
    _token, raw_new = services.issue_api_token(newcomer, name="Skanner")
    ids = {b.slug: b.id for b in (here, there, elsewhere)}
    librarian_id = librarian.id
    db.session.commit()
    db.session.remove()
    found = services.user_for_api_token(raw)
    assert sorted(found.staff_branch_ids.split(",")) == sorted([str(ids["her"]),
                                                                 str(ids["der"])])
    assert "branches" not in found.__dict__  # not loaded, and not needed:
    assert [found.works_at(ids[slug]) for slug in ("her", "der", "borte")] == [
        True, True, False]
    assert "branches" not in found.__dict__
    assert services.user_for_api_token(raw_new).staff_branch_ids == ""
    assert not services.user_for_api_token(raw_new).works_at(ids["her"])
    # Another branch for the librarian: the next request's lookup knows it.
    db.session.get(User, librarian_id).branches.append(db.session.get(Branch, ids["borte"]))
    db.session.commit()
    db.session.remove()
    assert services.user_for_api_token(raw).works_at(ids["borte"])
    # Loaded any other way, the person's branches are asked instead.
    db.session.remove()
    assert db.session.get(User, librarian_id).works_at(ids["borte"])


# -- pages --------------------------------------------------------------------------------


def test_register_page_creates_account_and_asks_to_confirm_the_address(client, app):
    response = client.post("/register", data={
        "name": "Sigrid Test", "email": "sigrid@example.no", "birth_year": "1999",
        "password": PASSWORD, "password_again": PASSWORD,
    })
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "sigrid@example.no" in page and "bekrefte adressen" in page
    assert client.get("/profile").status_code == 302  # not logged in by registering
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "sigrid@example.no"))
        assert user.birth_year == 1999 and user.locale == "nb"
    ok = client.post("/login", data={"email": "sigrid@example.no", "password": PASSWORD})
    assert ok.status_code == 302 and client.get("/profile").status_code == 200


def test_register_page_shows_translated_errors_and_keeps_input(client, make_user):
    make_user("taken@example.no")
    response = client.post("/register", data={
        "name": "Sigrid", "email": "new@example.no", "birth_year": "1999",
        "password": PASSWORD, "password_again": "something else",
    })
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Passordene er ulike." in text
    assert 'value="Sigrid"' in text
    weak = client.post("/register", data={
        "name": "Sigrid", "email": "new@example.no", "birth_year": "1999",
        "password": "sommer2026", "password_again": "sommer2026",
    })
    assert weak.status_code == 422
    assert "vanlig passord" in weak.get_data(as_text=True)


def test_the_register_page_answers_the_same_for_a_taken_address(client, make_user):
    make_user("taken@example.no")
    answers = []
    for email in ("taken@example.no", "fresh@example.no"):
        response = client.post("/register", data={
            "name": "Sigrid", "email": email, "birth_year": "1999",
            "password": PASSWORD, "password_again": PASSWORD})
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        page = without_csrf(page.replace(email, "ADDRESS"))
        answers.append((response.status_code, response.headers["Location"], page))
    assert answers[0] == answers[1]
    assert "finnes allerede" not in answers[0][2]


def test_login_and_logout(client, make_user):
    make_user("ola@example.no")
    wrong = client.post("/login", data={"email": "ola@example.no", "password": "nope nope"})
    assert wrong.status_code == 422
    assert "Feil e-postadresse eller passord." in wrong.get_data(as_text=True)
    ok = client.post("/login", data={"email": "OLA@example.no", "password": PASSWORD,
                                     "next": "/profile"})
    assert ok.status_code == 302 and ok.headers["Location"] == "/profile"
    assert client.get("/profile").status_code == 200
    client.post("/logout")
    assert client.get("/profile").status_code == 302


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)"])
def test_login_never_redirects_off_site(client, make_user, target):
    make_user("ola@example.no")
    response = client.post("/login", data={"email": "ola@example.no", "password": PASSWORD,
                                           "next": target})
    assert response.headers["Location"] == "/"


def test_profile_requires_login_and_saves_changes(client, login, make_user, app):
    assert client.get("/profile").headers["Location"].startswith("/login?next=")
    user = make_user()
    login(user)
    response = client.post("/profile", data={"name": "Nytt Navn", "birth_year": "1980",
                                              "locale": "nn"})
    assert response.status_code == 302
    page = client.get("/profile")
    assert 'lang="nn"' in page.get_data(as_text=True)
    with app.app_context():
        saved = db.session.get(User, user.id)
        assert (saved.name, saved.birth_year, saved.locale) == ("Nytt Navn", 1980, "nn")


def test_profile_tokens_created_once_shown_and_revoked(client, login, make_user, app):
    user = make_user()
    login(user)
    created = client.post("/profile/tokens", data={"token-name": "Skript"})
    assert created.status_code == 200 and "no-store" in created.headers["Cache-Control"]
    page = created.get_data(as_text=True)
    raw = re.search(r'<code class="token">([^<]+)</code>', page).group(1)
    assert raw.startswith("fv_")
    # never through the session cookie: the cookie holds no trace of the token
    cookie = client.get_cookie("session")
    assert raw not in (cookie.value if cookie else "")
    assert raw not in _decoded_session(app, cookie.value if cookie else "")
    again = client.get("/profile").get_data(as_text=True)
    assert "Skript" in again and "<code class=\"token\">" not in again  # shown once only
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id))
    client.post(f"/profile/tokens/{token_id}/revoke")
    with app.app_context():
        assert db.session.get(ApiToken, token_id) is None


def _decoded_session(app, cookie: str) -> str:
    if not cookie:
        return ""
    serializer = app.session_interface.get_signing_serializer(app)
    return str(serializer.loads(cookie))


def test_someone_elses_token_cannot_be_revoked(client, login, make_user, make_token, app):
    owner, other = make_user(), make_user()
    make_token(owner)
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    login(other)
    assert client.post(f"/profile/tokens/{token_id}/revoke").status_code == 404
    with app.app_context():
        assert db.session.get(ApiToken, token_id) is not None
