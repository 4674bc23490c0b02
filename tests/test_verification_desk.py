"""Verification that blocks neither the demo nor the desk: the link in the console log in
development without a mail server, and staff confirming an address at the desk (audited)."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from makerspace.accounts.models import Role, User
from makerspace.core.audit import AuditAction, AuditEntry
from makerspace.extensions import db

EN = {"Accept-Language": "en"}


def unverified(app, make_user, email: str = "ny@example.no") -> User:  # type: ignore[no-untyped-def]
    person = make_user(email=email)
    with app.app_context():
        db.session.get(User, person.id).email_verified_at = None
        db.session.commit()
    return person


def test_without_a_mail_server_the_link_is_in_the_console_log(app, client, login, make_user,
                                                             caplog):
    person = unverified(app, make_user)
    login(person)
    with caplog.at_level(logging.WARNING, logger="makerspace.mail"):
        client.post("/verify/resend", data={"next": "/"})
    [line] = [r.getMessage() for r in caplog.records if r.name == "makerspace.mail"]
    assert "ny@example.no" in line and "email_verification" in line
    link = re.search(r"https?://\S+(/verify/\S+)$", line).group(1)
    assert client.get(link).status_code == 302  # the link works
    with app.app_context():
        assert db.session.get(User, person.id).email_verified_at is not None


@pytest.mark.parametrize("config", [{"MAIL_SERVER": "smtp.example.no"}])
def test_with_a_mail_server_no_link_is_logged(app, client, login, make_user, caplog, config):
    app.config.update(config)
    try:
        login(unverified(app, make_user))
        with caplog.at_level(logging.WARNING, logger="makerspace.mail"):
            client.post("/verify/resend", data={"next": "/"})
        assert not [r for r in caplog.records if r.name == "makerspace.mail"]
    finally:
        app.config["MAIL_SERVER"] = None


def test_staff_confirm_an_address_at_the_desk_and_it_is_audited(app, client, login,
                                                                make_user, open_branch):
    person = unverified(app, make_user)
    librarian = make_user(role=Role.LIBRARIAN, branches=[open_branch("steinkjer")])
    login(librarian)
    form = client.get("/staff/people/verify", headers=EN)
    assert form.status_code == 200 and 'name="email"' in form.get_data(as_text=True)
    assert 'href="/staff/people/verify"' in client.get("/staff/people").get_data(as_text=True)

    done = client.post("/staff/people/verify", data={"email": "NY@example.no"},
                       headers=EN, follow_redirects=True)
    assert done.status_code == 200 and "ny@example.no" in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, person.id).email_verified_at is not None
        [entry] = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == AuditAction.EMAIL_VERIFIED)).all()
        assert entry.actor_id == librarian.id and entry.subject_user_id == person.id

    again = client.post("/staff/people/verify", data={"email": "ny@example.no"}, headers=EN,
                        follow_redirects=True)
    nobody = client.post("/staff/people/verify", data={"email": "ingen@example.no"},
                         headers=EN, follow_redirects=True)

    def message(response) -> str:  # type: ignore[no-untyped-def]
        text = response.get_data(as_text=True)
        return re.search(r'message-success"[^>]*>(.*?)<', text, re.S).group(1)

    # The same answer whether or not the address has an account or was confirmed already.
    assert message(again) == message(done)
    assert message(nobody) == message(done).replace("ny@example.no", "ingen@example.no")
    with app.app_context():
        assert len(db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == AuditAction.EMAIL_VERIFIED)).all()) == 1

    bad = client.post("/staff/people/verify", data={"email": "not an address"})
    assert bad.status_code == 422


def test_only_staff_may_confirm_at_the_desk(app, client, login, make_user):
    person = unverified(app, make_user)
    login(make_user())
    assert client.get("/staff/people/verify").status_code == 404
    assert client.post("/staff/people/verify", data={"email": "ny@example.no"}).status_code == 404
    with app.app_context():
        assert db.session.get(User, person.id).email_verified_at is None


class TestWithCsrf:
    @pytest.fixture
    def app_config(self):  # type: ignore[no-untyped-def]
        return {"WTF_CSRF_ENABLED": True}

    def test_the_desk_form_needs_its_token(self, app, client, login, make_user, open_branch):
        person = unverified(app, make_user)
        login(make_user(role=Role.LIBRARIAN, branches=[open_branch()]))
        assert 'name="csrf_token"' in client.get("/staff/people/verify").get_data(as_text=True)
        refused = client.post("/staff/people/verify", data={"email": "ny@example.no"})
        assert refused.status_code in (400, 422)
        with app.app_context():
            assert db.session.get(User, person.id).email_verified_at is None
