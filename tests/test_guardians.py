"""A guardian's consent for young makers (issue 20): pending bookings that hold their slot,
the guardian's link from the outbox, consent once per machine, withdrawal, expiry."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from makerspace.accounts.models import Role, User
from makerspace.booking import errors, guardians
from makerspace.booking.guardians import ConsentStatus, GuardianConsent
from makerspace.booking.models import Booking, BookingStatus, Equipment
from makerspace.booking.services import create_booking
from makerspace.checkin.services import AwaitingGuardian, check_in
from makerspace.extensions import db
from makerspace.mail.links import make_link
from makerspace.mail.models import OutboxMessage
from makerspace.privacy.services import delete_account, export_personal_data, sweep_retention
from tests.conftest import PASSWORD
from tests.helpers import bearer, matches
from tests.test_api import assert_problem

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 09:00 in Oslo


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 12, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def scene(frozen_clock, open_branch, make_equipment, make_user, make_token):
    frozen_clock.set(NOW)
    branch = open_branch("hoved")
    laser = make_equipment(branch, name="Laser", kind="laser-cutter", guardian_consent_under=15)
    printer = make_equipment(branch, name="Prusa")
    young = make_user("ola@example.no", name="Ola", birth_year=2014)  # turns 12 in 2026
    adult = make_user("kari@example.no", birth_year=1990)
    desk = make_user("desk@example.no", role=Role.LIBRARIAN, branches=[branch])
    return {"desk": desk, "branch": branch, "laser": laser, "printer": printer, "young": young,
            "adult": adult, "young_token": make_token(young), "adult_token": make_token(adult)}


def _get(model, obj):  # type: ignore[no-untyped-def]
    return db.session.get(model, obj.id)


def _book(scene, day: int, hour: int = 10, guardian_email: str | None = "mor@example.no",
          who: str = "young"):  # type: ignore[no-untyped-def]
    return create_booking(user=_get(User, scene[who]), equipment=_get(Equipment, scene["laser"]),
                          start=at(day, hour), end=at(day, hour + 1),
                          guardian_email=guardian_email)


def _guardian_messages() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "guardian_consent").order_by(OutboxMessage.id)))


def _kinds() -> list[str]:
    return [m.kind for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


# -- services -----------------------------------------------------------------------------

def test_no_guardian_email_is_refused_and_adults_and_other_machines_need_none(app_ctx, scene):
    with pytest.raises(errors.GuardianConsentRequired) as refused:
        _book(scene, 1, guardian_email=None)
    assert refused.value.code == "guardian_consent_required"
    with pytest.raises(errors.GuardianConsentRequired):
        _book(scene, 1, guardian_email="not an address")
    with pytest.raises(errors.GuardianConsentRequired):  # their own address is no guardian
        _book(scene, 1, guardian_email="ola@example.no")
    adult = _book(scene, 1, who="adult", guardian_email=None)
    assert guardians.consent_state(adult) is None
    assert _kinds() == ["booking_confirmed"]
    printed = create_booking(user=_get(User, scene["young"]),
                             equipment=_get(Equipment, scene["printer"]),
                             start=at(2, 10), end=at(2, 11))
    assert guardians.consent_state(printed) is None


def test_pending_booking_holds_the_slot_until_the_guardian_consents(app_ctx, scene):
    booking = _book(scene, 1)
    assert booking.status == BookingStatus.CONFIRMED  # the row holds the slot ...
    assert guardians.is_pending(booking)  # ... but waits for the guardian
    assert _kinds() == ["guardian_consent"]  # no confirmation yet
    [message] = _guardian_messages()
    assert message.to_email == "mor@example.no"
    with pytest.raises(errors.BookingConflict):  # nobody takes it meanwhile
        _book(scene, 1, who="adult", guardian_email=None)
    [consent] = guardians.consents_of(_get(User, scene["young"]))
    assert consent.expires_at == at(1, 10)  # at most until the booking starts
    staff = _get(User, scene["desk"])
    with pytest.raises(AwaitingGuardian):  # not at the desk either, until consented
        check_in(booking.checkin_token, by=staff)
    confirmed = guardians.give_consent(consent)
    assert [b.id for b in confirmed] == [booking.id]
    assert guardians.consent_state(booking) == "given"
    assert _kinds() == ["guardian_consent", "booking_confirmed"]


def test_consent_once_per_machine_covers_later_bookings(app_ctx, scene):
    first = _book(scene, 1)
    second = _book(scene, 2, guardian_email=None)  # the pending request covers it too
    assert guardians.is_pending(second)
    assert len(_guardian_messages()) == 1
    [consent] = guardians.consents_of(_get(User, scene["young"]))
    assert {b.id for b in guardians.give_consent(consent)} == {first.id, second.id}
    later = _book(scene, 3, guardian_email=None)
    assert guardians.consent_state(later) == "given"
    assert _kinds().count("booking_confirmed") == 3
    assert len(_guardian_messages()) == 1


def test_withdrawal_cancels_bookings_not_started(app_ctx, scene, frozen_clock):
    started = _book(scene, 1)
    coming = _book(scene, 3, guardian_email=None)
    [consent] = guardians.consents_of(_get(User, scene["young"]))
    guardians.give_consent(consent)
    frozen_clock.set(at(1, 10) + timedelta(minutes=10))
    cancelled = guardians.withdraw_consent(consent)
    assert [b.id for b in cancelled] == [coming.id]
    assert coming.status == BookingStatus.CANCELLED and coming.cancel_reason
    assert started.status == BookingStatus.CONFIRMED
    assert consent.status == ConsentStatus.WITHDRAWN
    with pytest.raises(errors.GuardianConsentRequired):  # a new booking asks again
        _book(scene, 4, guardian_email=None)
    assert guardians.is_pending(_book(scene, 4, guardian_email="far@example.no"))
    with pytest.raises(guardians.ConsentClosed):
        guardians.give_consent(consent)


def test_an_unanswered_request_expires_and_frees_the_slot(app_ctx, scene, frozen_clock):
    booking = _book(scene, 1)  # tomorrow: the guardian has until it starts
    [consent] = guardians.consents_of(_get(User, scene["young"]))
    assert consent.expires_at == at(1, 10)
    assert guardians.expire_consents(at(1, 9)) == 0
    assert guardians.expire_consents(at(1, 10)) == 1
    assert consent.status == ConsentStatus.EXPIRED
    assert booking.status == BookingStatus.CANCELLED
    frozen_clock.set(at(1, 10))
    with pytest.raises(guardians.ConsentClosed):
        guardians.give_consent(consent)


def test_privacy_export_deletion_and_retention(app_ctx, scene, frozen_clock, app):
    _book(scene, 1)
    young = _get(User, scene["young"])
    [exported] = export_personal_data(young)["guardian_consents"]
    assert exported["guardian_email"] == "mor@example.no"
    guardians.expire_consents(at(1, 10))
    db.session.flush()
    sweep_retention(at(1, 10) + timedelta(days=int(app.config["RETENTION_DAYS"]) + 1))
    assert db.session.scalars(select(GuardianConsent)).all() == []
    _book(scene, 5)
    db.session.commit()
    delete_account(_get(User, scene["young"]), password=PASSWORD)
    assert db.session.scalars(select(GuardianConsent)).all() == []


# -- HTTP -----------------------------------------------------------------------------------

def _post(client, token, equipment_id, day, **extra):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/bookings", headers=bearer(token), json={
        "equipment_id": equipment_id, "start": f"2026-12-0{day}T10:00",
        "end": f"2026-12-0{day}T11:00", **extra})


def _guardian_path(app) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        [message] = _guardian_messages()
        return urlsplit(make_link(message)).path


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    return found.group(1) if found else ""


def test_api_link_consent_confirms_the_booking_end_to_end(client, app, scene):
    laser = scene["laser"].id
    body = assert_problem(_post(client, scene["young_token"], laser, 1), 422,
                          "guardian_consent_required")
    assert body["field"] == "guardian_email"
    created = _post(client, scene["young_token"], laser, 1, guardian_email="mor@example.no")
    assert created.status_code == 201
    answer = created.get_json()
    matches(answer, "Booking")
    assert (answer["status"], answer["guardian_consent"]) == ("pending_consent", "pending")
    assert _post(client, scene["adult_token"], laser, 1).status_code == 409  # slot held

    path = _guardian_path(app)
    page = client.get(path)
    assert page.status_code == 200
    with app.app_context():
        consent_id = db.session.scalar(select(GuardianConsent.id))
    assert f'id="give-{consent_id}"' in page.text
    done = client.post(f"{path}/{consent_id}/consent", data={"csrf_token": _csrf(page.text)})
    assert done.status_code == 302
    shown = client.get(f"/api/v1/bookings/{answer['id']}", headers=bearer(scene["young_token"]))
    assert (shown.get_json()["status"], shown.get_json()["guardian_consent"]) == (
        "confirmed", "given")
    with app.app_context():
        assert "booking_confirmed" in _kinds()


def test_guardian_withdraws_through_the_page(client, app, scene):
    created = _post(client, scene["young_token"], scene["laser"].id, 2,
                    guardian_email="mor@example.no").get_json()
    path = _guardian_path(app)
    page = client.get(path)
    with app.app_context():
        consent_id = db.session.scalar(select(GuardianConsent.id))
    client.post(f"{path}/{consent_id}/consent", data={"csrf_token": _csrf(page.text)})
    page = client.get(path)
    assert f'id="withdraw-{consent_id}"' in page.text
    assert client.post(f"{path}/{consent_id}/withdraw",
                       data={"csrf_token": _csrf(page.text)}).status_code == 302
    shown = client.get(f"/api/v1/bookings/{created['id']}",
                       headers=bearer(scene["young_token"])).get_json()
    assert shown["status"] == "cancelled"
    assert 'data-status="withdrawn"' in client.get(path).text


def test_bad_or_someone_elses_link_is_not_found(client, app, scene, make_user):
    _post(client, scene["young_token"], scene["laser"].id, 1, guardian_email="mor@example.no")
    path = _guardian_path(app)
    assert client.get(path + "x").status_code == 404
    assert client.get("/guardian/nonsense").status_code == 404
    with app.app_context():
        consent_id = db.session.scalar(select(GuardianConsent.id))
        other = guardians.guardian_token(scene["adult"].id, "mor@example.no")
        mine = guardians.guardian_token(scene["young"].id, "mor@example.no")
    assert client.get(f"/guardian/{other}").status_code == 404
    page = client.get(f"/guardian/{mine}")
    token = _csrf(page.text)
    assert client.post(f"/guardian/{other}/{consent_id}/consent",
                       data={"csrf_token": token}).status_code == 404
    assert client.post(f"/guardian/{mine}/{consent_id + 1}/consent",
                       data={"csrf_token": token}).status_code == 404


def test_the_form_asks_for_the_guardian_and_staff_see_the_status(client, app, scene, login,
                                                                  make_user):
    laser = scene["laser"].id
    login(scene["young"])
    form = client.get(f"/equipment/{laser}/book")
    assert 'name="guardian_email"' in form.text and 'id="guardian-rule"' in form.text
    data = {"date": "2026-12-01", "start": "10:00", "duration": "60",
            "csrf_token": _csrf(form.text)}
    refused = client.post(f"/equipment/{laser}/book", data=data)
    assert refused.status_code == 422 and 'data-code="guardian_consent_required"' in refused.text
    preview = client.post(f"/equipment/{laser}/book",
                          data={**data, "guardian_email": "mor@example.no"})
    assert preview.status_code == 200 and 'name="guardian_email"' in preview.text
    with app.app_context():
        assert db.session.scalar(select(Booking.id)) is None  # nothing booked yet
    made = client.post(f"/equipment/{laser}/book",
                       data={**data, "guardian_email": "mor@example.no", "confirm": "1"})
    assert made.status_code == 302
    shown = client.get(made.headers["Location"])
    assert 'data-consent="pending"' in shown.text
    assert 'id="qr-heading"' not in shown.text  # no code to show at the desk before consent
    librarian = make_user("lib@example.no", role=Role.LIBRARIAN, branches=[scene["branch"]])
    login(librarian)
    with app.app_context():
        booking_id = db.session.scalar(select(Booking.id))
    assert 'data-consent="pending"' in client.get(f"/bookings/{booking_id}").text
    day = client.get("/staff/hoved/?date=2026-12-01")
    assert day.status_code == 200 and 'data-consent="pending"' in day.text
