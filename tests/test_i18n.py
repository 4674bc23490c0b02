"""Three languages: choice, persistence, <html lang>, formatting in the branch's zone."""

from __future__ import annotations

import glob
from datetime import UTC, datetime

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from makerspace.accounts.models import User
from makerspace.extensions import db
from makerspace.i18n import local_date, local_datetime, local_time
from tests.helpers import html_lang, sign_in


@pytest.mark.parametrize(
    ("accept", "expected"),
    [(None, "nb"), ("en-GB,en;q=0.9", "en"), ("nn-NO", "nn"), ("no", "nb"), ("nb-NO,nb", "nb"),
     ("de-DE", "nb"), ("sv,en;q=0.5", "en")],
)
def test_language_follows_the_browser(client, accept, expected):
    headers = {"Accept-Language": accept} if accept else {}
    response = client.get("/", headers=headers)
    assert html_lang(response.data) == expected


def test_page_is_translated_in_each_language(client):
    assert "Hopp til hovedinnhold" in client.get("/").get_data(as_text=True)
    client.set_cookie("lang", "nn")
    assert "Hopp til hovudinnhald" in client.get("/").get_data(as_text=True)
    client.set_cookie("lang", "en")
    assert "Skip to main content" in client.get("/").get_data(as_text=True)


def test_language_picker_sets_a_cookie_and_goes_back(client):
    response = client.post("/language", data={"lang": "nn", "next": "/branches/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/branches/"
    assert "lang=nn" in response.headers["Set-Cookie"]
    assert html_lang(client.get("/branches/", headers={"Accept-Language": "en"}).data) == "nn"


def test_language_picker_refuses_unknown_languages_and_foreign_redirects(client):
    assert client.post("/language", data={"lang": "sv"}).status_code == 400
    response = client.post("/language", data={"lang": "en", "next": "https://evil.example"})
    assert response.headers["Location"] == "/"


def test_logged_in_choice_is_saved_on_the_profile(client, login, make_user, app):
    user = make_user(locale=None)
    login(user)
    client.post("/language", data={"lang": "en", "next": "/"})
    with app.app_context():
        assert db.session.get(User, user.id).locale == "en"
    other_browser = sign_in(app.test_client(), user)
    assert html_lang(other_browser.get("/", headers={"Accept-Language": "nb"}).data) == "en"


def test_dates_are_formatted_by_babel_in_the_branch_zone(app):
    summer = datetime(2026, 7, 1, 8, 30, tzinfo=UTC)  # 10:30 in Oslo (CEST)
    winter = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)  # 09:30 in Oslo (CET)
    with app.test_request_context():
        with force_locale("nb"):
            assert local_time(summer, "Europe/Oslo") == "10:30"
            assert local_time(winter, "Europe/Oslo") == "09:30"
            assert local_date(summer, "Europe/Oslo", "long") == "1. juli 2026"
        with force_locale("en"):  # English as written in Norway (en_NO): 24 h, day first
            assert local_datetime(summer, "Europe/Oslo", "short") == "01/07/2026, 10:30"
            assert local_date(summer, "Europe/Oslo", "long") == "1 July 2026"
            assert local_time(datetime(2026, 12, 1, 16, 0, tzinfo=UTC), "Europe/Oslo") == "17:00"
        with force_locale("nn"):
            assert local_date(winter, "Europe/Oslo", "long") == "1. desember 2026"
        # a late evening in UTC is already the next day in Oslo
        late = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
        with force_locale("nb"):
            assert local_date(late, "Europe/Oslo", "short") == "01.01.2027"


def test_every_catalog_is_complete_and_has_no_fuzzy_entries():
    catalogs = sorted(glob.glob("translations/*/LC_MESSAGES/messages.po"))
    assert {c.split("/")[1] for c in catalogs} == {"nb", "nn", "en"}
    for path in catalogs:
        with open(path, "rb") as handle:
            catalog = read_po(handle)
        missing = [m.id for m in catalog if m.id and (
            m.fuzzy or not (all(m.string) if isinstance(m.string, tuple) else m.string))]
        assert missing == [], f"{path}: {missing[:5]}"


def _catalog(language: str):  # type: ignore[no-untyped-def]
    with open(f"translations/{language}/LC_MESSAGES/messages.po", "rb") as handle:
        return read_po(handle, locale=language)


def _strings(message) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    return message.string if isinstance(message.string, tuple) else (message.string,)


@pytest.mark.parametrize("language", ["nb", "nn"])
def test_norwegian_uses_norwegian_quotation_marks(language):
    """«…», not “…” or "…", in every Norwegian string (Språkrådet's rule)."""
    wrong = [m.id for m in _catalog(language) if m.id
             and any(mark in text for text in _strings(m) for mark in '“”"')]
    assert wrong == []


@pytest.mark.parametrize(("language", "stumbles"), [
    ("nb", ["ledig – book", "intervaller på", "Tidsintervall", "Passert", "drop-in",
            "gått ut på tid", "Hvor langt fram i tid", "For kort ledig tid", "Krever godkjenning"]),
    ("nn", ["ledig – book", "intervall på", "Tidsintervall", "Passert", "drop-in",
            "gått ut på tid", "Kor langt fram i tid", "For kort ledig tid", "Krev godkjenning"]),
])
def test_wording_a_native_reader_stumbled_on_is_gone(language, stumbles):
    found = {text: m.id for m in _catalog(language) if m.id for text in _strings(m)
             if any(s in text for s in stumbles)}
    assert found == {}


def test_a_machine_that_needs_a_course_names_the_course(client, open_branch, make_equipment, app):
    from makerspace.booking.models import Equipment
    from makerspace.certifications.services import create_certification

    branch = open_branch("hoved")
    with app.app_context():
        course = create_certification(slug="laser-grunnkurs", name="Laserkutter – grunnkurs")
        db.session.commit()
        course_id = course.id
    laser = make_equipment(branch, name="Laserkutter", kind="laser-cutter")
    with app.app_context():
        db.session.get(Equipment, laser.id).requires_certification_id = course_id
        db.session.commit()
    assert "Krever kurs: Laserkutter – grunnkurs" in client.get("/branches/hoved").get_data(
        as_text=True)
    machine = client.get(f"/equipment/{laser.id}").get_data(as_text=True)
    assert "Krever kurs: Laserkutter – grunnkurs." in machine
    assert "«Laserkutter – grunnkurs»" in machine and "“" not in machine
