"""Log in with a library card and PIN against a real SIP2 server (pysip2's, started by the
suite on a free port): valid, blocked, expired, wrong PIN, unknown, a birth date; with and
without the AY/AZ checksum; Patron Status (23) and another delimiter; a library system that is
down or hangs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from makerspace.accounts.models import User
from makerspace.booking import errors as booking_errors
from makerspace.booking.services import create_booking
from makerspace.extensions import db
from makerspace.identity.models import Identity, IdentityKind
from makerspace.identity.services import card_digest
from tests import standins
from tests.helpers import bearer, html_lang, sign_in
from tests.sip2_standin import INSTITUTION, SIP_PASSWORD, SIP_USER


@pytest.fixture(scope="module")
def sip2_port():
    with standins.sip2_server() as port:
        yield port


@pytest.fixture(scope="module")
def sip2_checksum_port():
    with standins.sip2_server(checksum="required") as port:
        yield port


def sip2_config(port: int, **extra):  # type: ignore[no-untyped-def]
    return {"SIP2_HOST": "127.0.0.1", "SIP2_PORT": port, "SIP2_USER": SIP_USER,
            "SIP2_PASSWORD": SIP_PASSWORD, "SIP2_INSTITUTION": INSTITUTION,
            "SIP2_LOCATION": "folkeverksted", "SIP2_TIMEOUT": 2, "SIP2_CHECKSUM": False,
            "SIP2_BIRTHDATE_FIELD": "PB", "SIP2_EXPIRY_FIELD": "PA",
            "CARD_HASH_KEY": "card-hash-test-key", **extra}


@pytest.fixture
def app_config(sip2_port):  # type: ignore[no-untyped-def]
    return sip2_config(sip2_port)


def card_login(client, card: str, pin: str, **extra):  # type: ignore[no-untyped-def]
    return client.post("/login/card", data={"card_number": card, "pin": pin, **extra})


def _user_with_card(app, card: str) -> User | None:  # type: ignore[no-untyped-def]
    with app.app_context():
        identity = db.session.scalar(select(Identity).where(
            Identity.subject == card_digest(card)))
        return identity.user if identity else None


def test_a_valid_card_logs_in_and_makes_an_account_keyed_on_the_hash(app, client):
    answer = card_login(client, "N0001", "1234")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/profile/welcome")  # asked once for details
    with app.app_context():
        identity = db.session.scalar(select(Identity))
        assert identity.kind == IdentityKind.CARD and identity.issuer == f"sip2:{INSTITUTION}"
        assert identity.subject == card_digest("N0001") != "N0001"
        assert len(identity.subject) == 64 and "N0001" not in identity.subject
        user = identity.user
        assert (user.name, user.email, user.password_hash) == ("Ola Nordmann", None, "!")
    welcome = client.get(answer.headers["Location"])
    assert welcome.status_code == 200 and "Ola Nordmann" in welcome.get_data(as_text=True)
    assert client.get("/profile").status_code == 200  # logged in
    # The next time: straight where the person was going, as with e-mail and password.
    client.post("/logout")
    again = card_login(client, " n0001 ", "1234", next="/events")
    assert (again.status_code, again.headers["Location"]) == (302, "/events")
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Identity.id))) == 1
        assert db.session.scalar(select(db.func.count(User.id))) == 1


def test_the_welcome_page_takes_an_optional_address_and_sends_a_verification(app, client):
    card_login(client, "N0001", "1234")
    saved = client.post("/profile/welcome", data={"name": "Ola Nordmann",
                                                  "email": "Ola@Example.no", "next": "/"})
    assert saved.status_code == 302
    user = _user_with_card(app, "N0001")
    assert user.email == "ola@example.no" and user.email_verified_at is None
    from makerspace.mail.models import OutboxMessage
    with app.app_context():
        kinds = list(db.session.scalars(select(OutboxMessage.kind)))
    assert kinds == ["email_verification"]


def test_the_welcome_page_links_only_to_this_site(client):
    card_login(client, "N0001", "1234")
    page = client.get("/profile/welcome?next=//evil.example/").get_data(as_text=True)
    assert '<a href="/">Ikke nå</a>' in page  # not to //evil.example/
    assert client.post("/profile/welcome", data={"name": "Ola", "next": "//evil.example/"}
                       ).headers["Location"] == "/"


def test_wrong_pin_and_unknown_card_get_the_same_refusal(client):
    wrong = card_login(client, "N0001", "0000")
    unknown = card_login(client, "N9999", "1234")
    assert wrong.status_code == unknown.status_code == 422
    message = "Kortnummeret eller PIN-koden er feil."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)
    assert client.get("/profile").status_code == 302  # not logged in


def test_an_expired_card_is_refused_with_its_reason(client):
    refused = card_login(client, "N0003", "1234")
    assert refused.status_code == 403
    assert "Lånekortet ditt er utløpt" in refused.get_data(as_text=True)
    assert html_lang(refused.data) == "nb"


def test_a_blocked_card_is_refused_with_the_systems_words_and_blocks_booking(
        app, client, make_user, make_equipment):
    person = make_user("kari@example.no")
    with app.app_context():  # linked earlier, when the card was fine
        db.session.add(Identity(user_id=person.id, kind=IdentityKind.CARD, provider="card",
                                issuer=f"sip2:{INSTITUTION}", subject=card_digest("N0002")))
        db.session.commit()
    refused = card_login(client, "N0002", "1234")
    page = refused.get_data(as_text=True)
    assert "Kortet er sperret: ubetalt gebyr." in page and 'role="alert"' in page
    assert client.get("/profile").status_code == 302  # not logged in
    equipment = make_equipment()
    with app.app_context():
        identity = db.session.scalar(select(Identity))
        assert identity.blocked_message == "Kortet er sperret: ubetalt gebyr."
        start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=10, minute=0, second=0,
                                                                microsecond=0)
        with pytest.raises(booking_errors.CardBlocked) as refusal:
            create_booking(user=db.session.get(User, person.id),
                           equipment=db.session.merge(equipment), start=start,
                           end=start + timedelta(hours=1))
        assert "Kortet er sperret: ubetalt gebyr." in str(refusal.value.message)
        assert refusal.value.code == "card_blocked"


def test_a_birth_date_from_the_library_system_replaces_the_typed_year(app, client):
    assert card_login(client, "N0004", "4321").status_code == 302
    user = _user_with_card(app, "N0004")
    assert user.birth_year == 2010 and user.birth_year_verified_at is not None
    changed = client.post("/profile", data={"name": "Siri Lie", "birth_year": "1990",
                                            "locale": ""})
    assert changed.status_code == 422
    assert "kommer fra biblioteksystemet" in changed.get_data(as_text=True)
    assert _user_with_card(app, "N0004").birth_year == 2010


def test_names_in_norwegian_letters_come_through(app, client):
    assert card_login(client, "N0005", "1234").status_code == 302
    assert _user_with_card(app, "N0005").name == "Åse Ødegård"


def test_the_checksum_variant(app, client, sip2_checksum_port):
    app.config.update(sip2_config(sip2_checksum_port, SIP2_CHECKSUM=True))
    assert card_login(client, "N0001", "1234").status_code == 302
    # The server insists on AY/AZ: without them it only asks us to resend (96).
    client.post("/logout")
    app.config["SIP2_CHECKSUM"] = False
    refused = card_login(client, "N0001", "1234")
    assert refused.status_code == 503


def test_patron_status_and_another_delimiter(app, client):
    with standins.sip2_server(delimiter="^") as port:
        app.config.update(sip2_config(port, SIP2_DELIMITER="^", SIP2_PATRON_MESSAGE="23",
                                      SIP2_BIRTHDATE_FIELD=None))
        assert card_login(client, "N0001", "1234").status_code == 302
        client.post("/logout")
        assert card_login(client, "N0001", "1111").status_code == 422


@pytest.mark.parametrize("kind", ["down", "hangs"])
def test_a_library_system_that_does_not_answer_gets_a_translated_503(app, client, kind):
    if kind == "down":
        app.config.update(SIP2_PORT=standins.closed_port())
        answer = card_login(client, "N0001", "1234")
    else:
        with standins.silent_server() as port:
            app.config.update(SIP2_PORT=port, SIP2_TIMEOUT=0.5)
            started = datetime.now(UTC)
            answer = card_login(client, "N0001", "1234")
            assert datetime.now(UTC) - started < timedelta(seconds=5)
    assert answer.status_code == 503
    assert "Biblioteksystemet svarer ikke" in answer.get_data(as_text=True)


def test_a_wrong_sip_user_is_a_library_system_that_does_not_answer(app, client):
    app.config["SIP2_PASSWORD"] = "wrong"
    assert card_login(client, "N0001", "1234").status_code == 503


def test_per_branch_institution_ids(app, client, make_branch, sip2_port):
    make_branch("steinkjer", name="Steinkjer bibliotek")
    app.config["SIP2_BRANCHES"] = {"steinkjer": {"INSTITUTION": "NO-STEINKJER"}}
    page = client.get("/login/card").get_data(as_text=True)
    assert "Steinkjer bibliotek" in page and 'name="library"' in page
    assert card_login(client, "N0001", "1234", library="steinkjer").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Identity.issuer)) == "sip2:NO-STEINKJER"
    assert card_login(client, "N0001", "1234", library="nowhere").status_code == 422


def test_a_logged_in_person_links_a_card_and_sees_and_removes_it(app, client, make_user):
    person = make_user("ola@example.no")
    sign_in(client, person)
    linked = card_login(client, "N0001", "1234")
    assert linked.headers["Location"].endswith("/profile#logins")
    profile = client.get("/profile").get_data(as_text=True)
    assert "Lånekort" in profile
    identity_id = int(re.search(r"/profile/logins/(\d+)/remove", profile).group(1))
    assert client.post(f"/profile/logins/{identity_id}/remove").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Identity.id))) == 0


def test_the_only_log_in_of_an_account_without_a_password_stays(app, client, make_user):
    card_login(client, "N0001", "1234")
    profile = client.get("/profile").get_data(as_text=True)
    identity_id = int(re.search(r"/profile/logins/(\d+)/remove", profile).group(1))
    client.post(f"/profile/logins/{identity_id}/remove")
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Identity.id))) == 1
    other = make_user("per@example.no")
    sign_in(client, other)
    assert client.post(f"/profile/logins/{identity_id}/remove").status_code == 404


def test_the_card_log_in_is_offered_only_when_configured(app, client):
    assert "/login/card" in client.get("/login").get_data(as_text=True)
    app.config["SIP2_HOST"] = None
    assert "/login/card" not in client.get("/login").get_data(as_text=True)
    assert client.get("/login/card").status_code == 404


def test_bad_input_is_a_translated_error_not_a_500(client):
    assert card_login(client, "", "").status_code == 422
    assert card_login(client, "N|0001", "1234").status_code == 422
    assert card_login(client, "x" * 41, "1234").status_code == 422


# -- the API: card number and PIN for an API token ----------------------------------------

def test_the_api_gives_a_token_for_a_card_and_pin(app, client):
    answer = client.post("/api/v1/tokens/card", json={"card_number": "N0001", "pin": "1234",
                                                       "name": "Skript"})
    assert answer.status_code == 201
    token = answer.get_json()["token"]
    assert answer.get_json()["name"] == "Skript" and token.startswith("fv_")
    me = client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200
    assert (me.get_json()["name"], me.get_json()["email"]) == ("Ola Nordmann", None)


@pytest.mark.parametrize(("card", "pin", "status", "code"), [
    ("N0001", "0000", 422, "card_refused"), ("N9999", "1234", 422, "card_refused"),
    ("N0003", "1234", 403, "card_expired"), ("N0002", "1234", 403, "card_blocked")])
def test_the_api_refuses_with_problems(client, card, pin, status, code):
    answer = client.post("/api/v1/tokens/card", json={"card_number": card, "pin": pin})
    assert answer.status_code == status
    assert answer.content_type == "application/problem+json"
    assert answer.get_json()["code"] == code
    if code == "card_blocked":
        assert "Kortet er sperret: ubetalt gebyr." in answer.get_json()["detail"]


def test_the_api_says_when_the_library_system_does_not_answer_or_is_not_connected(app, client):
    app.config["SIP2_PORT"] = standins.closed_port()
    answer = client.post("/api/v1/tokens/card", json={"card_number": "N0001", "pin": "1"})
    assert (answer.status_code, answer.get_json()["code"]) == (503,
                                                               "library_system_unavailable")
    app.config["SIP2_HOST"] = None
    answer = client.post("/api/v1/tokens/card", json={"card_number": "N0001", "pin": "1"})
    assert (answer.status_code, answer.get_json()["code"]) == (404, "card_login_off")


def test_a_post_without_a_csrf_token_is_refused(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    assert card_login(client, "N0001", "1234").status_code == 400
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Identity.id))) == 0


def test_an_account_without_a_password_is_deleted_after_a_fresh_log_in(app, client):
    from makerspace.accounts.models import UserSession

    card_login(client, "N0001", "1234")
    page = client.get("/profile/delete").get_data(as_text=True)
    assert 'name="confirm"' in page and 'name="password"' not in page
    with app.app_context():  # the log-in was a while ago
        session = db.session.scalar(select(UserSession))
        session.created_at -= timedelta(minutes=11)
        db.session.commit()
    refused = client.post("/profile/delete", data={"confirm": "y"})
    assert refused.status_code == 422 and "logg inn igjen" in refused.get_data(as_text=True)
    client.post("/logout")
    card_login(client, "N0001", "1234")
    assert client.post("/profile/delete", data={"confirm": "y"}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(db.func.count(User.id))) == 0
        assert db.session.scalar(select(db.func.count(Identity.id))) == 0
